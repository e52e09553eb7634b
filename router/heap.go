package router

import "time"

// agentHeap orders the available agents of one queue and channel by the
// queue's strategy, tie-break on agent id.
type agentHeap struct {
	q  *queue
	ch Channel
	h  []hent
}

type hent struct {
	a    *agent
	slot int32 // index into a.mem
}

func (h *agentHeap) less(x, y hent) bool {
	a, b := x.a, y.a
	switch h.q.def.Strategy {
	case MostSkilled:
		sa, sb := a.mem[x.slot].score, b.mem[y.slot].score
		if sa != sb {
			return sa > sb
		}
	case LeastOccupied:
		ua, ub := a.Used().Total(), b.Used().Total()
		if ua != ub {
			return ua < ub
		}
	case RoundRobin:
		if a.lastOffer != b.lastOffer {
			return a.lastOffer < b.lastOffer
		}
		return a.id < b.id
	default: // LongestIdle
	}
	if a.idleKey != b.idleKey {
		return a.idleKey < b.idleKey
	}
	return a.id < b.id
}

func (h *agentHeap) setPos(i int) {
	e := h.h[i]
	e.a.mem[e.slot].pos[h.ch] = i
}

func (h *agentHeap) swap(i, j int) {
	h.h[i], h.h[j] = h.h[j], h.h[i]
	h.setPos(i)
	h.setPos(j)
}

func (h *agentHeap) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !h.less(h.h[j], h.h[i]) {
			break
		}
		h.swap(i, j)
		j = i
	}
}

func (h *agentHeap) down(i0 int) bool {
	i, n := i0, len(h.h)
	for {
		j := 2*i + 1
		if j >= n {
			break
		}
		if r := j + 1; r < n && h.less(h.h[r], h.h[j]) {
			j = r
		}
		if !h.less(h.h[j], h.h[i]) {
			break
		}
		h.swap(i, j)
		i = j
	}
	return i > i0
}

func (h *agentHeap) push(a *agent, slot int) {
	h.h = append(h.h, hent{a: a, slot: int32(slot)})
	i := len(h.h) - 1
	h.setPos(i)
	h.up(i)
}

func (h *agentHeap) remove(i int) {
	e := h.h[i]
	n := len(h.h) - 1
	if i != n {
		h.swap(i, n)
	}
	h.h[n] = hent{}
	h.h = h.h[:n]
	if i != n && !h.down(i) {
		h.up(i)
	}
	e.a.mem[e.slot].pos[h.ch] = -1
}

func (h *agentHeap) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

// first returns the first agent in heap order for which ok holds, visiting
// candidates best-first (O(k log k) for the k-th). scratch is reused.
func (h *agentHeap) first(ok func(*agent) bool, scratch *[]int) *agent {
	if len(h.h) == 0 {
		return nil
	}
	if ok(h.h[0].a) {
		return h.h[0].a
	}
	fr := (*scratch)[:0]
	push := func(i int) {
		if i >= len(h.h) {
			return
		}
		fr = append(fr, i)
		for j := len(fr) - 1; j > 0; {
			p := (j - 1) / 2
			if !h.less(h.h[fr[j]], h.h[fr[p]]) {
				break
			}
			fr[j], fr[p] = fr[p], fr[j]
			j = p
		}
	}
	push(1)
	push(2)
	for len(fr) > 0 {
		i := fr[0]
		n := len(fr) - 1
		fr[0] = fr[n]
		fr = fr[:n]
		for j := 0; ; {
			c := 2*j + 1
			if c >= n {
				break
			}
			if r := c + 1; r < n && h.less(h.h[fr[r]], h.h[fr[c]]) {
				c = r
			}
			if !h.less(h.h[fr[c]], h.h[fr[j]]) {
				break
			}
			fr[j], fr[c] = fr[c], fr[j]
			j = c
		}
		if ok(h.h[i].a) {
			*scratch = fr
			return h.h[i].a
		}
		push(2*i + 1)
		push(2*i + 2)
	}
	*scratch = fr
	return nil
}

// timer kinds
const (
	tOffer uint8 = iota + 1
	tWrap
	tEscalate
	tOverflow
	tPin
	tBound
	tAnnounce
	tPark
	tRetry
	tConsult
)

type timer struct {
	at   time.Time
	ns   int64 // at in unix ns, the heap key
	seq  uint64
	kind uint8
	n    uint32 // offerSeq / wrapSeq / step index
	cid  ContactID
	a    *agent
	q    *queue
}

type timerHeap []timer

func (t timerHeap) less(i, j int) bool {
	if t[i].ns != t[j].ns {
		return t[i].ns < t[j].ns
	}
	return t[i].seq < t[j].seq
}

func (t *timerHeap) push(x timer) {
	*t = append(*t, x)
	h := *t
	for j := len(h) - 1; j > 0; {
		i := (j - 1) / 2
		if !h.less(j, i) {
			break
		}
		h[i], h[j] = h[j], h[i]
		j = i
	}
}

func (t *timerHeap) pop() timer {
	h := *t
	x := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h[n] = timer{}
	h = h[:n]
	*t = h
	t.down(0)
	return x
}

func (t *timerHeap) down(i int) {
	h := *t
	n := len(h)
	for {
		j := 2*i + 1
		if j >= n {
			break
		}
		if r := j + 1; r < n && h.less(r, j) {
			j = r
		}
		if !h.less(j, i) {
			break
		}
		h[i], h[j] = h[j], h[i]
		i = j
	}
}
