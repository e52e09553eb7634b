package sip

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/pion/rtp"
)

// Leg is one call leg (citizen or agent) as the call scripts see it. It is
// the only surface of diago the rest of the package uses.
type Leg interface {
	CallID() string
	// Context ends when the dialog ends (BYE, CANCEL, Hangup).
	Context() context.Context
	// Codec is the negotiated audio codec ("pcmu", "pcma").
	Codec() string
	// Play sends a prompt and returns when it has been sent or ctx ends
	// (barge-in: cancel ctx).
	Play(ctx context.Context, c *clip) error
	// DTMF delivers keys from RFC 4733 and SIP INFO.
	DTMF() <-chan rune
	// Connect routes this leg's received audio to sink (nil: drop it):
	// the other leg of a two-way bridge, or the leg's input in a mixer
	// (mixer.go).
	Connect(sink audioSink)
	// Counters are RTP packets received and sent on this leg.
	Counters() (rx, tx uint64)
	// LastRTP is when the last RTP packet arrived (the answer time before any).
	LastRTP() time.Time
	// OnHold reports whether the remote party put us on hold (sendonly or
	// inactive in its last offer).
	OnHold() bool
	Hangup(ctx context.Context) error

	// A leg is the audioSink of its bridged peer: relay queues one frame of
	// the peer's audio for the media clock.
	audioSink
	// sendMix sends one frame of a mixer's output now (the mixer's tick
	// paces it); gap and marker as for relay.
	sendMix(p []byte, gap uint32, marker bool) error
	pushDTMF(r rune)
	setRemoteHold(h bool)
}

// audioSink takes a leg's received audio from its pump: a bridged peer leg
// or a mixer input.
type audioSink interface {
	// relay takes one frame of audio: gap is how many samples the source
	// skipped before it (silence suppression), marker the source's
	// talkspurt mark.
	relay(p []byte, gap uint32, marker bool) error
	// flushRelay drops frames not yet sent (the sink was disconnected).
	flushRelay()
}

// diagoLeg implements Leg over diago's DialogMedia.
type diagoLeg struct {
	callID string
	ctx    context.Context
	med    *diago.DialogMedia
	hangup func(ctx context.Context) error
	codec  media.Codec
	dtmfPT int // -1 when telephone-event was not negotiated

	clock *mediaClock

	// wmu serialises the senders, all on clock ticks: prompts and music,
	// the bridged peer's relayed audio (rq) and a mixer's output (sendMix).
	// pw's own pacing (Write) is never used.
	wmu     sync.Mutex
	pw      *media.RTPPacketWriter
	sending uint8 // what sent the last frame: 0 nothing yet, srcClock, srcRelay, srcMix
	rq      relayQueue

	peer    atomic.Pointer[peerRef]
	dtmf    chan rune
	lastRTP atomic.Int64
	rx, tx  atomic.Uint64
	held    atomic.Bool // remote's last offer was sendonly/inactive
	done    chan struct{}
	rec     atomic.Pointer[recorder] // taps both directions (recorder.go)

	// The reading side, used by one goroutine at a time: the leg's own
	// pump, or the clock's RTP poller (rtp_poller.go), which reads the
	// guarded socket rtpPair through rtpRC into inPkt.
	in      rtpIn
	rtpPair *rtpPair
	rtpRC   syscall.RawConn
	inPkt   rtp.Packet
}

// rtpIn is the state of a leg's received stream.
type rtpIn struct {
	det dtmfDetector
	// The relayed stream's next expected timestamp, to carry its gaps over.
	srcSSRC, srcNext uint32
	srcKnown         bool
}

type peerRef struct{ l audioSink }

func newDiagoLeg(ctx context.Context, clock *mediaClock, callID string, med *diago.DialogMedia, hangup func(context.Context) error) (*diagoLeg, error) {
	props := diago.MediaProps{}
	if _, err := med.AudioWriter(diago.WithAudioWriterMediaProps(&props)); err != nil {
		return nil, err
	}
	if med.RTPPacketWriter == nil {
		return nil, errors.New("sip: no RTP writer on the dialog")
	}
	l := &diagoLeg{
		callID: callID,
		ctx:    ctx,
		med:    med,
		hangup: hangup,
		codec:  props.Codec,
		dtmfPT: -1,
		clock:  clock,
		pw:     med.RTPPacketWriter,
		rq:     relayQueue{stop: ctx.Done()},
		dtmf:   make(chan rune, 16),
		done:   make(chan struct{}),
	}
	if ms := med.MediaSession(); ms != nil {
		for _, c := range ms.CommonCodecs() {
			if c.Matches(media.CodecTelephoneEvent8000) {
				l.dtmfPT = int(c.PayloadTypeRecv())
			}
		}
	}
	l.rq.send = l.sendRelayed
	l.lastRTP.Store(time.Now().UnixNano())
	if pair, rc, ok := pollable(med); ok {
		l.rtpPair, l.rtpRC = pair, rc
		if clock.poll(l) {
			return l, nil
		}
	}
	go l.pump()
	return l, nil
}

func (l *diagoLeg) CallID() string           { return l.callID }
func (l *diagoLeg) Context() context.Context { return l.ctx }
func (l *diagoLeg) Codec() string            { return l.codec.Name }
func (l *diagoLeg) DTMF() <-chan rune        { return l.dtmf }
func (l *diagoLeg) Counters() (uint64, uint64) {
	return l.rx.Load(), l.tx.Load()
}
func (l *diagoLeg) LastRTP() time.Time { return time.Unix(0, l.lastRTP.Load()) }
func (l *diagoLeg) Hangup(ctx context.Context) error {
	return l.hangup(ctx)
}

func (l *diagoLeg) OnHold() bool { return l.held.Load() }

