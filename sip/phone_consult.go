package sip

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"

	"onecall/router"
	"onecall/store"
)

// Attended transfer from the agent's own phone (RFC 5589 section 7): the
// phone holds the citizen (re-INVITE sendonly: the citizen hears hold
// music) and calls onecall a second time; the Request-URI user names the
// target as a REFER's Refer-To would (Options.Transfers: an agent, a queue
// or an outside number the line's transfer_numbers allow). That INVITE is a
// consult from the phone's agent, run by the console's consult machinery
// (consult.go: routing reserves the agent or picks one in the queue, the
// outside number goes through the trunk, the consoles see each step). The
// phone's INVITE rings (180) until the target answers; then it is answered
// and bridged to the target. A target that is busy, does not answer or
// rejects ends the consult as failed and the phone's INVITE gets 486, 480
// or 603; the citizen stays held until the phone resumes it.
//
// The phone completes with REFER in the citizen dialog whose Refer-To
// carries Replaces naming the consult dialog (or REFER in the consult
// dialog naming the citizen dialog): onecall owns both dialogs, so it does
// not send an INVITE with Replaces anywhere; it completes the consult as
// the console does (the citizen is bridged to the target, routing moves the
// contact), answers 202, NOTIFYs sipfrag 200 and sends BYE on both of the
// phone's dialogs. A Replaces that names no consult dialog of this call is
// answered 202 with a NOTIFY "481 Call/Transaction Does Not Exist" and
// changes nothing. The phone hanging up the consult dialog cancels the
// consult (the citizen stays held until the phone resumes it); hanging up
// the citizen dialog while the target talks completes the transfer, as for
// the console's consult (consult.go), and the consult dialog gets its BYE.
// The console's complete and cancel work on a phone's consult too; its
// conference does not (ErrNoConference).
//
// An INVITE is taken as an agent phone's only when its From user has a
// live registration whose REGISTER came from the INVITE's source address
// and port, and it answers a digest challenge (407 Proxy-Authenticate:
// the registrar's realm, nonces, stored hashes and failure throttle) with
// that user's credentials; a wrong password or another user gets 403 and
// starts nothing. Such an INVITE while the agent is on no call is refused 403
// (unless it dials a hotline from a trunk address, as any citizen may).

// phoneConsult is a phone's consult INVITE waiting for the call goroutine.
type phoneConsult struct {
	d      *diago.DialogServerSession
	agent  router.AgentID
	decide chan int // 200: answer; else the final response code
	once   sync.Once
}

// answer tells the INVITE's goroutine what to answer (first call wins).
func (p *phoneConsult) answer(code int) {
	p.once.Do(func() { p.decide <- code })
}

// bindingSources is the part of the Registrar that tells whether a user's
// registration came from an address, and checks the phone's digest.
type bindingSources interface {
	BoundFrom(user string, source netip.AddrPort, proxied bool) bool
	AuthorizePhone(req *sip.Request, user string) (code int, reason string, hdrs []sip.Header)
}

// BoundFrom reports whether user has a live binding whose REGISTER came
// from source (address and port). With proxied, source is where a proxy
// in front received the INVITE from (phoneSource), and only bindings made
// through a proxy count: their Path's received parameter is where the
// proxy received the REGISTER from. Without, bindings made through a
// proxy never count: every request the proxy relays comes from its
// address, the phone's or not.
func (r *Registrar) BoundFrom(user string, source netip.AddrPort, proxied bool) bool {
	now := r.opts.Clock()
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, b := range r.bindings[user] {
		if !now.Before(b.Expires) {
			continue
		}
		if boundFrom(b.Binding, source, proxied, r.opts.Proxies) {
			return true
		}
	}
	return false
}

// boundFrom is BoundFrom for one live binding.
func boundFrom(b Binding, source netip.AddrPort, proxied bool, proxies []netip.Prefix) bool {
	if len(b.Path) > 0 || inNets(proxies, sourceAddr(b.Source)) {
		if !proxied {
			return false
		}
		ap, ok := pathReceivedAddrPort(b.Path)
		return ok && ap.Addr() == source.Addr().Unmap() && ap.Port() == source.Port()
	}
	if proxied {
		return false
	}
	ap, err := netip.ParseAddrPort(b.Source)
	return err == nil && ap.Addr().Unmap() == source.Addr().Unmap() && ap.Port() == source.Port()
}

