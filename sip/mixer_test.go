package sip

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// mixLeg is a fake Leg for the mixer: a codec, the sink its pump would
// feed (Connect) and the frames the mixer sent it (sendMix).
type mixLeg struct {
	Leg
	name  string
	codec string

	mu   sync.Mutex
	sink audioSink
	got  []mixSent
}

type mixSent struct {
	pcm    []int16 // decoded in the leg's own law
	gap    uint32
	marker bool
}

func newMixLeg(name, codec string) *mixLeg { return &mixLeg{name: name, codec: codec} }

func (l *mixLeg) Codec() string { return l.codec }

func (l *mixLeg) Connect(s audioSink) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sink = s
}

func (l *mixLeg) sendMix(p []byte, gap uint32, marker bool) error {
	dec, _, _ := g711Law(l.codec)
	pcm := make([]int16, len(p))
	for i, c := range p {
		pcm[i] = dec[c]
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, mixSent{pcm, gap, marker})
	return nil
}

// speak feeds one 20 ms frame of a constant level into the leg's sink, as
// its pump would; false when nothing is connected or the sink refuses it.
func (l *mixLeg) speak(level int16) bool {
	_, enc, _ := g711Law(l.codec)
	p := make([]byte, mixFrame)
	for i := range p {
		p[i] = encodeSample(enc, level)
	}
	l.mu.Lock()
	s := l.sink
	l.mu.Unlock()
	return s != nil && s.relay(p, 0, false) == nil
}

// take returns and forgets what the leg received.
func (l *mixLeg) take() []mixSent {
	l.mu.Lock()
	defer l.mu.Unlock()
	got := l.got
	l.got = nil
	return got
}

// heard returns the level of the one frame the leg received (-99999 for
// none, -88888 for more than one).
func (l *mixLeg) heard() int {
	got := l.take()
	switch len(got) {
	case 0:
		return -99999
	case 1:
		return int(got[0].pcm[80])
	}
	return -88888
}

// near reports whether a G.711 round trip of want came out as got.
func near(got, want int) bool {
	d := got - want
	if d < 0 {
		d = -d
	}
	return d <= want/16+16 || (want > 32000 && got > 31000)
}

func joinAll(t *testing.T, m *mixer, legs ...*mixLeg) {
	t.Helper()
	for _, l := range legs {
		if err := m.join(l, true); err != nil {
			t.Fatal(err)
		}
	}
}

// Levels per party: each one's sum is distinct, so a wrong pair shows.
const (
	lvA = 1000
	lvB = 2000
	lvC = 4000
	lvS = 8000
)

func TestMixerSumsOthersNeverSelf(t *testing.T) {
	for _, codecs := range [][3]string{{"pcmu", "pcmu", "pcmu"}, {"pcma", "pcma", "pcma"}, {"pcmu", "pcma", "pcmu"}, {"pcma", "pcmu", "pcmu"}} {
		t.Run(codecs[0]+"-"+codecs[1]+"-"+codecs[2], func(t *testing.T) {
			m := newMixer(newMediaClock(1, 20*time.Millisecond))
			a, b, c := newMixLeg("a", codecs[0]), newMixLeg("b", codecs[1]), newMixLeg("c", codecs[2])
			joinAll(t, m, a, b, c)
			for range 3 {
				a.speak(lvA)
				b.speak(lvB)
				c.speak(lvC)
				if m.tick() {
					t.Fatal("mixer over")
				}
				for _, w := range []struct {
					l    *mixLeg
					want int
				}{{a, lvB + lvC}, {b, lvA + lvC}, {c, lvA + lvB}} {
					if got := w.l.heard(); !near(got, w.want) {
						t.Errorf("%s heard %d, want %d", w.l.name, got, w.want)
					}
				}
			}
		})
	}
}

func TestMixerClipsAtFullScale(t *testing.T) {
	m := newMixer(newMediaClock(1, 20*time.Millisecond))
	a, b, c := newMixLeg("a", "pcmu"), newMixLeg("b", "pcmu"), newMixLeg("c", "pcma")
	joinAll(t, m, a, b, c)
	b.speak(30000)
	c.speak(30000)
	a.speak(-30000)
	m.tick()
	if got := a.heard(); got < 31000 {
		t.Errorf("a heard %d: the sum wrapped or was not clipped", got)
	}
	if got := b.heard(); got != 0 && (got > 200 || got < -200) {
		t.Errorf("b heard %d, want about 0 (30000-30000)", got)
	}
	b.take()
	c.take()
	b.speak(-30000)
	c.speak(-30000)
	m.tick()
	if got := a.heard(); got > -31000 {
		t.Errorf("a heard %d: the negative sum wrapped or was not clipped", got)
	}
}

