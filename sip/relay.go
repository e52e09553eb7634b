package sip

import (
	"context"
	"math"
	"sync"
	"time"
)

// relayQueue paces one leg's relayed audio (the bridge) with as little
// delay as the pacing needs. A frame that arrives when it is due (20 ms
// after the last one left, give or take relayEarly) goes out at once, from
// the peer's pump: a steady far end costs no delay and no extra wake-up,
// as through a plain relay. A frame that arrives early waits for its turn
// on the clock's relay wheel, and one that arrives late goes out at once,
// which moves the schedule: the next frames then wait as long as that one
// was late, so a far end that jitters builds a cushion of exactly its
// jitter, and the leg's send interval stays near 20 ms. No frame waits
// more than relayMaxWait (the one-way delay the relay may add); a cushion
// that stood unused for a whole window (relayTrimWindow frames) is halved; a
// queue over relayDepth (a burst) drops its oldest frame.
//
// Concurrency: push is called by the peer's pump (one goroutine), fire by
// the wheel; r.mu orders their sends. Lock order: r.mu, then the wheel's.
type relayQueue struct {
	mu   sync.Mutex
	send func(p []byte, gap uint32, marker bool) error
	stop <-chan struct{}
	k    *mediaClock // set by push
	w    *relayWheel // the wheel of k this queue waits on

	q       [relayDepth]relayFrame
	head, n int
	// last is when the last frame left (on the schedule: the time it was
	// due), lastDur its length; the next frame is due at last+lastDur.
	last, lastDur int64
	sent          bool // a frame has left
	scheduled     bool // on the wheel
	ended         bool
	dropped       uint64 // frames dropped: overflow
	trimmed       uint64 // cushions halved
	// minWait is the shortest wait of a frame in the current window of
	// relayWindow frames; waits counts the window's frames.
	minWait int64
	waits   int
}

// relayDepth frames at most wait in a relayQueue.
const relayDepth = 5

// relayEarly: a frame due within this much is sent at once. relayMaxWait:
// no frame waits longer (the delay the relay may add to a jittery far end);
// with the ±5 ms the send interval may vary, a cushion this deep keeps the
// interval within 20 ± 5 ms for a far end up to 11 ms late. relayTrimWindow
// frames (0.5 s) between two halvings of an unused cushion.
const (
	relayEarly      = int64(2 * time.Millisecond)
	relayMaxWait    = int64(6 * time.Millisecond)
	relayTrimWindow = 25
)

type relayFrame struct {
	buf    [maxRelayFrame]byte
	n      int
	gap    uint32
	marker bool
	at     int64 // arrival, wheel time
}

// maxRelayFrame bytes of payload are relayed per frame (G.711 at up to
// 60 ms); longer payloads are cut.
const maxRelayFrame = 480

// g711Sample is the length of one G.711 sample (and payload byte), in ns.
const g711Sample = int64(time.Second / 8000)

// push relays one frame: now, or later on the wheel. False when the clock
// has stopped or the leg has ended.
func (r *relayQueue) push(k *mediaClock, p []byte, gap uint32, marker bool) bool {
	select {
	case <-r.stop:
		r.halt()
		return false
	default:
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		return false
	}
	if r.k != k {
		r.k, r.w = k, k.wheels[int(k.nextWheel.Add(1))%len(k.wheels)]
	}
	now := r.w.now()
	if r.n == 0 && (!r.sent || r.last+r.lastDur-now <= relayEarly) {
		// Due or late: straight through.
		r.emit(p, gap, marker, now, now)
		return true
	}
	if r.n == relayDepth {
		r.drop()
	}
	f := &r.q[(r.head+r.n)%relayDepth]
	f.n = copy(f.buf[:], p)
	f.gap, f.marker, f.at = gap, marker, now
	r.n++
	if !r.scheduled {
		if !r.w.add(r, r.due()) {
			r.ended = true
			r.head, r.n = 0, 0
			return false
		}
		r.scheduled = true
	}
	return true
}

// due is when the head frame leaves. r.mu is held, r.n > 0.
func (r *relayQueue) due() int64 {
	return min(r.last+r.lastDur, r.q[r.head].at+relayMaxWait)
}

// emit sends one frame that arrived at `at`, on the schedule at `when`;
// it moves the schedule and trims an unused cushion. r.mu is held.
func (r *relayQueue) emit(p []byte, gap uint32, marker bool, at, when int64) {
	_ = r.send(p, gap, marker)
	r.last, r.lastDur, r.sent = when, int64(len(p))*g711Sample, true
	wait := max(when-at, 0)
	if r.waits == 0 || wait < r.minWait {
		r.minWait = wait
	}
	if r.waits++; r.waits == relayTrimWindow {
		if r.minWait > relayEarly {
			// Every frame of the window waited at least this long: the
			// far end has been steadier than the cushion assumes.
			r.last -= r.minWait / 2
			r.trimmed++
		}
		r.waits = 0
	}
}

