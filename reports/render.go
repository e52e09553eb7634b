package reports

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"html/template"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// CSVHeader is the header of WriteCSV.
var CSVHeader = []string{"start", "key", "offered", "answered", "abandoned", "other", "sl", "asa_seconds",
	"aht_seconds", "transfers", "callbacks_booked", "callbacks_placed", "callbacks_reached", "dispositions"}

// WriteCSV writes rows with CSVHeader; sl is empty where nothing counted
// toward it; dispositions are code=count pairs joined by ';'.
func WriteCSV(w io.Writer, rows []Row) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(CSVHeader)
	for _, r := range rows {
		sl := ""
		if v := r.SL(); v >= 0 {
			sl = strconv.FormatFloat(v, 'f', 4, 64)
		}
		_ = cw.Write([]string{r.Start.Format(time.RFC3339), r.Key, strconv.Itoa(r.Offered), strconv.Itoa(r.Answered),
			strconv.Itoa(r.Abandoned), strconv.Itoa(r.Other), sl, strconv.FormatFloat(r.ASA().Seconds(), 'f', 1, 64),
			strconv.FormatFloat(r.AHT().Seconds(), 'f', 1, 64), strconv.Itoa(r.Transfers), strconv.Itoa(r.CallbacksBooked),
			strconv.Itoa(r.CallbacksPlaced), strconv.Itoa(r.CallbacksReached), dispositions(r.Dispositions)})
	}
	cw.Flush()
	return cw.Error()
}

func dispositions(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + strconv.Itoa(m[k])
	}
	return strings.Join(parts, ";")
}

// jsonRow is a Row on the wire.
type jsonRow struct {
	Start        time.Time      `json:"start"`
	Key          string         `json:"key"`
	Offered      int            `json:"offered"`
	Answered     int            `json:"answered"`
	Abandoned    int            `json:"abandoned"`
	Other        int            `json:"other"`
	SL           *float64       `json:"sl"`      // null when nothing counted toward it
	InSL         int            `json:"in_sl"`   // answered within the threshold
	SLBase       int            `json:"sl_base"` // what SL counts: answered + abandoned after the threshold
	ASASeconds   float64        `json:"asa_seconds"`
	AHTSeconds   float64        `json:"aht_seconds"`
	Transfers    int            `json:"transfers"`
	CBBooked     int            `json:"callbacks_booked"`
	CBPlaced     int            `json:"callbacks_placed"` // at least one call dialled
	CBReached    int            `json:"callbacks_reached"`
	Dispositions map[string]int `json:"dispositions"`
}

// WriteJSON writes {"rows":[...]}.
func WriteJSON(w io.Writer, rows []Row) error {
	out := make([]jsonRow, len(rows))
	for i, r := range rows {
		out[i] = jsonRow{Start: r.Start, Key: r.Key, Offered: r.Offered, Answered: r.Answered, Abandoned: r.Abandoned,
			Other: r.Other, InSL: r.InSL, SLBase: r.SLBase, ASASeconds: r.ASA().Seconds(), AHTSeconds: r.AHT().Seconds(), Transfers: r.Transfers,
			CBBooked: r.CallbacksBooked, CBPlaced: r.CallbacksPlaced, CBReached: r.CallbacksReached, Dispositions: r.Dispositions}
		if v := r.SL(); v >= 0 {
			out[i].SL = &v
		}
	}
	return json.NewEncoder(w).Encode(map[string]any{"rows": out})
}

// Page is what WriteHTML shows besides the rows.
type Page struct {
	Title string
	By    By
	Every time.Duration
	From  time.Time
	To    time.Time
	// Names maps keys to display names (queue and center names in Korean).
	Names map[string]string
	// Targets maps queue keys to their SL target, drawn beside SL.
	Targets map[string]float64
	// Form, when the page is served (GET /api/reports?format=html), shows
	// the controls that ask for another report (period, by, every) and
	// the link to this report as CSV. Nil in a written file.
	Form *Form
}

// Form is the query of a served report page, for its controls.
type Form struct {
	From, To string // as the date inputs show them: 2006-01-02
	CSV      string // this report as CSV (a relative URL)
}

// pageCSS is the report page's only style (inline, so a written page is
// self-contained); PageCSP allows exactly it.
const pageCSS = `body{font:14px system-ui,sans-serif;margin:24px;color:#111;background:#fff}table{border-collapse:collapse}
td,th{padding:2px 8px;border-bottom:1px solid #ccc;text-align:right}th:nth-child(-n+2),td:nth-child(-n+2){text-align:left}
.legend span{margin-right:16px}form{margin:12px 0;display:flex;flex-wrap:wrap;gap:8px 16px;align-items:end}
form label{display:flex;flex-direction:column;font-size:12px}`

// PageCSP is the Content-Security-Policy of a served report page: no
// script at all, its inline style by hash, its form back to the server.
var PageCSP = func() string {
	h := sha256.Sum256([]byte(pageCSS))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(h[:]) + "'; img-src data:; " +
		"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
}()

// maxChartKeys bounds the lines of the SL chart (the busiest keys).
const maxChartKeys = 8

