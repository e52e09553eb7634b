package server

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nats-io/nats.go"

	"onecall/router"
)

// scriptDoer answers arrivals with its answers in turn (nil: taken) and
// ends with the error routing gives an unknown contact; it records what it
// got and when.
type scriptDoer struct {
	mu       sync.Mutex
	answers  []error
	arrivals []time.Duration
	ends     int
	start    time.Time
}

func (f *scriptDoer) Do(_ context.Context, ev router.Event) ([]router.Command, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch ev.(type) {
	case router.ContactArrived:
		f.arrivals = append(f.arrivals, time.Since(f.start))
		if len(f.answers) == 0 {
			return nil, nil
		}
		err := f.answers[0]
		f.answers = f.answers[1:]
		return nil, err
	case router.ContactEnded:
		f.ends++
		return nil, nil
	}
	return nil, fmt.Errorf("unexpected %T", ev)
}

func (f *scriptDoer) got() ([]time.Duration, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.arrivals...), f.ends
}

// While the cluster elects a routing leader, an arrival is sent again every
// 250 ms (waiting runs once) until a leader takes it; an overloaded hub's
// refusal is final at once; an arrival whose answer was lost is found
// taken by the next try; one still refused after ElectingWait is given up,
// and withdrawn when routing may have taken it.
func TestArriveWaitsForAnElection(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	noLeader := fmt.Errorf("%w: forwarding to the routing leader: %w", ErrBusy, nats.ErrNoResponders)
	deposed := fmt.Errorf("%w: %w", ErrBusy, ErrNotLeader)
	lost := fmt.Errorf("%w: %w: forwarding to the routing leader: %w", ErrBusy, ErrMaybeApplied, context.DeadlineExceeded)
	ev := router.ContactArrived{Contact: 7, Channel: router.Voice, Number: "110"}
	for _, tc := range []struct {
		name      string
		answers   []error
		wantErr   bool
		wantTries []time.Duration
		waiting   int
		ends      int
	}{
		{"election", []error{noLeader, deposed, nil}, false, []time.Duration{0, 250 * time.Millisecond, 500 * time.Millisecond}, 1, 0},
		{"overload", []error{ErrBusy}, true, []time.Duration{0}, 0, 0},
		{"not a routing refusal", []error{router.ErrUnknownHotline}, true, []time.Duration{0}, 0, 0},
		{"answer lost, taken", []error{lost, router.ErrDuplicate}, false, []time.Duration{0, 250 * time.Millisecond}, 1, 0},
		{"duplicate without a lost answer", []error{router.ErrDuplicate}, true, []time.Duration{0}, 0, 0},
		{"no leader for good", repeat(noLeader, 40), true, nil, 1, 0},
		{"answer lost, then no leader for good", append([]error{lost}, repeat(noLeader, 40)...), true, nil, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &scriptDoer{answers: tc.answers, start: time.Now()}
				waiting := 0
				_, tries, err := Arrive(t.Context(), f, ev, func() { waiting++ }, log)
				time.Sleep(time.Minute) // a withdrawal's tries
				arrivals, ends := f.got()
				if (err != nil) != tc.wantErr || waiting != tc.waiting || ends != tc.ends || tries != len(arrivals) {
					t.Fatalf("err %v after %d tries (%v), waiting ran %d, %d withdrawals; want error %v, waiting %d, withdrawals %d",
						err, tries, arrivals, waiting, ends, tc.wantErr, tc.waiting, tc.ends)
				}
				if tc.wantTries != nil && fmt.Sprint(arrivals) != fmt.Sprint(tc.wantTries) {
					t.Fatalf("tries at %v, want %v", arrivals, tc.wantTries)
				}
				if tc.wantTries == nil {
					// Given up once ElectingWait passed, tried every 250 ms.
					last := arrivals[len(arrivals)-1]
					if last < ElectingWait-arriveAgain || last > ElectingWait || len(arrivals) != int(ElectingWait/arriveAgain)+1 {
						t.Fatalf("%d tries, the last at %v; want one every %v until %v", len(arrivals), last, arriveAgain, ElectingWait)
					}
				}
			})
		})
	}
}

func repeat(err error, n int) []error {
	out := make([]error, n)
	for i := range out {
		out[i] = err
	}
	return out
}