// fire sends the frames that are due at now (the wheel's tick) and puts
// the queue back on the wheel for the next one.
func (r *relayQueue) fire(now int64) {
	select {
	case <-r.stop:
		r.halt()
		return
	default:
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.scheduled = false
	for r.n > 0 && !r.ended {
		due := r.due()
		if due-now > relayEarly {
			if r.w.add(r, due) {
				r.scheduled = true
			}
			return
		}
		f := &r.q[r.head]
		r.head = (r.head + 1) % relayDepth
		r.n--
		r.emit(f.buf[:f.n], f.gap, f.marker, f.at, due)
	}
}

// flush drops the queued frames (the bridge was taken down).
func (r *relayQueue) flush() {
	r.mu.Lock()
	r.head, r.n = 0, 0
	r.mu.Unlock()
}

// drop forgets the oldest queued frame. r.mu is held.
func (r *relayQueue) drop() {
	r.head = (r.head + 1) % relayDepth
	r.n--
	r.dropped++
	if r.k != nil {
		r.k.dropped.Add(1)
	}
}

func (r *relayQueue) halt() {
	r.mu.Lock()
	r.ended = true
	r.head, r.n = 0, 0
	r.mu.Unlock()
}

// relayWheel sends the relayed frames that wait, for a share of the
// Service's legs (one wheel per clock shard, so that the sends spread over
// the cores), from one goroutine: a ring of wheelSlots slots of wheelRes
// each; it wakes only for slots that hold a queue, so a thousand waiting
// legs cost a few hundred wake-ups a second, and none while no frame waits.
type relayWheel struct {
	epoch time.Time
	kick  chan struct{}

	mu      sync.Mutex
	slots   [wheelSlots][]*relayQueue
	cur     int64 // the next slot to serve (absolute: wheel time / wheelRes)
	pending int
	// waitFor is the slot run sleeps until (MaxInt64: idle); a queue added
	// to an earlier slot wakes it.
	waitFor int64
	stopped bool
}

const (
	wheelRes   = int64(2 * time.Millisecond)
	wheelSlots = 64 // 128 ms ahead, beyond relayMaxWait + a frame
)

func newRelayWheel(epoch time.Time) *relayWheel {
	return &relayWheel{epoch: epoch, kick: make(chan struct{}, 1), waitFor: math.MaxInt64}
}

// now is the wheel's time: monotonic ns since it was made.
func (w *relayWheel) now() int64 { return int64(time.Since(w.epoch)) }

// add puts r in the slot of due; false once the wheel has stopped.
func (w *relayWheel) add(r *relayQueue, due int64) bool {
	s := due / wheelRes
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return false
	}
	if w.pending == 0 {
		w.cur = max(w.cur, w.now()/wheelRes)
	}
	s = min(max(s, w.cur), w.cur+wheelSlots-1)
	w.slots[s%wheelSlots] = append(w.slots[s%wheelSlots], r)
	w.pending++
	wake := s < w.waitFor
	if wake {
		w.waitFor = s
	}
	w.mu.Unlock()
	if wake {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
	return true
}

// next is the first slot from cur that holds a queue; w.mu is held and
// w.pending > 0.
func (w *relayWheel) next() int64 {
	for s := w.cur; s < w.cur+wheelSlots; s++ {
		if len(w.slots[s%wheelSlots]) > 0 {
			return s
		}
	}
	return w.cur
}

// run serves the slots until ctx ends; then the waiting queues end.
func (w *relayWheel) run(ctx context.Context) {
	defer w.stop()
	t := time.NewTimer(time.Hour)
	t.Stop()
	var batch []*relayQueue
	for {
		w.mu.Lock()
		idle := w.pending == 0
		var at int64
		if idle {
			w.waitFor = math.MaxInt64
		} else {
			w.waitFor = w.next()
			at = w.waitFor * wheelRes
		}
		w.mu.Unlock()
		if idle {
			select {
			case <-ctx.Done():
				return
			case <-w.kick:
			}
			continue
		}
		if d := at - w.now(); d > 0 {
			t.Reset(time.Duration(d))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-w.kick: // an earlier slot may have been filled
				t.Stop()
				continue
			case <-t.C:
			}
		}
		now := w.now()
		w.mu.Lock()
		for upto := now / wheelRes; w.cur <= upto && w.pending > 0; w.cur++ {
			sl := &w.slots[w.cur%wheelSlots]
			batch = append(batch, *sl...)
			w.pending -= len(*sl)
			clear(*sl)
			*sl = (*sl)[:0]
		}
		w.mu.Unlock()
		for _, r := range batch {
			r.fire(now)
		}
		clear(batch)
		batch = batch[:0]
	}
}

// stop refuses new queues and ends the waiting ones.
func (w *relayWheel) stop() {
	w.mu.Lock()
	w.stopped = true
	var left []*relayQueue
	for i := range w.slots {
		left = append(left, w.slots[i]...)
		w.slots[i] = nil
	}
	w.pending = 0
	w.mu.Unlock()
	for _, r := range left {
		r.halt()
	}
}
