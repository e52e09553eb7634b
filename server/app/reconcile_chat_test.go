package app

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"onecall/internal/testpeers"
	"onecall/router"
)

// TestReconcilerRepairsLostChatEvents: with routing.reconcile_every 1s,
// (a) a chat contact routing has, talking with agent01, with no chat in
// the chat service (its chat is gone without its final event) is ended
// and agent01 freed; (b) a real citizen chat whose final command from
// routing is lost on its way to the chat service is ended in the chat
// (the citizen gets "ended" with reason "stuck"), not left open. Each
// repair is counted and logged once.
func TestReconcilerRepairsLostChatEvents(t *testing.T) {
	cfg := fsConfig(t, "", "reconcile_every: 5s", "reconcile_every: 1s")
	var lost atomic.Uint64 // the contact whose ContactClosed the chat loses
	var dropped atomic.Int32
	a := fsStartOpts(t, cfg, t.TempDir(), func(o *Options) {
		o.loseCommand = func(sink string, c router.Command) bool {
			if cc, ok := c.(router.ContactClosed); ok && sink == "chat" && uint64(cc.Contact) == lost.Load() {
				dropped.Add(1)
				return true
			}
			return false
		}
	})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	do := func(ev router.Event) {
		t.Helper()
		if _, err := a.Hub().Do(ctx, ev); err != nil {
			t.Fatalf("%T: %v", ev, err)
		}
	}
	do(router.AgentLoggedIn{Agent: "agent01", Ready: true})

	// (a) routing has a chat the chat service does not.
	ghost := a.Hub().NewContactID()
	do(router.ContactArrived{Contact: ghost, Channel: router.Chat, Number: fsHotline, Arrived: time.Now()})
	do(router.OfferAccepted{Contact: ghost, Agent: "agent01"})
	if v, _ := a.contact(t, ghost); v.State != router.Talking || v.Agent != "agent01" {
		t.Fatalf("setup: chat %d is %s with %q, want talking with agent01", ghost, v.State, v.Agent)
	}

	// (b) a real chat, whose close the chat service will not hear.
	base := "http://" + a.HTTPAddr()
	cit := startChat(t, &websocket.Dialer{HandshakeTimeout: 5 * time.Second}, base)
	started := cit.begin("")
	if started["type"] != "started" {
		t.Fatalf("chat not started: %v", started)
	}
	var real router.ContactID
	testpeers.WaitFor(t, 10*time.Second, "the real chat routed", func() bool {
		var cs []router.ContactView
		_ = a.Hub().Query(ctx, func(e *router.Engine) { cs = e.LiveContacts(router.Chat) })
		for _, c := range cs {
			if c.ID != ghost {
				real = c.ID
				return true
			}
		}
		return false
	})
	lost.Store(uint64(real))
	do(router.ContactEnded{Contact: real, Reason: router.EndMaxWait})
	start := time.Now()

	testpeers.WaitFor(t, 10*time.Second, "agent01 freed from the ghost chat", func() bool {
		v, _ := a.agent(t, "agent01")
		return len(v.Active) == 0 && v.State != router.Busy
	})
	ended := cit.next("ended")
	t.Logf("repairs done %s after the loss", time.Since(start).Round(100*time.Millisecond))
	if ended["reason"] != "stuck" {
		t.Fatalf("the citizen's chat ended %v, want reason stuck (from the reconciler)", ended)
	}
	if dropped.Load() != 1 {
		t.Fatalf("%d ContactClosed dropped, want 1", dropped.Load())
	}
	if c := fsEndedContact(t, a.Store(), 5*time.Second, uint64(ghost)); c.EndReason != router.EndStuck.String() {
		t.Fatalf("ghost chat ended %q, want %q", c.EndReason, router.EndStuck)
	}
	for kind, msg := range map[string]string{
		repairChatContact: "reconciler repair: chat contact without a live chat ended",
		repairChatOrphan:  "reconciler repair: chat without a routed contact ended",
	} {
		if n := a.metric(t, `onecall_reconciler_repairs_total{kind="`+kind+`"}`); n != 1 {
			t.Errorf("%s repairs %v, want 1", kind, n)
		}
		if recs := a.logRecords(msg); len(recs) != 1 {
			t.Errorf("%q logged %d times, want 1", msg, len(recs))
		}
	}
	if n := a.metric(t, `onecall_reconciler_repairs_total{kind="voice_contact"}`); n != 0 {
		t.Errorf("voice repairs %v, want 0", n)
	}
}

// TestReconcilerLogsOutAnAgentWhoseConsoleIsGone: agent01's console
// closes; the console's own logout after its grace (1 s here) is lost on
// its way to routing; the reconciler logs agent01 out within a few sweeps
// (without it agent01 stayed logged in, "Ready" with nobody at the desk).
func TestReconcilerLogsOutAnAgentWhoseConsoleIsGone(t *testing.T) {
	cfg := fsConfig(t, "", "reconcile_every: 5s", "reconcile_every: 1s")
	var dropped atomic.Int32
	a := fsStartOpts(t, cfg, t.TempDir(), func(o *Options) {
		o.logoutGrace = time.Second
		o.loseEvent = func(ev router.Event) bool {
			// The first logout of agent01 (the console's) is lost.
			if lo, ok := ev.(router.AgentLoggedOut); ok && lo.Agent == "agent01" && dropped.CompareAndSwap(0, 1) {
				return true
			}
			return false
		}
	})
	c := a.fsSignIn(t, "agent01")
	c.mustCall("state", map[string]any{"state": "ready"})
	testpeers.WaitFor(t, 10*time.Second, "agent01 ready", func() bool {
		v, _ := a.agent(t, "agent01")
		return v.LoggedIn && v.State == router.Ready
	})
	c.ws.Close()
	start := time.Now()
	testpeers.WaitFor(t, 15*time.Second, "agent01 logged out", func() bool {
		v, _ := a.agent(t, "agent01")
		return !v.LoggedIn
	})
	t.Logf("agent01 logged out %s after its console closed", time.Since(start).Round(100*time.Millisecond))
	if dropped.Load() != 1 {
		t.Fatal("the console's own logout was not lost: the test proves nothing")
	}
	if n := a.metric(t, `onecall_reconciler_repairs_total{kind="console_agent"}`); n != 1 {
		t.Fatalf("console repairs %v, want 1", n)
	}
	if recs := a.logRecords("reconciler repair: agent without a console logged out"); len(recs) != 1 || recs[0]["agent_id"] != "agent01" {
		t.Fatalf("repair log lines %v", recs)
	}
}
