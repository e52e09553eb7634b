package main

import (
	"cmp"
	"fmt"
	"html/template"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"time"

	"onecall/reports"
	"onecall/server/sim"
)

// simRun is one simulated configuration: its label and its day.
type simRun struct {
	Name string
	Res  sim.Result
}

// figDiff is one queue's or one line's figures in two runs side by side.
type figDiff struct {
	Key  string // the queue or the line
	A, B sim.Figures
}

// SLPoints is B's SL minus A's, in percentage points.
func (d figDiff) SLPoints() float64 { return 100 * (d.B.SL - d.A.SL) }

// keyed is one queue's or line's figures of a run.
type keyed struct {
	Key string
	F   sim.Figures
}

func queuesOf(r sim.Result) []keyed {
	out := make([]keyed, len(r.Queues))
	for i, q := range r.Queues {
		out[i] = keyed{q.Queue, q.Figures}
	}
	return out
}

func linesOf(r sim.Result) []keyed {
	out := make([]keyed, len(r.Lines))
	for i, l := range r.Lines {
		out[i] = keyed{l.Line, l.Figures}
	}
	return out
}

// diffQueues pairs the queues of two runs (a queue missing from one run
// shows zeros there), busiest in A first.
func diffQueues(a, b sim.Result) []figDiff { return diffFigures(queuesOf(a), queuesOf(b)) }

// diffLines pairs the lines of two runs, busiest in A first: a line counts
// the contacts that called it, wherever they were answered.
func diffLines(a, b sim.Result) []figDiff { return diffFigures(linesOf(a), linesOf(b)) }

func diffFigures(a, b []keyed) []figDiff {
	idx := map[string]int{}
	var out []figDiff
	for _, q := range a {
		idx[q.Key] = len(out)
		out = append(out, figDiff{Key: q.Key, A: q.F})
	}
	for _, q := range b {
		i, ok := idx[q.Key]
		if !ok {
			i = len(out)
			out = append(out, figDiff{Key: q.Key})
		}
		out[i].B = q.F
	}
	slices.SortStableFunc(out, func(x, y figDiff) int {
		if c := cmp.Compare(y.A.Arrived, x.A.Arrived); c != 0 {
			return c
		}
		return cmp.Compare(x.Key, y.Key)
	})
	return out
}

// simChartQueues bounds the lines of each SL chart (the busiest queues).
const simChartQueues = 8

// writeSimHTML writes a self-contained page with inline SVG charts (the
// reports' charts: axes, legends, time labels): SL per queue per 15
// minutes for each run, the peak of waiting contacts and the agents'
// occupancy over the day (one line per run), and the queue table, with
// the difference when two runs are compared.
func writeSimHTML(w io.Writer, title string, runs []simRun) error {
	n := 0
	var start time.Time
	for _, r := range runs {
		n = max(n, r.Res.Timeline.Len())
		start = r.Res.Timeline.Start
	}
	xs := make([]time.Time, n)
	for i := range xs {
		xs[i] = start.Add(time.Duration(i) * sim.SlotEvery)
	}
	nan := func() []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = math.NaN()
		}
		return v
	}
	const xfmt = "15:04"
	type named struct {
		Name  string
		Chart template.HTML
	}
	var slCharts []named
	var waiting, occupancy []reports.Series
	for _, r := range runs {
		tl := r.Res.Timeline
		qs := slices.Clone(r.Res.Queues)
		slices.SortStableFunc(qs, func(a, b sim.QueueResult) int { return cmp.Compare(b.Arrived, a.Arrived) })
		if len(qs) > simChartQueues {
			qs = qs[:simChartQueues]
		}
		var sl []reports.Series
		for _, q := range qs {
			v := nan()
			for i, s := range tl.Queues[q.Queue] {
				if s.SL() >= 0 {
					v[i] = 100 * s.SL()
				}
			}
			sl = append(sl, reports.Series{Name: q.Queue, Values: v})
		}
		slCharts = append(slCharts, named{r.Name, reports.Chart{Title: "Service level per queue per 15 min · 큐별 15분 서비스 수준 — " + r.Name,
			YLabel: "SL %", YMax: 100, X: xs, XFmt: xfmt, Series: sl}.SVG()})
		wv, ov := nan(), nan()
		for i := range tl.Len() {
			wv[i] = float64(tl.PeakWaiting[i])
			if tl.Occupancy[i] >= 0 {
				ov[i] = 100 * tl.Occupancy[i]
			}
		}
		waiting = append(waiting, reports.Series{Name: r.Name, Values: wv})
		occupancy = append(occupancy, reports.Series{Name: r.Name, Values: ov})
	}
	type qrow struct {
		Key                          string
		Arrived                      []int
		SL, ASA, Abandoned, Answered []string
		Diff                         string
	}
	table := func(diffs []figDiff, one []keyed) []qrow {
		var rows []qrow
		for _, d := range diffs {
			rows = append(rows, qrow{Key: d.Key, Arrived: []int{d.A.Arrived, d.B.Arrived},
				SL:        []string{pct(d.A.SL), pct(d.B.SL)},
				ASA:       []string{secs(d.A.ASA), secs(d.B.ASA)},
				Answered:  []string{strconv.Itoa(d.A.Answered), strconv.Itoa(d.B.Answered)},
				Abandoned: []string{strconv.Itoa(d.A.Abandoned), strconv.Itoa(d.B.Abandoned)},
				Diff:      fmt.Sprintf("%+.1f", d.SLPoints())})
		}
		for _, q := range one {
			rows = append(rows, qrow{Key: q.Key, Arrived: []int{q.F.Arrived}, SL: []string{pct(q.F.SL)}, ASA: []string{secs(q.F.ASA)},
				Answered: []string{strconv.Itoa(q.F.Answered)}, Abandoned: []string{strconv.Itoa(q.F.Abandoned)}})
		}
		return rows
	}
	var rows, lineRows []qrow
	if len(runs) == 2 {
		rows = table(diffQueues(runs[0].Res, runs[1].Res), nil)
		lineRows = table(diffLines(runs[0].Res, runs[1].Res), nil)
	} else if len(runs) == 1 {
		rows = table(nil, queuesOf(runs[0].Res))
		lineRows = table(nil, linesOf(runs[0].Res))
	}
	names := make([]string, len(runs))
	for i, r := range runs {
		names[i] = r.Name
	}
	return simTmpl.Execute(w, map[string]any{
		"Title": title, "Runs": runs, "Names": names, "Compare": len(runs) == 2, "SL": slCharts,
		"Tables": []map[string]any{
			{"ID": "queues", "Title": "Queues · 큐", "Col": "queue", "Rows": rows,
				"Note": "A contact counts in the queue it was answered or abandoned in (after overflow)."},
			{"ID": "lines", "Title": "Lines · 회선", "Col": "line", "Rows": lineRows,
				"Note": "A contact counts on the line (number) it called, wherever it was answered; SL against the threshold of the queue that answered it."},
		},
		"Waiting": reports.Chart{Title: "Waiting contacts (peak per 15 min) · 대기 상담 (15분 최대)", YLabel: "contacts · 건",
			X: xs, XFmt: xfmt, Series: waiting}.SVG(),
		"Occupancy": reports.Chart{Title: "Agent occupancy per 15 min · 상담사 점유율", YLabel: "occupancy %", YMax: 100,
			X: xs, XFmt: xfmt, Series: occupancy}.SVG(),
	})
}

