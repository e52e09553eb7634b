package sip

import (
	"context"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"

	"onecall/router"
	"onecall/store"
)

// Placed callbacks, agent first. A booked callback (store.Callback, keyed
// by the contact that booked it) re-enters routing under the same contact
// id with its original arrival (router.ContactArrived.Callback). When the
// engine offers it, we ring the agent's phone; once the agent answers
// (OfferAccepted) we dial the citizen through the outbound trunk with the
// line's caller ID while the agent hears ringback, and bridge the two.
// An attempt that does not reach the citizen ends the contact
// (router.EndCallbackRetry) and re-enters it after the backoff, doubled
// each time; after the last attempt it is closed router.EndCallbackUnreached.
// A citizen who calls the same line again while the callback waits takes
// its place and the callback is closed router.EndCallbackMerged.

// CallbackPolicy is the retry policy of placed callbacks.
type CallbackPolicy struct {
	Attempts int           // calls placed in all (default 3)
	Backoff  time.Duration // before the 2nd attempt, doubled each time (default 5 m)
}

func (p *CallbackPolicy) defaults() {
	if p.Attempts <= 0 {
		p.Attempts = 3
	}
	if p.Backoff <= 0 {
		p.Backoff = 5 * time.Minute
	}
}

// Callback attribute keys (store.Callback.Attrs and the routed contact's
// Attrs, which the console shows).
const (
	attrKind        = "kind"         // "callback" on the routed contact
	attrBookedAt    = "booked_at"    // RFC 3339
	attrWaited      = "waited_s"     // the original wait before booking, seconds
	attrAttempt     = "attempt"      // 1-based number of the attempt being offered
	attrLastOutcome = "last_outcome" // DialOutcome of the last failed attempt
	attrNextAt      = "next_at"      // RFC 3339: the next attempt (backoff)
	attrReason      = "reason"       // closing end reason
	attrSource      = "source"       // voice | chat | closed
)

type cbState uint8

const (
	cbBooking cbState = iota + 1 // its contact is still live in routing (a chat booking)
	cbQueued                     // waiting in routing
	cbBackoff                    // between attempts (timer)
	cbActive                     // an attempt runs (agent ringing, dialling, talking)
	cbDone
)

// pendingCB is one callback this Service places.
type pendingCB struct {
	rec   store.Callback
	state cbState
	timer *time.Timer
	run   *cbRun
}

// cbRun is one attempt, from the offer to the end of the call.
type cbRun struct {
	agent     router.AgentID
	withdrawn atomic.Bool
	cancel    context.CancelCauseFunc // stops ringing the agent
	closed    chan router.EndReason   // ContactClosed from routing (1)
}

// callbacks is the Service's callback state, guarded by its own mutex
// (deliver runs on the hub goroutine and never blocks on it for long).
type callbacks struct {
	mu  sync.Mutex
	cbs map[router.ContactID]*pendingCB
}

// PendingCallbacks is the number of callbacks this Service holds (waiting,
// between attempts or being placed).
func (s *Service) PendingCallbacks() int {
	s.cb.mu.Lock()
	defer s.cb.mu.Unlock()
	return len(s.cb.cbs)
}

// CallbacksOn reports whether line offers callbacks: an outbound trunk
// and the line's own setting.
func (s *Service) CallbacksOn(number string) bool {
	if !s.CanDial() {
		return false
	}
	if s.opts.Lines == nil {
		return true
	}
	l, ok := s.opts.Lines.Line(number)
	return ok && l.Callback
}

// BookCallback takes a booked callback (already durable in the store) and
// places it: now, or at attrs next_at after a restart. live says the
// booking contact is still in routing (a chat that has yet to submit
// CallbackRequested): the callback waits for its ContactClosed. Without an
// outbound trunk it is closed at once (failed, no-trunk) rather than left
// waiting.
func (s *Service) BookCallback(ctx context.Context, rec store.Callback, live bool) error {
	if rec.Attrs == nil {
		rec.Attrs = map[string]string{}
	}
	id := router.ContactID(rec.Contact)
	if !s.CanDial() {
		s.log.Warn("callback cannot be placed: no outbound trunk", "contact_id", rec.Contact)
		rec.Attrs[attrReason] = DialNoTrunk.String()
		rec.Status = store.CallbackFailed
		return s.saveCallback(ctx, rec)
	}
	p := &pendingCB{rec: rec}
	if live {
		p.state = cbBooking
	}
	s.cb.mu.Lock()
	if _, dup := s.cb.cbs[id]; dup {
		s.cb.mu.Unlock()
		return nil
	}
	s.cb.cbs[id] = p
	s.cb.mu.Unlock()
	s.callbackHere(id, true)
	if live {
		// An offline chat's contact has already left routing: no
		// ContactClosed will come.
		time.AfterFunc(3*time.Second, func() {
			s.cb.mu.Lock()
			still := p.state == cbBooking
			s.cb.mu.Unlock()
			if still && !s.closing.Load() {
				_ = s.enqueueCallback(p)
			}
		})
		return nil
	}
	if at, err := time.Parse(time.RFC3339, rec.Attrs[attrNextAt]); err == nil && at.After(time.Now()) {
		s.scheduleCallback(p, time.Until(at))
		return nil
	}
	return s.enqueueCallback(p)
}

