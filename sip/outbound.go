package sip

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// OutboundTrunk is one carrier onecall calls out through.
type OutboundTrunk struct {
	Name      string
	Address   string // carrier host:port
	Transport string // "udp" (default) or "tcp"
	// Username and Password answer the carrier's digest challenge (401 or
	// 407); empty means no credentials.
	Username, Password string
	// E164 writes numbers as "+8210..." instead of the national "010...".
	E164 bool
	// MaxCalls caps this trunk's concurrent calls (0: only Outbound.MaxCalls).
	MaxCalls int
}

// Outbound configures outgoing calls. No trunk: Dial fails with ErrNoTrunk.
type Outbound struct {
	// Trunks in order of preference; a trunk that fails (no response, 5xx,
	// credentials refused, at its cap) hands the call to the next.
	Trunks []OutboundTrunk
	// MaxCalls caps concurrent outgoing calls over all trunks (default 50).
	MaxCalls int
	// RingTimeout bounds ringing the called phone (default 30 s).
	RingTimeout time.Duration
	// TrunkTimeout is how long a trunk may stay silent (not even 100
	// Trying) before the next one is tried (default 4 s).
	TrunkTimeout time.Duration
}

func (o *Outbound) defaults() {
	if o.MaxCalls <= 0 {
		o.MaxCalls = 50
	}
	if o.RingTimeout <= 0 {
		o.RingTimeout = 30 * time.Second
	}
	if o.TrunkTimeout <= 0 {
		o.TrunkTimeout = 4 * time.Second
	}
}

// DialOutcome is how an outgoing call attempt ended. Enumerated.
type DialOutcome uint8

const (
	DialAnswered   DialOutcome = iota
	DialNoAnswer               // rang out, 480, 408 or 487 from the far end
	DialBusy                   // 486 or 600
	DialRejected               // 403/404/484/603...: the number or the call was refused
	DialFailed                 // every trunk failed (no response, 5xx, auth refused)
	DialNoTrunk                // no trunk configured
	DialCongestion             // at the cap of concurrent outgoing calls
	DialBadNumber              // not a dialable number
)

func (o DialOutcome) String() string {
	switch o {
	case DialAnswered:
		return "answered"
	case DialNoAnswer:
		return "no-answer"
	case DialBusy:
		return "busy"
	case DialRejected:
		return "rejected"
	case DialFailed:
		return "failed"
	case DialNoTrunk:
		return "no-trunk"
	case DialCongestion:
		return "congestion"
	case DialBadNumber:
		return "bad-number"
	}
	return "dial-outcome(" + strconv.Itoa(int(o)) + ")"
}

// DialError is a failed Dial: the outcome, the last SIP status seen (0 if
// none) and the trunk that gave it.
type DialError struct {
	Outcome DialOutcome
	Status  int
	Trunk   string
	Err     error
}

func (e *DialError) Error() string {
	s := "sip: dial " + e.Outcome.String()
	if e.Status != 0 {
		s += " (" + strconv.Itoa(e.Status) + ")"
	}
	if e.Trunk != "" {
		s += " via " + e.Trunk
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *DialError) Unwrap() error { return e.Err }

// ErrNoTrunk is the cause of a DialNoTrunk error.
var ErrNoTrunk = errors.New("no outbound trunk configured")

// DialOutcomeOf returns the outcome of a Dial error (DialAnswered for nil).
func DialOutcomeOf(err error) DialOutcome {
	if err == nil {
		return DialAnswered
	}
	var de *DialError
	if errors.As(err, &de) {
		return de.Outcome
	}
	return DialFailed
}

// DialRequest is one outgoing call.
type DialRequest struct {
	Number   string // the called number in any written form (NationalNumber)
	CallerID string // the calling number shown (a line's caller ID)
	// originator aligns the offered codec with a leg already up, so the
	// two can be bridged without transcoding.
	originator diago.DialogSession
	// onRinging runs once on the first 180/183.
	onRinging func()
}

// outCall is one answered outgoing call.
type outCall struct {
	leg   Leg
	dlg   *diago.DialogClientSession
	trunk string
	to    string
	done  func() // releases the caps; once
}

// OutboundCall is an answered outgoing call placed by Dial.
type OutboundCall struct{ c *outCall }

// Dial places an outgoing call through the configured trunks (failover in
// order, digest answered, caps applied) and returns it once answered. A
// failure is a *DialError (DialOutcomeOf).
func (s *Service) Dial(ctx context.Context, req DialRequest) (*OutboundCall, error) {
	c, err := s.dial(ctx, req)
	if err != nil {
		return nil, err
	}
	return &OutboundCall{c: c}, nil
}

// Trunk is the name of the trunk that carried the call.
func (o *OutboundCall) Trunk() string { return o.c.trunk }

// Number is the called number as sent to the trunk.
func (o *OutboundCall) Number() string { return o.c.to }

// Context ends when the call ends.
func (o *OutboundCall) Context() context.Context { return o.c.leg.Context() }

// Counters are the RTP packets received and sent.
func (o *OutboundCall) Counters() (rx, tx uint64) { return o.c.leg.Counters() }

// Hangup ends the call.
func (o *OutboundCall) Hangup() { o.c.hangup() }

// hangup ends the call (BYE) and releases its slot.
func (o *outCall) hangup() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = hangUpDialled(ctx, o.dlg)
	o.done()
}

