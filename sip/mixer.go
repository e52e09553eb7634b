package sip

import (
	"errors"
	"fmt"
	"sync"
)

// mixer mixes the audio of N call legs on the Service's media clock
// (clock.go): a conference, a three-way call with an interpreter, a
// supervisor who listens, whispers or barges in. Two parties stay on the
// cheaper two-way bridge (Leg.Connect between the two legs); a call takes
// a mixer from its third party on.
//
// Each tick (20 ms) the mixer takes one frame from every party's input
// queue, decoded to linear PCM, and for every party sums the frames of the
// parties it hears (saturating at full scale), encodes the sum in that
// party's own G.711 law (pcmu or pcma; the parties need not share one) and
// sends it on that party's leg. A party never hears itself. Who hears whom
// is the hearing matrix: by default everybody hears everybody (a
// conference); setHears turns single directions on and off, so one mixer
// serves every mode without redialling:
//
//	three-way / conference / barge: all hear all (the default)
//	listen:  the supervisor joins unheard (join(sup, false)); both hear
//	         each other, the supervisor hears both
//	whisper: listen + setHears(agent, sup, true)
//	barge:   whisper + setHears(citizen, sup, true)
//
// Input: join connects the party's leg to its input (Leg.Connect), so the
// leg's pump hands each received frame to the input, which decodes it into
// a queue of at most mixDepth frames (oldest dropped on overflow, and a
// frame of delay that has stood for a whole second trimmed, as relayQueue
// does for the bridge). A party with nothing queued (silence suppression,
// loss) is silence in that tick's mix. Output: a party whose heard parties
// are all silent gets no packet; the next frame it gets carries the skipped
// samples as an RTP timestamp gap and the marker bit (a new talkspurt), and
// the mixer is a sender of its own (srcMix) for the marker rule.
//
// API:
//
//	m := newMixer(clock)     // registered with the clock at the first join
//	m.join(leg, heard)       // leg hears all; all hear it if heard
//	m.setHears(l, t, on)     // whether listener l hears talker t
//	m.hears(l, t)            // the matrix, for display and tests
//	m.leave(leg)             // leg out, its input disconnected; -> parties left
//	m.close()                // every leg out; the clock forgets the mixer
//
// Concurrency: every method may be called from any goroutine; the mixer's
// mutex orders them against the clock's tick, so a change of the matrix
// takes effect at a tick boundary, never inside one mix. Leg pumps push to
// their inputs under the input's own lock (never the mixer's). Lock order:
// mixer, then input or leg writer; nothing takes the mixer's lock while
// holding one of those. leave and close disconnect the legs (Connect(nil));
// the caller re-bridges after leave, not before. A leg that ends stays in
// the mixer (silent, its sends failing) until the call script calls leave.
type mixer struct {
	clock *mediaClock

	mu      sync.Mutex
	parties []*mixParty
	added   bool // registered with the clock
	closed  bool
}

// mixParty is one leg in a mixer. Fields but in are guarded by mixer.mu.
type mixParty struct {
	leg   Leg
	in    *mixInput
	enc   *[65536]uint8
	hears []*mixParty // the parties this one hears; never itself

	cur  [mixFrame]int16 // this tick's frame from this party
	live bool            // cur holds audio this tick
	sent bool            // the mixer has sent this party a frame
	gap  uint32          // samples skipped since the last frame sent to it
	out  [mixFrame]byte
}

// mixFrame samples (20 ms at 8 kHz) are mixed per tick.
const mixFrame = 160

// mixDepth frames at most wait in a party's input (60 ms).
const mixDepth = 3

// mixInput is a party's input queue: the leg's pump decodes into it, the
// mixer's tick takes one frame out. It implements audioSink.
type mixInput struct {
	mu      sync.Mutex
	dec     *[256]int16
	k       *mediaClock // counts the drops
	ring    [mixDepth * mixFrame]int16
	head, n int // samples
	ended   bool
	dropped uint64 // samples dropped: overflow and trims
	// minLeft is the fewest samples left after a tick's take in the
	// current window of relayWindow ticks (see relayQueue).
	minLeft, ticks int
}

var (
	errMixerClosed = errors.New("sip: mixer closed")
	errNotG711     = errors.New("sip: the mixer takes G.711 (pcmu, pcma) only")
)

// newMixer returns an empty mixer paced by clock.
func newMixer(clock *mediaClock) *mixer { return &mixer{clock: clock} }

// join adds l to the mix: it hears every party already there, and they
// hear it if heard (a supervisor who listens joins unheard). l's received
// audio now feeds the mixer instead of any bridged peer. Joining twice is
// a no-op.
func (m *mixer) join(l Leg, heard bool) error {
	dec, enc, ok := g711Law(l.Codec())
	if !ok {
		return fmt.Errorf("%w: %q", errNotG711, l.Codec())
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return errMixerClosed
	}
	if m.find(l) != nil {
		m.mu.Unlock()
		return nil
	}
	p := &mixParty{leg: l, in: &mixInput{dec: dec, k: m.clock}, enc: enc}
	for _, q := range m.parties {
		p.hears = append(p.hears, q)
		if heard {
			q.hears = append(q.hears, p)
		}
	}
	m.parties = append(m.parties, p)
	add := !m.added
	m.added = true
	m.mu.Unlock()
	l.Connect(p.in)
	if add && !m.clock.add(m) {
		m.close()
		return errClockStopped
	}
	return nil
}

