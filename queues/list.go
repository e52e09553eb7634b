package queues

import "time"

// Item is one entry of a List. The owner keeps the Item; a List links it
// in. An Item is in at most one List at a time.
type Item struct {
	ID      uint64
	Score   int64 // higher first; see Score
	Arrival int64 // original arrival, unix nanoseconds; earlier first
	Owner   any   // the owner's back pointer (not used by the list)

	l, r, p *Item
	size    int32
	pri     uint64
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

// List is a waiting list: an order-statistic treap (deterministic
// priorities from the item id), O(log n) insert, remove, first and rank.
type List struct {
	root  *Item
	first *Item // cached leftmost item
	n     int
}

// Len is the number of items.
func (l *List) Len() int { return l.n }

func size(t *Item) int32 {
	if t == nil {
		return 0
	}
	return t.size
}

func (t *Item) fix() { t.size = 1 + size(t.l) + size(t.r) }

func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// split divides t into items before key and the rest.
func split(t, key *Item) (a, b *Item) {
	if t == nil {
		return nil, nil
	}
	if Before(t, key) {
		x, y := split(t.r, key)
		t.r = x
		if x != nil {
			x.p = t
		}
		t.fix()
		if y != nil {
			y.p = nil
		}
		return t, y
	}
	x, y := split(t.l, key)
	t.l = y
	if y != nil {
		y.p = t
	}
	t.fix()
	if x != nil {
		x.p = nil
	}
	return x, t
}

// merge joins a and b where every item of a is before every item of b.
func merge(a, b *Item) *Item {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	if a.pri > b.pri {
		a.r = merge(a.r, b)
		a.r.p = a
		a.fix()
		return a
	}
	b.l = merge(a, b.l)
	b.l.p = b
	b.fix()
	return b
}

// Push adds it. It panics if it is already in a list (a programming error:
// it would double-offer a contact).
func (l *List) Push(it *Item) {
	if it.list != nil {
		panic("queues: item already in a list")
	}
	it.list = l
	it.l, it.r, it.p = nil, nil, nil
	it.size = 1
	it.pri = mix(it.ID ^ uint64(it.Arrival))
	a, b := split(l.root, it)
	l.root = merge(merge(a, it), b)
	l.root.p = nil
	l.n++
	if l.first == nil || Before(it, l.first) {
		l.first = it
	}
}

// Remove takes it out of the list; a no-op when it is not in l.
func (l *List) Remove(it *Item) {
	if it.list != l {
		return
	}
	m := merge(it.l, it.r)
	p := it.p
	if m != nil {
		m.p = p
	}
	switch {
	case p == nil:
		l.root = m
	case p.l == it:
		p.l = m
	default:
		p.r = m
	}
	for x := p; x != nil; x = x.p {
		x.fix()
	}
	it.l, it.r, it.p, it.list = nil, nil, nil, nil
	l.n--
	if l.first == it {
		l.first = l.leftmost()
	}
}

// Peek returns the first item or nil. O(1).
func (l *List) Peek() *Item { return l.first }

func (l *List) leftmost() *Item {
	t := l.root
	if t == nil {
		return nil
	}
	for t.l != nil {
		t = t.l
	}
	return t
}

// Pop removes and returns the first item, nil when empty.
func (l *List) Pop() *Item {
	it := l.Peek()
	if it != nil {
		l.Remove(it)
	}
	return it
}

// CountBefore is the number of items ordered before key (key need not be
// in the list). O(log n).
func (l *List) CountBefore(key *Item) int {
	n := 0
	for t := l.root; t != nil; {
		if t != key && Before(t, key) {
			n += int(size(t.l)) + 1
			t = t.r
		} else {
			t = t.l
		}
	}
	return n
}

// Position is the 1-based place of it in list order (0 when not in l).
func (l *List) Position(it *Item) int {
	if it.list != l {
		return 0
	}
	return l.CountBefore(it) + 1
}

// Each calls fn for the items in list order until fn returns false.
func (l *List) Each(fn func(*Item) bool) {
	var stack []*Item
	t := l.root
	for t != nil || len(stack) > 0 {
		for t != nil {
			stack = append(stack, t)
			t = t.l
		}
		t = stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if !fn(t) {
			return
		}
		t = t.r
	}
}

// Sorted returns the items in list order (a new slice).
func (l *List) Sorted() []*Item {
	return l.AppendSorted(make([]*Item, 0, l.n))
}

// AppendSorted appends the items in list order to dst and returns it. It
// walks the tree by parent links: no allocation beyond growing dst.
func (l *List) AppendSorted(dst []*Item) []*Item {
	t := l.root
	if t == nil {
		return dst
	}
	for t.l != nil {
		t = t.l
	}
	for t != nil {
		dst = append(dst, t)
		if t.r != nil {
			t = t.r
			for t.l != nil {
				t = t.l
			}
			continue
		}
		for t.p != nil && t.p.r == t {
			t = t.p
		}
		t = t.p
	}
	return dst
}