// phoneSource is where an INVITE came from: its source address, or for
// one a proxy in front relayed (proxied), where that proxy received it
// from: the Via below the proxy's own, with the received and rport
// parameters the proxy set on it (RFC 3261 18.2.1, RFC 3581).
func (s *Service) phoneSource(req *sip.Request) (src netip.AddrPort, proxied, ok bool) {
	src, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return netip.AddrPort{}, false, false
	}
	if !inNets(s.opts.Proxies, src.Addr().Unmap()) {
		return src, false, true
	}
	vias := req.GetHeaders("Via")
	if len(vias) < 2 {
		return netip.AddrPort{}, false, false
	}
	v, isVia := vias[1].(*sip.ViaHeader)
	if !isVia {
		return netip.AddrPort{}, false, false
	}
	host := v.Host
	if r, has := v.Params.Get("received"); has && r != "" {
		host = r
	}
	port := v.Port
	if rp, has := v.Params.Get("rport"); has && rp != "" {
		if n, err := strconv.Atoi(rp); err == nil {
			port = n
		}
	}
	if port == 0 {
		port = 5060
	}
	addr, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err != nil || port < 1 || port > 65535 {
		return netip.AddrPort{}, false, false
	}
	return netip.AddrPortFrom(addr.Unmap(), uint16(port)), true, true
}

// agentPhone reports whether the INVITE comes from a registered agent
// phone's binding, and which agent.
func (s *Service) agentPhone(req *sip.Request) (router.AgentID, bool) {
	bs, ok := s.opts.Locator.(bindingSources)
	if !ok {
		return "", false
	}
	from := req.From()
	if from == nil || from.Address.User == "" {
		return "", false
	}
	src, proxied, ok := s.phoneSource(req)
	if !ok {
		return "", false
	}
	if !bs.BoundFrom(from.Address.User, src, proxied) {
		return "", false
	}
	return router.AgentID(from.Address.User), true
}

// agentCall returns the contact whose live agent leg belongs to agent.
func (s *Service) agentCall(agent router.AgentID) (router.ContactID, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.agentLegs {
		if r.agent == agent {
			return r.contact, true
		}
	}
	return 0, false
}

// phoneCall serves an INVITE from an agent phone; false means it is not
// one (the citizen path goes on).
func (s *Service) phoneCall(d *diago.DialogServerSession) bool {
	req := d.InviteRequest
	agent, ok := s.agentPhone(req)
	if !ok {
		return false
	}
	if _, onCall := s.agentCall(agent); !onCall {
		if _, _, _, hotline := s.opts.Numbers.Resolve(req.Recipient.User, callerNumber(req)); hotline && s.trunkAllowed(req.Source()) {
			return false
		}
	}
	// The source address is no proof over UDP: the phone answers the
	// registrar's digest challenge for its own user (407, then 403 for a
	// wrong password or another user).
	if code, reason, hdrs := s.opts.Locator.(bindingSources).AuthorizePhone(req, string(agent)); code != 0 {
		if code == sip.StatusForbidden {
			s.log.Info("agent phone INVITE refused: digest", "agent", agent, "source", req.Source())
		}
		s.respond(d, code, reason, hdrs...)
		return true
	}
	contact, onCall := s.agentCall(agent)
	if !onCall {
		s.log.Info("agent phone INVITE refused: not on a call", "agent", agent, "to", req.Recipient.User)
		s.respond(d, sip.StatusForbidden, "Forbidden (not on a call)")
		return true
	}
	s.servePhoneConsult(d, contact, agent)
	return true
}

