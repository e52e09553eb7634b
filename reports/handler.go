package reports

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"onecall/store"
)

// Source is where contacts come from (the store).
type Source interface {
	ReportContacts(ctx context.Context, from, to time.Time, fn func(store.ReportContact) error) error
}

// Config is what reports know of the center's configuration.
type Config struct {
	Thresholds map[string]time.Duration // queue -> SL threshold
	Targets    map[string]float64       // queue -> SL target
	Names      map[string]string        // queue, center -> display name
	CenterOf   func(line string) string
	Loc        *time.Location
	Now        func() time.Time
}

// Build reads [o.From, o.To) from src and aggregates it.
func Build(ctx context.Context, src Source, o Options) ([]Row, error) {
	b, err := NewBuilder(o)
	if err != nil {
		return nil, err
	}
	err = src.ReportContacts(ctx, o.From, o.To, func(c store.ReportContact) error {
		b.Add(Contact{Channel: c.Channel, Line: c.Hotline, Queue: c.Queue, Agent: c.Agent, Arrived: c.Arrived,
			Answered: c.Answered, Ended: c.Ended, EndReason: c.EndReason, Disposition: c.Disposition,
			Wait: c.Wait, Handle: c.Handle, Transfers: c.Transfers,
			Callback: c.Callback, CallbackAttempts: c.CallbackAttempts})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return b.Rows(), nil
}

// Options builds report options from the configuration.
func (c Config) Options(from, to time.Time, by By, every time.Duration) Options {
	return Options{From: from, To: to, By: by, Every: every, Thresholds: c.Thresholds, CenterOf: c.CenterOf, Loc: c.loc()}
}

func (c Config) loc() *time.Location {
	if c.Loc != nil {
		return c.Loc
	}
	return time.FixedZone("KST", 9*3600)
}

// ParseTime reads a report bound: a date (midnight in loc) or RFC 3339.
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04", s, loc); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("reports: time %q: want 2006-01-02, 2006-01-02T15:04 or RFC 3339", s)
	}
	return t, nil
}

// Handler serves GET /api/reports?from=&to=&by=&every=&format=csv|json|html
// (defaults: today in KST, to the day after from, by queue, every 1h, json). The caller wraps it
// with authentication (supervisors and admins).
type Handler struct {
	Src Source
	Cfg Config
	// OnExport, if set, is told of every report served (the audit trail).
	OnExport func(r *http.Request, o Options, format string, rows int)
}

// maxBuild bounds the time one report may take.
const maxBuild = 30 * time.Second

func (h Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	loc := h.Cfg.loc()
	now := time.Now
	if h.Cfg.Now != nil {
		now = h.Cfg.Now
	}
	y, m, d := now().In(loc).Date()
	from, to := time.Date(y, m, d, 0, 0, 0, 0, loc), time.Date(y, m, d+1, 0, 0, 0, 0, loc)
	var err error
	if s := q.Get("from"); s != "" {
		if from, err = ParseTime(s, loc); err != nil {
			httpError(w, http.StatusBadRequest, "bad_from", err)
			return
		}
	}
	if s := q.Get("to"); s != "" {
		if to, err = ParseTime(s, loc); err != nil {
			httpError(w, http.StatusBadRequest, "bad_to", err)
			return
		}
	} else if q.Get("from") != "" {
		// One day from the start, as `onecall report --from` does.
		to = from.In(loc).AddDate(0, 0, 1)
	}
	by := By(strings.ToLower(q.Get("by")))
	if by == "" {
		by = ByQueue
	}
	every := time.Hour
	if s := q.Get("every"); s != "" {
		if every, err = ParseEvery(s); err != nil {
			httpError(w, http.StatusBadRequest, "bad_every", err)
			return
		}
	}
	format := q.Get("format")
	if format == "" {
		format = "json"
	}
	if format != "json" && format != "csv" && format != "html" {
		httpError(w, http.StatusBadRequest, "bad_format", errors.New("format: want json, csv or html"))
		return
	}
	o := h.Cfg.Options(from, to, by, every)
	if err := o.Validate(); err != nil {
		httpError(w, http.StatusBadRequest, "bad_report", err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), maxBuild)
	defer cancel()
	rows, err := Build(ctx, h.Src, o)
	if err != nil {
		httpError(w, http.StatusServiceUnavailable, "report_failed", err)
		return
	}
	if h.OnExport != nil {
		h.OnExport(r, o, format, len(rows))
	}
	name := fmt.Sprintf("onecall-report-%s-%s-%s", by, from.In(loc).Format("20060102"), q.Get("every"))
	switch format {
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
		_ = WriteCSV(w, rows)
	case "html":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", PageCSP) // its inline style, no script
		csv := r.URL.Query()
		csv.Set("format", "csv")
		_ = WriteHTML(w, rows, Page{Title: "onecall report · 상담 통계", By: by, Every: every, From: from.In(loc), To: to.In(loc),
			Names: h.Cfg.Names, Targets: h.Cfg.Targets,
			Form: &Form{From: from.In(loc).Format("2006-01-02"), To: to.In(loc).Format("2006-01-02"), CSV: "?" + csv.Encode()}})
	default:
		w.Header().Set("Content-Type", "application/json")
		_ = WriteJSON(w, rows)
	}
}

func httpError(w http.ResponseWriter, status int, code string, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":%q,"message":%q}`+"\n", code, err.Error())
}
