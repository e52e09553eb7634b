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

// queueDiff is one queue in two runs side by side.
type queueDiff struct {
	Queue string
	A, B  sim.QueueResult
}

// SLPoints is B's SL minus A's, in percentage points.
func (d queueDiff) SLPoints() float64 { return 100 * (d.B.SL - d.A.SL) }

// diffQueues pairs the queues of two runs (a queue missing from one run
// shows zeros there), busiest in A first.
func diffQueues(a, b sim.Result) []queueDiff {
	idx := map[string]int{}
	var out []queueDiff
	for _, q := range a.Queues {
		idx[q.Queue] = len(out)
		out = append(out, queueDiff{Queue: q.Queue, A: q, B: sim.QueueResult{Queue: q.Queue}})
	}
	for _, q := range b.Queues {
		i, ok := idx[q.Queue]
		if !ok {
			i = len(out)
			out = append(out, queueDiff{Queue: q.Queue, A: sim.QueueResult{Queue: q.Queue}})
		}
		out[i].B = q
	}
	slices.SortStableFunc(out, func(x, y queueDiff) int {
		if c := cmp.Compare(y.A.Arrived, x.A.Arrived); c != 0 {
			return c
		}
		return cmp.Compare(x.Queue, y.Queue)
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
		Queue                        string
		Arrived                      []int
		SL, ASA, Abandoned, Answered []string
		Diff                         string
	}
	var rows []qrow
	if len(runs) == 2 {
		for _, d := range diffQueues(runs[0].Res, runs[1].Res) {
			rows = append(rows, qrow{Queue: d.Queue, Arrived: []int{d.A.Arrived, d.B.Arrived},
				SL:        []string{pct(d.A.SL), pct(d.B.SL)},
				ASA:       []string{secs(d.A.ASA), secs(d.B.ASA)},
				Answered:  []string{strconv.Itoa(d.A.Answered), strconv.Itoa(d.B.Answered)},
				Abandoned: []string{strconv.Itoa(d.A.Abandoned), strconv.Itoa(d.B.Abandoned)},
				Diff:      fmt.Sprintf("%+.1f", d.SLPoints())})
		}
	} else if len(runs) == 1 {
		for _, q := range runs[0].Res.Queues {
			rows = append(rows, qrow{Queue: q.Queue, Arrived: []int{q.Arrived}, SL: []string{pct(q.SL)}, ASA: []string{secs(q.ASA)},
				Answered: []string{strconv.Itoa(q.Answered)}, Abandoned: []string{strconv.Itoa(q.Abandoned)}})
		}
	}
	names := make([]string, len(runs))
	for i, r := range runs {
		names[i] = r.Name
	}
	return simTmpl.Execute(w, map[string]any{
		"Title": title, "Runs": runs, "Names": names, "Compare": len(runs) == 2, "SL": slCharts, "Rows": rows,
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
<h2>Queues · 큐</h2>
<table><thead><tr><th scope="col">queue</th>
{{if .Compare}}{{$a := index .Names 0}}{{$b := index .Names 1}}<th scope="col">arrived {{$a}}</th><th scope="col">arrived {{$b}}</th><th scope="col">answered {{$a}}</th><th scope="col">answered {{$b}}</th><th scope="col">abandoned {{$a}}</th><th scope="col">abandoned {{$b}}</th><th scope="col">SL {{$a}}</th><th scope="col">SL {{$b}}</th><th scope="col">SL difference (points)</th><th scope="col">ASA s {{$a}}</th><th scope="col">ASA s {{$b}}</th>
{{else}}<th scope="col">arrived</th><th scope="col">answered</th><th scope="col">abandoned</th><th scope="col">SL</th><th scope="col">ASA s</th>{{end}}</tr></thead><tbody>
{{range .Rows}}<tr><td>{{.Queue}}</td>{{if $.Compare}}<td>{{index .Arrived 0}}</td><td>{{index .Arrived 1}}</td><td>{{index .Answered 0}}</td><td>{{index .Answered 1}}</td><td>{{index .Abandoned 0}}</td><td>{{index .Abandoned 1}}</td><td>{{index .SL 0}}</td><td>{{index .SL 1}}</td><td>{{.Diff}}</td><td>{{index .ASA 0}}</td><td>{{index .ASA 1}}</td>{{else}}<td>{{index .Arrived 0}}</td><td>{{index .Answered 0}}</td><td>{{index .Abandoned 0}}</td><td>{{index .SL 0}}</td><td>{{index .ASA 0}}</td>{{end}}</tr>
{{end}}</tbody></table>
</body></html>
`))