// WriteHTML writes a self-contained page: the totals per interval
// (offered, answered, abandoned), service level per key for the busiest
// keys, and the table.
func WriteHTML(w io.Writer, rows []Row, p Page) error {
	var starts []time.Time
	seen := map[time.Time]bool{}
	load := map[string]int{}
	for _, r := range rows {
		if !seen[r.Start] {
			seen[r.Start] = true
			starts = append(starts, r.Start)
		}
		load[r.Key] += r.Offered
	}
	slices.SortFunc(starts, time.Time.Compare)
	idx := map[time.Time]int{}
	for i, t := range starts {
		idx[t] = i
	}
	nan := func() []float64 {
		v := make([]float64, len(starts))
		for i := range v {
			v[i] = math.NaN()
		}
		return v
	}
	off, ans, ab := make([]float64, len(starts)), make([]float64, len(starts)), make([]float64, len(starts))
	for _, r := range rows {
		i := idx[r.Start]
		off[i] += float64(r.Offered)
		ans[i] += float64(r.Answered)
		ab[i] += float64(r.Abandoned)
	}
	keys := make([]string, 0, len(load))
	for k := range load {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if load[a] != load[b] {
			return load[b] - load[a]
		}
		return strings.Compare(a, b)
	})
	if len(keys) > maxChartKeys {
		keys = keys[:maxChartKeys]
	}
	name := func(k string) string {
		if n := p.Names[k]; n != "" {
			return n + " (" + k + ")"
		}
		if k == "" {
			return "—"
		}
		return k
	}
	var sl []Series
	for _, k := range keys {
		v := nan()
		for _, r := range rows {
			if r.Key == k && r.SL() >= 0 {
				v[idx[r.Start]] = 100 * r.SL()
			}
		}
		sl = append(sl, Series{Name: name(k), Values: v})
	}
	xfmt := "01-02 15:04"
	if p.Every >= 24*time.Hour {
		xfmt = "2006-01-02"
	}
	type trow struct {
		Row
		Name, SL, ASA, AHT, Disp string
	}
	var table []trow
	for _, r := range rows {
		s := "—"
		if v := r.SL(); v >= 0 {
			s = strconv.FormatFloat(100*v, 'f', 1, 64) + " %"
		}
		table = append(table, trow{Row: r, Name: name(r.Key), SL: s,
			ASA: strconv.FormatFloat(r.ASA().Seconds(), 'f', 1, 64), AHT: strconv.FormatFloat(r.AHT().Seconds(), 'f', 0, 64),
			Disp: dispositions(r.Dispositions)})
	}
	every := map[time.Duration]string{15 * time.Minute: "15m", time.Hour: "1h", 24 * time.Hour: "1d"}[p.Every]
	return pageTmpl.Execute(w, map[string]any{
		"P": p, "Every": every, "Rows": table, "Empty": len(rows) == 0, "CSS": template.CSS(pageCSS),
		"Bys": []By{ByQueue, ByLine, ByCenter, ByAgent}, "Everys": []string{"15m", "1h", "1d"},
		"Volume": Chart{Title: "Contacts per interval · 구간별 상담 건수", YLabel: "contacts · 건", X: starts, XFmt: xfmt,
			Series: []Series{{Name: "offered · 인입", Values: off}, {Name: "answered · 응대", Values: ans}, {Name: "abandoned · 포기", Values: ab}}}.SVG(),
		"SL": Chart{Title: "Service level per interval · 구간별 서비스 수준", YLabel: "SL %", YMax: 100, X: starts, XFmt: xfmt, Series: sl}.SVG(),
	})
}

var pageTmpl = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="ko"><head><meta charset="utf-8"><title>{{.P.Title}}</title>
<style>{{.CSS}}</style></head><body>
<h1>{{.P.Title}}</h1>
{{with .P.Form}}<form method="get" id="ask">
<label>from · 시작 <input type="date" name="from" value="{{.From}}" required></label>
<label>to (not included) · 끝 (미포함) <input type="date" name="to" value="{{.To}}" required></label>
<label>by · 기준 <select name="by">{{range $.Bys}}<option{{if eq . $.P.By}} selected{{end}}>{{.}}</option>{{end}}</select></label>
<label>every · 간격 <select name="every">{{range $.Everys}}<option{{if eq . $.Every}} selected{{end}}>{{.}}</option>{{end}}</select></label>
<input type="hidden" name="format" value="html">
<button type="submit">show · 보기</button>
<a id="csv" href="{{.CSV}}" download>CSV</a>
</form>{{end}}
<p>{{.P.From.Format "2006-01-02 15:04"}} – {{.P.To.Format "2006-01-02 15:04"}} (KST) · by {{.P.By}} · every {{.Every}}.
SL = answered within the queue's threshold / (answered + abandoned after it). 서비스 수준 = 기준 시간 안에 응대 / (응대 + 기준 시간 후 포기).</p>
{{if .Empty}}<p>No contacts in this period. 이 기간에는 상담이 없습니다.</p>{{else}}
<h2>Volume · 건수</h2>{{.Volume}}
<h2>Service level · 서비스 수준</h2>{{.SL}}
<h2>Table · 표</h2>
<table><thead><tr><th scope="col">start</th><th scope="col">{{.P.By}}</th><th scope="col">offered</th><th scope="col">answered</th><th scope="col">abandoned</th><th scope="col">other</th><th scope="col">SL</th><th scope="col">ASA s</th><th scope="col">AHT s</th><th scope="col">transfers</th><th scope="col">callbacks booked</th><th scope="col">placed</th><th scope="col">reached</th><th scope="col">dispositions</th></tr></thead><tbody>
{{range .Rows}}<tr><td>{{.Start.Format "2006-01-02 15:04"}}</td><td>{{.Name}}</td><td>{{.Offered}}</td><td>{{.Answered}}</td><td>{{.Abandoned}}</td><td>{{.Other}}</td><td>{{.SL}}</td><td>{{.ASA}}</td><td>{{.AHT}}</td><td>{{.Transfers}}</td><td>{{.CallbacksBooked}}</td><td>{{.CallbacksPlaced}}</td><td>{{.CallbacksReached}}</td><td>{{.Disp}}</td></tr>
{{end}}</tbody></table>{{end}}
</body></html>
`))
