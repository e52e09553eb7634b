package reports

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"
)

// Series is one line of a chart: a value per x position (NaN = no point).
type Series struct {
	Name   string
	Values []float64
}

// Chart is a line chart over time with axes, gridlines, time labels and a
// legend, drawn as inline SVG (no script: it prints and it opens anywhere).
type Chart struct {
	Title  string // also the SVG's accessible name
	YLabel string
	YMax   float64 // 0 = from the data, rounded up
	X      []time.Time
	XFmt   string // time layout of the x labels
	Series []Series
}

var palette = []string{"#111111", "#1f5fbf", "#b3261e", "#1b7f3b", "#8a4b00", "#6b3fa0", "#00707a", "#a3005a", "#5d5d5d"}

// SVG renders the chart. Colours are dark enough for 4.5:1 on white.
func (c Chart) SVG() template.HTML {
	const w, h, padL, padR, padT, padB = 960, 360, 64, 48, 16, 44
	pw, ph := float64(w-padL-padR), float64(h-padT-padB)
	ymax := c.YMax
	if ymax <= 0 {
		for _, s := range c.Series {
			for _, v := range s.Values {
				if !math.IsNaN(v) {
					ymax = math.Max(ymax, v)
				}
			}
		}
		ymax = niceCeil(ymax)
	}
	x := func(i int) float64 {
		if len(c.X) < 2 {
			return padL + pw/2
		}
		return padL + float64(i)*pw/float64(len(c.X)-1)
	}
	y := func(v float64) float64 { return padT + ph*(1-v/ymax) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg role="img" aria-label="%s" width="%d" height="%d" viewBox="0 0 %d %d" font-family="system-ui,sans-serif">`,
		template.HTMLEscapeString(c.Title), w, h, w, h)
	fmt.Fprintf(&b, `<title>%s</title>`, template.HTMLEscapeString(c.Title))
	for i := 0; i <= 4; i++ {
		v := ymax * float64(i) / 4
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#d0d0d0"/>`, padL, w-padR, y(v), y(v))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" dy="4" text-anchor="end" font-size="12" fill="#111">%s</text>`, padL-6, y(v), fmtNum(v))
	}
	fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#111"/>`, padL, w-padR, h-padB, h-padB)
	fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#111"/>`, padL, padL, padT, h-padB)
	step := max(1, len(c.X)/8)
	for i := 0; i < len(c.X); i += step {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" font-size="12" fill="#111">%s</text>`, x(i), h-padB+18,
			template.HTMLEscapeString(c.X[i].Format(c.XFmt)))
	}
	fmt.Fprintf(&b, `<text x="14" y="%d" font-size="12" fill="#111" transform="rotate(-90 14 %d)" text-anchor="end">%s</text>`,
		padT, padT, template.HTMLEscapeString(c.YLabel))
	for si, s := range c.Series {
		var pts []string
		for i, v := range s.Values {
			if i < len(c.X) && !math.IsNaN(v) {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(v)))
			}
		}
		col := palette[si%len(palette)]
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"><title>%s</title></polyline>`,
			col, strings.Join(pts, " "), template.HTMLEscapeString(s.Name))
		if len(pts) == 1 {
			xy := strings.Split(pts[0], ",")
			fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="3" fill="%s"/>`, xy[0], xy[1], col)
		}
	}
	b.WriteString(`</svg><p class="legend">`)
	for si, s := range c.Series {
		fmt.Fprintf(&b, `<span><i style="display:inline-block;width:14px;height:4px;vertical-align:middle;margin-right:4px;background:%s"></i>%s</span> `,
			palette[si%len(palette)], template.HTMLEscapeString(s.Name))
	}
	b.WriteString(`</p>`)
	return template.HTML(b.String()) //nolint:gosec // every text is escaped above
}

// niceCeil rounds up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func fmtNum(v float64) string {
	if v == math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}