// TestMixerSupervisorModes walks listen -> whisper -> barge -> listen on one
// mixer: the matrix alone changes who hears whom.
func TestMixerSupervisorModes(t *testing.T) {
	m := newMixer(newMediaClock(1, 20*time.Millisecond))
	cit, agent, sup := newMixLeg("citizen", "pcma"), newMixLeg("agent", "pcmu"), newMixLeg("sup", "pcmu")
	joinAll(t, m, cit, agent)
	if err := m.join(sup, false); err != nil {
		t.Fatal(err)
	}
	type want struct{ cit, agent, sup int }
	step := func(name string, w want) {
		t.Helper()
		cit.speak(lvA)
		agent.speak(lvB)
		sup.speak(lvS)
		m.tick()
		for _, c := range []struct {
			l    *mixLeg
			want int
		}{{cit, w.cit}, {agent, w.agent}, {sup, w.sup}} {
			if got := c.l.heard(); !near(got, c.want) {
				t.Errorf("%s: %s heard %d, want %d", name, c.l.name, got, c.want)
			}
		}
	}
	step("listen", want{lvB, lvA, lvA + lvB})
	if m.hears(cit, sup) || m.hears(agent, sup) || !m.hears(sup, cit) || !m.hears(sup, agent) {
		t.Error("listen matrix wrong")
	}
	if err := m.setHears(agent, sup, true); err != nil {
		t.Fatal(err)
	}
	step("whisper", want{lvB, lvA + lvS, lvA + lvB})
	if err := m.setHears(cit, sup, true); err != nil {
		t.Fatal(err)
	}
	step("barge", want{lvB + lvS, lvA + lvS, lvA + lvB})
	_ = m.setHears(cit, sup, false)
	_ = m.setHears(agent, sup, false)
	step("listen again", want{lvB, lvA, lvA + lvB})
	// Nobody can be made to hear themselves.
	if err := m.setHears(sup, sup, true); err != nil || m.hears(sup, sup) {
		t.Errorf("self hearing: %v %v", err, m.hears(sup, sup))
	}
	if err := m.setHears(sup, newMixLeg("x", "pcmu"), true); err == nil {
		t.Error("setHears with a stranger succeeded")
	}
}

func TestMixerLeaveAndClose(t *testing.T) {
	m := newMixer(newMediaClock(1, 20*time.Millisecond))
	a, b, c := newMixLeg("a", "pcmu"), newMixLeg("b", "pcmu"), newMixLeg("c", "pcma")
	joinAll(t, m, a, b, c)
	if err := m.join(a, true); err != nil || m.size() != 3 {
		t.Fatalf("second join: %v, %d parties", err, m.size())
	}
	if n := m.leave(c); n != 2 {
		t.Fatalf("leave: %d left, want 2", n)
	}
	if c.speak(lvC) {
		t.Error("c's audio still reaches the mixer after leave")
	}
	a.speak(lvA)
	b.speak(lvB)
	m.tick()
	if got := a.heard(); !near(got, lvB) {
		t.Errorf("a heard %d, want %d (b alone)", got, lvB)
	}
	if got := c.heard(); got != -99999 {
		t.Errorf("c got audio after leave: %d", got)
	}
	if n := m.leave(c); n != 2 {
		t.Errorf("second leave: %d", n)
	}
	m.close()
	if a.speak(lvA) || b.speak(lvB) {
		t.Error("audio still reaches the mixer after close")
	}
	if !m.tick() {
		t.Error("closed mixer still ticks")
	}
	if err := m.join(c, true); !errors.Is(err, errMixerClosed) {
		t.Errorf("join after close: %v", err)
	}
	if err := m.join(newMixLeg("x", "opus"), true); !errors.Is(err, errNotG711) {
		t.Errorf("opus joined: %v", err)
	}
}

