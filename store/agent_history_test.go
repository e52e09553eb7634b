package store

import (
	"reflect"
	"testing"
	"time"
)

// TestAgentStateBins: agents by state at the end of each 15 minutes, from
// the agent state log, the last bin at the asked end; offline not counted;
// rows that ended before the period or started after it do not count.
func TestAgentStateBins(t *testing.T) {
	forEachStore(t, testAgentStateBins)
}

func testAgentStateBins(t *testing.T, s *Store) {
	ctx := ctxT(t)
	day := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	at := func(h, m int) time.Time { return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	for _, r := range []AgentStateLog{
		{Agent: "old", State: "ready", At: day.Add(-3 * time.Hour)}, // ended before the day
		{Agent: "old", State: "offline", At: day.Add(-time.Hour)},
		{Agent: "kim", State: "not_ready", Reason: "login", At: at(8, 50)},
		{Agent: "kim", State: "ready", At: at(9, 5)},
		{Agent: "kim", State: "busy", At: at(9, 20)},
		{Agent: "kim", State: "wrap_up", At: at(9, 30)}, // exactly at a bin end: counts as wrap_up there
		{Agent: "kim", State: "ready", At: at(9, 31)},
		{Agent: "lee", State: "ready", At: at(8, 0)},
		{Agent: "lee", State: "offline", At: at(9, 10)},
		{Agent: "park", State: "ready", At: at(9, 40)},
		{Agent: "late", State: "ready", At: at(10, 0)}, // after the period
	} {
		if err := s.Durable(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	bins, err := s.AgentStateBins(ctx, at(9, 0), at(9, 35), 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]int{}
	for _, b := range bins {
		got[b.Start.Format("15:04")] = b.Counts
	}
	want := map[string]map[string]int{
		"09:00": {"ready": 1},   // at 09:15: kim ready; lee went offline at 09:10
		"09:15": {"wrap_up": 1}, // at 09:30: kim in wrap-up, lee offline
		"09:30": {"ready": 1},   // at 09:35 (the end): kim ready again; park not yet
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("bins %v, want %v", got, want)
	}
	// A period that starts mid-bin still bins on the quarter hours.
	bins, err = s.AgentStateBins(ctx, at(8, 55), at(9, 1), 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(bins) != 2 || !bins[0].Start.Equal(at(8, 45)) || !reflect.DeepEqual(bins[0].Counts, map[string]int{"not_ready": 1, "ready": 1}) ||
		!reflect.DeepEqual(bins[1].Counts, map[string]int{"not_ready": 1, "ready": 1}) {
		t.Fatalf("mid-bin period: %+v", bins)
	}
	if _, err := s.AgentStateBins(ctx, at(9, 0), at(9, 0).Add(49*time.Hour), 15*time.Minute); err != ErrAgentStateSpan {
		t.Fatalf("49 h: %v", err)
	}
}