// enqueueCallback enters p into routing at its original place.
func (s *Service) enqueueCallback(p *pendingCB) error {
	r := p.rec
	attrs := make(map[string]string, len(r.Attrs)+4)
	for k, v := range r.Attrs {
		attrs[k] = v
	}
	attrs[attrKind] = "callback"
	attrs[attrBookedAt] = r.Booked.UTC().Format(time.RFC3339)
	attrs[attrWaited] = strconv.Itoa(int(max(r.Booked.Sub(r.Arrived), 0) / time.Second))
	attrs[attrAttempt] = strconv.Itoa(r.Attempts + 1)
	delete(attrs, attrNextAt)
	s.cb.mu.Lock()
	if p.state == cbDone { // merged, or handed to another node (ReleaseCallback)
		s.cb.mu.Unlock()
		return nil
	}
	p.state = cbQueued
	s.cb.mu.Unlock()
	err := s.hub.Submit(router.ContactArrived{Contact: router.ContactID(r.Contact), Channel: router.Voice,
		Number: r.Hotline, Queue: r.Queue, Arrived: r.Arrived, Citizen: r.CitizenNumber, Attrs: attrs, Callback: true})
	if err != nil {
		// The inbox is full: try again shortly rather than lose it.
		s.log.Warn("callback not routed; retrying", "contact_id", r.Contact, "err", err)
		s.scheduleCallback(p, 5*time.Second)
	}
	return nil
}

func (s *Service) scheduleCallback(p *pendingCB, d time.Duration) {
	s.cb.mu.Lock()
	defer s.cb.mu.Unlock()
	if p.state == cbDone {
		return
	}
	p.state = cbBackoff
	p.timer = time.AfterFunc(d, func() {
		if s.closing.Load() {
			return
		}
		_ = s.enqueueCallback(p)
	})
}

