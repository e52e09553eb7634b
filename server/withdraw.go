package server

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"onecall/router"
)

// ErrMaybeApplied wraps an error after which the event may still have been
// applied: its answer was lost (a timeout, a connection closed in a
// failover) but the engine, or the cluster's leader, may have taken it.
// A transport that treats such an arrival as refused withdraws it
// (WithdrawArrival), or routing keeps a contact nobody holds: cluster
// acceptance run 54 left two chats refused "busy" waiting in routing.
var ErrMaybeApplied = errors.New("server: the event may have been applied")

// Doer is what WithdrawArrival needs of a hub: server.Hub, server.Replica,
// the cluster front and the transports' hub interfaces have it.
type Doer interface {
	Do(ctx context.Context, ev router.Event) ([]router.Command, error)
}

// withdrawAfter are the delays, from the refusal, of WithdrawArrival's
// attempts: an arrival still queued on its way (a leader's append is
// retried for up to about 8 s) may be applied after the first ones.
var withdrawAfter = [...]time.Duration{0, 2 * time.Second, 5 * time.Second, 12 * time.Second}

// WithdrawArrival ends contact id in routing (reason EndAbandoned: the
// citizen was told the line is busy) if its arrival, refused with
// ErrMaybeApplied, was applied after all. It runs in the background and
// returns at once; it stops at the first end routing takes, or after its
// last attempt (about 12 s). Other errors mean the arrival was not
// applied: nothing to do.
func WithdrawArrival(hub Doer, id router.ContactID, arrivalErr error, log *slog.Logger) {
	if !errors.Is(arrivalErr, ErrMaybeApplied) {
		return
	}
	go func() {
		start := time.Now()
		for _, d := range withdrawAfter {
			if w := time.Until(start.Add(d)); w > 0 {
				time.Sleep(w)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_, err := hub.Do(ctx, router.ContactEnded{Contact: id, Reason: router.EndAbandoned})
			cancel()
			if err == nil {
				log.Info("refused arrival withdrawn: routing had taken it", "contact_id", uint64(id),
					"after", time.Since(start).Round(time.Millisecond))
				return
			}
		}
	}()
}
