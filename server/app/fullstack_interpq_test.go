package app

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"onecall/internal/testpeers"
	"onecall/router"
)

// Interpreters from an interpreter queue (issue 11): the shipped interp-vi
// queue and the demo roster's interp05 and interp10 (Vietnamese), on real
// phones with the real engine and SIP service. The citizen speaks 450 Hz,
// agent01 700 Hz, the interpreters 1100 Hz (interp05) and 1900 Hz
// (interp10).

const toneInterp2 = 1900

// interpEv is a "consult" event of an interpretation request.
type interpEv struct {
	Contact  uint64 `json:"contact"`
	Step     string `json:"step"`
	By       string `json:"by"`
	Agent    string `json:"agent"`
	Queue    string `json:"queue"`
	Language string `json:"language"`
	Note     string `json:"note"`
	Reason   string `json:"reason"`
	View     *struct {
		ID      uint64 `json:"id"`
		Citizen string `json:"citizen"`
		Number  string `json:"number"`
	} `json:"view"`
}

// interpStep waits for the console's consult event of the contact's
// interpretation request at step, naming agent ("": none).
func interpStep(t *testing.T, c *fsConsole, id uint64, step, agent string) interpEv {
	t.Helper()
	var ev interpEv
	json.Unmarshal(c.event("consult", func(d json.RawMessage) bool {
		var e interpEv
		return json.Unmarshal(d, &e) == nil && e.Contact == id && e.Step == step && e.Language != "" &&
			e.Agent == agent
	}), &ev)
	return ev
}

// configInterpWait copies the shipped configs with interp-vi's wait and
// offer timeout shortened.
func configInterpWait(t *testing.T, wait, offer string) string {
	t.Helper()
	return shippedConfigs(t, "queues.yaml", "    interprets: vi\n    interpret_wait: 60s\n    offer_timeout: {voice: 20s}\n",
		"    interprets: vi\n    interpret_wait: "+wait+"\n    offer_timeout: {voice: "+offer+"}\n")
}

// fsInterpQ is the stage: agent01 talking with a citizen, an interpreter
// phone (interp05) registered, consoles of both.
type fsInterpQ struct {
	a       *fsApp
	c1, cI  *fsConsole
	C, A, I *fsParty
	id      uint64
}

func fsInterpQStart(t *testing.T, a *fsApp, manual bool) *fsInterpQ {
	t.Helper()
	p1 := fsTonePhone(t, a, "agent01", toneAgent1)
	pI := testpeers.StartBaresip(t, testpeers.BaresipOptions{User: "interp05", Registrar: a.sipUDP(), Password: "demo",
		Speech: testpeers.ToneWAV(t, t.TempDir(), toneInterp, 150*time.Second), Control: true, Quit: 170 * time.Second,
		Manual: manual})
	waitReady(t, a, "agent01", "interp05")
	c1, cI := a.fsSignIn(t, "agent01"), a.fsSignIn(t, "interp05")
	cit := fsToneCitizen(t, a, toneCitizenI)
	f := &fsInterpQ{a: a, c1: c1, cI: cI, id: c1.connected(),
		C: &fsParty{name: "citizen", p: cit, hz: toneCitizenI},
		A: &fsParty{name: "agent", p: p1, hz: toneAgent1},
		I: &fsParty{name: "interpreter", p: pI, hz: toneInterp}}
	f.twoWay(t, "two-way before the interpreter", f.I)
	return f
}

// twoWay waits until citizen and agent hear only each other.
func (f *fsInterpQ) twoWay(t *testing.T, step string, gone ...*fsParty) {
	t.Helper()
	f.C.mark(t, 500*time.Millisecond)
	f.A.mark(t, 500*time.Millisecond)
	waitHearing(t, step, 2*time.Second,
		func() (bool, string) {
			return f.C.hearsOnly(t, 2*time.Second, []*fsParty{f.A}, append([]*fsParty{f.C}, gone...))
		},
		func() (bool, string) {
			return f.A.hearsOnly(t, 2*time.Second, []*fsParty{f.C}, append([]*fsParty{f.A}, gone...))
		})
}

