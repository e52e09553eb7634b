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

// frame160 is a 20 ms G.711 frame whose first byte is b.
func frame160(b byte) []byte {
	p := make([]byte, 160)
	p[0] = b
	return p
}

// A steady far end's frames pass straight through: each leaves when it
// arrives, in order, with its gap and marker, and nothing waits on the
// wheel.
func TestRelayQueueSteadyPassesThrough(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, ctx, stop := runClock(t, 1)
		out := &relayLog{frameLog: frameLog{start: time.Now()}}
		rq := &relayQueue{send: out.sendRelayed, stop: ctx.Done()}
		for i := range 20 {
			// Up to 1 ms early or late: within relayEarly.
			time.Sleep(20*time.Millisecond + time.Duration(i%3-1)*time.Millisecond/2)
			sent := time.Since(out.start)
			if !rq.push(k, frame160(byte(i)), uint32(i%2), i == 0) {
				t.Fatal("push refused")
			}
			frames, at := out.snap()
			if len(frames) != i+1 || at[i] != sent {
				t.Fatalf("frame %d: %d sent, last at %v, pushed at %v", i, len(frames), at[len(at)-1], sent)
			}
		}
		out.mu.Lock()
		for i, fr := range out.frames {
			if fr[0] != byte(i) || out.gaps[i] != uint32(i%2) || out.markers[i] != (i == 0) {
				t.Errorf("frame %d = %d gap %d marker %v", i, fr[0], out.gaps[i], out.markers[i])
			}
		}
		out.mu.Unlock()
		stop()
	})
}

// A far end that is 5 ms late every fifth frame: the first late frame
// goes out late, then the schedule has a 5 ms cushion and every send
// interval is 20 ms (± the wheel's 1 ms); no frame waits longer than the
// lateness. Once the far
// end is steady, unused cushion is halved window by window until frames
// pass straight through again.
func TestRelayQueueJitterCushion(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, ctx, stop := runClock(t, 1)
		out := &relayLog{frameLog: frameLog{start: time.Now()}}
		rq := &relayQueue{send: out.sendRelayed, stop: ctx.Done()}
		start := time.Now()
		var arrived []time.Duration
		push := func(i int, late time.Duration) {
			at := start.Add(time.Duration(i)*20*time.Millisecond + late)
			time.Sleep(time.Until(at))
			arrived = append(arrived, time.Since(out.start))
			if !rq.push(k, frame160(byte(i)), 0, false) {
				t.Fatal("push refused")
			}
		}
		for i := range 40 {
			late := time.Duration(0)
			if i%5 == 1 {
				late = 5 * time.Millisecond
			}
			push(i, late)
		}
		// Steady from now on: 5 ms of cushion, then 2.5, then 1.25 (within
		// relayEarly: straight through).
		for i := 40; i < 40+4*relayTrimWindow; i++ {
			push(i, 0)
		}
		time.Sleep(50 * time.Millisecond)
		frames, at := out.snap()
		n := len(frames)
		if n != 40+4*relayTrimWindow {
			t.Fatalf("%d frames relayed", n)
		}
		for i := range 40 {
			if frames[i][0] != byte(i) {
				t.Fatalf("frame %d out of order: %d", i, frames[i][0])
			}
			if w := at[i] - arrived[i]; w < 0 || w > 5*time.Millisecond {
				t.Errorf("frame %d waited %v", i, w)
			}
			if i < 2 {
				continue
			}
			// The wheel sends within half its resolution of the due time.
			if d := at[i] - at[i-1]; d < 19*time.Millisecond || d > 21*time.Millisecond {
				t.Errorf("frame %d left %v after the one before", i, d)
			}
		}
		if w := at[n-1] - arrived[n-1]; w != 0 {
			t.Errorf("after two steady windows the last frame still waited %v", w)
		}
		rq.mu.Lock()
		trimmed := rq.trimmed
		rq.mu.Unlock()
		if trimmed != 2 {
			t.Errorf("cushion halved %d times, want 2", trimmed)
		}
		stop()
	})
}

// A burst: the first frame goes out, the queue keeps the newest
// relayDepth, which leave within relayMaxWait; flush empties the queue;
// the leg's end refuses frames.
func TestRelayQueueBurstFlushEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, _, stop := runClock(t, 1)
		legEnd := make(chan struct{})
		out := &relayLog{frameLog: frameLog{start: time.Now()}}
		rq := &relayQueue{send: out.sendRelayed, stop: legEnd}
		rq.push(k, frame160(99), 0, false)
		time.Sleep(20 * time.Millisecond)
		burst := time.Since(out.start)
		for i := range 8 {
			rq.push(k, frame160(byte(100+i)), 0, false)
		}
		time.Sleep(100 * time.Millisecond)
		frames, at := out.snap()
		var got []byte
		for _, f := range frames {
			got = append(got, f[0])
		}
		rq.mu.Lock()
		dropped := rq.dropped
		rq.mu.Unlock()
		if !slices.Equal(got, []byte{99, 100, 103, 104, 105, 106, 107}) || dropped != 2 || k.dropped.Load() != 2 {
			t.Fatalf("after a burst: %v, dropped %d", got, dropped)
		}
		if last := at[len(at)-1] - burst; last > time.Duration(relayMaxWait) {
			t.Fatalf("the burst's last frame left %v after it arrived", last)
		}

		// Flush: queued frames never leave.
		n := out.count()
		rq.push(k, frame160(1), 0, false) // due: leaves now
		rq.push(k, frame160(2), 0, false)
		rq.push(k, frame160(3), 0, false)
		rq.flush()
		time.Sleep(100 * time.Millisecond)
		if out.count() != n+1 {
			t.Fatalf("%d frames left after a flush, want 1", out.count()-n)
		}

		// The leg ends: the queue refuses frames; the wheel holds nothing.
		close(legEnd)
		if rq.push(k, frame160(4), 0, false) {
			t.Fatal("push after the leg ended")
		}
		k.wheels[0].mu.Lock()
		left := k.wheels[0].pending
		k.wheels[0].mu.Unlock()
		if left != 0 {
			t.Fatalf("%d queues still on the wheel", left)
		}
		stop()
	})
}

// The pollers fill up in turn: a new leg goes to the first poller below
// pollerFill legs; when all are full, to the one that reads the fewest.
func TestPickPollerFillsInTurn(t *testing.T) {
	ps := []*rtpPoller{{}, {}, {}}
	set := func(n ...int64) {
		for i, v := range n {
			ps[i].legs.Store(v)
		}
	}
	for _, c := range []struct {
		legs []int64
		want int
	}{
		{[]int64{0, 0, 0}, 0},
		{[]int64{pollerFill - 1, 0, 0}, 0},
		{[]int64{pollerFill, 0, 0}, 1},
		{[]int64{pollerFill, pollerFill + 3, 5}, 2},
		{[]int64{pollerFill - 10, pollerFill, 0}, 0}, // legs left the first: it takes new ones again
		{[]int64{pollerFill + 9, pollerFill + 2, pollerFill + 5}, 1},
	} {
		set(c.legs...)
		if got := pickPoller(ps); got != ps[c.want] {
			t.Errorf("legs %v: picked poller %d, want %d", c.legs, slices.Index(ps, got), c.want)
		}
	}
}
