package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"onecall/router"
)

// fakeDoer answers ContactEnded with the errors in answers, in turn, and
// records when each came.
type fakeDoer struct {
	mu      sync.Mutex
	answers []error
	at      []time.Duration
	start   time.Time
}

// attempts returns when each end was tried.
func (f *fakeDoer) attempts() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.at...)
}

func (f *fakeDoer) Do(_ context.Context, ev router.Event) ([]router.Command, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e, ok := ev.(router.ContactEnded); !ok || e.Contact != 7 || e.Reason != router.EndAbandoned {
		return nil, fmt.Errorf("unexpected event %#v", ev)
	}
	f.at = append(f.at, time.Since(f.start))
	if len(f.answers) == 0 {
		return nil, router.ErrUnknownContact
	}
	err := f.answers[0]
	f.answers = f.answers[1:]
	return nil, err
}

// An arrival refused with ErrMaybeApplied is withdrawn from routing: the
// end is tried at once and again later (a queued arrival may be applied
// after the refusal), until routing takes it; a plain refusal is not.
func TestWithdrawArrival(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	synctest.Test(t, func(t *testing.T) {
		// The arrival was applied after the first attempt: the second ends it.
		f := &fakeDoer{start: time.Now(), answers: []error{router.ErrUnknownContact, nil}}
		WithdrawArrival(f, 7, fmt.Errorf("%w: %w", ErrMaybeApplied, context.DeadlineExceeded), log)
		time.Sleep(time.Minute)
		if got, want := f.attempts(), []time.Duration{0, 2 * time.Second}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("attempts at %v, want %v (stop at the end routing took)", got, want)
		}
		// Never applied: every attempt, then it gives up.
		f = &fakeDoer{start: time.Now()}
		WithdrawArrival(f, 7, fmt.Errorf("%w: %w", ErrBusy, ErrMaybeApplied), log)
		time.Sleep(time.Minute)
		if got := f.attempts(); len(got) != len(withdrawAfter) || got[len(got)-1] != withdrawAfter[len(withdrawAfter)-1] {
			t.Errorf("attempts at %v, want at %v", got, withdrawAfter)
		}
		// A refusal that is sure: nothing to withdraw.
		f = &fakeDoer{start: time.Now()}
		WithdrawArrival(f, 7, ErrBusy, log)
		WithdrawArrival(f, 7, router.ErrQueueFull, log)
		time.Sleep(time.Minute)
		if got := f.attempts(); len(got) != 0 {
			t.Errorf("a sure refusal withdrawn: %v", got)
		}
	})
}

// The hub's Do says an event whose answer it stopped waiting for may have
// been applied.
func TestHubDoTimeoutMaybeApplied(t *testing.T) {
	eng, err := router.New(router.Config{})
	if err != nil {
		t.Fatal(err)
	}
	h := NewHub(eng) // not running: nothing answers
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	_, err = h.Do(ctx, router.Tick{})
	if !errors.Is(err, ErrMaybeApplied) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Do without an answer: %v, want ErrMaybeApplied and the deadline", err)
	}
}