// outbound is the Service's dialler state.
type outbound struct {
	cfg    Outbound
	active atomic.Int64
	mu     sync.Mutex
	per    map[string]int
}

func (ob *outbound) acquire(t *OutboundTrunk) bool {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	if int(ob.active.Load()) >= ob.cfg.MaxCalls || (t.MaxCalls > 0 && ob.per[t.Name] >= t.MaxCalls) {
		return false
	}
	ob.active.Add(1)
	ob.per[t.Name]++
	return true
}

func (ob *outbound) release(t *OutboundTrunk) {
	ob.mu.Lock()
	ob.active.Add(-1)
	ob.per[t.Name]--
	ob.mu.Unlock()
}

// OutboundActive is the number of outgoing calls in progress (ringing or up).
func (s *Service) OutboundActive() int { return int(s.out.active.Load()) }

// CanDial reports whether outgoing calls are configured.
func (s *Service) CanDial() bool { return len(s.out.cfg.Trunks) > 0 }

// dial places one outgoing call through the trunks in order and returns it
// answered (and ACKed). A trunk-level failure moves on to the next trunk;
// an answer from the called party (busy, no answer, rejected) ends the
// attempt.
func (s *Service) dial(ctx context.Context, req DialRequest) (*outCall, error) {
	if len(s.out.cfg.Trunks) == 0 {
		return nil, &DialError{Outcome: DialNoTrunk, Err: ErrNoTrunk}
	}
	if s.dg == nil {
		return nil, &DialError{Outcome: DialFailed, Err: errors.New("not started")}
	}
	var last error = &DialError{Outcome: DialCongestion}
	for i := range s.out.cfg.Trunks {
		t := &s.out.cfg.Trunks[i]
		if !s.out.acquire(t) {
			s.log.Warn("outbound trunk at its cap", "trunk", t.Name)
			continue
		}
		oc, err, next := s.dialTrunk(ctx, t, req)
		if err == nil {
			return oc, nil
		}
		s.out.release(t)
		last = err
		if !next || ctx.Err() != nil {
			return nil, err
		}
		s.log.Warn("outbound trunk failed; trying the next", "trunk", t.Name, "err", err)
	}
	return nil, last
}

