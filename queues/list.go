package queues

import (
	"slices"
	"time"
)

// Item is one entry of a List. The owner keeps the Item; a List holds
// pointers and maintains the index. An Item is in at most one List.
type Item struct {
	ID      uint64
	Score   int64 // higher first; see Score
	Arrival int64 // original arrival, unix nanoseconds; earlier first
	index   int   // position in the heap, -1 when not in a list
	list    *List
}

// In reports whether the item is in a list.
func (it *Item) In() bool { return it.list != nil }

// Score is the time-independent ordering key of a waiting contact: with
// aging a points per minute, effective priority at time t is
// prio + a*(t-arrival)/minute, so comparing two contacts of one queue at any
// t is comparing prio*minute - a*arrival. Units are milliseconds relative to
// epoch so the product cannot overflow for realistic values.
func Score(prio, agingPerMinute int, arrival, epoch time.Time) int64 {
	ms := arrival.Sub(epoch).Milliseconds()
	return int64(prio)*60_000 - int64(agingPerMinute)*ms
}

// Effective is the effective priority after waiting waited.
func Effective(prio, agingPerMinute int, waited time.Duration) int {
	if waited < 0 {
		waited = 0
	}
	return prio + agingPerMinute*int(waited/time.Minute)
}

// Before is the list order: higher score, then earlier arrival, then lower id.
func Before(a, b *Item) bool {
	if a.Score != b.Score {
		return a.Score > b.Score
	}
	if a.Arrival != b.Arrival {
		return a.Arrival < b.Arrival
	}
	return a.ID < b.ID
}

// List is a waiting list: an indexed binary heap, O(log n) push, pop and
// remove of any item.
type List struct {
	h []*Item
}

// Len is the number of items.
func (l *List) Len() int { return len(l.h) }

// Peek returns the first item or nil.
func (l *List) Peek() *Item {
	if len(l.h) == 0 {
		return nil
	}
	return l.h[0]
}

// Push adds it. It panics if it is already in a list (a programming error:
// it would double-offer a contact).
func (l *List) Push(it *Item) {
	if it.list != nil {
		panic("queues: item already in a list")
	}
	it.list = l
	it.index = len(l.h)
	l.h = append(l.h, it)
	l.up(it.index)
}

// Remove takes it out of the list; a no-op when it is not in l.
func (l *List) Remove(it *Item) {
	if it.list != l {
		return
	}
	i := it.index
	n := len(l.h) - 1
	if i != n {
		l.swap(i, n)
	}
	l.h[n] = nil
	l.h = l.h[:n]
	if i != n {
		if !l.down(i) {
			l.up(i)
		}
	}
	it.list, it.index = nil, -1
}

// Pop removes and returns the first item, nil when empty.
func (l *List) Pop() *Item {
	it := l.Peek()
	if it != nil {
		l.Remove(it)
	}
	return it
}

// Position is the 1-based place of it in list order (0 when not in l). It
// costs O(n).
func (l *List) Position(it *Item) int {
	if it.list != l {
		return 0
	}
	p := 1
	for _, o := range l.h {
		if o != it && Before(o, it) {
			p++
		}
	}
	return p
}

// Sorted returns the items in list order (a new slice).
func (l *List) Sorted() []*Item {
	out := slices.Clone(l.h)
	slices.SortFunc(out, Compare)
	return out
}

// Items returns the items in heap order (no allocation; do not modify).
func (l *List) Items() []*Item { return l.h }

// Compare is Before as a three-way comparison.
func Compare(a, b *Item) int {
	if Before(a, b) {
		return -1
	}
	if Before(b, a) {
		return 1
	}
	return 0
}

func (l *List) swap(i, j int) {
	l.h[i], l.h[j] = l.h[j], l.h[i]
	l.h[i].index = i
	l.h[j].index = j
}

func (l *List) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !Before(l.h[j], l.h[i]) {
			break
		}
		l.swap(i, j)
		j = i
	}
}

func (l *List) down(i0 int) bool {
	i, n := i0, len(l.h)
	for {
		j := 2*i + 1
		if j >= n {
			break
		}
		if r := j + 1; r < n && Before(l.h[r], l.h[j]) {
			j = r
		}
		if !Before(l.h[j], l.h[i]) {
			break
		}
		l.swap(i, j)
		i = j
	}
	return i > i0
}