func (l *diagoLeg) setRemoteHold(h bool) { l.held.Store(h) }

func (l *diagoLeg) Connect(peer audioSink) {
	var old *peerRef
	if peer == nil {
		old = l.peer.Swap(nil)
	} else {
		old = l.peer.Swap(&peerRef{l: peer})
	}
	if old != nil && old.l != peer {
		old.l.flushRelay()
	}
}

func (l *diagoLeg) flushRelay() { l.rq.flush() }

// setRecorder taps the leg's audio both ways into r (nil: stop tapping).
func (l *diagoLeg) setRecorder(r *recorder) { l.rec.Store(r) }

var errLegEnded = errors.New("sip: leg ended")

func (l *diagoLeg) relay(p []byte, gap uint32, marker bool) error {
	if !l.rq.push(l.clock, p, gap, marker) {
		return errLegEnded
	}
	return nil
}

func (l *diagoLeg) pushDTMF(r rune) {
	select {
	case l.dtmf <- r:
	default: // nobody listening; drop
	}
}

// Senders of a leg's frames; a change of sender starts a talkspurt (the
// RTP marker bit, so that the far end's jitter buffer resynchronises).
const (
	srcClock uint8 = 1 + iota
	srcRelay
	srcMix
)

// sendFrame sends one frame of a prompt now; the clock paces the calls.
func (l *diagoLeg) sendFrame(p []byte) error { return l.send(p, 0, false, srcClock) }

// sendRelayed sends one relayed frame now (the clock's relayQueue tick).
func (l *diagoLeg) sendRelayed(p []byte, gap uint32, marker bool) error {
	return l.send(p, gap, marker, srcRelay)
}

// sendMix sends one frame of a mixer's output now (the mixer's tick).
func (l *diagoLeg) sendMix(p []byte, gap uint32, marker bool) error {
	return l.send(p, gap, marker, srcMix)
}

// send writes one frame from src: the timestamp first skips gap samples,
// then advances by len(p) (G.711: one sample per byte); a change of sender
// sets the marker bit.
func (l *diagoLeg) send(p []byte, gap uint32, marker bool, src uint8) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if gap > 0 {
		l.pw.DelayTimestamp(gap)
	}
	_, err := l.pw.WriteSamples(p, uint32(len(p)), marker || l.sending != src, l.codec.PayloadType)
	l.sending = src
	if err == nil {
		l.tx.Add(1)
		if r := l.rec.Load(); r != nil {
			r.toCitizen(p)
		}
	}
	return err
}

// pump is the leg's RTP reader when no poller reads it: counters, DTMF,
// forwarding.
func (l *diagoLeg) pump() {
	defer close(l.done)
	r := l.med.RTPPacketReader
	if r == nil {
		return
	}
	buf := make([]byte, media.RTPBufSize)
	for {
		n, err := r.Read(buf)
		if err != nil {
			if errors.Is(err, io.EOF) || l.ctx.Err() != nil {
				return
			}
			// Transient read errors (e.g. a media update swap): go on
			// unless the dialog is over.
			select {
			case <-l.ctx.Done():
				return
			case <-time.After(5 * time.Millisecond):
			}
			continue
		}
		hdr := r.PacketHeader
		l.onRTP(&hdr, buf[:n])
	}
}

// onRTP handles one received packet (payload p, empty when the session
// takes none): counters, DTMF, recording, relaying to the peer.
func (l *diagoLeg) onRTP(hdr *rtp.Header, p []byte) {
	l.rx.Add(1)
	l.lastRTP.Store(time.Now().UnixNano())
	in := &l.in
	if l.dtmfPT >= 0 && int(hdr.PayloadType) == l.dtmfPT {
		if key, ok := in.det.feed(hdr.Timestamp, p); ok {
			l.pushDTMF(key)
		}
		return
	}
	if hdr.PayloadType != l.codec.PayloadType || len(p) == 0 {
		return
	}
	n := len(p)
	var gap uint32
	if d := hdr.Timestamp - in.srcNext; in.srcKnown && hdr.SSRC == in.srcSSRC && d < maxRelayGap {
		gap = d // 0 for back-to-back frames; a wrap (late packet) is ignored
	}
	in.srcSSRC, in.srcNext, in.srcKnown = hdr.SSRC, hdr.Timestamp+uint32(n), true
	if r := l.rec.Load(); r != nil {
		r.fromCitizen(p)
	}
	if pr := l.peer.Load(); pr != nil {
		_ = pr.l.relay(p, gap, hdr.Marker)
	}
}

// maxRelayGap bounds the silence (in samples, 5 s at 8 kHz) carried over
// into relayed timestamps; a larger jump is a new stream, not a pause.
const maxRelayGap = 5 * 8000

// Play streams c in 20 ms frames, paced by the Service's media clock, until
// the end or ctx ends.
func (l *diagoLeg) Play(ctx context.Context, c *clip) error {
	if c == nil {
		return nil
	}
	if err := l.ctx.Err(); err != nil {
		return err
	}
	frame := int(l.codec.SampleRate) * int(l.codec.SampleDur/time.Millisecond) / 1000
	if frame <= 0 {
		frame = 160
	}
	return l.clock.play(ctx, l.ctx.Done(), c.frames(l.codec.Name), frame, l.sendFrame)
}

// sdpHold reports whether an SDP offer puts us on hold: a=sendonly,
// a=inactive or the RFC 2543 c=0.0.0.0.
func sdpHold(body []byte) bool {
	for _, line := range strings.Split(string(body), "\n") {
		switch strings.TrimSpace(line) {
		case "a=sendonly", "a=inactive", "c=IN IP4 0.0.0.0":
			return true
		}
	}
	return false
}
