package chat

import (
	"testing"
	"time"

	"onecall/router"
)

func TestHoursStatus(t *testing.T) {
	kst := time.FixedZone("KST", 9*3600)
	wk := []router.Span{{From: 9 * 60, To: 18 * 60}}
	h := &Hours{Schedule: router.Schedule{Location: kst, Holidays: map[string]bool{"2026-12-25": true},
		Weekly: [7][]router.Span{time.Monday: wk, time.Tuesday: wk, time.Wednesday: wk, time.Thursday: wk, time.Friday: wk}},
		HolidayNames: map[string]string{"2026-12-25": "기독탄신일"}}
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, kst)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		now, next, holiday string
		open               bool
	}{
		{"2026-12-07 10:00", "", "", true},                       // Monday
		{"2026-12-07 08:59", "2026-12-07 09:00", "", false},      // before opening
		{"2026-12-07 18:00", "2026-12-08 09:00", "", false},      // after closing
		{"2026-12-05 12:00", "2026-12-07 09:00", "", false},      // Saturday
		{"2026-12-24 19:00", "2026-12-28 09:00", "", false},      // Thursday evening, Friday a holiday
		{"2026-12-25 10:00", "2026-12-28 09:00", "기독탄신일", false}, // the holiday
	}
	for _, c := range cases {
		open, hol, next := h.Status(at(c.now))
		want := time.Time{}
		if c.next != "" {
			want = at(c.next)
		}
		if open != c.open || hol != c.holiday || !next.Equal(want) {
			t.Errorf("%s: open %v holiday %q next %v; want %v %q %v", c.now, open, hol, next, c.open, c.holiday, want)
		}
	}
	if open, _, _ := (*Hours)(nil).Status(at("2026-12-05 03:00")); !open {
		t.Error("a line without hours is open")
	}
}