// threeWay waits until each of the three hears the other two, never
// itself (I has just answered: its window starts in its new call).
func (f *fsInterpQ) threeWay(t *testing.T, step string, I *fsParty) {
	t.Helper()
	C, A := f.C, f.A
	C.mark(t, 500*time.Millisecond)
	A.mark(t, 500*time.Millisecond)
	waitHearing(t, step, 2*time.Second,
		func() (bool, string) { return C.hearsOnly(t, 2*time.Second, []*fsParty{A, I}, []*fsParty{C}) },
		func() (bool, string) { return A.hearsOnly(t, 2*time.Second, []*fsParty{C, I}, []*fsParty{A}) },
		func() (bool, string) { return I.hearsOnly(t, 2*time.Second, []*fsParty{C, A}, []*fsParty{I}) })
}

// request asks for a Vietnamese interpreter; the request rings interp
// (its console gets the offer) and, answered, the three parties talk.
func (f *fsInterpQ) request(t *testing.T, step string, I *fsParty, cI *fsConsole, interp string) {
	t.Helper()
	I.newCall(500 * time.Millisecond)
	f.c1.mustCall("interpret", map[string]any{"contact": f.id, "language": "vi", "note": "visa extension"})
	f.offered(t, cI, interp)
	f.threeWay(t, step, I)
	interpStep(t, f.c1, f.id, "consult_answered", interp)
	testpeers.WaitFor(t, 5*time.Second, interp+" busy in the three-way, agent01 busy", func() bool {
		return agentState(t, f.a, router.AgentID(interp)) == router.Busy && agentState(t, f.a, "agent01") == router.Busy
	})
}

// offered checks the interpreter's offer: an interpretation request, its
// language, who asks, and the contact.
func (f *fsInterpQ) offered(t *testing.T, cI *fsConsole, interp string) {
	t.Helper()
	ev := interpStep(t, cI, f.id, "consult", interp)
	if ev.Language != "vi" || ev.By != "agent01" || ev.Queue != "interp-vi" || ev.Note != "visa extension" ||
		ev.View == nil || ev.View.ID != f.id || ev.View.Number != fsHotline || !strings.Contains(ev.Reason, "interpreter (vi)") {
		t.Fatalf("%s's offer: %+v (view %+v)", interp, ev, ev.View)
	}
}

// interpHistory is the contact's history of interpreter steps ("state agent:
// reason") once it has n of them or more.
func interpHistory(t *testing.T, a *fsApp, id uint64, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	var steps []string
	testpeers.WaitFor(t, 10*time.Second, "the interpreter steps in the contact history", func() bool {
		evs, err := a.Store().ContactEvents(ctx, id)
		if err != nil {
			return false
		}
		steps = steps[:0]
		for _, e := range evs {
			if strings.HasPrefix(e.State, "interpreter_") {
				steps = append(steps, e.State+" "+e.Agent+": "+e.Reason)
			}
		}
		return len(steps) >= n
	})
	return steps
}

