package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"onecall/router"
)

// StaleLive lists the contacts stored as live that arrived before the
// cutoff (not ended ones, not booked callbacks, not newer ones); EndStale
// ends one once, with its contact event, and leaves an ended one alone.
func TestStaleLiveAndEndStale(t *testing.T) {
	if EndReasonStale != router.EndStuck.String() {
		t.Fatalf("EndReasonStale %q, router's %q", EndReasonStale, router.EndStuck)
	}
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for _, r := range []Record{
			ContactUpsert{ID: 1, Channel: "chat", Queue: "q", State: "waiting", Arrived: t0},
			ContactUpsert{ID: 2, Channel: "voice", Queue: "q", State: "talking", Agent: "kim", Arrived: t0.Add(time.Second)},
			ContactUpsert{ID: 3, Channel: "chat", Queue: "q", State: "ended", Arrived: t0, Ended: t0.Add(time.Minute), EndReason: "busy"},
			ContactUpsert{ID: 4, Channel: "chat", Queue: "q", State: StateCallbackBooked, Arrived: t0},
			ContactUpsert{ID: 5, Channel: "chat", Queue: "q", State: "waiting", Arrived: t0.Add(time.Hour)},
		} {
			must(t, s.Durable(ctx, r))
		}
		ids, err := s.StaleLive(ctx, t0.Add(time.Minute), 10)
		must(t, err)
		if fmt.Sprint(ids) != "[1 2]" {
			t.Fatalf("StaleLive = %v, want [1 2]", ids)
		}
		if ids, _ := s.StaleLive(ctx, t0.Add(time.Minute), 1); fmt.Sprint(ids) != "[1]" {
			t.Fatalf("StaleLive with limit 1 = %v", ids)
		}
		at := t0.Add(2 * time.Minute)
		for i, want := range []bool{true, false} {
			ended, err := s.EndStale(ctx, 1, at)
			must(t, err)
			if ended != want {
				t.Fatalf("EndStale #%d = %v, want %v", i+1, ended, want)
			}
		}
		if ended, _ := s.EndStale(ctx, 3, at); ended {
			t.Fatal("an ended contact ended again")
		}
		c, err := s.Contact(ctx, 1)
		must(t, err)
		if c.State != StateEnded || c.EndReason != EndReasonStale || !c.Ended.Equal(at) {
			t.Fatalf("contact 1 %+v, want ended stuck at %v", c, at)
		}
		evs, err := s.ContactEvents(ctx, 1)
		must(t, err)
		if len(evs) != 1 || evs[0].State != StateEnded {
			t.Fatalf("events %+v, want one ended", evs)
		}
		if ids, _ := s.StaleLive(ctx, t0.Add(time.Minute), 10); fmt.Sprint(ids) != "[2]" {
			t.Fatalf("StaleLive after the end = %v, want [2]", ids)
		}
	})
}