func pct(v float64) string { return strconv.FormatFloat(100*v, 'f', 1, 64) + " %" }

func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) }

func writeSimHTMLFile(path, title string, runs []simRun) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := writeSimHTML(f, title, runs); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

var simTmpl = template.Must(template.New("sim").Parse(`<!doctype html>
<html lang="ko"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>body{font:14px system-ui,sans-serif;margin:24px;color:#111;background:#fff}table{border-collapse:collapse}
td,th{padding:2px 8px;border-bottom:1px solid #ccc;text-align:right}th:first-child,td:first-child{text-align:left}
.legend span{margin-right:16px}</style></head><body>
<h1>{{.Title}}</h1>
<p>A simulated working day through the real routing engine in virtual time{{if .Compare}}, two configurations with the same
arrivals (same seed){{end}}. 실제 라우팅 엔진으로 가상 시간에 돌린 하루. SL = answered within the queue's threshold /
(answered + abandoned after it), per interval of arrival. Occupancy = talking or wrapping up / staffed time.</p>
{{range .Runs}}<p><b>{{.Name}}</b>: contacts {{.Res.Arrived}}, answered {{.Res.Answered}}, abandoned {{.Res.Abandoned}},
refused {{.Res.Refused}}, callbacks {{.Res.Callbacks}}, peak waiting {{.Res.PeakWaiting}}.</p>{{end}}
<h2>Service level per queue per 15 minutes · 큐별 15분 서비스 수준</h2>
{{range .SL}}<h3>{{.Name}} (the {{len $.SL | printf "%d"}} busiest queues)</h3>{{.Chart}}{{end}}
<h2>Waiting contacts · 대기 상담</h2>
{{.Waiting}}
<h2>Agent occupancy · 상담사 점유율</h2>
{{.Occupancy}}
{{range .Tables}}<h2>{{.Title}}</h2>
<p>{{.Note}}</p>
<table id="{{.ID}}"><thead><tr><th scope="col">{{.Col}}</th>
{{if $.Compare}}{{$a := index $.Names 0}}{{$b := index $.Names 1}}<th scope="col">arrived {{$a}}</th><th scope="col">arrived {{$b}}</th><th scope="col">answered {{$a}}</th><th scope="col">answered {{$b}}</th><th scope="col">abandoned {{$a}}</th><th scope="col">abandoned {{$b}}</th><th scope="col">SL {{$a}}</th><th scope="col">SL {{$b}}</th><th scope="col">SL difference (points)</th><th scope="col">ASA s {{$a}}</th><th scope="col">ASA s {{$b}}</th>
{{else}}<th scope="col">arrived</th><th scope="col">answered</th><th scope="col">abandoned</th><th scope="col">SL</th><th scope="col">ASA s</th>{{end}}</tr></thead><tbody>
{{range .Rows}}<tr><td>{{.Key}}</td>{{if $.Compare}}<td>{{index .Arrived 0}}</td><td>{{index .Arrived 1}}</td><td>{{index .Answered 0}}</td><td>{{index .Answered 1}}</td><td>{{index .Abandoned 0}}</td><td>{{index .Abandoned 1}}</td><td>{{index .SL 0}}</td><td>{{index .SL 1}}</td><td>{{.Diff}}</td><td>{{index .ASA 0}}</td><td>{{index .ASA 1}}</td>{{else}}<td>{{index .Arrived 0}}</td><td>{{index .Answered 0}}</td><td>{{index .Abandoned 0}}</td><td>{{index .SL 0}}</td><td>{{index .ASA 0}}</td>{{end}}</tr>
{{end}}</tbody></table>
{{end}}</body></html>
`))