// TestFullStackInterpreterQueue: agent01 (baresip) talks with a citizen
// (baresip) on 110 and asks the console for a Vietnamese interpreter.
// Routing picks interp05 (the ready agent of interp-vi), whose console gets
// the offer (an interpretation request for vi from agent01, with the
// contact) while its phone rings; citizen and agent talk on meanwhile. On
// answer each of the three hears the other two, never itself. Dropped:
// back to two, interp05 ready again (no wrap-up). Requested again, the
// interpreter hangs up: back to two. Requested a third time, the citizen
// hangs up: every leg ends, agent01 goes to wrap-up, interp05 is ready,
// and the call record and the history tell every step.
func TestFullStackInterpreterQueue(t *testing.T) {
	a := fsStart(t, t.TempDir())
	f := fsInterpQStart(t, a, false)
	c1, id, I := f.c1, f.id, f.I

	f.request(t, "three-way with the interpreter from interp-vi", I, f.cI, "interp05")
	if m := c1.call("interpret", map[string]any{"contact": id, "language": "vi"}); m.Code != "consult_active" {
		t.Fatalf("a second request: %+v", m)
	}
	if m := c1.call("interpret", map[string]any{"contact": id, "language": "xx"}); m.Code != "interpret_no_language" {
		t.Fatalf("a language without an interpreter queue: %+v", m)
	}

	c1.mustCall("interpret_drop", map[string]any{"contact": id})
	interpStep(t, c1, id, "conference_left", "interp05")
	f.twoWay(t, "interpreter dropped: citizen and agent only", I)
	I.silent(t, "the dropped interpreter's call over")
	testpeers.WaitFor(t, 5*time.Second, "interp05 ready again after the drop", func() bool {
		return agentState(t, a, "interp05") == router.Ready
	})

	f.request(t, "three-way again", I, f.cI, "interp05")
	I.p.Control(t, "hangup", "")
	interpStep(t, c1, id, "conference_left", "interp05")
	f.twoWay(t, "the interpreter left: citizen and agent only", I)
	testpeers.WaitFor(t, 5*time.Second, "interp05 ready after leaving", func() bool {
		return agentState(t, a, "interp05") == router.Ready && agentState(t, a, "agent01") == router.Busy
	})

	f.request(t, "three-way a third time", I, f.cI, "interp05")
	f.C.p.Control(t, "hangup", "")
	testpeers.WaitFor(t, 15*time.Second, "agent01 in wrap-up, interp05 ready", func() bool {
		ag, _ := a.agent(t, "agent01")
		return ag.State == router.WrapUp && len(ag.Active) == 0 && agentState(t, a, "interp05") == router.Ready
	})
	I.silent(t, "the interpreter's call over after the citizen hung up")
	f.A.silent(t, "the agent's call over after the citizen hung up")
	rec := a.callRecordTo(t, 15*time.Second, fsHotline)
	var roles []string
	for _, l := range rec.Legs {
		roles = append(roles, l.Role)
		if l.Ended.IsZero() || l.Ended.After(rec.Ended.Add(time.Second)) {
			t.Errorf("leg %s %s ended %v (call ended %v)", l.Role, l.URI, l.Ended, rec.Ended)
		}
		if l.Role == "interpreter" && (!strings.Contains(l.URI, "interp05") || l.RTP.PacketsReceived < 100 || l.RTP.PacketsSent < 100) {
			t.Errorf("interpreter leg %+v: want interp05's phone with audio both ways", l)
		}
	}
	if strings.Join(roles, ",") != "citizen,agent,interpreter,interpreter,interpreter" {
		t.Fatalf("call record legs %v; want citizen, agent, interpreter three times", roles)
	}
	steps := interpHistory(t, a, id, 9)
	var states []string
	for _, s := range steps {
		states = append(states, strings.SplitN(s, ":", 2)[0])
	}
	want := "interpreter_ringing agent01|interpreter_joined agent01|interpreter_left agent01|" +
		"interpreter_ringing agent01|interpreter_joined agent01|interpreter_left agent01|" +
		"interpreter_ringing agent01|interpreter_joined agent01|interpreter_left agent01"
	if strings.Join(states, "|") != want {
		t.Fatalf("contact history:\n%s\nwant\n%s", strings.Join(steps, "\n"), strings.ReplaceAll(want, "|", "\n"))
	}
	if !strings.Contains(steps[0], "interp05") || !strings.Contains(steps[0], "visa extension") {
		t.Errorf("history of the request: %q", steps[0])
	}
	if c := fsEndedContact(t, a.Store(), 10*time.Second, id); c.EndReason != router.EndCompleted.String() {
		t.Fatalf("contact ended %q", c.EndReason)
	}
}

