package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"onecall/configs"
	"onecall/reports"
)

// cmdReport writes a historical report from the store: per queue, line,
// center or agent, per 15 minutes, hour or day.
func cmdReport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "configs/onecall.yaml", "configuration file (or its directory)")
	dataDir := fs.String("data-dir", "", "data directory (overrides data_dir)")
	fromS := fs.String("from", "", "start: 2006-01-02, 2006-01-02T15:04 (KST) or RFC 3339 (default today)")
	toS := fs.String("to", "", "end, exclusive (default the day after from)")
	by := fs.String("by", "queue", "queue, line, center or agent")
	everyS := fs.String("every", "1h", "15m, 1h or 1d")
	format := fs.String("format", "csv", "csv, json or html")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	b, err := configs.Load(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "onecall: %v\n", err)
		return 1
	}
	rc := reports.FromBundle(b)
	kst := time.FixedZone("KST", 9*3600)
	y, m, d := time.Now().In(kst).Date()
	from := time.Date(y, m, d, 0, 0, 0, 0, kst)
	if *fromS != "" {
		if from, err = reports.ParseTime(*fromS, kst); err != nil {
			fmt.Fprintf(stderr, "report: %v\n", err)
			return 2
		}
	}
	to := from.AddDate(0, 0, 1)
	if *toS != "" {
		if to, err = reports.ParseTime(*toS, kst); err != nil {
			fmt.Fprintf(stderr, "report: %v\n", err)
			return 2
		}
	}
	every, err := reports.ParseEvery(*everyS)
	if err != nil {
		fmt.Fprintf(stderr, "report: %v\n", err)
		return 2
	}
	o := rc.Options(from, to, reports.By(*by), every)
	if err := o.Validate(); err != nil {
		fmt.Fprintf(stderr, "report: %v\n", err)
		return 2
	}
	if *format != "csv" && *format != "json" && *format != "html" {
		fmt.Fprintf(stderr, "report: format %q: want csv, json or html\n", *format)
		return 2
	}
	st, err := openStore(ctx, b, *dataDir, true)
	if err != nil {
		fmt.Fprintf(stderr, "report: store: %v\n", err)
		return 1
	}
	defer func() { _ = st.Close() }()
	rows, err := reports.Build(ctx, st, o)
	if err != nil {
		fmt.Fprintf(stderr, "report: %v\n", err)
		return 1
	}
	switch *format {
	case "json":
		err = reports.WriteJSON(stdout, rows)
	case "html":
		err = reports.WriteHTML(stdout, rows, reports.Page{Title: "onecall report · 상담 통계", By: o.By, Every: every,
			From: from.In(kst), To: to.In(kst), Names: rc.Names, Targets: rc.Targets})
	default:
		err = reports.WriteCSV(stdout, rows)
	}
	if err != nil {
		fmt.Fprintf(stderr, "report: %v\n", err)
		return 1
	}
	return 0
}
