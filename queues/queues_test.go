package queues

import (
	"math/rand/v2"
	"testing"
	"time"
	_ "time/tzdata" // zones with daylight saving, also without system tzdata
)

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

func TestListOrder(t *testing.T) {
	var l List
	mk := func(id uint64, prio int, at time.Duration) *Item {
		return &Item{ID: id, Score: Score(prio, 0, t0.Add(at), t0), Arrival: t0.Add(at).UnixNano()}
	}
	items := []*Item{mk(1, 0, 3*time.Second), mk(2, 0, time.Second), mk(3, 5, 9*time.Second), mk(4, 0, time.Second)}
	for _, it := range items {
		l.Push(it)
	}
	if p := l.Position(items[0]); p != 4 || l.CountBefore(items[2]) != 0 || l.Len() != 4 {
		t.Fatalf("position of latest = %d", p)
	}
	var got []uint64
	for l.Len() > 0 {
		got = append(got, l.Pop().ID)
	}
	want := []uint64{3, 2, 4, 1} // priority, then arrival, then id
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("order %v want %v", got, want)
		}
	}
}

func TestListRemoveRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var l List
	var items []*Item
	for i := range 500 {
		it := &Item{ID: uint64(i), Score: int64(r.IntN(5)), Arrival: int64(r.IntN(1000))}
		items = append(items, it)
		l.Push(it)
	}
	for i := 0; i < 500; i += 3 {
		l.Remove(items[i])
		if items[i].In() {
			t.Fatal("removed item still in list")
		}
	}
	sorted := l.Sorted()
	for i, it := range sorted {
		if l.Position(it) != i+1 {
			t.Fatalf("position of %d-th = %d", i+1, l.Position(it))
		}
	}
	prev := l.Pop()
	for l.Len() > 0 {
		it := l.Pop()
		if Before(it, prev) {
			t.Fatalf("heap order broken: %+v before %+v", it, prev)
		}
		prev = it
	}
}

// Aging: a contact of priority 0 that waited long enough overtakes a later
// priority-2 contact, and the ordering key is time independent.
func TestAgingOvertakes(t *testing.T) {
	old := &Item{ID: 1, Score: Score(0, 1, t0, t0), Arrival: t0.UnixNano()}
	young := &Item{ID: 2, Score: Score(2, 1, t0.Add(90*time.Second), t0), Arrival: t0.Add(90 * time.Second).UnixNano()}
	if Before(old, young) {
		t.Fatal("old low-priority contact ahead after 1.5 min")
	}
	later := &Item{ID: 3, Score: Score(2, 1, t0.Add(3*time.Minute), t0), Arrival: t0.Add(3 * time.Minute).UnixNano()}
	if !Before(old, later) {
		t.Fatal("aging did not overtake after 3 minutes")
	}
	if e := Effective(2, 1, 150*time.Second); e != 4 {
		t.Fatalf("effective %d", e)
	}
}

func TestStatsWindows(t *testing.T) {
	s := NewStats(20*time.Second, time.UTC)
	s.Answered(t0, 10*time.Second)
	s.Answered(t0.Add(20*time.Minute), 30*time.Second)
	s.Abandoned(t0.Add(50*time.Minute), 40*time.Second)
	s.Abandoned(t0.Add(50*time.Minute), 5*time.Second)
	now := t0.Add(55 * time.Minute)
	if c := s.Window(now, 15*time.Minute); c.Answered != 0 || c.Abandoned != 2 || c.SL() != 0 {
		t.Fatalf("15m %+v sl %v", c, c.SL())
	}
	if c := s.Window(now, time.Hour); c.Answered != 2 || c.SL() != 1.0/3 {
		t.Fatalf("60m %+v sl %v", c, c.SL())
	}
	if c := s.Today(now); c.ASA() != 20*time.Second {
		t.Fatalf("ASA %v", c.ASA())
	}
	// An hour later the buckets are gone, today stays; next day resets.
	if c := s.Window(now.Add(time.Hour), time.Hour); c.Answered != 0 {
		t.Fatalf("stale buckets %+v", c)
	}
	if c := s.Today(t0.Add(24 * time.Hour)); c.Answered != 0 {
		t.Fatalf("today not reset %+v", c)
	}
}

func TestEstimatedWait(t *testing.T) {
	tests := []struct {
		pos, staffed, slots int
		want                time.Duration
	}{
		{1, 1, 1, 3 * time.Minute},
		{10, 5, 1, 6 * time.Minute},
		{10, 5, 2, 3 * time.Minute},
		{0, 5, 1, 0},
		{3, 0, 1, 9 * time.Minute},
	}
	for _, tt := range tests {
		if got := EstimatedWait(tt.pos, 3*time.Minute, tt.staffed, tt.slots); got != tt.want {
			t.Errorf("EWT%+v=%v want %v", tt, got, tt.want)
		}
	}
}

// AppendSorted (parent-link walk) gives exactly Each's order, after random
// pushes and removals, and appends to what dst already holds.
func TestAppendSortedMatchesEach(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var l List
	var items []*Item
	if got := l.AppendSorted(nil); len(got) != 0 {
		t.Fatalf("empty list gave %d items", len(got))
	}
	for round := range 400 {
		if len(items) > 0 && r.IntN(3) == 0 {
			i := r.IntN(len(items))
			l.Remove(items[i])
			items = append(items[:i], items[i+1:]...)
		} else {
			it := &Item{ID: uint64(round), Score: int64(r.IntN(4)), Arrival: int64(r.IntN(100))}
			items = append(items, it)
			l.Push(it)
		}
		var want []*Item
		l.Each(func(it *Item) bool { want = append(want, it); return true })
		head := &Item{ID: 1 << 40}
		got := l.AppendSorted([]*Item{head})
		if len(got) != len(want)+1 || got[0] != head {
			t.Fatalf("round %d: %d items, want %d after the head", round, len(got), len(want)+1)
		}
		for i := range want {
			if got[i+1] != want[i] {
				t.Fatalf("round %d: item %d differs", round, i)
			}
		}
	}
}

// Today resets exactly when the local date changes, also across daylight
// saving changes at or near midnight (the day cache must not outlive them).
func TestTodayRollsOverAtLocalMidnight(t *testing.T) {
	for _, name := range []string{"UTC", "Asia/Seoul", "Europe/Berlin", "America/Santiago", "America/Havana"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		s := NewStats(20*time.Second, loc)
		now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		day, n := -1, 0
		for i := range 400 * 24 * 60 / 37 {
			now = now.Add(37 * time.Minute)
			y, m, d := now.In(loc).Date()
			if k := y*10000 + int(m)*100 + d; k != day {
				day, n = k, 0
			}
			s.Entered(now)
			n++
			if got := s.Today(now).Offered; got != n {
				t.Fatalf("%s step %d at %v: today %d, want %d", name, i, now.In(loc), got, n)
			}
		}
	}
}
