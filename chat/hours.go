package chat

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"onecall/router"
)

// Hours is a line's opening schedule as the chat page shows it before a
// citizen starts: the weekly spans, the public holidays, and what a closed
// line offers. A Hotline without Hours is shown as open at all times.
type Hours struct {
	Schedule router.Schedule
	// HolidayNames names the public holidays by date "YYYY-MM-DD".
	HolidayNames map[string]string
	// ClosedKO, ClosedEN are the line's closed message.
	ClosedKO, ClosedEN string
	// Callback: a closed line offers a callback (else only a message).
	Callback bool
}

// daySpans are the spans of the local day t falls on, and the holiday
// name when it is one.
func (h *Hours) daySpans(t time.Time) ([]router.Span, string) {
	d := t.Format("2006-01-02")
	if h.Schedule.Holidays[d] {
		return h.Schedule.HolidayOpen, h.HolidayNames[d]
	}
	return h.Schedule.Weekly[t.Weekday()], ""
}

// Status reports whether the line is open at now, the holiday today
// ("" if none) and, when closed, the next opening (zero if none within
// two weeks).
func (h *Hours) Status(now time.Time) (open bool, holiday string, next time.Time) {
	if h == nil || h.Schedule.Always {
		return true, "", time.Time{}
	}
	loc := h.Schedule.Location
	if loc == nil {
		loc = time.UTC
	}
	now = now.In(loc)
	spans, holiday := h.daySpans(now)
	min := now.Hour()*60 + now.Minute()
	for _, s := range spans {
		if min >= s.From && min < s.To {
			return true, holiday, time.Time{}
		}
	}
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	for i := 0; i < 15; i++ {
		d := day.AddDate(0, 0, i)
		ss, _ := h.daySpans(d)
		for _, s := range ss {
			at := d.Add(time.Duration(s.From) * time.Minute)
			if at.After(now) {
				return false, holiday, at
			}
		}
	}
	return false, holiday, time.Time{}
}

type spanJ = string

type hoursJ struct {
	Number   string `json:"number"`
	Always   bool   `json:"always"`
	TimeZone string `json:"time_zone,omitempty"`
	// Weekly is indexed by weekday, 0 = Sunday.
	Weekly       [7][]spanJ `json:"weekly"`
	HolidaysOpen []spanJ    `json:"holidays_open"`
	Now          string     `json:"now"`
	Open         bool       `json:"open"`
	Holiday      string     `json:"holiday,omitempty"`
	NextOpen     string     `json:"next_open,omitempty"`
	ClosedKO     string     `json:"closed_ko,omitempty"`
	ClosedEN     string     `json:"closed_en,omitempty"`
	Callback     bool       `json:"callback"`
	Callbacks    bool       `json:"callbacks"` // the line places callbacks at all (while waiting too)
	Upcoming     []holJ     `json:"upcoming_holidays"`
}

type holJ struct {
	Date string `json:"date"`
	Name string `json:"name"`
}

func spansJ(ss []router.Span) []spanJ {
	out := make([]spanJ, 0, len(ss))
	for _, s := range ss {
		out = append(out, fmt.Sprintf("%02d:%02d-%02d:%02d", s.From/60, s.From%60, s.To/60, s.To%60))
	}
	return out
}

// hoursView is the JSON of GET /chat/hours/{number}.
func (s *Service) hoursView(h Hotline, now time.Time) hoursJ {
	j := hoursJ{Number: h.Number, Always: true, Open: true, Callbacks: h.Callbacks, Upcoming: []holJ{}, HolidaysOpen: []spanJ{}}
	for i := range j.Weekly {
		j.Weekly[i] = []spanJ{}
	}
	j.Now = now.Format(time.RFC3339)
	hs := h.Hours
	if hs == nil || hs.Schedule.Always {
		return j
	}
	loc := hs.Schedule.Location
	if loc == nil {
		loc = time.UTC
	}
	now = now.In(loc)
	j.Now = now.Format(time.RFC3339)
	j.Always, j.TimeZone = false, loc.String()
	for d := range j.Weekly {
		j.Weekly[d] = spansJ(hs.Schedule.Weekly[d])
	}
	j.HolidaysOpen = spansJ(hs.Schedule.HolidayOpen)
	var next time.Time
	j.Open, j.Holiday, next = hs.Status(now)
	if !next.IsZero() {
		j.NextOpen = next.Format(time.RFC3339)
	}
	j.ClosedKO, j.ClosedEN, j.Callback = hs.ClosedKO, hs.ClosedEN, hs.Callback
	for i := 0; i < 31 && len(j.Upcoming) < 3; i++ {
		d := now.AddDate(0, 0, i).Format("2006-01-02")
		if hs.Schedule.Holidays[d] {
			j.Upcoming = append(j.Upcoming, holJ{Date: d, Name: hs.HolidayNames[d]})
		}
	}
	return j
}

// serveHours is GET /chat/hours/{number}: the line's schedule, holidays and
// status now, for the page to show before the citizen starts.
func (s *Service) serveHours(w http.ResponseWriter, r *http.Request) {
	h, _, ok := s.lookup(r.PathValue("number"), "")
	if !ok {
		http.NotFound(w, r)
		return
	}
	s.headers(w)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(s.hoursView(h, s.now()))
}