// TestFullStackInterpreterQueueWaits: the failure paths. With every
// Vietnamese interpreter not ready, the request waits (the agent is told;
// citizen and agent talk on) until interp05 gets ready: its phone rings
// and interp05 rejects it (486): agent01 is told, interp05 is ready again
// and not rung again for this request, which waits on until interp10 gets
// ready and answers (three-way). Then: a request the agent withdraws
// while it waits; a request nobody takes within interpret_wait (the
// agent is told it failed; the call goes on); a ring nobody answers
// within the offer timeout after the wait is over (failed for good).
// Finally the agent hangs up during a three-way: every leg ends.
func TestFullStackInterpreterQueueWaits(t *testing.T) {
	a := fsStartAt(t, configInterpWait(t, "8s", "5s"), t.TempDir())
	f := fsInterpQStart(t, a, true)
	c1, cI, id := f.c1, f.cI, f.id
	p10 := fsTonePhone(t, a, "interp10", toneInterp2)
	I10 := &fsParty{name: "interp10", p: p10, hz: toneInterp2}
	waitReady(t, a, "interp10")
	c10 := a.fsSignIn(t, "interp10")
	cI.mustCall("state", map[string]any{"state": "not_ready", "reason": "break"})
	c10.mustCall("state", map[string]any{"state": "not_ready", "reason": "break"})

	// No interpreter free: the request waits; the citizen is not held.
	c1.mustCall("interpret", map[string]any{"contact": id, "language": "vi", "note": "visa extension"})
	if ev := interpStep(t, c1, id, "interpret_waiting", ""); !strings.Contains(ev.Reason, "no interpreter") {
		t.Fatalf("waiting: %+v", ev)
	}
	f.twoWay(t, "citizen and agent talk on while the request waits", f.I, I10)

	// interp05 gets ready: its phone rings; it rejects.
	cI.mustCall("state", map[string]any{"state": "ready"})
	f.offered(t, cI, "interp05")
	testpeers.WaitFor(t, 10*time.Second, "interp05's phone ringing", func() bool {
		return strings.Contains(strings.ToLower(f.I.p.Output()), "incoming call")
	})
	f.I.p.Control(t, "hangup", "")
	if ev := interpStep(t, c1, id, "consult_failed", "interp05"); ev.Reason == "" {
		t.Fatalf("the rejected ring: %+v", ev)
	}
	interpStep(t, c1, id, "interpret_waiting", "")
	testpeers.WaitFor(t, 5*time.Second, "interp05 ready again, not rung again", func() bool {
		return agentState(t, a, "interp05") == router.Ready
	})

	// interp10 gets ready and answers: the three-way.
	I10.newCall(500 * time.Millisecond)
	c10.mustCall("state", map[string]any{"state": "ready"})
	f.offered(t, c10, "interp10")
	f.threeWay(t, "three-way with interp10", I10)
	if st := agentState(t, a, "interp05"); st != router.Ready {
		t.Fatalf("interp05 during interp10's three-way: %s", st)
	}
	c1.mustCall("interpret_drop", map[string]any{"contact": id})
	f.twoWay(t, "interp10 dropped", I10)
	I10.silent(t, "interp10's call over")

	// Withdrawn while it waits.
	cI.mustCall("state", map[string]any{"state": "not_ready", "reason": "break"})
	c10.mustCall("state", map[string]any{"state": "not_ready", "reason": "break"})
	c1.mustCall("interpret", map[string]any{"contact": id, "language": "vi"})
	interpStep(t, c1, id, "interpret_waiting", "")
	c1.mustCall("interpret_drop", map[string]any{"contact": id})
	interpStep(t, c1, id, "consult_cancelled", "")

	// Nobody free within interpret_wait (8 s): failed; the call goes on.
	c1.mustCall("interpret", map[string]any{"contact": id, "language": "vi"})
	interpStep(t, c1, id, "interpret_waiting", "")
	if ev := interpStep(t, c1, id, "consult_failed", ""); !strings.Contains(ev.Reason, "no interpreter free within 8 s") {
		t.Fatalf("the expired request: %+v", ev)
	}
	f.twoWay(t, "citizen and agent talk on after the failed request", f.I, I10)

	// A ring nobody answers (5 s): interp05 is not rung again; the
	// request fails once its wait (8 s) is over.
	cI.mustCall("state", map[string]any{"state": "ready"})
	testpeers.WaitFor(t, 5*time.Second, "interp05 ready", func() bool { return agentState(t, a, "interp05") == router.Ready })
	c1.mustCall("interpret", map[string]any{"contact": id, "language": "vi"})
	interpStep(t, c1, id, "consult", "interp05")
	if ev := interpStep(t, c1, id, "consult_failed", "interp05"); ev.Reason != "interpreter (vi) not reached: agent interp05: no answer" {
		t.Fatalf("the unanswered ring: %+v", ev)
	}
	testpeers.WaitFor(t, 5*time.Second, "interp05 ready after the unanswered ring", func() bool {
		return agentState(t, a, "interp05") == router.Ready
	})
	interpStep(t, c1, id, "interpret_waiting", "")
	interpStep(t, c1, id, "consult_failed", "")

	// The agent hangs up during a three-way: the call ends for everyone.
	c10.mustCall("state", map[string]any{"state": "ready"})
	I10.newCall(500 * time.Millisecond)
	c1.mustCall("interpret", map[string]any{"contact": id, "language": "vi", "note": "visa extension"})
	f.offered(t, c10, "interp10")
	f.threeWay(t, "three-way with interp10 again", I10)
	f.A.p.Control(t, "hangup", "")
	testpeers.WaitFor(t, 15*time.Second, "agent01 in wrap-up, interp10 ready", func() bool {
		ag, _ := a.agent(t, "agent01")
		return ag.State == router.WrapUp && len(ag.Active) == 0 && agentState(t, a, "interp10") == router.Ready
	})
	I10.silent(t, "interp10's call over after the agent hung up")
	f.C.silent(t, "the citizen's call over after the agent hung up")
	rec := a.callRecordTo(t, 15*time.Second, fsHotline)
	for _, l := range rec.Legs {
		if l.Ended.IsZero() || l.Ended.After(rec.Ended.Add(time.Second)) {
			t.Errorf("leg %s %s ended %v (call ended %v)", l.Role, l.URI, l.Ended, rec.Ended)
		}
	}
	if rec.HangupCause != "agent-bye" {
		t.Errorf("hangup cause %q, want agent-bye", rec.HangupCause)
	}
	steps := interpHistory(t, a, id, 1)
	joined := strings.Join(steps, "\n")
	for _, s := range []string{"interpreter_waiting", "interpreter_failed agent01: interpreter (vi) not reached: agent interp05",
		"interpreter_withdrawn", "interpreter_request_failed agent01: interpretation request (vi) failed: no interpreter free within 8 s",
		"interpreter_joined agent01: interpreter (vi) joined: agent interp10"} {
		if !strings.Contains(joined, s) {
			t.Errorf("history lacks %q:\n%s", s, joined)
		}
	}
}