// servePhoneConsult runs on the INVITE's goroutine for the dialog's life.
func (s *Service) servePhoneConsult(d *diago.DialogServerSession, contact router.ContactID, agent router.AgentID) {
	req := d.InviteRequest
	log := s.log.With("contact_id", uint64(contact), "agent", agent)
	if s.opts.Transfers == nil {
		s.respond(d, sip.StatusForbidden, "Forbidden (no transfers)")
		return
	}
	target, ok := s.opts.Transfers.ResolveTransfer(req.Recipient.User)
	if !ok {
		log.Info("phone consult refused: unknown target", "to", req.Recipient.User)
		s.respond(d, sip.StatusNotFound, "Not Found")
		return
	}
	body := req.Body()
	if len(body) == 0 {
		s.respond(d, sip.StatusNotAcceptableHere, "Not Acceptable Here (no offer)")
		return
	}
	if err := checkOffer(body); err != nil {
		s.refusedSDP.Add(1)
		s.respond(d, sip.StatusNotAcceptableHere, "Not Acceptable Here")
		return
	}
	_ = d.Trying()
	p := &phoneConsult{d: d, agent: agent, decide: make(chan int, 1)}
	ctx, cancel := context.WithTimeout(d.Context(), 8*time.Second)
	err := s.control(ctx, contact, ctlMsg{op: opConsult, to: target, by: agent, phone: p})
	cancel()
	if err != nil {
		code, reason := phoneConsultRefusal(err)
		log.Info("phone consult refused", "target", target.String(), "code", code, "err", err)
		s.respond(d, code, reason)
		return
	}
	log.Info("phone consult: ringing", "target", target.String())
	_ = d.Ringing()
	c := s.lookupCall(contact)
	if c == nil {
		s.respond(d, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	citizen := c.d.Context()
	var code int
	select {
	case code = <-p.decide:
	case <-d.Context().Done():
		// The phone cancelled its INVITE: the consult is cancelled.
		c.post(ctlMsg{op: opPhoneConsultGone, phone: p})
		return
	case <-citizen.Done():
		s.respond(d, sip.StatusRequestTerminated, "Request Terminated")
		return
	}
	if code != sip.StatusOK {
		s.respond(d, code, phoneReason(code))
		return
	}
	// The phone may REFER as soon as it has sent its ACK, before Answer
	// returns here: such a REFER waits for the leg (phoneLegWait).
	up := s.phoneLegPending(req.CallID().Value())
	defer up()
	med, err := d.Answer(diago.AnswerOptions{})
	var leg *diagoLeg
	if err == nil {
		leg, err = newDiagoLeg(d.Context(), s.clock, req.CallID().Value(), med, d.Hangup)
	}
	if err != nil {
		log.Warn("phone consult: answer failed", "err", err)
		c.post(ctlMsg{op: opPhoneConsultGone, phone: p})
		hctx, hcancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = d.Hangup(hctx)
		hcancel()
		return
	}
	// In-dialog requests (the REFER that completes) are known from now
	// on, and reach the call after this leg in its mailbox.
	s.addLeg(leg, serverDialogPeer(d))
	s.mu.Lock()
	s.agentLegs[leg.CallID()] = &agentRef{contact: contact, agent: agent}
	s.mu.Unlock()
	c.post(ctlMsg{op: opPhoneConsultLeg, phone: p, leg: leg})
	up()
	select {
	case <-d.Context().Done():
	case <-citizen.Done():
		// The call ended: its finish hangs the leg up, unless the leg
		// reached it too late.
		select {
		case <-d.Context().Done():
		case <-time.After(10 * time.Second):
			hctx, hcancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = d.Hangup(hctx)
			hcancel()
		}
	}
}

// phoneLegPending marks a phone's consult dialog as being answered; the
// returned func (idempotent) ends the wait of its REFERs.
func (s *Service) phoneLegPending(callID string) func() {
	ch := make(chan struct{})
	s.mu.Lock()
	s.phoneAnswering[callID] = ch
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			if s.phoneAnswering[callID] == ch {
				delete(s.phoneAnswering, callID)
			}
			s.mu.Unlock()
			close(ch)
		})
	}
}

// phoneLegWait lets a request in a phone's consult dialog wait (at most
// 2 s) until the dialog's leg is up and known.
func (s *Service) phoneLegWait(callID string) {
	s.mu.Lock()
	ch := s.phoneAnswering[callID]
	s.mu.Unlock()
	if ch == nil {
		return
	}
	select {
	case <-ch:
	case <-time.After(2 * time.Second):
	}
}

