package app

import (
	"context"
	"errors"
	"testing"
	"time"

	"onecall/cluster/clustertest"
	"onecall/console"
	"onecall/internal/testpeers"
	"onecall/router"
	"onecall/sip"
)

// Console call controls across nodes, with three real cluster nodes (NATS
// in process): the real App's SIP service answers call controls on n1's
// subject; n2's clusterCalls puts the call on hold, resumes it and hangs
// it up through NATS. The citizen (SIPp) gets the BYE, and the call record
// says the console hung up after one hold. Errors keep their identity
// (no call: sip.ErrNoCall) and a node nobody answers for is ErrCallGone.
func TestClusterCallControlsReachOwnerNode(t *testing.T) {
	nodes := clustertest.Start(t, 3)
	a := fsStart(t, t.TempDir())
	sub, err := serveCallControls(nodes[0].Conn(), nodes[0].ID(), callControl{a.sip}, a.log)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	// The test App is a single node (its contact ids carry node 0): every
	// contact lives on n1, except the one that says it is on n3.
	const onN3 = router.ContactID(777)
	cc := newClusterCalls(callControl{}, 2, nodes[1].Conn())
	cc.owner = func(id router.ContactID) uint16 {
		if id == onN3 {
			return 3
		}
		return 1
	}

	testpeers.StartBaresip(t, testpeers.BaresipOptions{User: "agent01", Registrar: a.sipUDP(), Password: "demo", Quit: 60 * time.Second})
	testpeers.WaitFor(t, 15*time.Second, "agent01 ready after its phone registered", func() bool {
		v, ok := a.agent(t, "agent01")
		return ok && v.LoggedIn && v.State == router.Ready
	})
	citizen := fsStartSipp(t, a.sipUDP(), fsHotline, fsCitizen{From: "01012340000", Audio: true, WaitBye: 30000})
	var id router.ContactID
	testpeers.WaitFor(t, 20*time.Second, "the call talking with agent01", func() bool {
		v, _ := a.agent(t, "agent01")
		if len(v.Active) != 1 {
			return false
		}
		c, ok := a.contact(t, v.Active[0])
		id = v.Active[0]
		return ok && c.State == router.Talking
	})

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := cc.Hold(ctx, id); err != nil {
		t.Fatalf("hold from n2: %v", err)
	}
	if err := cc.Resume(ctx, id); err != nil {
		t.Fatalf("resume from n2: %v", err)
	}
	if err := cc.Hold(ctx, id+1000); !errors.Is(err, sip.ErrNoCall) {
		t.Fatalf("hold of a call n1 does not have: %v, want sip.ErrNoCall", err)
	}
	if err := cc.ConsultEnd(ctx, id, router.ConsultCancelled); !errors.Is(err, console.ErrNoConsult) {
		t.Fatalf("consult_cancel without a consult from n2: %v, want console.ErrNoConsult", err)
	}
	if err := cc.Hold(ctx, onN3); !errors.Is(err, console.ErrCallGone) {
		t.Fatalf("hold of a call on n3, which serves no call controls: %v, want console.ErrCallGone", err)
	}
	if err := cc.Hangup(ctx, id); err != nil {
		t.Fatalf("hangup from n2: %v", err)
	}
	if err := citizen.Wait(t, 20*time.Second); err != nil {
		t.Fatalf("citizen did not get the BYE of the hangup from n2: %v", err)
	}
	testpeers.WaitFor(t, 10*time.Second, "the call's end in the log", func() bool {
		for _, m := range a.logRecords("call ended") {
			if router.ContactID(fsNum(m, "contact_id")) == id {
				if m["cause"] != "console-hangup" || fsNum(m, "holds") != 1 {
					t.Fatalf("call ended with cause %v after %v holds; want console-hangup after 1", m["cause"], m["holds"])
				}
				return true
			}
		}
		return false
	})
}