// leave takes l out of the mix and disconnects its received audio; it
// returns how many parties are left. Leaving a mixer one is not in is a
// no-op.
func (m *mixer) leave(l Leg) int {
	m.mu.Lock()
	p := m.find(l)
	if p == nil {
		n := len(m.parties)
		m.mu.Unlock()
		return n
	}
	m.parties = removeParty(m.parties, p)
	for _, q := range m.parties {
		q.hears = removeParty(q.hears, p)
	}
	n := len(m.parties)
	m.mu.Unlock()
	p.in.end()
	l.Connect(nil)
	return n
}

// close takes every party out; the clock forgets the mixer at its next
// tick. Further joins fail.
func (m *mixer) close() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	parties := m.parties
	m.parties = nil
	m.mu.Unlock()
	for _, p := range parties {
		p.in.end()
		p.leg.Connect(nil)
	}
}

// setHears sets whether listener hears talker. A party never hears
// itself; either leg not in the mix is an error.
func (m *mixer) setHears(listener, talker Leg, on bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, t := m.find(listener), m.find(talker)
	if l == nil || t == nil {
		return errors.New("sip: leg not in the mixer")
	}
	if l == t {
		return nil
	}
	l.hears = removeParty(l.hears, t)
	if on {
		l.hears = append(l.hears, t)
	}
	return nil
}

// hears reports whether listener hears talker.
func (m *mixer) hears(listener, talker Leg) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, t := m.find(listener), m.find(talker)
	if l == nil || t == nil {
		return false
	}
	for _, q := range l.hears {
		if q == t {
			return true
		}
	}
	return false
}

// has reports whether l is a party.
func (m *mixer) has(l Leg) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.find(l) != nil
}

// legs lists the parties' legs.
func (m *mixer) legs() []Leg {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Leg, len(m.parties))
	for i, p := range m.parties {
		out[i] = p.leg
	}
	return out
}

// size is the number of parties.
func (m *mixer) size() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.parties)
}

func (m *mixer) find(l Leg) *mixParty {
	for _, p := range m.parties {
		if p.leg == l {
			return p
		}
	}
	return nil
}

func removeParty(ps []*mixParty, p *mixParty) []*mixParty {
	for i, q := range ps {
		if q == p {
			copy(ps[i:], ps[i+1:])
			ps[len(ps)-1] = nil
			return ps[:len(ps)-1]
		}
	}
	return ps
}

// tick mixes and sends one frame to every party (the clock's stream).
func (m *mixer) tick() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return true
	}
	for _, p := range m.parties {
		p.live = p.in.take(&p.cur)
	}
	var acc [mixFrame]int32
	for _, p := range m.parties {
		var only *mixParty
		n := 0
		for _, q := range p.hears {
			if q.live {
				only = q
				n++
			}
		}
		switch n {
		case 0:
			if p.sent {
				p.gap += mixFrame
			}
			continue
		case 1:
			for i, s := range only.cur {
				p.out[i] = encodeSample(p.enc, s)
			}
		default:
			clear(acc[:])
			for _, q := range p.hears {
				if q.live {
					for i, s := range q.cur {
						acc[i] += int32(s)
					}
				}
			}
			for i, v := range acc {
				p.out[i] = encodeSample(p.enc, int16(max(min(v, 32767), -32768)))
			}
		}
		_ = p.leg.sendMix(p.out[:], p.gap, p.gap > 0)
		p.gap, p.sent = 0, true
	}
	return false
}

func (m *mixer) halt() {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
}

// relay decodes one received frame into the queue; a queue over mixDepth
// frames drops its oldest samples. gap and marker are of no use here: a
// pause is an empty queue, so silence in the mix.
func (in *mixInput) relay(p []byte, _ uint32, _ bool) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.ended {
		return errLegEnded
	}
	const size = len(in.ring)
	if len(p) > size {
		in.drop(len(p) - size)
		p = p[len(p)-size:]
	}
	if over := in.n + len(p) - size; over > 0 {
		in.drop(over)
		in.head = (in.head + over) % size
		in.n -= over
	}
	w := (in.head + in.n) % size
	for _, c := range p {
		in.ring[w] = in.dec[c]
		if w++; w == size {
			w = 0
		}
	}
	in.n += len(p)
	return nil
}

// flushRelay drops the queued audio.
func (in *mixInput) flushRelay() {
	in.mu.Lock()
	in.head, in.n = 0, 0
	in.mu.Unlock()
}

// take moves the next frame into dst (zero-padded when less is queued);
// false when nothing is queued.
func (in *mixInput) take(dst *[mixFrame]int16) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	const size = len(in.ring)
	k := min(in.n, mixFrame)
	c := copy(dst[:k], in.ring[in.head:min(in.head+k, size)])
	copy(dst[c:k], in.ring[:k-c])
	in.head = (in.head + k) % size
	in.n -= k
	// Trim as relayQueue does: a frame of delay beyond one frame of
	// cushion that stood for a whole window is of no use.
	if in.ticks == 0 || in.n < in.minLeft {
		in.minLeft = in.n
	}
	if in.ticks++; in.ticks == relayWindow {
		if in.minLeft > relayCushion*mixFrame {
			in.drop(mixFrame)
			in.head = (in.head + mixFrame) % size
			in.n -= mixFrame
		}
		in.ticks = 0
	}
	if k == 0 {
		return false
	}
	clear(dst[k:])
	return true
}

// drop counts n samples dropped (the caller moves head). in.mu is held.
func (in *mixInput) drop(n int) {
	in.dropped += uint64(n)
	if in.k != nil && n >= mixFrame {
		in.k.dropped.Add(uint64(n / mixFrame))
	}
}

// end refuses further audio (the party left).
func (in *mixInput) end() {
	in.mu.Lock()
	in.ended = true
	in.head, in.n = 0, 0
	in.mu.Unlock()
}
