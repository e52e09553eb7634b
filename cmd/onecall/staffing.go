package main

import (
	"bufio"
	"encoding/csv"
	"flag"
	"fmt"
	"html/template"
	"io"
	"os"
	"slices"
	"strconv"
	"time"

	"onecall/configs"
	"onecall/planning"
)

// cmdStaffing turns a forecast (contacts and handle time per queue and
// interval) into the agents each interval needs to meet its queue's
// service-level target, with Erlang C, or Erlang A where patience is known.
func cmdStaffing(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("staffing", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "configs/onecall.yaml", "configuration file (or its directory): queues' SL targets")
	forecast := fs.String("forecast", "", "forecast CSV: queue,start,contacts,aht_seconds[,patience_seconds] (required)")
	every := fs.Duration("interval", 15*time.Minute, "length of each forecast interval")
	occ := fs.Float64("max-occupancy", 0, "cap on offered load per agent, 0..1 (0 = none)")
	patience := fs.Duration("patience", 0, "citizens' mean patience where the forecast gives none (0 = Erlang C)")
	maxAb := fs.Float64("max-abandon", 0.05, "with patience: cap on the share of callers who hang up while waiting (0 = none)")
	htmlOut := fs.String("html", "", "also write an HTML report with a chart to this file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *forecast == "" {
		fmt.Fprintln(stderr, "staffing: --forecast FILE is required")
		return 2
	}
	b, err := configs.Load(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "onecall: %v\n", err)
		return 1
	}
	rc, err := b.RouterConfig()
	if err != nil {
		fmt.Fprintf(stderr, "onecall: %v\n", err)
		return 1
	}
	targets := map[string]planning.Target{}
	for _, q := range rc.Queues {
		targets[q.ID] = planning.Target{SL: q.SLTarget, Threshold: q.SLThreshold, MaxOccupancy: *occ, Patience: *patience, MaxAbandon: *maxAb}
	}
	f, err := os.Open(*forecast)
	if err != nil {
		fmt.Fprintf(stderr, "staffing: %v\n", err)
		return 1
	}
	defer f.Close()
	kst := time.FixedZone("KST", 9*3600)
	iv, err := planning.ParseForecast(bufio.NewReader(f), *every, kst)
	if err != nil {
		fmt.Fprintf(stderr, "staffing: %v\n", err)
		return 1
	}
	rows, err := planning.Plan(iv, targets)
	if err != nil {
		fmt.Fprintf(stderr, "staffing: %v\n", err)
		return 1
	}
	if err := writePlanCSV(stdout, rows); err != nil {
		fmt.Fprintf(stderr, "staffing: %v\n", err)
		return 1
	}
	if *htmlOut != "" {
		if err := writePlanHTML(*htmlOut, rows, b); err != nil {
			fmt.Fprintf(stderr, "staffing: %v\n", err)
			return 1
		}
	}
	return 0
}

func writePlanCSV(w io.Writer, rows []planning.Row) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"queue", "start", "contacts", "aht_seconds", "erlangs", "agents", "sl", "asa_seconds", "abandon", "occupancy", "model"})
	f := func(v float64, prec int) string { return strconv.FormatFloat(v, 'f', prec, 64) }
	for _, r := range rows {
		_ = cw.Write([]string{r.Queue, r.Start.Format(time.RFC3339), f(r.Contacts, 1), f(r.AHT.Seconds(), 0),
			f(r.Erlangs, 2), strconv.Itoa(r.Agents), f(r.SL, 4), f(r.ASA.Seconds(), 1), f(r.Abandon, 4),
			f(r.Occupancy, 3), r.Model})
	}
	cw.Flush()
	return cw.Error()
}

// planChart is the data of the HTML report: one polyline per queue and
// one for the total over the intervals.
type planChart struct {
	Title         string
	W, H, PadL    int
	PadB, PadT    int
	YMax          int
	YTicks        []tick
	XTicks        []tick
	Series        []series
	Rows          []planning.Row
	PlotR, PlotB_ int
}

type tick struct {
	Pos   float64
	Label string
}

type series struct {
	Name   string
	Color  string
	Points string
	Peak   int
}

var palette = []string{"#1f5fbf", "#b3261e", "#1b7f3b", "#8a4b00", "#6b3fa0", "#00707a", "#5d5d5d", "#a3005a"}

