package sip

import (
	"sync"
	"testing"
	"time"

	"onecall/router"
	"onecall/server"
)

// consultLog keeps the ConsultChanged commands routing delivered.
type consultLog struct {
	mu  sync.Mutex
	got []router.ConsultChanged
}

func (l *consultLog) sink(cmds []router.Command) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range cmds {
		if cc, ok := c.(router.ConsultChanged); ok {
			l.got = append(l.got, cc)
		}
	}
}

func (l *consultLog) find(step router.ConsultStep, agent router.AgentID) (router.ConsultChanged, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.got {
		if c.Step == step && c.Agent == agent {
			return c, true
		}
	}
	return router.ConsultChanged{}, false
}

// TestConsultTargetBusyOrSilent: with the real engine, agent01 (SIPp)
// talks with the citizen and consults agent02, whose phone answers 486:
// the consult fails "busy"; then agent03, whose phone rings and never
// answers: after the offer time (3 s) we CANCEL and it fails "no answer".
// Each time agent01 is bridged back to the citizen (its phone gets the
// citizen's audio after the consults), the consulted agents are ready
// again (not reserved, not not-ready) and no leg stays open.
func TestConsultTargetBusyOrSilent(t *testing.T) {
	t.Parallel()
	log := &consultLog{}
	env := newEngineEnvSinks(t, []server.Sink{sinkFunc(log.sink)}, "agent01", "agent02", "agent03")
	a1 := startSipp(t, "agent.xml", agentParams{Mode: "answer", WaitBye: 40000}, "", "")
	a2 := startSipp(t, "agent.xml", agentParams{Mode: "reject", Code: 486}, "", "")
	a3 := startSipp(t, "agent.xml", agentParams{Mode: "ring"}, "", "")
	env.loc.set("agent01", a1.uri("agent01"))
	env.loc.set("agent02", a2.uri("agent02"))
	env.loc.set("agent03", a3.uri("agent03"))
	c := startSipp(t, "citizen.xml", citizenParams{From: "01011112222", Audio: true, HoldFor: 14000}, env.udp, "110")
	var id router.ContactID
	waitFor(t, 10*time.Second, "agent01 talking with the citizen", func() bool {
		v := env.agent(t, "agent01")
		if v.State == router.Busy && len(v.Active) == 1 {
			id = v.Active[0]
			return true
		}
		return false
	})
	for _, k := range []struct {
		agent  router.AgentID
		reason string
	}{{"agent02", "busy"}, {"agent03", "no answer"}} {
		if err := env.svc.Consult(t.Context(), id, router.TransferTarget{Agent: k.agent}, "agent01", "note"); err != nil {
			t.Fatalf("consult %s: %v", k.agent, err)
		}
		var ev router.ConsultChanged
		waitFor(t, 10*time.Second, "the consult of "+string(k.agent)+" failed", func() bool {
			var ok bool
			ev, ok = log.find(router.ConsultFailed, k.agent)
			return ok
		})
		if want := "consult failed: not reached: agent " + string(k.agent) + ": " + k.reason; ev.Reason != want {
			t.Fatalf("failed consult reason %q, want %q", ev.Reason, want)
		}
		if v := env.agent(t, k.agent); v.State != router.Ready {
			t.Fatalf("%s after the failed consult: %s (%s)", k.agent, v.State, v.Reason)
		}
		if v := env.agent(t, "agent01"); v.State != router.Busy || len(v.Active) != 1 {
			t.Fatalf("agent01 after the failed consult: %s %v", v.State, v.Active)
		}
	}
	if err := env.svc.ConsultEnd(t.Context(), id, router.ConsultCompleted); err != ErrNoConsult {
		t.Fatalf("complete with no consult: %v", err)
	}
	for i, p := range []*sippRun{a2, a3, c, a1} {
		if err := p.wait(t, 40*time.Second); err != nil {
			t.Fatalf("peer %d: %v", i, err)
		}
	}
	rec := env.store.wait(t, 5*time.Second)
	if rec.Agent != "agent01" || rec.Holds != 2 || rec.Cause != causeCitizenBye || rec.Legs != 2 {
		t.Fatalf("record = %+v", rec)
	}
	waitFor(t, 5*time.Second, "agent02 and agent03 ready, agent01 not busy", func() bool {
		return env.agent(t, "agent02").State == router.Ready && env.agent(t, "agent03").State == router.Ready &&
			env.agent(t, "agent01").State != router.Busy
	})
}

// TestConsultAgentLeavesWhileRinging: agent01's phone hangs up while the
// consulted agent02's phone still rings: the ring is cancelled (agent02's
// phone gets CANCEL, agent02 is free), the consult fails "the agent hung
// up", and the citizen goes back to the queue, where agent03 answers it
// (never agent01, who transferred it away and goes to wrap-up).
func TestConsultAgentLeavesWhileRinging(t *testing.T) {
	t.Parallel()
	log := &consultLog{}
	env := newEngineEnvSinks(t, []server.Sink{sinkFunc(log.sink)}, "agent01", "agent02", "agent03")
	a1 := startSipp(t, "agent.xml", agentParams{Mode: "bye", HoldFor: 1500}, "", "")
	a2 := startSipp(t, "agent.xml", agentParams{Mode: "ring"}, "", "")
	a3 := startSipp(t, "agent.xml", agentParams{Mode: "answer", WaitBye: 30000}, "", "")
	env.loc.set("agent01", a1.uri("agent01"))
	env.loc.set("agent02", a2.uri("agent02"))
	env.loc.set("agent03", a3.uri("agent03"))
	c := startSipp(t, "citizen.xml", citizenParams{From: "01011112222", Audio: true, HoldFor: 12000}, env.udp, "110")
	var id router.ContactID
	waitFor(t, 10*time.Second, "agent01 talking with the citizen", func() bool {
		v := env.agent(t, "agent01")
		if v.State == router.Busy && len(v.Active) == 1 {
			id = v.Active[0]
			return true
		}
		return false
	})
	if err := env.svc.Consult(t.Context(), id, router.TransferTarget{Agent: "agent02"}, "agent01", ""); err != nil {
		t.Fatalf("consult: %v", err)
	}
	var ev router.ConsultChanged
	waitFor(t, 10*time.Second, "the consult failed when agent01 hung up", func() bool {
		var ok bool
		ev, ok = log.find(router.ConsultFailed, "agent02")
		return ok
	})
	if ev.Reason != "consult failed: not reached: agent agent02: the agent hung up" {
		t.Fatalf("reason %q", ev.Reason)
	}
	waitFor(t, 10*time.Second, "agent03 took the citizen from the queue", func() bool {
		v := env.agent(t, "agent03")
		return v.State == router.Busy && len(v.Active) == 1 && v.Active[0] == id
	})
	for i, p := range []*sippRun{a1, a2, c, a3} {
		if err := p.wait(t, 40*time.Second); err != nil {
			t.Fatalf("peer %d: %v", i, err)
		}
	}
	rec := env.store.wait(t, 5*time.Second)
	if rec.Agent != "agent03" || rec.Cause != causeCitizenBye {
		t.Fatalf("record = %+v", rec)
	}
	// agent02 was free again at once: routing offered it the requeued
	// citizen, which its phone (done after the CANCEL) let time out.
	if v := env.agent(t, "agent02"); v.State == router.Reserved || v.State == router.Busy {
		t.Fatalf("agent02 left %s after the cancelled ring", v.State)
	}
}
