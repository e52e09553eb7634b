package sip

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
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
	// Connect routes this leg's received audio to peer (nil: drop it).
	Connect(peer Leg)
	// Counters are RTP packets received and sent on this leg.
	Counters() (rx, tx uint64)
	// LastRTP is when the last RTP packet arrived (the answer time before any).
	LastRTP() time.Time
	// OnHold reports whether the remote party put us on hold (sendonly or
	// inactive in its last offer).
	OnHold() bool
	Hangup(ctx context.Context) error

	writeAudio(p []byte) error
	pushDTMF(r rune)
	setRemoteHold(h bool)
}

// diagoLeg implements Leg over diago's DialogMedia.
type diagoLeg struct {
	callID string
	ctx    context.Context
	med    *diago.DialogMedia
	hangup func(ctx context.Context) error
	codec  media.Codec
	dtmfPT int // -1 when telephone-event was not negotiated

	wmu sync.Mutex
	w   io.Writer

	peer    atomic.Pointer[peerRef]
	dtmf    chan rune
	lastRTP atomic.Int64
	rx, tx  atomic.Uint64
	held    atomic.Bool // remote's last offer was sendonly/inactive
	done    chan struct{}
}

type peerRef struct{ l Leg }

func newDiagoLeg(ctx context.Context, callID string, med *diago.DialogMedia, hangup func(context.Context) error) (*diagoLeg, error) {
	props := diago.MediaProps{}
	w, err := med.AudioWriter(diago.WithAudioWriterMediaProps(&props))
	if err != nil {
		return nil, err
	}
	l := &diagoLeg{
		callID: callID,
		ctx:    ctx,
		med:    med,
		hangup: hangup,
		codec:  props.Codec,
		dtmfPT: -1,
		w:      w,
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
	l.lastRTP.Store(time.Now().UnixNano())
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

func (l *diagoLeg) Connect(peer Leg) {
	if peer == nil {
		l.peer.Store(nil)
		return
	}
	l.peer.Store(&peerRef{l: peer})
}

func (l *diagoLeg) pushDTMF(r rune) {
	select {
	case l.dtmf <- r:
	default: // nobody listening; drop
	}
}

// writeAudio sends one encoded 20 ms frame; diago's writer paces it.
func (l *diagoLeg) writeAudio(p []byte) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	_, err := l.w.Write(p)
	if err == nil {
		l.tx.Add(1)
	}
	return err
}

// pump is the leg's only RTP reader: counters, DTMF, forwarding.
func (l *diagoLeg) pump() {
	defer close(l.done)
	r := l.med.RTPPacketReader
	if r == nil {
		return
	}
	buf := make([]byte, media.RTPBufSize)
	var det dtmfDetector
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
		l.rx.Add(1)
		l.lastRTP.Store(time.Now().UnixNano())
		hdr := r.PacketHeader
		if l.dtmfPT >= 0 && int(hdr.PayloadType) == l.dtmfPT {
			if key, ok := det.feed(hdr.Timestamp, buf[:n]); ok {
				l.pushDTMF(key)
			}
			continue
		}
		if hdr.PayloadType != l.codec.PayloadType || n == 0 {
			continue
		}
		if p := l.peer.Load(); p != nil {
			_ = p.l.writeAudio(buf[:n])
		}
	}
}

// Play streams c in 20 ms frames until the end or ctx ends.
func (l *diagoLeg) Play(ctx context.Context, c *clip) error {
	if c == nil {
		return nil
	}
	data := c.frames(l.codec.Name)
	frame := int(l.codec.SampleRate) * int(l.codec.SampleDur/time.Millisecond) / 1000
	if frame <= 0 {
		frame = 160
	}
	for off := 0; off < len(data); off += frame {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := l.ctx.Err(); err != nil {
			return err
		}
		end := min(off+frame, len(data))
		if err := l.writeAudio(data[off:end]); err != nil {
			return err
		}
	}
	return nil
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
