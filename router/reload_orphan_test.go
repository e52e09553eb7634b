package router

import (
	"testing"
	"time"
)

// A reload keeps the queues it keeps live: only the queues it drops are
// orphans (reload once reused the old queue list's array, which marked
// the new queues orphan: no statistics and no wait estimates after it).
func TestReloadMarksOnlyDroppedQueuesOrphan(t *testing.T) {
	cfg := Config{
		Queues:   []QueueDef{{ID: "a", SLTarget: 0.8, SLThreshold: 20 * time.Second}, {ID: "b", SLTarget: 0.8, SLThreshold: 20 * time.Second}},
		Hotlines: []HotlineDef{{Number: "110", DefaultQueue: "a", Schedule: Schedule{Always: true}}},
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	now := defaultStart
	if _, err := e.Apply(Tick{}, now); err != nil {
		t.Fatal(err)
	}
	old := e.queues["b"]
	cfg.Queues = cfg.Queues[:1]
	if _, err := e.Apply(ConfigReloaded{Config: cfg}, now); err != nil {
		t.Fatal(err)
	}
	if !old.orphan {
		t.Error("dropped queue b is not an orphan")
	}
	for _, q := range e.queueList {
		if q.orphan {
			t.Errorf("live queue %s marked orphan after the reload", q.def.ID)
		}
	}
	if _, err := e.Apply(ContactArrived{Contact: 1, Channel: Voice, Number: "110"}, now); err != nil {
		t.Fatal(err)
	}
	cmds, _ := e.Apply(Tick{}, now.Add(2*time.Second))
	stats := 0
	for _, c := range cmds {
		if s, ok := c.(QueueStats); ok && s.Stats.Queue == "a" {
			stats++
		}
	}
	if stats != 1 {
		t.Errorf("queue a statistics after the reload: %d deltas, want 1", stats)
	}
}
