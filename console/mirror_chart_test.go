package console

import (
	"testing"
	"time"

	"onecall/router"
)

// The day chart folds the engine's counters into 15-minute bins: offered,
// answered and abandoned deltas, and the agents by state at the bin's end.
func TestMirrorChartBins(t *testing.T) {
	m := newMirror(false)
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	stats := func(offered, answered, abandoned int, at time.Time) {
		m.apply(router.QueueStats{Stats: router.QueueSnapshot{Queue: "q", Offered: offered, Answered: answered,
			Abandoned: abandoned, SL15m: 0.5, SL15mN: answered}}, at)
	}
	stats(0, 0, 0, t0)
	m.apply(router.AgentStateChanged{Agent: "a1", State: router.Ready, At: t0}, t0)
	m.apply(router.AgentStateChanged{Agent: "a2", State: router.Busy, At: t0}, t0)
	stats(10, 7, 2, t0.Add(5*time.Minute))
	m.apply(router.AgentStateChanged{Agent: "a1", State: router.Busy, At: t0}, t0.Add(20*time.Minute))
	stats(14, 10, 3, t0.Add(20*time.Minute))

	bins := m.chart()
	if len(bins) != 2 {
		t.Fatalf("%d bins, want 2: %+v", len(bins), bins)
	}
	b0, b1 := bins[0], bins[1]
	if b0.Start != t0.UnixMilli() || b0.Offered != 10 || b0.Answered != 7 || b0.Abandoned != 2 {
		t.Errorf("first bin %+v", b0)
	}
	if b0.Agents["ready"] != 1 || b0.Agents["busy"] != 1 {
		t.Errorf("first bin agents %v", b0.Agents)
	}
	if b1.Start != t0.Add(15*time.Minute).UnixMilli() || b1.Offered != 4 || b1.Answered != 3 || b1.Abandoned != 1 {
		t.Errorf("second bin %+v", b1)
	}
	if b1.Agents["ready"] != 0 || b1.Agents["busy"] != 2 {
		t.Errorf("second bin agents %v", b1.Agents)
	}
	if b1.SL != 0.5 {
		t.Errorf("second bin SL %v", b1.SL)
	}
	// A copy: changing the mirror does not change a chart already sent.
	m.apply(router.AgentStateChanged{Agent: "a2", State: router.Ready, At: t0}, t0.Add(21*time.Minute))
	if bins[1].Agents["busy"] != 2 {
		t.Errorf("chart() shares its maps with the mirror")
	}
	// Bounded: a day and more of bins keeps the last 96.
	for i := 0; i < 200; i++ {
		stats(14, 10, 3, t0.Add(time.Duration(i)*15*time.Minute))
	}
	if n := len(m.chart()); n != maxBins {
		t.Errorf("%d bins, want %d", n, maxBins)
	}
}
