package sip

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"

	"onecall/router"
)

// An agent phone's blind transfer: REFER (RFC 3515) in the dialog of an
// agent leg. The Refer-To user part names the target (Options.Transfers:
// a queue, an agent or an outside number); the transfer then runs exactly
// like the console's (router.ContactTransferred, By the agent). We answer
// 202, report the result with one NOTIFY (sipfrag "SIP/2.0 200 OK",
// subscription terminated) and then end the agent leg with BYE. Attended
// transfer (Refer-To with Replaces) completes the phone's own consult
// (phone_consult.go).

// agentRef names the call and agent of a live agent leg (by Call-ID); the
// dialog itself (tags, source) is checked by dialogLeg (guard.go).
type agentRef struct {
	contact router.ContactID
	agent   router.AgentID
}

// trackAgentLeg registers the call's current agent leg for REFERs.
func (c *call) trackAgentLeg() {
	if c.agentLeg == nil {
		return
	}
	c.s.mu.Lock()
	c.s.agentLegs[c.agentLeg.CallID()] = &agentRef{contact: c.id, agent: c.agent}
	c.s.mu.Unlock()
}

func (c *call) untrackAgentLeg(callID string) {
	c.s.mu.Lock()
	if r := c.s.agentLegs[callID]; r != nil && r.contact == c.id {
		delete(c.s.agentLegs, callID)
	}
	c.s.mu.Unlock()
}

// referReq is a REFER waiting for the call goroutine's answer.
type referReq struct {
	req  *sip.Request
	tx   sip.ServerTransaction
	once sync.Once
}

func (r *referReq) answer(code int, reason string) bool {
	done := false
	r.once.Do(func() {
		done = true
		_ = r.tx.Respond(sip.NewResponseFromRequest(r.req, code, reason, nil))
	})
	return done
}

// respond answers the REFER on the call goroutine: the refusal, or 202 and
// the final NOTIFY before the agent leg is hung up.
func (r *referReq) respond(c *call, err error) {
	if err != nil {
		code, reason := referRefusal(err)
		r.answer(code, reason)
		return
	}
	if !r.answer(sip.StatusAccepted, "Accepted") {
		return
	}
	if c.agentDlg != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if err := notifyRefer(ctx, c.agentDlg, sip.StatusOK, "OK"); err != nil {
			c.log.Info("REFER NOTIFY failed", "err", err)
		}
		cancel()
	}
}

// referRefusal maps a transfer error to a REFER final response.
func referRefusal(err error) (int, string) {
	switch {
	case errors.Is(err, router.ErrUnknownQueue), errors.Is(err, router.ErrUnknownAgent):
		return sip.StatusNotFound, "Not Found"
	case errors.Is(err, ErrNoOutside):
		return sip.StatusForbidden, "Forbidden (outside transfer not available)"
	case errors.Is(err, ErrNotTalking), errors.Is(err, ErrNoCall):
		return sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist"
	case errors.Is(err, ErrBadTarget):
		return sip.StatusBadRequest, "Bad Request"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return sip.StatusServiceUnavailable, "Service Unavailable"
	}
	return sip.StatusForbidden, "Forbidden"
}

// notifyRefer sends the REFER's final NOTIFY in the agent dialog.
func notifyRefer(ctx context.Context, d *diago.DialogClientSession, code int, reason string) error {
	target := d.InviteRequest.Recipient
	if ct := d.InviteResponse.Contact(); ct != nil {
		target = ct.Address
	}
	res, err := d.DialogClientSession.Do(ctx, referNotify(target, code, reason))
	if err != nil {
		return err
	}
	if !res.IsSuccess() {
		return errors.New("NOTIFY answered " + strconv.Itoa(res.StatusCode))
	}
	return nil
}

// referNotify is the REFER's final NOTIFY: sipfrag, subscription ended.
func referNotify(target sip.Uri, code int, reason string) *sip.Request {
	req := sip.NewRequest(sip.NOTIFY, target)
	req.AppendHeader(sip.NewHeader("Event", "refer"))
	req.AppendHeader(sip.NewHeader("Subscription-State", "terminated;reason=noresource"))
	req.AppendHeader(sip.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
	req.SetBody([]byte("SIP/2.0 " + strconv.Itoa(code) + " " + reason))
	return req
}

// onRefer takes REFERs (diago's own handler would dial the Refer-To URI).
func (s *Service) onRefer(req *sip.Request, tx sip.ServerTransaction) {
	if res := ValidateRequest(req); res != nil {
		_ = tx.Respond(res)
		return
	}
	respond := func(code int, reason string) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, code, reason, nil))
	}
	cid := ""
	if h := req.CallID(); h != nil {
		cid = h.Value()
	}
	s.phoneLegWait(cid) // a phone's consult dialog being answered (phone_consult.go)
	s.mu.Lock()
	ref := s.agentLegs[cid]
	s.mu.Unlock()
	if ref == nil {
		// Not in an agent leg: citizens (trunks) do not transfer.
		respond(sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	if l, _ := s.dialogLeg(req); l == nil {
		respondNoDialog(req, tx) // tags or source do not match the agent's dialog
		return
	}
	hs := req.GetHeaders("Refer-To")
	if len(hs) != 1 {
		respond(sip.StatusBadRequest, "Bad Request (one Refer-To)")
		return
	}
	var uri sip.Uri
	params := sip.NewParams()
	if _, err := sip.ParseAddressValue(hs[0].Value(), &uri, &params); err != nil || uri.User == "" {
		respond(sip.StatusBadRequest, "Bad Request (Refer-To)")
		return
	}
	if uri.Headers != nil {
		if v, ok := uri.Headers.Get("Replaces"); ok {
			s.referReplaces(req, tx, ref, cid, v)
			return
		}
	}
	if s.opts.Transfers == nil {
		respond(sip.StatusForbidden, "Forbidden")
		return
	}
	target, ok := s.opts.Transfers.ResolveTransfer(uri.User)
	if !ok {
		respond(sip.StatusNotFound, "Not Found")
		return
	}
	r := &referReq{req: req, tx: tx}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	err := s.control(ctx, ref.contact, ctlMsg{op: opTransfer, to: target, by: ref.agent, refer: r})
	if err != nil {
		code, reason := referRefusal(err)
		r.answer(code, reason) // no-op when the call answered already
	}
	s.log.Info("REFER", "contact_id", uint64(ref.contact), "agent", ref.agent, "target", target.String(), "err", err)
}

// referReplaces takes a REFER whose Refer-To carries Replaces: the phone
// completes its consult (phone_consult.go).
func (s *Service) referReplaces(req *sip.Request, tx sip.ServerTransaction, ref *agentRef, cid, v string) {
	rp, err := parseReplaces(v)
	if err != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Request (Replaces)", nil))
		return
	}
	s.phoneLegWait(rp.callID) // the consult dialog it names may be being answered
	r := &referReq{req: req, tx: tx}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	err = s.control(ctx, ref.contact, ctlMsg{op: opConsultEnd, step: router.ConsultCompleted, by: ref.agent,
		refer: r, replaces: rp, referCallID: cid})
	if err != nil {
		code, reason := referRefusal(err)
		r.answer(code, reason) // no-op when the call answered already
	}
	s.log.Info("REFER with Replaces", "contact_id", uint64(ref.contact), "agent", ref.agent, "err", err)
}
