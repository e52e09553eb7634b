package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"onecall/router"
)

// Electing reports whether err refused an event because no node leads
// routing at this moment (the leader died or lost its lease and another is
// being elected, about 2 s): the same event sent again in a moment may be
// taken. The event may have been applied nonetheless (ErrMaybeApplied):
// an arrival sent again then meets router.ErrDuplicate. A hub whose inbox
// is full (ErrBusy alone: overload) is not electing.
func Electing(err error) bool {
	return errors.Is(err, ErrBusy) &&
		(errors.Is(err, ErrNotLeader) || errors.Is(err, nats.ErrNoResponders) || errors.Is(err, ErrMaybeApplied))
}

// ElectingWait bounds how long Arrive waits for the cluster to elect a
// routing leader (a failover takes about 2 s); arriveAgain is the pause
// between its tries, arriveTry bounds each.
const (
	ElectingWait = 6 * time.Second
	arriveAgain  = 250 * time.Millisecond
	arriveTry    = 5 * time.Second
)

// Arrive enters a contact into routing through hub. While the cluster
// elects a routing leader (Electing) it sends the arrival again, for up
// to ElectingWait, rather than have the transport refuse the contact busy
// (cluster acceptance runs refused 30-50 calls per kill so); waiting,
// when set, runs once when it starts to wait (a call not yet answered
// rings meanwhile). An arrival whose answer was lost but which routing
// took is found by the next try (router.ErrDuplicate) and counts as
// taken. A final refusal after which routing may have taken the arrival
// is withdrawn (WithdrawArrival). log is the contact's logger (it carries
// contact_id). It returns the commands of the try that
// was taken (none when a lost answer's was) and the number of tries.
func Arrive(ctx context.Context, hub Doer, ev router.ContactArrived, waiting func(), log *slog.Logger) ([]router.Command, int, error) {
	start := time.Now()
	var maybe error // a refusal after which routing may have taken it
	for try := 1; ; try++ {
		tctx, cancel := context.WithTimeout(ctx, arriveTry)
		cmds, err := hub.Do(tctx, ev)
		cancel()
		switch {
		case err == nil:
			if try > 1 {
				log.Info("arrival taken once routing had a leader again", "tries", try, "waited", time.Since(start).Round(time.Millisecond))
			}
			return cmds, try, nil
		case maybe != nil && errors.Is(err, router.ErrDuplicate):
			log.Info("arrival taken by routing although its answer was lost", "tries", try)
			return nil, try, nil
		}
		if errors.Is(err, ErrMaybeApplied) {
			maybe = err
		}
		if !Electing(err) || time.Since(start) >= ElectingWait || ctx.Err() != nil {
			if maybe != nil && maybe != err {
				err = fmt.Errorf("%w (after %w)", err, maybe)
			}
			// Refused, but routing may have taken it (its answer was lost
			// in a failover): it must not wait there for an agent.
			WithdrawArrival(hub, ev.Contact, err, log)
			return nil, try, err
		}
		if try == 1 {
			log.Info("routing has no leader: the arrival waits for the election", "err", err)
			if waiting != nil {
				waiting()
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(arriveAgain):
		}
	}
}