// TestFullStackSupervisorThreeWay: a supervisor (baresip, 1500 Hz) follows
// agent01's interpreted three-way call (citizen, agent01, interp05 from
// interp-vi) and joins its mixer as a fourth party: in listen nobody
// hears the supervisor and the supervisor hears all three; in whisper only
// agent01 does; in barge all three do; nobody ever hears themself.
// Switching needs no new call. When the interpreter is dropped the
// supervisor stays on the two-party call (listen: hears both, heard by
// nobody); the supervisor's leg ends with "unfollow" and the history
// tells each step.
func TestFullStackSupervisorThreeWay(t *testing.T) {
	a := fsStart(t, t.TempDir())
	f := fsInterpQStart(t, a, false)
	ps := fsSupervisorPhone(t, a, "super01", toneSup2)
	sc := a.fsSignIn(t, "super01")
	C, A, I, id := f.C, f.A, f.I, f.id
	S := &fsParty{name: "supervisor", p: ps, hz: toneSup2}
	f.request(t, "three-way before the supervisor", I, f.cI, "interp05")

	follow := func(mode string) {
		t.Helper()
		sc.mustCall("follow", map[string]any{"contact": id, "mode": mode})
		fsMonitorEvent(sc, id, "super01", mode)
		for _, p := range []*fsParty{C, A, I, S} {
			p.mark(t, 500*time.Millisecond)
		}
	}
	all := []*fsParty{C, A, I}
	others := func(p *fsParty, sv bool) []*fsParty {
		var out []*fsParty
		for _, q := range all {
			if q != p {
				out = append(out, q)
			}
		}
		if sv {
			out = append(out, S)
		}
		return out
	}
	check := func(step string, heardBy map[*fsParty]bool) {
		t.Helper()
		var checks []func() (bool, string)
		for _, p := range all {
			not := []*fsParty{p}
			if !heardBy[p] {
				not = append(not, S)
			}
			checks = append(checks, func() (bool, string) { return p.hearsOnly(t, 2*time.Second, others(p, heardBy[p]), not) })
		}
		checks = append(checks, func() (bool, string) { return S.hearsOnly(t, 2*time.Second, all, []*fsParty{S}) })
		waitHearing(t, step, 2*time.Second, checks...)
	}

	S.newCall(500 * time.Millisecond)
	follow("listen")
	check("listen in the three-way", map[*fsParty]bool{})
	follow("whisper")
	check("whisper in the three-way", map[*fsParty]bool{A: true})
	follow("barge")
	check("barge in the three-way", map[*fsParty]bool{C: true, A: true, I: true})

	// Back to listen, then the interpreter is dropped: the supervisor
	// stays on citizen and agent.
	follow("listen")
	check("listen again", map[*fsParty]bool{})
	f.c1.mustCall("interpret_drop", map[string]any{"contact": id})
	I.silent(t, "the dropped interpreter's call over")
	for _, p := range []*fsParty{C, A, S} {
		p.mark(t, 500*time.Millisecond)
	}
	waitHearing(t, "listen after the interpreter left", 2*time.Second,
		func() (bool, string) { return C.hearsOnly(t, 2*time.Second, []*fsParty{A}, []*fsParty{C, I, S}) },
		func() (bool, string) { return A.hearsOnly(t, 2*time.Second, []*fsParty{C}, []*fsParty{A, I, S}) },
		func() (bool, string) { return S.hearsOnly(t, 2*time.Second, []*fsParty{C, A}, []*fsParty{S, I}) })

	sc.mustCall("unfollow", map[string]any{"contact": id})
	fsMonitorEvent(sc, id, "super01", "")
	S.silent(t, "the supervisor's call over")
	f.twoWay(t, "citizen and agent after the supervisor left", I, S)

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	var states []string
	testpeers.WaitFor(t, 10*time.Second, "the supervisor steps in the history", func() bool {
		evs, err := a.Store().ContactEvents(ctx, id)
		if err != nil {
			return false
		}
		states = states[:0]
		for _, e := range evs {
			if strings.HasPrefix(e.State, "supervisor_") {
				states = append(states, e.State)
			}
		}
		return len(states) >= 5
	})
	if got := strings.Join(states, ","); got != "supervisor_listen,supervisor_whisper,supervisor_barge,supervisor_listen,supervisor_left" {
		t.Fatalf("supervisor history: %s", got)
	}
}