// phoneConsultRefusal maps a consult error to the phone INVITE's final
// response.
func phoneConsultRefusal(err error) (int, string) {
	switch {
	case errors.Is(err, router.ErrNoAgentFree), errors.Is(err, ErrConsultActive):
		return sip.StatusBusyHere, "Busy Here"
	case errors.Is(err, router.ErrUnknownQueue), errors.Is(err, router.ErrUnknownAgent):
		return sip.StatusNotFound, "Not Found"
	case errors.Is(err, ErrNoOutside), errors.Is(err, ErrNumberNotAllowed), errors.Is(err, ErrThreeWay):
		return sip.StatusForbidden, "Forbidden"
	case errors.Is(err, ErrNotTalking), errors.Is(err, ErrNoCall):
		return sip.StatusForbidden, "Forbidden (not on a call)"
	case errors.Is(err, ErrBadTarget):
		return sip.StatusNotFound, "Not Found"
	}
	return sip.StatusServiceUnavailable, "Service Unavailable"
}

func phoneReason(code int) string {
	switch code {
	case sip.StatusBusyHere:
		return "Busy Here"
	case statusDecline:
		return "Decline"
	case sip.StatusRequestTerminated:
		return "Request Terminated"
	}
	return "Temporarily Unavailable"
}

// phoneFailCode is the phone INVITE's answer to a failed consult reason.
func phoneFailCode(reason string) int {
	switch reason {
	case "busy":
		return sip.StatusBusyHere
	case "rejected", "declined":
		return statusDecline
	}
	return sip.StatusTemporarilyUnavailable
}

// phoneLegUp takes the phone's answered consult leg (call goroutine).
func (c *call) phoneLegUp(m ctlMsg) {
	k := c.consult
	if k == nil || k.phone != m.phone || k.leg == nil {
		c.s.dropLeg(m.leg)
		c.untrackAgentLeg(m.leg.CallID())
		go hangLeg(m.leg)
		return
	}
	k.pleg = m.leg // tracked by servePhoneConsult
	c.rec.Legs++
	c.legs = append(c.legs, store.CallLeg{Role: "agent-consult", URI: "sip:" + string(k.by), CallID: m.leg.CallID(),
		Started: time.Now()})
	m.leg.Connect(k.leg)
	k.leg.Connect(m.leg)
	c.log.Info("phone consult: bridged to the target", "target", k.to.String())
}

func hangLeg(l Leg) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = l.Hangup(ctx)
	cancel()
}

// dropPhoneLeg ends the phone's side of a consult: a ringing INVITE gets
// code, an answered consult leg its BYE.
func (c *call) dropPhoneLeg(k *consultRun, code int) {
	if k.phone == nil {
		return
	}
	k.phone.answer(code)
	if k.pleg == nil {
		return
	}
	l := k.pleg
	k.pleg = nil
	l.Connect(nil)
	c.closeLeg(l)
	c.s.dropLeg(l)
	c.untrackAgentLeg(l.CallID())
	hangLeg(l)
}

// phoneHold puts the citizen back as the phone left it after its consult
// ended: held (music) while the phone's citizen dialog is on hold, else
// bridged to the agent again.
func (c *call) phoneHold() {
	if c.agentLeg != nil && c.agentLeg.OnHold() {
		c.phoneHeld = true
		if c.media == nil {
			c.startMedia()
		}
		return
	}
	c.bridge()
}

// phoneConsultGone: the phone cancelled its consult INVITE, or hung up the
// consult dialog (call goroutine).
func (c *call) phoneConsultGone(p *phoneConsult, reason string) {
	k := c.consult
	if k == nil || k.phone != p || k.semi != nil || k.semiAgentGone {
		return // a semi-attended transfer no longer needs the phone's INVITE
	}
	c.log.Info("phone consult cancelled by the phone", "reason", reason)
	c.dropConsult()
	_ = c.consultUpdate(router.ConsultCancelled, reason)
	c.phoneHold()
}

// replacesID is a Replaces value (RFC 3891): a dialog by Call-ID and tags.
type replacesID struct {
	callID, toTag, fromTag string
}

