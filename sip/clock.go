package sip

import (
	"context"
	"errors"
	"math"
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
// busy. Relayed audio (the bridge) passes straight through, held back only
// as far as its pacing needs, on the clock's fine relay wheels (relay.go).
//
// Concurrency: play and relayQueue.push are called by any goroutine; each
// shard's loop is the only sender of its streams' frames; a stream's mutex
// orders its last frame against its end, so no frame of a clip leaves after
// play has returned.
type mediaClock struct {
	period time.Duration
	shards []*clockShard
	next   atomic.Uint32

	// wheels send the relayed frames that wait, one per shard (relay.go);
	// nextWheel hands them out.
	wheels    []*relayWheel
	nextWheel atomic.Uint32

	// pollers read the legs' RTP (rtp_poller.go); poll hands them out.
	pollers []*rtpPoller

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
	epoch := time.Now()
	for range max(shards, 1) {
		k.shards = append(k.shards, &clockShard{})
		k.wheels = append(k.wheels, newRelayWheel(epoch))
	}
	return k
}

// withPollers gives the clock n RTP pollers (rtp_poller.go), started by
// run; without them (the clock's unit tests, whose synctest bubble a wait
// on the network would hold up) every leg reads from its own goroutine.
func (k *mediaClock) withPollers(n int) *mediaClock {
	for range n {
		if p, err := newRTPPoller(); err == nil {
			k.pollers = append(k.pollers, p)
		}
	}
	return k
}

// polled is how many legs the pollers read now.
func (k *mediaClock) polled() int64 {
	var n int64
	for _, p := range k.pollers {
		n += p.legs.Load()
	}
	return n
}

// poll hands l's RTP socket to one of the pollers; false when none runs
// (l then reads from its own goroutine). The pollers fill up in turn: the
// first that reads fewer than pollerFill legs takes it, or, all full, the
// one that reads the fewest. A poller's cost is mostly per wake-up, and a
// wake-up serves every packet that came in meanwhile: at 300 calls the
// pollers filling up in turn spent 12-14 % less CPU per call-second than
// eight sharing the legs evenly (docs/benchmarks.md, "On a quiet machine").
func (k *mediaClock) poll(l *diagoLeg) bool {
	if len(k.pollers) == 0 {
		return false
	}
	return pickPoller(k.pollers).add(l)
}

// pickPoller is the first of ps that reads fewer than pollerFill legs, or
// the one that reads the fewest. ps is not empty.
func pickPoller(ps []*rtpPoller) *rtpPoller {
	best, fewest := ps[0], int64(math.MaxInt64)
	for _, p := range ps {
		n := p.legs.Load()
		if n < pollerFill {
			return p
		}
		if n < fewest {
			best, fewest = p, n
		}
	}
	return best
}

// pollerFill legs fill a poller before the next takes any: 768 legs (384
// calls) send it about 38,000 packets a second, a third of a core's work
// here. With 1,024 a poller fell behind at 800 calls (send interval p99
// 26.8 ms).
const pollerFill = 768

// run ticks every shard until ctx ends; then pending plays fail with
// errClockStopped.
func (k *mediaClock) run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, w := range k.wheels {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(ctx)
		}()
	}
	for _, p := range k.pollers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.run(ctx)
		}()
	}
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

// relayWindow ticks (1 s) between two trims of a mixer input; relayCushion
// frames may stand in it for good (mixer.go).
const (
	relayWindow  = 50
	relayCushion = 1
)
