package reports

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"onecall/store"
)

// By is what a report's rows are keyed by.
type By string

const (
	ByQueue  By = "queue"
	ByLine   By = "line"
	ByCenter By = "center"
	ByAgent  By = "agent"
)

// Contact is one contact as reports see it (no personal data).
type Contact struct {
	Channel, Line, Queue, Agent string
	Arrived, Answered, Ended    time.Time
	EndReason, Disposition      string
	Wait, Handle                time.Duration
	Transfers                   int
	// Callback is the status of the callback the contact booked
	// (store.CallbackBooked ... store.CallbackCancelled), "" if none;
	// CallbackAttempts the calls placed for it.
	Callback         string
	CallbackAttempts int
}

// Options shapes a report.
type Options struct {
	From, To time.Time
	Every    time.Duration // 15m, 1h or 24h
	By       By
	// Thresholds maps each queue to its service-level threshold; contacts
	// of other queues use DefaultThreshold.
	Thresholds       map[string]time.Duration
	DefaultThreshold time.Duration
	// CenterOf maps a line (hotline number) to its center; needed for
	// ByCenter.
	CenterOf func(line string) string
	Loc      *time.Location // bucket boundaries (days) in this zone; default KST
}

// Validate reports options a report cannot be built from.
func (o Options) Validate() error {
	switch {
	case !o.To.After(o.From):
		return errors.New("reports: to must be after from")
	case o.To.Sub(o.From) > 93*24*time.Hour:
		return errors.New("reports: at most 93 days per report")
	case o.Every != 15*time.Minute && o.Every != time.Hour && o.Every != 24*time.Hour:
		return fmt.Errorf("reports: every %v: want 15m, 1h or 1d", o.Every)
	}
	switch o.By {
	case ByQueue, ByLine, ByAgent:
	case ByCenter:
		if o.CenterOf == nil {
			return errors.New("reports: by center needs the centers of the lines")
		}
	default:
		return fmt.Errorf("reports: by %q: want queue, line, center or agent", o.By)
	}
	return nil
}

// Row is one key's figures in one interval.
type Row struct {
	Start     time.Time
	Key       string
	Offered   int // contacts that arrived (for agents: contacts they answered)
	Answered  int
	Abandoned int
	// InSL answered within the threshold; SLBase = answered + abandoned
	// after the threshold (the engine's and the console's definition).
	InSL, SLBase int
	WaitSum      time.Duration // of the answered
	HandleSum    time.Duration // of the answered
	Transfers    int
	// Callbacks booked by the interval's contacts, placed (at least one
	// call dialled) and reached (a call answered by the citizen).
	CallbacksBooked, CallbacksPlaced, CallbacksReached int
	Other                                              int            // closed otherwise: refused, callback booked, redirected ...
	Dispositions                                       map[string]int // code -> count
}

// SL is the service level, or -1 when nothing counts toward it.
func (r Row) SL() float64 {
	if r.SLBase == 0 {
		return -1
	}
	return float64(r.InSL) / float64(r.SLBase)
}

// ASA is the mean wait of the answered.
func (r Row) ASA() time.Duration {
	if r.Answered == 0 {
		return 0
	}
	return r.WaitSum / time.Duration(r.Answered)
}

// AHT is the mean handle time of the answered.
func (r Row) AHT() time.Duration {
	if r.Answered == 0 {
		return 0
	}
	return r.HandleSum / time.Duration(r.Answered)
}

// Builder aggregates contacts into rows.
type Builder struct {
	o    Options
	rows map[rowKey]*Row
}

type rowKey struct {
	start time.Time
	key   string
}

// NewBuilder validates o and returns an empty builder.
func NewBuilder(o Options) (*Builder, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Loc == nil {
		o.Loc = time.FixedZone("KST", 9*3600)
	}
	if o.DefaultThreshold <= 0 {
		o.DefaultThreshold = 20 * time.Second
	}
	return &Builder{o: o, rows: map[rowKey]*Row{}}, nil
}

// bucket is the start of the interval holding t.
func (b *Builder) bucket(t time.Time) time.Time {
	t = t.In(b.o.Loc)
	if b.o.Every == 24*time.Hour {
		y, m, d := t.Date()
		return time.Date(y, m, d, 0, 0, 0, 0, b.o.Loc)
	}
	return t.Truncate(b.o.Every)
}

// Add counts one contact (contacts outside [From, To) are ignored).
func (b *Builder) Add(c Contact) {
	if c.Arrived.Before(b.o.From) || !c.Arrived.Before(b.o.To) {
		return
	}
	var key string
	switch b.o.By {
	case ByQueue:
		key = c.Queue
	case ByLine:
		key = c.Line
	case ByCenter:
		key = b.o.CenterOf(c.Line)
	case ByAgent:
		if c.Agent == "" || c.Answered.IsZero() {
			return // an agent's report counts what they answered
		}
		key = c.Agent
	}
	k := rowKey{b.bucket(c.Arrived), key}
	r := b.rows[k]
	if r == nil {
		r = &Row{Start: k.start, Key: key, Dispositions: map[string]int{}}
		b.rows[k] = r
	}
	r.Offered++
	r.Transfers += c.Transfers
	th, ok := b.o.Thresholds[c.Queue]
	if !ok {
		th = b.o.DefaultThreshold
	}
	switch {
	case c.Callback != "":
		// A contact that booked a callback left the queue then: its
		// answer, if any, is the callback's (callbacks_reached), hours
		// later, not the queue's answer time; counting it answered would
		// put the hours of waiting for the call back into ASA and SL.
		r.Other++
	case !c.Answered.IsZero():
		r.Answered++
		r.SLBase++
		if c.Wait <= th {
			r.InSL++
		}
		r.WaitSum += c.Wait
		r.HandleSum += c.Handle
	case c.EndReason == "abandoned":
		r.Abandoned++
		if c.Wait > th {
			r.SLBase++
		}
	case !c.Ended.IsZero():
		r.Other++
	}
	if c.Disposition != "" {
		r.Dispositions[c.Disposition]++
	}
	if c.Callback != "" {
		r.CallbacksBooked++
		if c.CallbackAttempts > 0 {
			r.CallbacksPlaced++
		}
		if c.Callback == store.CallbackDone {
			r.CallbacksReached++
		}
	}
}

// Rows returns the rows sorted by interval, then key.
func (b *Builder) Rows() []Row {
	out := make([]Row, 0, len(b.rows))
	for _, r := range b.rows {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b Row) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	return out
}

// ParseEvery reads 15m, 1h or 1d.
func ParseEvery(s string) (time.Duration, error) {
	switch s {
	case "15m":
		return 15 * time.Minute, nil
	case "1h", "60m":
		return time.Hour, nil
	case "1d", "24h":
		return 24 * time.Hour, nil
	}
	return 0, fmt.Errorf("reports: every %q: want 15m, 1h or 1d", s)
}