func writePlanHTML(path string, rows []planning.Row, b *configs.Bundle) error {
	const w, h, padL, padB, padT, padR = 960, 420, 56, 48, 16, 16
	var starts []time.Time
	seen := map[time.Time]bool{}
	perQueue := map[string]map[time.Time]int{}
	var order []string
	for _, r := range rows {
		if !seen[r.Start] {
			seen[r.Start] = true
			starts = append(starts, r.Start)
		}
		if perQueue[r.Queue] == nil {
			perQueue[r.Queue] = map[time.Time]int{}
			order = append(order, r.Queue)
		}
		perQueue[r.Queue][r.Start] += r.Agents
	}
	sortTimes(starts)
	total := map[time.Time]int{}
	for _, m := range perQueue {
		for t, n := range m {
			total[t] += n
		}
	}
	ymax := 1
	for _, n := range total {
		ymax = max(ymax, n)
	}
	ymax = niceCeil(ymax)
	pw, ph := w-padL-padR, h-padT-padB
	x := func(i int) float64 {
		if len(starts) < 2 {
			return float64(padL)
		}
		return float64(padL) + float64(i)*float64(pw)/float64(len(starts)-1)
	}
	y := func(n int) float64 { return float64(padT) + float64(ph)*(1-float64(n)/float64(ymax)) }
	line := func(m map[time.Time]int) (string, int) {
		s, peak := "", 0
		for i, t := range starts {
			s += fmt.Sprintf("%.1f,%.1f ", x(i), y(m[t]))
			peak = max(peak, m[t])
		}
		return s, peak
	}
	c := planChart{Title: "Staffing plan", W: w, H: h, PadL: padL, PadB: padB, PadT: padT, YMax: ymax,
		Rows: rows, PlotR: w - padR, PlotB_: h - padB}
	for i := 0; i <= 4; i++ {
		v := ymax * i / 4
		c.YTicks = append(c.YTicks, tick{Pos: y(v), Label: strconv.Itoa(v)})
	}
	step := max(1, len(starts)/8)
	for i := 0; i < len(starts); i += step {
		c.XTicks = append(c.XTicks, tick{Pos: x(i), Label: starts[i].Format("01-02 15:04")})
	}
	pts, peak := line(total)
	c.Series = append(c.Series, series{Name: "total / 합계", Color: "#111111", Points: pts, Peak: peak})
	for i, q := range order {
		pts, peak := line(perQueue[q])
		name := q
		for _, qc := range b.Queues {
			if qc.ID == q && qc.NameKo != "" {
				name = qc.NameKo + " (" + q + ")"
			}
		}
		c.Series = append(c.Series, series{Name: name, Color: palette[i%len(palette)], Points: pts, Peak: peak})
	}
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := planTmpl.Execute(out, c); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func sortTimes(ts []time.Time) { slices.SortFunc(ts, time.Time.Compare) }

// niceCeil rounds up to 1, 2 or 5 times a power of ten.
func niceCeil(n int) int {
	p := 1
	for p*10 <= n {
		p *= 10
	}
	for _, m := range []int{1, 2, 5, 10} {
		if m*p >= n {
			return m * p
		}
	}
	return 10 * p
}

var planTmpl = template.Must(template.New("plan").Parse(`<!doctype html>
<html lang="ko"><head><meta charset="utf-8"><title>{{.Title}} · 인력 계획</title>
<style>body{font:14px system-ui,sans-serif;margin:24px;color:#111}table{border-collapse:collapse}
td,th{padding:2px 8px;border-bottom:1px solid #ccc;text-align:right}th:first-child,td:first-child{text-align:left}
.legend span{display:inline-block;margin-right:16px}.sw{display:inline-block;width:14px;height:4px;vertical-align:middle;margin-right:4px}</style>
</head><body>
<h1>인력 계획 · Staffing plan</h1>
<p>Agents needed per interval to meet each queue's service-level target (Erlang C; Erlang A where patience is known).
구간별로 각 큐의 서비스 수준 목표를 맞추는 데 필요한 상담사 수.</p>
<svg role="img" aria-label="Agents needed per interval" width="{{.W}}" height="{{.H}}" viewBox="0 0 {{.W}} {{.H}}">
<line x1="{{.PadL}}" y1="{{.PlotB_}}" x2="{{.PlotR}}" y2="{{.PlotB_}}" stroke="#111"/>
<line x1="{{.PadL}}" y1="{{.PadT}}" x2="{{.PadL}}" y2="{{.PlotB_}}" stroke="#111"/>
{{range .YTicks}}<line x1="{{$.PadL}}" x2="{{$.PlotR}}" y1="{{.Pos}}" y2="{{.Pos}}" stroke="#ddd"/><text x="{{$.PadL}}" dx="-6" y="{{.Pos}}" dy="4" text-anchor="end" font-size="12">{{.Label}}</text>
{{end}}{{range .XTicks}}<text x="{{.Pos}}" y="{{$.PlotB_}}" dy="18" text-anchor="middle" font-size="12">{{.Label}}</text>
{{end}}<text x="14" y="{{.PadT}}" dy="-2" font-size="12" transform="rotate(-90 14 {{.PadT}})" text-anchor="end">agents · 상담사</text>
{{range .Series}}<polyline fill="none" stroke="{{.Color}}" stroke-width="2" points="{{.Points}}"><title>{{.Name}}</title></polyline>
{{end}}</svg>
<p class="legend">{{range .Series}}<span><i class="sw" style="background:{{.Color}}"></i>{{.Name}} — peak {{.Peak}}</span>{{end}}</p>
<table><thead><tr><th>queue</th><th>start</th><th>contacts</th><th>AHT s</th><th>erlangs</th><th>agents</th><th>SL</th><th>ASA s</th><th>abandon</th><th>model</th></tr></thead><tbody>
{{range .Rows}}<tr><td>{{.Queue}}</td><td>{{.Start.Format "2006-01-02 15:04"}}</td><td>{{printf "%.0f" .Contacts}}</td><td>{{printf "%.0f" .AHT.Seconds}}</td><td>{{printf "%.1f" .Erlangs}}</td><td>{{.Agents}}</td><td>{{printf "%.3f" .SL}}</td><td>{{printf "%.1f" .ASA.Seconds}}</td><td>{{printf "%.3f" .Abandon}}</td><td>{{.Model}}</td></tr>
{{end}}</tbody></table>
</body></html>
`))