// saveCallback writes the callback row durably (bounded).
func (s *Service) saveCallback(ctx context.Context, rec store.Callback) error {
	if s.opts.Store == nil {
		return nil
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := s.opts.Store.Durable(dctx, rec)
	if err != nil {
		s.log.Error("callback row not saved", "contact_id", rec.Contact, "status", rec.Status, "err", err)
	}
	return err
}

// deliverCallback takes the routing commands of callback contacts (hub
// goroutine, never blocks). It reports whether id is a callback.
func (s *Service) deliverCallback(id router.ContactID, cmd router.Command) bool {
	s.cb.mu.Lock()
	p := s.cb.cbs[id]
	if p == nil {
		s.cb.mu.Unlock()
		return false
	}
	switch c := cmd.(type) {
	case router.Offer:
		if p.state != cbQueued || s.closing.Load() {
			s.cb.mu.Unlock()
			_ = s.hub.Submit(router.OfferRejected{Contact: id, Agent: c.Agent, Reason: "busy"})
			return true
		}
		run := &cbRun{agent: c.Agent, closed: make(chan router.EndReason, 1)}
		p.state, p.run = cbActive, run
		s.cb.mu.Unlock()
		go s.placeCallback(p, run, c)
		return true
	case router.OfferWithdrawn:
		if r := p.run; r != nil && r.agent == c.Agent && !r.withdrawn.Swap(true) && r.cancel != nil {
			r.cancel(context.Canceled)
		}
	case router.ContactClosed:
		switch {
		case p.state == cbBooking:
			if c.Reason == router.EndCallback {
				p.state = cbQueued // the fallback timer stands down
				go func() { _ = s.enqueueCallback(p) }()
			}
		case p.run != nil:
			select {
			case p.run.closed <- c.Reason:
			default:
			}
			if r := p.run; r.cancel != nil {
				r.cancel(context.Canceled)
			}
		case p.state == cbQueued && c.Reason != router.EndCallbackRetry && c.Reason != router.EndCallbackMerged:
			// Closed by routing itself (reconciler bound, queue removed):
			// the callback ends with that reason.
			p.state = cbDone
			delete(s.cb.cbs, id)
			rec := p.rec
			s.cb.mu.Unlock()
			s.callbackHere(id, false)
			rec.Status = store.CallbackFailed
			rec.Attrs = withAttrs(rec.Attrs, attrReason, c.Reason.String())
			go func() { _ = s.saveCallback(context.Background(), rec) }()
			return true
		}
	}
	s.cb.mu.Unlock()
	return true
}

func withAttrs(m map[string]string, kv ...string) map[string]string {
	out := make(map[string]string, len(m)+len(kv)/2)
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// placeCallback runs one attempt: ring the agent, then dial the citizen
// and bridge. It always leaves the contact ended or back with routing.
func (s *Service) placeCallback(p *pendingCB, run *cbRun, o router.Offer) {
	id := router.ContactID(p.rec.Contact)
	log := s.log.With("contact_id", uint64(id), "agent_id", string(o.Agent), "callback", true)
	requeue := func(reason string) {
		s.cb.mu.Lock()
		if p.state == cbActive {
			p.state, p.run = cbQueued, nil
		}
		s.cb.mu.Unlock()
		if !run.withdrawn.Load() {
			_ = s.hub.Submit(router.OfferRejected{Contact: id, Agent: o.Agent, Reason: reason})
		}
	}
	agentLeg, agentDlg, reason := s.ringAgentForCallback(run, o, p)
	if agentLeg == nil {
		log.Info("callback offer failed", "reason", reason)
		requeue(reason)
		return
	}
	s.addLeg(agentLeg, clientDialogPeer(agentDlg))
	defer s.dropLeg(agentLeg)
	hangAgent := func() {
		hctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = agentLeg.Hangup(hctx)
		cancel()
	}
	dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_, err := s.hub.Do(dctx, router.OfferAccepted{Contact: id, Agent: o.Agent})
	cancel()
	if err != nil {
		log.Warn("callback accept refused", "err", err)
		hangAgent()
		s.cb.mu.Lock()
		if p.state == cbActive {
			p.state, p.run = cbQueued, nil
		}
		s.cb.mu.Unlock()
		return
	}
	rec := p.rec
	rec.Attempts++
	rec.Status = store.CallbackDialing
	_ = s.saveCallback(context.Background(), rec)

	// Agent first: the agent hears ringback while the citizen's phone rings.
	callerID := ""
	if s.opts.Lines != nil {
		if l, ok := s.opts.Lines.Line(rec.Hotline); ok {
			callerID = l.CallerID
		}
	}
	if callerID == "" {
		callerID = rec.Hotline
	}
	ring, stopRing := context.WithCancel(agentLeg.Context())
	ringDone := make(chan struct{})
	go func() {
		defer close(ringDone)
		for ring.Err() == nil {
			if agentLeg.Play(ring, s.ringback) != nil {
				return
			}
		}
	}()
	// The agent hanging up stops the dial; so does routing closing it.
	callCtx, callCancel := context.WithCancel(agentLeg.Context())
	go func() {
		select {
		case r := <-run.closed:
			run.closed <- r
			callCancel()
		case <-callCtx.Done():
		}
	}()
	started := time.Now()
	oc, err := s.dial(callCtx, DialRequest{Number: rec.CitizenNumber, CallerID: callerID,
		originator: originFromAnswer(agentDlg)})
	stopRing()
	<-ringDone
	if err != nil {
		callCancel()
		outcome := DialOutcomeOf(err)
		log.Info("callback attempt failed", "attempt", rec.Attempts, "outcome", outcome.String(), "err", err)
		hangAgent()
		// The attempt's record before its end goes to routing (persistRecord).
		s.saveCallbackCDR(rec, o.Agent, agentLeg, nil, started, "callback-"+outcome.String())
		s.callbackFailed(p, rec, outcome)
		return
	}
	log.Info("callback connected", "attempt", rec.Attempts, "trunk", oc.trunk)
	answered := time.Now()
	rec.Status = store.CallbackDone
	rec.Attrs = withAttrs(rec.Attrs, attrReason, router.EndCompleted.String())
	delete(rec.Attrs, attrLastOutcome)
	_ = s.saveCallback(context.Background(), rec)
	s.addLeg(oc.leg, clientDialogPeer(oc.dlg))
	defer s.dropLeg(oc.leg)
	agentLeg.Connect(oc.leg)
	oc.leg.Connect(agentLeg)
	cause := causeAgentBye
	select {
	case <-agentLeg.Context().Done():
	case <-oc.leg.Context().Done():
		cause = causeCitizenBye
	case <-callCtx.Done():
		cause = causeRouterClosed
	case <-s.closeCh:
		cause = causeShutdown
	}
	callCancel()
	agentLeg.Connect(nil)
	oc.leg.Connect(nil)
	oc.hangup()
	hangAgent()
	s.saveCallbackCDR(rec, o.Agent, agentLeg, oc, answered, cause)
	s.finishCallback(p, router.EndCompleted)
}

// callbackFailed ends an attempt that did not reach the citizen: another
// attempt after the backoff, or the callback is closed unreached.
func (s *Service) callbackFailed(p *pendingCB, rec store.Callback, outcome DialOutcome) {
	pol := s.opts.Callback
	final := rec.Attempts >= pol.Attempts || outcome == DialBadNumber || outcome == DialNoTrunk || outcome == DialRejected
	rec.Attrs = withAttrs(rec.Attrs, attrLastOutcome, outcome.String())
	if final {
		rec.Status = store.CallbackFailed
		rec.Attrs[attrReason] = router.EndCallbackUnreached.String()
		_ = s.saveCallback(context.Background(), rec)
		s.finishCallback(p, router.EndCallbackUnreached)
		return
	}
	wait := time.Duration(float64(pol.Backoff) * math.Pow(2, float64(rec.Attempts-1)))
	rec.Status = store.CallbackBooked
	rec.Attrs[attrNextAt] = time.Now().Add(wait).UTC().Format(time.RFC3339)
	_ = s.saveCallback(context.Background(), rec)
	s.cb.mu.Lock()
	p.rec, p.run = rec, nil
	s.cb.mu.Unlock()
	s.submitEnd(router.ContactID(rec.Contact), router.EndCallbackRetry)
	s.scheduleCallback(p, wait)
}

// finishCallback ends the routed contact with reason and forgets p.
func (s *Service) finishCallback(p *pendingCB, reason router.EndReason) {
	id := router.ContactID(p.rec.Contact)
	s.cb.mu.Lock()
	p.state, p.run = cbDone, nil
	mine := s.cb.cbs[id] == p
	if mine {
		delete(s.cb.cbs, id)
	}
	s.cb.mu.Unlock()
	if mine {
		s.callbackHere(id, false)
	}
	s.submitEnd(id, reason)
}

// submitEnd delivers ContactEnded through a briefly full inbox (bounded).
func (s *Service) submitEnd(id router.ContactID, reason router.EndReason) {
	deadline := time.Now().Add(3 * time.Second)
	for {
		err := s.hub.Submit(router.ContactEnded{Contact: id, Reason: reason})
		if err == nil || time.Now().After(deadline) {
			if err != nil {
				s.log.Error("callback end lost", "contact_id", uint64(id), "err", err)
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ringAgentForCallback rings the agent's registered phone for a callback
// offer; it returns the answered leg or why not.
func (s *Service) ringAgentForCallback(run *cbRun, o router.Offer, p *pendingCB) (Leg, *diago.DialogClientSession, string) {
	uri, route, ok := s.lookupAgent(string(o.Agent))
	if !ok {
		return nil, nil, "not registered"
	}
	var target sip.Uri
	if err := sip.ParseUri(strings.Trim(uri, "<>"), &target); err != nil {
		return nil, nil, "bad contact"
	}
	timeout := s.ringTimeout(o.Deadline)
	octx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	var ringing atomic.Bool
	give := giveUp(&ringing, cancel)
	stop := func(error) { give() }
	s.cb.mu.Lock()
	run.cancel = stop
	s.cb.mu.Unlock()
	if run.withdrawn.Load() {
		return nil, nil, "withdrawn"
	}
	var timedOut atomic.Bool
	timer := time.AfterFunc(timeout, func() { timedOut.Store(true); stop(nil) })
	defer timer.Stop()
	dlg, err := s.dg.NewDialog(target, diago.NewDialogOptions{})
	if err != nil {
		return nil, nil, "failed"
	}
	hdrs := append(route,
		sip.NewHeader("X-Onecall-Contact", strconv.FormatUint(p.rec.Contact, 10)),
		sip.NewHeader("X-Onecall-Queue", headerSafe(o.Queue)),
		sip.NewHeader("X-Onecall-Hotline", headerSafe(p.rec.Hotline)),
		sip.NewHeader("X-Onecall-Callback", "1"),
	)
	med, err := dlg.Invite(octx, diago.InviteClientOptions{
		Headers:    hdrs,
		OnResponse: markRinging(&ringing),
	})
	if err := s.settleInvite(octx, dlg, err); err != nil {
		if timedOut.Load() {
			return nil, nil, "no answer"
		}
		return nil, nil, offerFailReason(err)
	}
	if run.withdrawn.Load() {
		hctx, hcancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = hangUpDialled(hctx, dlg)
		hcancel()
		return nil, nil, "withdrawn"
	}
	leg, err := newDiagoLeg(dlg.Context(), s.clock, dlg.InviteRequest.CallID().Value(), med, dialledHangup(dlg))
	if err != nil {
		hctx, hcancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = hangUpDialled(hctx, dlg)
		hcancel()
		return nil, nil, "media"
	}
	return leg, dlg, ""
}

// mergeCallback is called before a new call from caller on line number
// enters routing: a callback of the same citizen on the same line that
// waits (not being placed) is closed as merged, and its original arrival
// returned so the call keeps the callback's place.
func (s *Service) mergeCallback(caller, number string) (time.Time, router.ContactID, bool) {
	want, err := NationalNumber(caller)
	if err != nil {
		return time.Time{}, 0, false
	}
	s.cb.mu.Lock()
	var found *pendingCB
	for _, p := range s.cb.cbs {
		if p.rec.Hotline != number || (p.state != cbQueued && p.state != cbBackoff) {
			continue
		}
		if n, err := NationalNumber(p.rec.CitizenNumber); err == nil && n == want {
			found = p
			break
		}
	}
	if found == nil {
		s.cb.mu.Unlock()
		return time.Time{}, 0, false
	}
	wasQueued := found.state == cbQueued
	if found.timer != nil {
		found.timer.Stop()
	}
	found.state = cbDone
	id := router.ContactID(found.rec.Contact)
	delete(s.cb.cbs, id)
	rec := found.rec
	s.cb.mu.Unlock()
	s.callbackHere(id, false)
	rec.Status = store.CallbackCancelled
	rec.Attrs = withAttrs(rec.Attrs, attrReason, router.EndCallbackMerged.String())
	_ = s.saveCallback(context.Background(), rec)
	if wasQueued {
		s.submitEnd(id, router.EndCallbackMerged)
	}
	return rec.Arrived, id, true
}

// saveCallbackCDR writes the call record of one placed attempt.
func (s *Service) saveCallbackCDR(rec store.Callback, agent router.AgentID, agentLeg Leg, oc *outCall, answered time.Time, cause string) {
	st := s.opts.Store
	now := time.Now()
	arx, atx := agentLeg.Counters()
	cr := store.CallRecord{
		CallID:      agentLeg.CallID(),
		Contact:     rec.Contact,
		From:        rec.Hotline,
		To:          rec.CitizenNumber,
		Started:     answered,
		Ended:       now,
		HangupCause: cause,
		Legs: []store.CallLeg{{Role: "agent", URI: "sip:" + string(agent), CallID: agentLeg.CallID(), Started: answered,
			Ended: now, RTP: store.RTPStats{PacketsReceived: arx, PacketsSent: atx}}},
	}
	if oc != nil {
		crx, ctx := oc.leg.Counters()
		cr.Answered = answered
		cr.Codec = oc.leg.Codec()
		cr.RTP = store.RTPStats{PacketsReceived: crx, PacketsSent: ctx}
		cr.Legs = append(cr.Legs, store.CallLeg{Role: "citizen", URI: "sip:" + oc.to + "@" + oc.trunk, CallID: oc.leg.CallID(),
			Started: answered, Ended: now, RTP: cr.RTP})
	}
	if s.onRecord != nil {
		s.onRecord(callRecord{CallID: cr.CallID, Contact: router.ContactID(rec.Contact), From: cr.From, To: cr.To,
			Agent: agent, Cause: cause, Answered: cr.Answered, Ended: now, AgentRx: arx, AgentTx: atx,
			RxPackets: cr.RTP.PacketsReceived, TxPackets: cr.RTP.PacketsSent})
	}
	if st == nil {
		return
	}
	s.persistRecord(s.log.With("contact_id", rec.Contact), cr) // before the attempt's end goes to routing
}
