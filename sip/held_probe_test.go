package sip

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/emiago/sipgo/sip"

	"onecall/router"
)

// holdLeg is a Leg whose hold state the test sets.
type holdLeg struct {
	Leg
	held bool
}

func (l *holdLeg) OnHold() bool { return l.held }

// The watch probes a held leg once per interval, forgives a single failure,
// ends the leg after `failures` in a row, and forgets everything when the
// leg is resumed.
func TestHeldWatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const interval = 10 * time.Second
		ctx := t.Context()
		leg := &holdLeg{held: true}
		var w heldWatch
		var probes int
		alive := true
		probe := func(ctx context.Context) error {
			probes++
			if alive {
				return nil
			}
			<-ctx.Done() // a dead peer never answers
			return ctx.Err()
		}
		start := time.Now()
		tick := func() bool {
			time.Sleep(time.Second)
			synctest.Wait()
			return w.check(ctx, time.Now(), leg, interval, 2, probe)
		}
		for range 60 {
			if tick() {
				t.Fatal("alive held leg declared lost")
			}
		}
		if probes < 5 || probes > 7 {
			t.Fatalf("%d probes in 60 s, want one per 10 s", probes)
		}
		leg.held = false
		if tick() || w.fails != 0 || w.pending != nil {
			t.Fatalf("resume did not reset the watch: %+v", w)
		}
		leg.held = true
		alive = false
		died := time.Now()
		for !tick() {
			if time.Since(died) > 3*interval+2*time.Second {
				t.Fatalf("dead held leg not declared lost after %s", time.Since(died))
			}
		}
		t.Logf("lost after %s (bound %s); %s since start", time.Since(died), 3*interval+2*time.Second, time.Since(start))
	})
}

func TestOptionsResult(t *testing.T) {
	if err := optionsResult(nil, context.DeadlineExceeded); err == nil {
		t.Fatal("timeout is alive")
	}
	for code, alive := range map[int]bool{200: true, 405: true, 501: true, 408: false, 481: false} {
		err := optionsResult(&sip.Response{StatusCode: code}, nil)
		if (err == nil) != alive || (!alive && !errors.Is(err, errPeerGone)) {
			t.Errorf("%d: %v", code, err)
		}
	}
}

// TestHeldCallerVanishes (issue 17, defect 5): a waiting citizen puts us on
// hold (re-INVITE a=sendonly) and stays silent. While SIPp lives it answers
// our in-dialog OPTIONS and the call stays up; once SIPp is killed (no BYE)
// the call is ended as held-citizen-lost within (failures + 1) × interval.
// Before, the no-RTP check skipped held legs and the call stayed up until
// max_waiting (24 h).
func TestHeldCallerVanishes(t *testing.T) {
	t.Parallel()
	const interval = time.Second
	env := newTestEnv(t, nil, func(o *Options, _ *fakeHub) {
		o.HeldProbe.Interval = interval
		o.HeldProbe.Failures = 2
		o.NoRTPTimeout = 2 * time.Second // held legs must not fall to it
	})
	c := startSipp(t, "citizen.xml", citizenParams{From: "01099990000", Reinvite: 300, Hold: true,
		HoldProbes: make([]struct{}, 20), HoldFor: 60000}, env.udp, "110")
	env.hub.waitEvent(t, 10*time.Second, "ContactArrived", isEv[router.ContactArrived](nil))
	leg, _ := env.citizenLeg(t)
	waitFor(t, 10*time.Second, "citizen on hold", leg.OnHold)
	// Alive and held: probes answered, the call stays up past the RTP timeout.
	waitFor(t, 15*time.Second, "3 answered probes", func() bool { return env.svc.heldProbes.ok.Load() >= 3 })
	if env.svc.Active() != 1 {
		t.Fatal("the live held call was ended")
	}
	c.Kill()
	killed := time.Now()
	rec := env.store.wait(t, 15*time.Second)
	took := time.Since(killed)
	t.Logf("held citizen ended %s after its phone died: %+v", took, rec)
	if rec.Cause != causeHeldCitizenLost {
		t.Fatalf("cause %q, want %q", rec.Cause, causeHeldCitizenLost)
	}
	// The documented bound, (failures+1) × interval + failures × 1 s, plus
	// the 1 s BYE attempt to the dead phone, plus 3 s of scheduling slack
	// for a loaded CI machine (a lost probe would add a whole interval
	// per failure and more).
	if bound := 3*interval + 3*time.Second; took > bound+4*time.Second {
		t.Fatalf("took %s, bound %s", took, bound)
	}
	env.hub.waitEvent(t, 5*time.Second, "ContactAbandoned", isEv[router.ContactAbandoned](nil))
}
