package sip

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Shared by every INVITE onecall sends to a phone or a trunk (offers,
// consults, supervisors, callbacks, calls out): how ringing is noticed,
// how a ring is given up, and how a failed INVITE is cleaned up.

// markRinging is an OnResponse hook: a provisional response above 100
// means the far end rings (giving up then needs a CANCEL).
func markRinging(ringing *atomic.Bool) func(*sip.Response) error {
	return func(res *sip.Response) error {
		if res.IsProvisional() && res.StatusCode > 100 {
			ringing.Store(true)
		}
		return nil
	}
}

// giveUp returns the function that abandons an INVITE: a CANCEL (then
// 487) once the far end rings, before that sipgo's forced cancel (no
// response yet: nothing to cancel).
func giveUp(ringing *atomic.Bool, cancel context.CancelCauseFunc) func() {
	return func() {
		if ringing.Load() {
			cancel(context.Canceled)
		} else {
			cancel(sipgo.WaitAnswerForceCancelErr)
		}
	}
}

// settleInvite ACKs the 2xx of an INVITE that succeeded (err nil); when
// the INVITE or the ACK failed it cleans up: a 2xx that crossed the give-up
// is hung up, an INVITE abandoned before any response is remembered so a
// late 2xx gets a BYE (strays.go), and the dialog is closed. It returns
// the INVITE's or the ACK's error; dlg.InviteResponse keeps the final
// response for the caller's status.
func (s *Service) settleInvite(octx context.Context, dlg *diago.DialogClientSession, err error) error {
	if err == nil {
		actx, acancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = dlg.Ack(actx)
		acancel()
	}
	if err == nil {
		return nil
	}
	if res := dlg.InviteResponse; res != nil && res.IsSuccess() {
		hangUpCrossed(dlg.DialogClientSession)
	} else if errors.Is(context.Cause(octx), sipgo.WaitAnswerForceCancelErr) {
		// Abandoned without CANCEL: a 2xx may still come.
		s.strays.remember(dlg.DialogClientSession, time.Now())
	}
	_ = dlg.Close()
	return err
}

// ringTimeout is how long to ring a phone for an offer that must be
// answered by deadline: OfferTimeout when the deadline is unset, past, or
// unreasonably far.
func (s *Service) ringTimeout(deadline time.Time) time.Duration {
	timeout := deadline.Sub(s.hub.Now())
	if deadline.IsZero() || timeout <= 0 || timeout > 4*s.opts.OfferTimeout {
		timeout = s.opts.OfferTimeout
	}
	return timeout
}

// hangUpDialled ends a dialog we dialled (an offer, consult, supervisor,
// callback or call out) and closes it. diago frees the dialog's media (its
// RTP port pair) only when the dialog reaches Ended, which a BYE nobody
// answers never does: a phone killed or vanished while on hold left its
// pair busy for good (issue 17's stuck-state hunt). Closing after the BYE,
// answered or not, frees it; closing twice does nothing.
func hangUpDialled(ctx context.Context, dlg *diago.DialogClientSession) error {
	return errors.Join(dlg.Hangup(ctx), dlg.Close())
}

// dialledHangup is hangUpDialled as a leg's hangup function.
func dialledHangup(dlg *diago.DialogClientSession) func(context.Context) error {
	return func(ctx context.Context) error { return hangUpDialled(ctx, dlg) }
}
