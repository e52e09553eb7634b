package sip

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// frameLog records when each frame was sent, in bubble time.
type frameLog struct {
	mu     sync.Mutex
	frames [][]byte
	at     []time.Duration
	start  time.Time
	fail   error
}

func (f *frameLog) send(p []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	f.frames = append(f.frames, append([]byte(nil), p...))
	f.at = append(f.at, time.Since(f.start))
	return nil
}

// snap copies what was sent so far.
func (f *frameLog) snap() ([][]byte, []time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.frames), slices.Clone(f.at)
}

func (f *frameLog) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.frames)
}

// runClock starts a clock of n shards inside the synctest bubble; stop
// ends it and waits for its shards.
func runClock(t *testing.T, n int) (k *mediaClock, ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(t.Context())
	k = newMediaClock(n, 20*time.Millisecond)
	done := make(chan struct{})
	go func() { k.run(ctx); close(done) }()
	return k, ctx, func() { cancel(); <-done }
}

// Every stream gets one frame per tick, exactly 20 ms apart, in order, and
// play returns with the last frame.
func TestMediaClockPacesStreams(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, ctx, stop := runClock(t, 2)

		data := make([]byte, 160*5+40) // five whole frames and a short one
		for i := range data {
			data[i] = byte(i / 160)
		}
		logs := make([]*frameLog, 3)
		var wg sync.WaitGroup
		for i := range logs {
			logs[i] = &frameLog{start: time.Now()}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := k.play(ctx, nil, data, 160, logs[i].send); err != nil {
					t.Errorf("play %d: %v", i, err)
				}
			}()
		}
		wg.Wait()
		for i, l := range logs {
			if len(l.frames) != 6 || len(l.frames[5]) != 40 {
				t.Fatalf("stream %d: %d frames, last %d bytes", i, len(l.frames), len(l.frames[len(l.frames)-1]))
			}
			for j, fr := range l.frames {
				if fr[0] != byte(j) {
					t.Fatalf("stream %d frame %d carries frame %d", i, j, fr[0])
				}
				if j > 0 && l.at[j]-l.at[j-1] != 20*time.Millisecond {
					t.Fatalf("stream %d: frame %d after %v", i, j, l.at[j]-l.at[j-1])
				}
			}
			if l.at[0] <= 0 || l.at[0] > 30*time.Millisecond { // shard 1 starts 10 ms late
				t.Fatalf("stream %d: first frame after %v", i, l.at[0])
			}
		}
		stop()
	})
}

// A cancelled play returns at once and no frame of it leaves afterwards;
// a send error ends the play with that error; a stopped clock fails plays.
func TestMediaClockStopAndErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, ctx, stop := runClock(t, 1)
		data := make([]byte, 160*100)

		// Barge-in: cancel after three ticks.
		l := &frameLog{start: time.Now()}
		pctx, pcancel := context.WithCancel(ctx)
		res := make(chan error, 1)
		go func() { res <- k.play(pctx, nil, data, 160, l.send) }()
		time.Sleep(50 * time.Millisecond)
		pcancel()
		if err := <-res; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled play = %v", err)
		}
		n := l.count()
		time.Sleep(200 * time.Millisecond)
		if n != 2 || l.count() != n {
			t.Fatalf("frames: %d at cancel, %d later", n, l.count())
		}

		// The leg's own end (stop channel) also ends the play.
		legEnd := make(chan struct{})
		go func() { res <- k.play(ctx, legEnd, data, 160, l.send) }()
		time.Sleep(30 * time.Millisecond)
		close(legEnd)
		if err := <-res; !errors.Is(err, context.Canceled) {
			t.Fatalf("stopped play = %v", err)
		}

		// A send error ends the play with it.
		boom := errors.New("boom")
		bad := &frameLog{start: time.Now(), fail: boom}
		if err := k.play(ctx, nil, data, 160, bad.send); !errors.Is(err, boom) {
			t.Fatalf("failing play = %v", err)
		}
		if err := k.play(ctx, nil, nil, 160, bad.send); err != nil {
			t.Fatalf("empty play = %v", err)
		}

		// Stopping the clock fails the pending play and any later one.
		go func() { res <- k.play(context.Background(), nil, data, 160, l.send) }()
		time.Sleep(30 * time.Millisecond)
		stop()
		if err := <-res; !errors.Is(err, errClockStopped) {
			t.Fatalf("pending play at stop = %v", err)
		}
		if err := k.play(context.Background(), nil, data, 160, l.send); !errors.Is(err, errClockStopped) {
			t.Fatalf("play on a stopped clock = %v", err)
		}
	})
}

// relayLog records relayed frames and when they left.
type relayLog struct {
	frameLog
	gaps    []uint32
	markers []bool
}

