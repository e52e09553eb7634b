package sip

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// mediaClock paces every prompt and hold-music stream of the Service from a
// few shared 20 ms tickers, the way a media server drives all its channels
// from one timing source: each tick, a shard sends the next frame of every
// stream it plays, one after the other. One timer wake-up per shard replaces
// one timer and one goroutine wake-up per leg, so a thousand streams cost a
// few scheduler events per tick and keep their interval when the CPU is
// busy. Relayed audio (the bridge) is re-paced on the same ticks
// (relayQueue).
//
// Concurrency: play and relayQueue.push are called by any goroutine; each
// shard's loop is the only sender of its streams' frames; a stream's mutex
// orders its last frame against its end, so no frame of a clip leaves after
// play has returned.
type mediaClock struct {
	period time.Duration
	shards []*clockShard
	next   atomic.Uint32

	// ticks counts shard ticks served; missed counts the periods a shard
	// let pass without a tick (it ran late: CPU starvation); dropped counts
	// relayed frames dropped to keep the relay delay bounded.
	ticks, missed, dropped atomic.Uint64
}

type clockShard struct {
	mu      sync.Mutex
	streams []stream
	stopped bool
}

// stream is anything the clock paces: a clip being played (player) or a
// leg's relayed audio (relayQueue).
type stream interface {
	// tick sends the next frame, if there is one; it reports whether the
	// stream is over (the shard then forgets it).
	tick() bool
	// halt ends the stream because the clock stops.
	halt()
}

// player is one clip being played on one leg.
type player struct {
	mu    sync.Mutex
	send  func(frame []byte) error
	data  []byte
	frame int
	off   int
	ended bool
	done  chan error // 1 buffered: nil at the end of the clip, or the send error
}

var errClockStopped = errors.New("sip: media clock stopped")

func newMediaClock(shards int, period time.Duration) *mediaClock {
	k := &mediaClock{period: period}
	for range max(shards, 1) {
		k.shards = append(k.shards, &clockShard{})
	}
	return k
}

// run ticks every shard until ctx ends; then pending plays fail with
// errClockStopped.
func (k *mediaClock) run(ctx context.Context) {
	var wg sync.WaitGroup
	for i, sh := range k.shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Stagger the shards across the period: their bursts of sends
			// (and the relayed audio those bursts cause) spread out.
			sh.run(ctx, k, time.Duration(i)*k.period/time.Duration(len(k.shards)))
		}()
	}
	wg.Wait()
}

// play sends data in frame-byte frames, one per tick, through send. It
// returns nil when the last frame has been sent, the send error, or the
// context error when ctx or stop ends first.
func (k *mediaClock) play(ctx context.Context, stop <-chan struct{}, data []byte, frame int, send func([]byte) error) error {
	if len(data) == 0 {
		return nil
	}
	p := &player{send: send, data: data, frame: max(frame, 1), done: make(chan error, 1)}
	if !k.add(p) {
		return errClockStopped
	}
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		p.end(nil)
		return ctx.Err()
	case <-stop:
		p.end(nil)
		return context.Canceled
	}
}

// add hands s to the least recently chosen shard; false once the clock
// has stopped.
func (k *mediaClock) add(s stream) bool {
	sh := k.shards[int(k.next.Add(1))%len(k.shards)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.stopped {
		return false
	}
	sh.streams = append(sh.streams, s)
	return true
}

func (p *player) halt() { p.end(errClockStopped) }

// end marks p finished (the shard drops it at its next tick) and reports
// err to play if nobody has yet. After end returns no frame of p is sent.
func (p *player) end(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ended {
		return
	}
	p.ended = true
	p.done <- err
}

// tick sends p's next frame; it reports whether p is finished.
func (p *player) tick() bool {
	p.mu.Lock()
	if p.ended {
		p.mu.Unlock()
		return true
	}
	end := min(p.off+p.frame, len(p.data))
	err := p.send(p.data[p.off:end])
	p.off = end
	last := err != nil || p.off >= len(p.data)
	if last {
		p.ended = true
		p.done <- err
	}
	p.mu.Unlock()
	return last
}

// stop refuses new streams and halts the current ones.
func (sh *clockShard) stop() {
	sh.mu.Lock()
	sh.stopped = true
	streams := sh.streams
	sh.streams = nil
	sh.mu.Unlock()
	for _, s := range streams {
		s.halt()
	}
}

func (sh *clockShard) run(ctx context.Context, k *mediaClock, offset time.Duration) {
	defer sh.stop()
	if offset > 0 {
		t0 := time.NewTimer(offset)
		select {
		case <-ctx.Done():
			t0.Stop()
			return
		case <-t0.C:
		}
	}
	period := k.period
	t := time.NewTicker(period)
	defer t.Stop()
	var batch, finished []stream
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			k.ticks.Add(1)
			if !last.IsZero() {
				if n := (now.Sub(last) + period/2) / period; n > 1 {
					k.missed.Add(uint64(n - 1))
				}
			}
			last = now
		}
		sh.mu.Lock()
		batch = append(batch[:0], sh.streams...)
		sh.mu.Unlock()
		finished = finished[:0]
		for _, s := range batch {
			if s.tick() {
				finished = append(finished, s)
			}
		}
		if len(finished) == 0 {
			continue
		}
		// Forget the finished streams; ones added during the tick stay.
		sh.mu.Lock()
		kept := sh.streams[:0]
		for _, s := range sh.streams {
			if !slices.Contains(finished, s) {
				kept = append(kept, s)
			}
		}
		clear(sh.streams[len(kept):])
		sh.streams = kept
		sh.mu.Unlock()
		clear(finished)
	}
}