// dialTrunk tries one trunk; next reports a trunk-level failure (try the
// next trunk).
func (s *Service) dialTrunk(ctx context.Context, t *OutboundTrunk, req DialRequest) (oc *outCall, err error, next bool) {
	number, callerID := req.Number, req.CallerID
	conv := NationalNumber
	if t.E164 {
		conv = E164Number
	}
	if number, err = conv(number); err != nil {
		return nil, &DialError{Outcome: DialBadNumber, Trunk: t.Name, Err: err}, false
	}
	if callerID != "" {
		if c, cerr := conv(callerID); cerr == nil {
			callerID = c
		}
	}
	host, port, err := splitHostPort(t.Address)
	if err != nil {
		return nil, &DialError{Outcome: DialFailed, Trunk: t.Name, Err: err}, true
	}
	transport := t.Transport
	if transport == "" {
		transport = "udp"
	}
	target := sip.Uri{User: number, Host: host, Port: port, UriParams: sip.NewParams()}
	dlg, err := s.dg.NewDialog(target, diago.NewDialogOptions{Transport: transport})
	if err != nil {
		return nil, &DialError{Outcome: DialFailed, Trunk: t.Name, Err: err}, true
	}
	// The attempt ends on the ring timeout (no answer) or when the trunk
	// stays silent (next trunk); both are ours, never the caller's ctx.
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var responded, ringing atomic.Bool
	var silent, rangOut atomic.Bool
	stop := func() {
		if responded.Load() {
			cancel(context.Canceled) // CANCEL
		} else {
			cancel(sipgo.WaitAnswerForceCancelErr)
		}
	}
	trunkTimer := time.AfterFunc(s.out.cfg.TrunkTimeout, func() {
		if !responded.Load() {
			silent.Store(true)
			stop()
		}
	})
	defer trunkTimer.Stop()
	ringTimer := time.AfterFunc(s.out.cfg.RingTimeout, func() { rangOut.Store(true); stop() })
	defer ringTimer.Stop()
	opts := diago.InviteClientOptions{
		Originator: req.originator,
		Username:   t.Username,
		Password:   t.Password,
		Headers:    []sip.Header{},
		OnResponse: func(res *sip.Response) error {
			responded.Store(true)
			if res.StatusCode == 180 || res.StatusCode == 183 {
				if !ringing.Swap(true) && req.onRinging != nil {
					req.onRinging()
				}
			}
			return nil
		},
	}
	if callerID != "" {
		opts.Headers = append(opts.Headers, &sip.FromHeader{
			Address: sip.Uri{Scheme: "sip", User: callerID, Host: host},
			Params:  sip.NewParams(),
		}, sip.NewHeader("P-Asserted-Identity", "<sip:"+callerID+"@"+host+">"))
	}
	med, err := dlg.Invite(actx, opts)
	if err != nil && strings.Contains(err.Error(), "failed to request connection") && actx.Err() == nil {
		// sipgo has not yet registered the listening socket that client
		// requests share (just after Start): once more, shortly.
		_ = dlg.Close()
		select {
		case <-time.After(100 * time.Millisecond):
		case <-actx.Done():
		}
		if dlg, err = s.dg.NewDialog(target, diago.NewDialogOptions{Transport: transport}); err != nil {
			return nil, &DialError{Outcome: DialFailed, Trunk: t.Name, Err: err}, true
		}
		med, err = dlg.Invite(actx, opts)
	}
	if err := s.settleInvite(actx, dlg, err); err != nil {
		status := 0
		if res := dlg.InviteResponse; res != nil {
			status = res.StatusCode
		}
		de := &DialError{Outcome: DialFailed, Status: status, Trunk: t.Name, Err: err}
		switch {
		case ctx.Err() != nil:
			de.Err = ctx.Err()
			return nil, de, false
		case silent.Load():
			de.Err = fmt.Errorf("no response within %s", s.out.cfg.TrunkTimeout)
			return nil, de, true
		case rangOut.Load():
			de.Outcome = DialNoAnswer
			return nil, de, false
		}
		switch status {
		case 486, 600:
			de.Outcome = DialBusy
		case 408, 480, 487:
			de.Outcome = DialNoAnswer
		case 404, 484, 485, 603, 604, 410:
			de.Outcome = DialRejected
		default:
			// 401/407 after our credentials, 403, 5xx, transport errors:
			// the trunk's fault, not the called party's.
			return nil, de, true
		}
		return nil, de, false
	}
	leg, err := newDiagoLeg(dlg.Context(), s.clock, dlg.InviteRequest.CallID().Value(), med, dialledHangup(dlg))
	if err != nil {
		hctx, hcancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = hangUpDialled(hctx, dlg)
		hcancel()
		return nil, &DialError{Outcome: DialFailed, Trunk: t.Name, Err: err}, false
	}
	var once sync.Once
	oc = &outCall{leg: leg, dlg: dlg, trunk: t.Name, to: number,
		done: func() { once.Do(func() { s.out.release(t) }) }}
	// The slot is released when the call ends, however it ends.
	go func() { <-dlg.Context().Done(); oc.done() }()
	return oc, nil, false
}

// codecOrigin presents the SDP a leg settled on as the "originator" of an
// outgoing INVITE, so diago offers only that codec and the two legs can be
// bridged byte for byte.
type codecOrigin struct {
	diago.DialogSession
	d *sipgo.Dialog
}

func (o codecOrigin) DialogSIP() *sipgo.Dialog { return o.d }

// originFromAnswer builds a codecOrigin from a client dialog's 2xx SDP.
func originFromAnswer(d *diago.DialogClientSession) diago.DialogSession {
	res := d.InviteResponse
	if res == nil || len(res.Body()) == 0 {
		return nil
	}
	req := sip.NewRequest(sip.INVITE, d.InviteRequest.Recipient)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(res.Body())
	if f := d.InviteRequest.From(); f != nil {
		req.AppendHeader(&sip.FromHeader{DisplayName: f.DisplayName, Address: *f.Address.Clone(), Params: sip.NewParams()})
	}
	return codecOrigin{DialogSession: d, d: &sipgo.Dialog{InviteRequest: req}}
}