// TestMixerSilenceGap: while nobody a party hears speaks, it gets no
// packets; the next frame carries the pause as a timestamp gap and the
// marker.
func TestMixerSilenceGap(t *testing.T) {
	m := newMixer(newMediaClock(1, 20*time.Millisecond))
	a, b, c := newMixLeg("a", "pcmu"), newMixLeg("b", "pcmu"), newMixLeg("c", "pcmu")
	joinAll(t, m, a, b, c)
	b.speak(lvB)
	m.tick()
	if got := a.take(); len(got) != 1 || got[0].gap != 0 || got[0].marker {
		t.Fatalf("first frame: %+v", got)
	}
	for range 3 {
		m.tick()
	}
	if got := a.take(); len(got) != 0 {
		t.Fatalf("a got %d frames of silence", len(got))
	}
	c.speak(lvC)
	m.tick()
	got := a.take()
	if len(got) != 1 || got[0].gap != 3*mixFrame || !got[0].marker || !near(int(got[0].pcm[0]), lvC) {
		t.Fatalf("after the pause: %+v", got)
	}
}

// TestMixerJitterQueue: a burst deeper than mixDepth keeps the newest
// frames; a short frame is padded with silence.
func TestMixerJitterQueue(t *testing.T) {
	m := newMixer(newMediaClock(1, 20*time.Millisecond))
	a, b, c := newMixLeg("a", "pcmu"), newMixLeg("b", "pcmu"), newMixLeg("c", "pcmu")
	joinAll(t, m, a, b, c)
	for i := range 5 {
		b.speak(int16(1000 * (i + 1)))
	}
	var levels []int
	for range 4 {
		m.tick()
		levels = append(levels, a.heard())
	}
	want := []int{3000, 4000, 5000, -99999}
	for i := range want {
		if (want[i] < 0 && levels[i] != want[i]) || (want[i] > 0 && !near(levels[i], want[i])) {
			t.Fatalf("heard %v, want %v", levels, want)
		}
	}
	// Half a frame: the rest of the tick is silence.
	_, enc, _ := g711Law("pcmu")
	half := make([]byte, mixFrame/2)
	for i := range half {
		half[i] = encodeSample(enc, 2000)
	}
	b.mu.Lock()
	_ = b.sink.relay(half, 0, false)
	b.mu.Unlock()
	m.tick()
	got := a.take()
	if len(got) != 1 || !near(int(got[0].pcm[0]), 2000) || got[0].pcm[mixFrame-1] != 0 {
		t.Fatalf("half frame: %+v", got)
	}
}

// TestMixerOnTheClock runs a mixer on a real media clock: frames flow
// every tick, and close takes it off the clock.
func TestMixerOnTheClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		k := newMediaClock(1, 20*time.Millisecond)
		go k.run(ctx)
		m := newMixer(k)
		a, b, c := newMixLeg("a", "pcmu"), newMixLeg("b", "pcmu"), newMixLeg("c", "pcma")
		joinAll(t, m, a, b, c)
		for range 10 {
			b.speak(lvB)
			c.speak(lvC)
			time.Sleep(20 * time.Millisecond)
			synctest.Wait()
		}
		if got := a.take(); len(got) != 10 {
			t.Fatalf("a got %d frames in 10 ticks", len(got))
		}
		m.close()
		time.Sleep(40 * time.Millisecond)
		synctest.Wait()
		k.shards[0].mu.Lock()
		n := len(k.shards[0].streams)
		k.shards[0].mu.Unlock()
		if n != 0 {
			t.Fatalf("%d streams left on the clock after close", n)
		}
	})
}

// BenchmarkMixerTick is one tick of 100 three-party mixes (one pcma
// party each), the pumps' decoding of the received frames included.
func BenchmarkMixerTick(b *testing.B) {
	const mixes = 100
	k := newMediaClock(1, 20*time.Millisecond)
	var ms []*mixer
	var legs []*benchLeg
	for range mixes {
		m := newMixer(k)
		for _, codec := range []string{"pcmu", "pcmu", "pcma"} {
			l := &benchLeg{codec: codec}
			if err := m.join(l, true); err != nil {
				b.Fatal(err)
			}
			legs = append(legs, l)
		}
		ms = append(ms, m)
	}
	frame := make([]byte, mixFrame)
	for i := range frame {
		frame[i] = byte(i)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range legs {
			_ = l.sink.relay(frame, 0, false)
		}
		for _, m := range ms {
			m.tick()
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/mixes, "ns/mix")
}

type benchLeg struct {
	Leg
	codec string
	sink  audioSink
	sent  int
}

func (l *benchLeg) Codec() string                            { return l.codec }
func (l *benchLeg) Connect(s audioSink)                      { l.sink = s }
func (l *benchLeg) sendMix(p []byte, _ uint32, _ bool) error { l.sent++; return nil }
