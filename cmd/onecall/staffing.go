package main

import (
	"bufio"
	"context"
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
	"onecall/reports"
	"onecall/router"
	"onecall/server/sim"
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
	weeks := fs.Int("history-weeks", 0, "instead of --forecast: forecast --day from the same weekday of the last N weeks in the store (1-12)")
	dayS := fs.String("day", "", "with --history-weeks: the day to plan, 2006-01-02 (default tomorrow, KST)")
	dataDir := fs.String("data-dir", "", "with --history-weeks: data directory (overrides data_dir)")
	surge := fs.String("surge", "", "plan for a surge: comma-separated LINE:FACTOR:FROM-TO (a hotline number, planned on its default queue, or a queue id), e.g. 1350:20:10-12 multiplies that queue's forecast contacts by 20 between 10 and 12 h (KST)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if (*forecast == "") == (*weeks == 0) {
		fmt.Fprintln(stderr, "staffing: give either --forecast FILE or --history-weeks N")
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
	kst := time.FixedZone("KST", 9*3600)
	var iv []planning.Interval
	if *weeks > 0 {
		iv, err = historyForecast(b, *dataDir, *dayS, *weeks, kst)
	} else {
		iv, err = readForecast(*forecast, *every, kst)
	}
	if err != nil {
		fmt.Fprintf(stderr, "staffing: %v\n", err)
		return 1
	}
	if *surge != "" {
		sgs, err := parseSurges(*surge)
		if err != nil {
			fmt.Fprintf(stderr, "staffing: %v\n", err)
			return 2
		}
		if err := applySurges(iv, sgs, rc, kst); err != nil {
			fmt.Fprintf(stderr, "staffing: %v\n", err)
			return 1
		}
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

// applySurges multiplies the forecast contacts of each surge's queue (a
// hotline number's default queue, or a queue named directly) in the
// intervals that start within its hours (KST), as simulate --surge does
// for a line's arrivals.
func applySurges(iv []planning.Interval, sgs []sim.Surge, rc router.Config, loc *time.Location) error {
	queueOf := map[string]string{}
	for _, q := range rc.Queues {
		queueOf[q.ID] = q.ID
	}
	for _, h := range rc.Hotlines {
		if h.DefaultQueue != "" {
			queueOf[h.Number] = h.DefaultQueue
		}
	}
	for _, sg := range sgs {
		q, ok := queueOf[sg.Number]
		if !ok {
			return fmt.Errorf("surge on %q: no such line or queue", sg.Number)
		}
		n := 0
		for i := range iv {
			t := iv[i].Start.In(loc)
			h := float64(t.Hour()) + float64(t.Minute())/60
			if iv[i].Queue == q && h >= sg.From && h < sg.To {
				iv[i].Contacts *= sg.Factor
				n++
			}
		}
		if n == 0 {
			return fmt.Errorf("surge on %s (queue %s): the forecast has no interval of that queue between %g and %g h", sg.Number, q, sg.From, sg.To)
		}
	}
	return nil
}

func readForecast(path string, every time.Duration, loc *time.Location) ([]planning.Interval, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return planning.ParseForecast(bufio.NewReader(f), every, loc)
}

// historyForecast reads the store's last weeks as the forecast of day.
func historyForecast(b *configs.Bundle, dataDir, dayS string, weeks int, kst *time.Location) ([]planning.Interval, error) {
	y, m, d := time.Now().In(kst).Date()
	day := time.Date(y, m, d+1, 0, 0, 0, 0, kst)
	if dayS != "" {
		t, err := time.ParseInLocation(time.DateOnly, dayS, kst)
		if err != nil {
			return nil, fmt.Errorf("--day %q: want 2006-01-02", dayS)
		}
		day = t
	}
	ctx := context.Background()
	st, err := openStore(ctx, b, dataDir, true)
	if err != nil {
		return nil, err
	}
	defer func() { _ = st.Close() }()
	cfg := reports.FromBundle(b)
	cfg.Loc = kst
	return reports.HistoryForecast(ctx, st, cfg, day, weeks)
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

func writePlanHTML(path string, rows []planning.Row, b *configs.Bundle) error {
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
	slices.SortFunc(starts, time.Time.Compare)
	total := make([]float64, len(starts))
	var series []reports.Series
	var peaks []int
	for _, q := range order {
		v := make([]float64, len(starts))
		peak := 0
		for i, t := range starts {
			v[i] = float64(perQueue[q][t])
			total[i] += v[i]
			peak = max(peak, perQueue[q][t])
		}
		name := q
		for _, qc := range b.Queues {
			if qc.ID == q && qc.NameKo != "" {
				name = qc.NameKo + " (" + q + ")"
			}
		}
		series = append(series, reports.Series{Name: name, Values: v})
		peaks = append(peaks, peak)
	}
	totalPeak := 0.0
	for _, v := range total {
		totalPeak = max(totalPeak, v)
	}
	series = append([]reports.Series{{Name: "total / 합계", Values: total}}, series...)
	peaks = append([]int{int(totalPeak)}, peaks...)
	type peak struct {
		Name string
		Peak int
	}
	var ps []peak
	for i, s := range series {
		ps = append(ps, peak{s.Name, peaks[i]})
	}
	chart := reports.Chart{Title: "Agents needed per interval · 구간별 필요 상담사", YLabel: "agents · 상담사",
		X: starts, XFmt: "01-02 15:04", Series: series}
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := planTmpl.Execute(out, map[string]any{"Chart": chart.SVG(), "Peaks": ps, "Rows": rows}); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

var planTmpl = template.Must(template.New("plan").Parse(`<!doctype html>
<html lang="ko"><head><meta charset="utf-8"><title>Staffing plan · 인력 계획</title>
<style>body{font:14px system-ui,sans-serif;margin:24px;color:#111}table{border-collapse:collapse}
td,th{padding:2px 8px;border-bottom:1px solid #ccc;text-align:right}th:first-child,td:first-child{text-align:left}
.legend span{margin-right:16px}</style>
</head><body>
<h1>인력 계획 · Staffing plan</h1>
<p>Agents needed per interval to meet each queue's service-level target (Erlang C; Erlang A where patience is known).
구간별로 각 큐의 서비스 수준 목표를 맞추는 데 필요한 상담사 수.</p>
{{.Chart}}
<ul>{{range .Peaks}}<li>{{.Name}} — peak {{.Peak}}</li>{{end}}</ul>
<table><thead><tr><th>queue</th><th>start</th><th>contacts</th><th>AHT s</th><th>erlangs</th><th>agents</th><th>SL</th><th>ASA s</th><th>abandon</th><th>model</th></tr></thead><tbody>
{{range .Rows}}<tr><td>{{.Queue}}</td><td>{{.Start.Format "2006-01-02 15:04"}}</td><td>{{printf "%.0f" .Contacts}}</td><td>{{printf "%.0f" .AHT.Seconds}}</td><td>{{printf "%.1f" .Erlangs}}</td><td>{{.Agents}}</td><td>{{printf "%.3f" .SL}}</td><td>{{printf "%.1f" .ASA.Seconds}}</td><td>{{printf "%.3f" .Abandon}}</td><td>{{.Model}}</td></tr>
{{end}}</tbody></table>
</body></html>
`))