// relayQueue re-paces one leg's relayed audio (the bridge) on the clock: the
// peer's pump queues each frame as it arrives and the clock sends one per
// tick, so the leg's send interval is the clock's whatever the jitter of
// the far end, at the cost of up to one tick of delay. Arrivals late by
// more than the slack before the next tick leave one tick empty and deepen
// the queue by one frame, which then absorbs that much jitter; a frame
// standing beyond that cushion for a second is dropped, and a queue over
// relayDepth (a burst, or a far end whose clock runs fast) drops its oldest
// frame, so the delay stays bounded.
type relayQueue struct {
	mu      sync.Mutex
	send    func(p []byte, gap uint32, marker bool) error
	stop    <-chan struct{}
	k       *mediaClock // counts the drops; set by push
	added   bool
	q       [relayDepth]relayFrame
	head, n int
	dropped uint64 // frames dropped: overflow and trims
	trimmed uint64 // of which trims
	ended   bool
	// minLeft is the fewest frames left queued after a tick's send in the
	// current window of relayWindow ticks: when it stays above the cushion
	// a whole window long, that much delay is not needed for the jitter.
	minLeft, ticks int
}

// relayWindow ticks (1 s) between two trims of a relayQueue; relayCushion
// frames may stand in it for good.
const (
	relayWindow  = 50
	relayCushion = 1
)

// relayDepth frames (100 ms at 20 ms) at most wait in a relayQueue.
const relayDepth = 5

type relayFrame struct {
	buf    [maxRelayFrame]byte
	n      int
	gap    uint32
	marker bool
}

// maxRelayFrame bytes of payload are relayed per frame (G.711 at up to
// 60 ms); longer payloads are cut.
const maxRelayFrame = 480

// push queues one frame; it registers the queue with the clock on first
// use. False when the clock has stopped or the leg has ended.
func (r *relayQueue) push(k *mediaClock, p []byte, gap uint32, marker bool) bool {
	r.mu.Lock()
	if r.ended {
		r.mu.Unlock()
		return false
	}
	r.k = k
	if r.n == relayDepth {
		r.drop()
	}
	f := &r.q[(r.head+r.n)%relayDepth]
	f.n = copy(f.buf[:], p)
	f.gap, f.marker = gap, marker
	r.n++
	add := !r.added
	r.added = true
	r.mu.Unlock()
	if add && !k.add(r) {
		r.halt()
		return false
	}
	return true
}

// flush drops the queued frames (the bridge was taken down).
func (r *relayQueue) flush() {
	r.mu.Lock()
	r.head, r.n = 0, 0
	r.mu.Unlock()
}

func (r *relayQueue) tick() bool {
	select {
	case <-r.stop:
		r.halt()
		return true
	default:
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		return true
	}
	if r.n > 0 {
		f := &r.q[r.head]
		r.head = (r.head + 1) % relayDepth
		r.n--
		_ = r.send(f.buf[:f.n], f.gap, f.marker)
	}
	// Trim: beyond the one frame of cushion that absorbs arrivals
	// straddling the tick, a frame that waited a whole window long is
	// delay of no use.
	if r.ticks == 0 || r.n < r.minLeft {
		r.minLeft = r.n
	}
	if r.ticks++; r.ticks == relayWindow {
		if r.minLeft > relayCushion {
			r.drop()
			r.trimmed++
		}
		r.ticks = 0
	}
	return false
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