func (r *relayLog) sendRelayed(p []byte, gap uint32, marker bool) error {
	r.mu.Lock()
	r.gaps = append(r.gaps, gap)
	r.markers = append(r.markers, marker)
	r.mu.Unlock()
	return r.send(p)
}

// Relayed frames that arrive with jitter leave one per tick, 20 ms apart,
// in order, with their gap and marker; a burst beyond relayDepth drops the
// oldest; flush empties the queue; the leg's end stops the stream.
func TestRelayQueueRepaces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, _, stop := runClock(t, 1)
		legEnd := make(chan struct{})
		out := &relayLog{frameLog: frameLog{start: time.Now()}}
		rq := &relayQueue{send: out.sendRelayed, stop: legEnd}

		// 20 frames, each 20 ms apart on average but jittered by up to
		// +-8 ms, the first one flagged as a talkspurt start.
		jitter := []time.Duration{0, 8, -8, 5, -3, 7, -7, 0, 4, -4}
		start := time.Now().Add(5 * time.Millisecond)
		for i := range 20 {
			at := start.Add(time.Duration(i)*20*time.Millisecond + jitter[i%len(jitter)]*time.Millisecond)
			time.Sleep(time.Until(at))
			if !rq.push(k, []byte{byte(i)}, uint32(i%2), i == 0) {
				t.Fatal("push refused")
			}
		}
		time.Sleep(100 * time.Millisecond)
		if out.count() != 20 {
			t.Fatalf("%d frames relayed, want 20", out.count())
		}
		frames, at := out.snap()
		out.mu.Lock()
		gaps, markers := slices.Clone(out.gaps), slices.Clone(out.markers)
		out.mu.Unlock()
		for i, fr := range frames {
			if fr[0] != byte(i) || gaps[i] != uint32(i%2) || markers[i] != (i == 0) {
				t.Fatalf("frame %d = %v gap %d marker %v", i, fr, gaps[i], markers[i])
			}
			if i > 0 && at[i]-at[i-1] != 20*time.Millisecond {
				t.Fatalf("frame %d left %v after the one before", i, at[i]-at[i-1])
			}
		}

		// A burst of 8 at once: the 3 oldest are dropped, 5 leave.
		for i := range 8 {
			rq.push(k, []byte{byte(100 + i)}, 0, false)
		}
		time.Sleep(200 * time.Millisecond)
		frames, _ = out.snap()
		rq.mu.Lock()
		dropped := rq.dropped
		rq.mu.Unlock()
		if got := frames[20:]; len(got) != relayDepth || got[0][0] != 103 || got[4][0] != 107 || dropped != 3 {
			t.Fatalf("after a burst: %v, dropped %d", got, dropped)
		}

		// Flush: queued frames never leave.
		n := out.count()
		rq.push(k, []byte{1}, 0, false)
		rq.push(k, []byte{2}, 0, false)
		rq.flush()
		time.Sleep(100 * time.Millisecond)
		if out.count() != n {
			t.Fatalf("%d frames left after a flush", out.count()-n)
		}

		// The leg ends: the stream ends and refuses frames.
		close(legEnd)
		time.Sleep(40 * time.Millisecond)
		if rq.push(k, []byte{3}, 0, false) {
			t.Fatal("push after the leg ended")
		}
		k.shards[0].mu.Lock()
		left := len(k.shards[0].streams)
		k.shards[0].mu.Unlock()
		if left != 0 {
			t.Fatalf("%d streams still on the clock", left)
		}
		stop()
	})
}

// A queue that keeps more than its cushion waiting for a whole window (the
// far end once ran late, then caught up) loses a frame: the delay shrinks
// back to the cushion, and the cushion itself is never trimmed.
func TestRelayQueueTrimsStandingDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, ctx, stop := runClock(t, 1)
		out := &relayLog{frameLog: frameLog{start: time.Now()}}
		rq := &relayQueue{send: out.sendRelayed, stop: ctx.Done()}
		// Three frames at once, then one every 20 ms, 10 ms before each
		// tick: two frames always wait, one more than the cushion.
		time.Sleep(10 * time.Millisecond)
		rq.push(k, []byte{0}, 0, false)
		rq.push(k, []byte{0}, 0, false)
		for i := 1; i <= 120; i++ {
			rq.push(k, []byte{byte(i)}, 0, false)
			time.Sleep(20 * time.Millisecond)
		}
		rq.mu.Lock()
		trimmed, left := rq.trimmed, rq.n
		rq.mu.Unlock()
		if trimmed != 1 || left != relayCushion || k.dropped.Load() != 1 {
			t.Fatalf("trimmed %d, %d left queued, clock drops %d", trimmed, left, k.dropped.Load())
		}
		stop()
	})
}