// parseReplaces reads the Replaces header of a Refer-To URI (escaped as
// URI headers are: %3B for ';', %3D for '=').
func parseReplaces(v string) (replacesID, error) {
	v = unescapeURIHeader(v)
	parts := strings.Split(v, ";")
	r := replacesID{callID: strings.TrimSpace(parts[0])}
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(k) {
		case "to-tag":
			r.toTag = val
		case "from-tag":
			r.fromTag = val
		}
	}
	if r.callID == "" || r.toTag == "" || r.fromTag == "" {
		return r, fmt.Errorf("sip: Replaces %q needs a Call-ID, to-tag and from-tag", v)
	}
	return r, nil
}

func unescapeURIHeader(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '%' && i+2 < len(v) {
			if h, ok := unhex(v[i+1]); ok {
				if l, ok := unhex(v[i+2]); ok {
					b.WriteByte(h<<4 | l)
					i += 2
					continue
				}
			}
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// names reports whether r names the dialog of Call-ID callID with tags a
// and b (in either role: phones differ in whose view they write).
func (r replacesID) names(callID string, p dialogPeer) bool {
	if r.callID != callID || p.localTag == "" || p.remoteTag == "" {
		return false
	}
	return (r.toTag == p.localTag && r.fromTag == p.remoteTag) || (r.toTag == p.remoteTag && r.fromTag == p.localTag)
}

// referReplaces completes the phone's consult on its REFER with Replaces
// (call goroutine). The REFER came in the dialog m.referCallID.
func (c *call) referReplaces(m ctlMsg) error {
	r := m.refer
	k := c.consult
	var notify func(code int, reason string)
	var other string // the dialog the Replaces must name
	var otherPeer dialogPeer
	switch {
	case k != nil && k.pleg != nil && c.agentLeg != nil && m.referCallID == c.agentLeg.CallID():
		agentDlg := c.agentDlg
		notify = func(code int, reason string) { notifyOn(c, agentDlg, nil, code, reason) }
		other, otherPeer = k.pleg.CallID(), serverDialogPeer(k.phone.d)
	case k != nil && k.pleg != nil && m.referCallID == k.pleg.CallID() && c.agentDlg != nil:
		pd := k.phone.d
		notify = func(code int, reason string) { notifyOn(c, nil, pd, code, reason) }
		other, otherPeer = c.agentLeg.CallID(), clientDialogPeer(c.agentDlg)
	case k != nil && k.phone != nil && k.pleg == nil && k.leg == nil && k.semi == nil && !k.semiAgentGone &&
		c.agentLeg != nil && c.agentDlg != nil && m.referCallID == c.agentLeg.CallID():
		// Semi-attended: the Replaces names the phone's consult INVITE,
		// which still rings (an early dialog).
		return c.referEarly(m, k)
	default:
		// No answered phone consult: nothing the Replaces could name.
		if !r.answer(sip.StatusAccepted, "Accepted") {
			return ErrNoConsult
		}
		if c.agentDlg != nil && c.agentLeg != nil && m.referCallID == c.agentLeg.CallID() {
			notifyOn(c, c.agentDlg, nil, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		}
		return ErrNoConsult
	}
	if !m.replaces.names(other, otherPeer) {
		c.log.Info("REFER with Replaces: names no dialog of this consult", "replaces", m.replaces.callID)
		if r.answer(sip.StatusAccepted, "Accepted") {
			notify(sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		}
		return ErrNoConsult
	}
	if !r.answer(sip.StatusAccepted, "Accepted") {
		return ErrNotTalking
	}
	err := c.completeConsultThen("", func() { notify(sip.StatusOK, "OK") })
	if err != nil {
		notify(sip.StatusServiceUnavailable, "Service Unavailable")
	}
	return err
}

// notifyOn sends the REFER's final NOTIFY in a client or server dialog.
func notifyOn(c *call, cd *diago.DialogClientSession, sd *diago.DialogServerSession, code int, reason string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var err error
	if cd != nil {
		err = notifyRefer(ctx, cd, code, reason)
	} else if sd != nil {
		err = notifyReferServer(ctx, sd, code, reason)
	}
	if err != nil {
		c.log.Info("REFER NOTIFY failed", "err", err)
	}
}

// notifyReferServer is notifyRefer in a dialog the phone opened.
func notifyReferServer(ctx context.Context, d *diago.DialogServerSession, code int, reason string) error {
	ct := d.InviteRequest.Contact()
	if ct == nil {
		return errors.New("sip: INVITE without Contact")
	}
	req := referNotify(ct.Address, code, reason)
	res, err := d.DialogServerSession.Do(ctx, req)
	if err != nil {
		return err
	}
	if !res.IsSuccess() {
		return fmt.Errorf("NOTIFY answered %d", res.StatusCode)
	}
	return nil
}

// statusDecline is 603 Decline (sipgo names no constant for it).
const statusDecline = 603

// earlyPeer is the early dialog of the phone's consult INVITE: sipgo puts
// our To tag in the (cloned) INVITE before the first response.
func earlyPeer(d *diago.DialogServerSession) dialogPeer {
	return dialogPeer{remoteTag: fromTag(d.InviteRequest), localTag: toTag(d.InviteRequest)}
}

// referEarly takes a REFER in the citizen dialog whose Replaces names the
// phone's consult INVITE while the target still rings: a semi-attended
// transfer (RFC 5589 section 7.3, as PBXes do it). The REFER gets 202 and
// the phone's INVITE 487 (its early dialog is replaced); the target keeps
// ringing and the citizen keeps the hold music. When the target answers,
// the consult completes as for a REFER after the answer (NOTIFY sipfrag
// 200, BYE in the citizen dialog). When it is not reached, the NOTIFY
// carries the failure (486, 480, 603) and the citizen stays held on the
// phone, as after a failed consult. The phone may hang up the citizen
// dialog meanwhile: the target then still rings for the citizen alone, and
// a target not reached sends the citizen back to its queue.
func (c *call) referEarly(m ctlMsg, k *consultRun) error {
	if !m.replaces.names(k.phone.d.InviteRequest.CallID().Value(), earlyPeer(k.phone.d)) {
		c.log.Info("REFER with Replaces: names no dialog of this consult", "replaces", m.replaces.callID)
		if m.refer.answer(sip.StatusAccepted, "Accepted") {
			notifyOn(c, c.agentDlg, nil, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		}
		return ErrNoConsult
	}
	if !m.refer.answer(sip.StatusAccepted, "Accepted") {
		return ErrNotTalking
	}
	agentDlg := c.agentDlg
	var once sync.Once
	k.semi = func(code int, reason string) {
		once.Do(func() { notifyOn(c, agentDlg, nil, code, reason) })
	}
	k.phone.answer(sip.StatusRequestTerminated)
	c.log.Info("semi-attended transfer from the phone: completing when the target answers", "target", k.to.String())
	return nil
}

// semiNotify sends a semi-attended transfer's final NOTIFY, if one is due.
func (k *consultRun) semiNotify(code int, reason string) {
	if k.semi != nil {
		k.semi(code, reason)
		k.semi = nil
	}
}

// semiAnswered completes a semi-attended transfer once the target answered
// (call goroutine; the target leg is the consult's).
func (c *call) semiAnswered(k *consultRun) {
	notify := k.semi
	k.semi = nil
	err := c.completeConsultThen("semi-attended transfer from the phone", func() {
		if notify != nil {
			notify(sip.StatusOK, "OK")
		}
	})
	if err != nil {
		c.log.Warn("semi-attended transfer not completed", "err", err)
		if notify != nil {
			notify(sip.StatusServiceUnavailable, "Service Unavailable")
		}
	}
}

// semiFailed ends a semi-attended transfer whose target was not reached
// (or that the console cancelled): the phone learns it by NOTIFY and keeps
// the held citizen; a phone gone since leaves the citizen to its queue.
func (c *call) semiFailed(k *consultRun, reason string) {
	if !k.semiAgentGone {
		k.semiNotify(phoneFailCode(reason), phoneReason(phoneFailCode(reason)))
		c.phoneHold()
		return
	}
	c.log.Info("semi-attended transfer not reached: the citizen goes back to its queue", "reason", reason)
	dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_, err := c.s.hub.Do(dctx, router.ContactTransferred{Contact: c.id, ToQueue: c.queue, By: k.by,
		Note: "semi-attended transfer not reached: " + reason})
	cancel()
	if err != nil {
		c.log.Warn("contact not requeued after a semi-attended transfer failed", "err", err)
		return
	}
	c.phase = phaseWaiting
	c.held, c.phoneHeld = false, false
	c.startMedia(c.holdPrompt())
}
