package app

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/emiago/diago"

	"onecall/internal/testpeers"
	"onecall/router"
	"onecall/store"
)

// The attended transfer from the agent's own phone (sip/phone_consult.go),
// on the wire: the real App, a baresip citizen speaking its tone, agent01
// on a test phone (phone_ua_test.go: baresip 1.0 has no attended
// transfer) speaking toneConsult1, agent02 on baresip speaking toneAgent2.

// fsPhoneStart brings up agent01 (test phone) and agent02 (baresip), and a
// citizen connected to agent01; agent02 is ready. It returns agent01's
// citizen dialog and the contact id.
func fsPhoneStart(t *testing.T, a *fsApp) (p1 *uaPhone, d1 *diago.DialogServerSession, p2, cit *testpeers.Baresip,
	c1, c2 *fsConsole, id uint64) {
	t.Helper()
	p1 = startUAPhone(t, a, "agent01", toneConsult1)
	p2 = fsTonePhone(t, a, "agent02", toneAgent2)
	waitReady(t, a, "agent01", "agent02")
	c1, c2 = a.fsSignIn(t, "agent01"), a.fsSignIn(t, "agent02")
	c2.mustCall("state", map[string]any{"state": "not_ready", "reason": "break"})
	cit = fsToneCitizen(t, a, toneCitizen)
	d1 = p1.offered(20 * time.Second)
	id = c1.connected()
	hearsOnly(t, "the citizen with agent01", mark(t, cit), time.Second, toneConsult1)
	c2.mustCall("state", map[string]any{"state": "ready"})
	return p1, d1, p2, cit, c1, c2, id
}

// phoneHold puts the citizen dialog on hold from agent01's phone and
// checks the citizen hears only hold music.
func phoneHold(t *testing.T, d1 *diago.DialogServerSession, cit *testpeers.Baresip) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d1.Hold(ctx); err != nil {
		t.Fatalf("agent01's phone: hold: %v", err)
	}
	hearsNone(t, "the citizen held by agent01's phone", mark(t, cit), 2*time.Second, toneConsult1, toneAgent2)
}

// TestFullStackPhoneAttendedTransfer: agent01's phone holds the citizen
// and calls agent02 (a consult from the phone: agent02's console shows it,
// agent02 is busy, agent01 and agent02 talk, the citizen hears music); a
// second call to nobody is refused 404. A REFER whose Replaces names no
// dialog of onecall is answered with NOTIFY 481 and changes nothing. The
// REFER with the consult dialog's Replaces completes the transfer: NOTIFY
// 200, BYE on both of the phone's dialogs, the citizen and agent02 hear
// each other, agent01 in wrap-up; the history and the call record tell it.
func TestFullStackPhoneAttendedTransfer(t *testing.T) {
	a := fsStart(t, t.TempDir())
	p1, d1, p2, cit, c1, c2, id := fsPhoneStart(t, a)
	phoneHold(t, d1, cit)

	if _, err := p1.dial("nobody99", 10*time.Second); refusal(err) != 404 {
		t.Fatalf("a consult from the phone to an unknown target: %v, want 404", err)
	}
	d2, err := p1.dial("agent02", 20*time.Second)
	if err != nil {
		t.Fatalf("agent01's phone calls agent02: %v", err)
	}
	ev := consultStep(t, c2, id, "consult")
	if ev.By != "agent01" || ev.Agent != "agent02" || ev.View == nil || ev.View.ID != id {
		t.Fatalf("agent02's consult event: %+v", ev)
	}
	consultStep(t, c1, id, "consult_answered")
	if st := agentState(t, a, "agent02"); st != router.Busy {
		t.Fatalf("agent02 while consulted: %s, want busy", st)
	}
	w2, wc := mark(t, p2), mark(t, cit)
	hearsOnly(t, "agent02 consulted from agent01's phone", w2, 2*time.Second, toneConsult1, toneCitizen)
	hearsNone(t, "the citizen during the phone's consult", wc, 2*time.Second, toneConsult1, toneAgent2)

	cid, remote, local := tagsOf(d2)
	target := "sip:agent02@" + a.sipUDP()
	code, err := refer(t, d1, replaces(target, "no-such-call@127.0.0.1", remote, local))
	if err != nil || code != 481 {
		t.Fatalf("REFER naming an unknown dialog: NOTIFY %d, err %v; want 481", code, err)
	}
	hearsOnly(t, "agent02 still consulted after the bad REFER", mark(t, p2), time.Second, toneConsult1, toneCitizen)
	if d2.Context().Err() != nil || d1.Context().Err() != nil {
		t.Fatal("a dialog of agent01's phone ended after the bad REFER")
	}

	code, err = refer(t, d1, replaces(target, cid, remote, local))
	if err != nil || code != 200 {
		t.Fatalf("REFER with the consult's Replaces: NOTIFY %d, err %v; want 200", code, err)
	}
	for _, d := range []context.Context{d1.Context(), d2.Context()} {
		select {
		case <-d.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("a dialog of agent01's phone got no BYE after the transfer")
		}
	}
	consultStep(t, c1, id, "consult_completed")
	c2.event("connected", func(d json.RawMessage) bool { return strings.Contains(string(d), `"agent":"agent02"`) })
	testpeers.WaitFor(t, 5*time.Second, "agent01 in wrap-up, agent02 busy with the contact", func() bool {
		v1, _ := a.agent(t, "agent01")
		v2, _ := a.agent(t, "agent02")
		return v1.State == router.WrapUp && len(v1.Active) == 0 && v2.State == router.Busy && len(v2.Active) == 1
	})
	hearsOnly(t, "the citizen after the transfer", mark(t, cit), 2*time.Second, toneAgent2, toneConsult1)
	hearsOnly(t, "agent02 after the transfer", mark(t, p2), 2*time.Second, toneCitizen, toneConsult1)

	testpeers.WaitFor(t, 5*time.Second, "the consult steps in the contact's history", func() bool {
		var evs []struct{ State, Agent string }
		json.Unmarshal(c2.mustCall("contact_history", map[string]any{"contact": id}), &evs)
		seen := map[string]bool{}
		for _, e := range evs {
			if e.Agent == "agent01" {
				seen[e.State] = true
			}
		}
		return seen["consult"] && seen["consult_answered"] && seen["consult_completed"]
	})
	c2.mustCall("hangup", map[string]any{"contact": id})
	rec := a.callRecordTo(t, 10*time.Second, fsHotline)
	var legs []string
	for _, l := range rec.Legs {
		legs = append(legs, l.Role+" "+l.URI)
		if l.Ended.IsZero() {
			t.Errorf("leg %s %s not ended", l.Role, l.URI)
		}
	}
	if len(rec.Legs) != 4 || rec.Legs[1].Role != "agent" || rec.Legs[2].Role != "consult" ||
		!strings.Contains(rec.Legs[2].URI, "agent02") || rec.Legs[3].Role != "agent-consult" {
		t.Fatalf("call record legs %v; want citizen, agent01, agent02 (consult), agent01's consult call", legs)
	}
	if c := fsEndedContact(t, a.Store(), 10*time.Second, id); c.Agent != "agent02" {
		t.Fatalf("contact ended with agent %q, want agent02", c.Agent)
	}
	testpeers.WaitFor(t, 10*time.Second, "no call left", func() bool { return a.sip.Active() == 0 })
}

// TestFullStackPhoneConsultFailures: a second call from a phone that is
// on no call is refused 403; with the citizen held: a consult to an agent
// who is not ready is refused 486 (agent02 stays not ready, agent01 keeps
// the call); a consult to an agent whose phone is not registered fails
// (480 to the phone, consult_failed on the console, agent04 ready again);
// the phone hanging up its consult cancels it (agent02 ready again, the
// citizen still held until the phone resumes it, then hears agent01
// again). Then a consult the console completes: conference is refused for
// a phone's consult, complete sends BYE on both of the phone's dialogs and
// leaves the citizen with agent02.
func TestFullStackPhoneConsultFailures(t *testing.T) {
	a := fsStart(t, t.TempDir())
	p1, d1, p2, cit, c1, c2, id := fsPhoneStart(t, a)
	p3 := startUAPhone(t, a, "agent03", 2300)
	if _, err := p3.dial("agent02", 10*time.Second); refusal(err) != 403 {
		t.Fatalf("a consult from a phone on no call: %v, want 403", err)
	}
	phoneHold(t, d1, cit)

	c2.mustCall("state", map[string]any{"state": "not_ready", "reason": "break"})
	if _, err := p1.dial("agent02", 10*time.Second); refusal(err) != 486 {
		t.Fatalf("a consult from the phone to an agent who is not ready: %v, want 486", err)
	}
	if st := agentState(t, a, "agent02"); st != router.NotReady {
		t.Fatalf("agent02 after the refused consult: %s, want not ready", st)
	}
	if st := agentState(t, a, "agent01"); st != router.Busy {
		t.Fatalf("agent01 after the refused consult: %s, want busy", st)
	}

	c4 := a.fsSignIn(t, "agent04")
	c4.call("login", nil)
	c4.mustCall("state", map[string]any{"state": "ready"})
	if _, err := p1.dial("agent04", 20*time.Second); refusal(err) != 480 {
		t.Fatalf("a consult from the phone to an agent without a phone: %v, want 480", err)
	}
	if ev := consultStep(t, c1, id, "consult_failed"); !strings.Contains(ev.Reason, "not registered") {
		t.Fatalf("the failed consult's reason: %q", ev.Reason)
	}
	testpeers.WaitFor(t, 5*time.Second, "agent04 ready again, agent01 busy", func() bool {
		return agentState(t, a, "agent04") == router.Ready && agentState(t, a, "agent01") == router.Busy
	})
	c4.mustCall("state", map[string]any{"state": "not_ready", "reason": "break"})

	t.Log("the phone hangs up its consult")
	c2.mustCall("state", map[string]any{"state": "ready"})
	d2, err := p1.dial("agent02", 20*time.Second)
	if err != nil {
		t.Fatalf("agent01's phone calls agent02: %v", err)
	}
	consultStep(t, c1, id, "consult_answered")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = d2.Hangup(ctx)
	cancel()
	consultStep(t, c1, id, "consult_cancelled")
	testpeers.WaitFor(t, 5*time.Second, "agent02 ready again (no wrap-up) after the cancel", func() bool {
		return agentState(t, a, "agent02") == router.Ready
	})
	hearsNone(t, "the citizen still held after the cancel", mark(t, cit), 2*time.Second, toneConsult1, toneAgent2)
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	if err := d1.Unhold(ctx); err != nil {
		t.Fatalf("agent01's phone: resume: %v", err)
	}
	cancel()
	hearsOnly(t, "the citizen resumed by agent01's phone", mark(t, cit), 2*time.Second, toneConsult1, toneAgent2)

	t.Log("a phone's consult completed from the console")
	phoneHold(t, d1, cit)
	d2, err = p1.dial("agent02", 20*time.Second)
	if err != nil {
		t.Fatalf("agent01's phone calls agent02 again: %v", err)
	}
	consultStep(t, c1, id, "consult_answered")
	if m := c1.call("conference", map[string]any{"contact": id}); m.Code != "consult_no_conference" {
		t.Fatalf("conference of a phone's consult: %+v", m)
	}
	c1.mustCall("consult_complete", map[string]any{"contact": id})
	consultStep(t, c1, id, "consult_completed")
	for _, d := range []context.Context{d1.Context(), d2.Context()} {
		select {
		case <-d.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("a dialog of agent01's phone got no BYE after the console's complete")
		}
	}
	testpeers.WaitFor(t, 5*time.Second, "agent01 in wrap-up, agent02 busy with the contact", func() bool {
		v1, _ := a.agent(t, "agent01")
		v2, _ := a.agent(t, "agent02")
		return v1.State == router.WrapUp && len(v1.Active) == 0 && v2.State == router.Busy && len(v2.Active) == 1
	})
	hearsOnly(t, "the citizen after the complete", mark(t, cit), 2*time.Second, toneAgent2, toneConsult1)
	hearsOnly(t, "agent02 after the complete", mark(t, p2), 2*time.Second, toneCitizen, toneConsult1)
	cit.Control(t, "hangup", "")
	rec := a.callRecordTo(t, 10*time.Second, fsHotline)
	for _, l := range rec.Legs {
		if l.Ended.IsZero() {
			t.Errorf("leg %s %s not ended", l.Role, l.URI)
		}
	}
	testpeers.WaitFor(t, 10*time.Second, "no call left, agent02 in wrap-up", func() bool {
		return a.sip.Active() == 0 && agentState(t, a, "agent02") == router.WrapUp
	})
}

// TestFullStackPhoneConsultCancelled: agent01's phone calls agent03,
// whose phone rings and does not answer, and gives up (CANCEL): the
// consult is cancelled, agent03's phone stops ringing and agent03 is ready
// again, the citizen stays held until agent01's phone resumes it.
func TestFullStackPhoneConsultCancelled(t *testing.T) {
	a := fsStart(t, t.TempDir())
	p1, d1, _, cit, c1, _, id := fsPhoneStart(t, a)
	p3 := startUAPhoneOpts(t, a, "agent03", 2300, true)
	waitReady(t, a, "agent03")
	phoneHold(t, d1, cit)
	dialed := make(chan error, 1)
	go func() {
		_, err := p1.dial("agent03", 4*time.Second)
		dialed <- err
	}()
	var ring *diago.DialogServerSession
	select {
	case ring = <-p3.rung:
	case <-time.After(10 * time.Second):
		t.Fatal("agent03's phone was not rung for the phone's consult")
	}
	consultStep(t, c1, id, "consult")
	if err := <-dialed; err == nil {
		t.Fatal("the phone's consult to a phone that never answers was answered")
	}
	if ev := consultStep(t, c1, id, "consult_cancelled"); !strings.Contains(ev.Reason, "cancel") {
		t.Fatalf("the cancelled consult's reason: %q", ev.Reason)
	}
	select {
	case <-ring.Context().Done():
	case <-time.After(10 * time.Second):
		t.Fatal("agent03's phone still rings after the phone gave up")
	}
	testpeers.WaitFor(t, 5*time.Second, "agent03 ready again, agent01 busy", func() bool {
		return agentState(t, a, "agent03") == router.Ready && agentState(t, a, "agent01") == router.Busy
	})
	hearsNone(t, "the citizen still held after the cancel", mark(t, cit), 2*time.Second, toneConsult1, toneAgent2)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d1.Unhold(ctx); err != nil {
		t.Fatalf("agent01's phone: resume: %v", err)
	}
	hearsOnly(t, "the citizen resumed by agent01's phone", mark(t, cit), 2*time.Second, toneConsult1, toneAgent2)
}

// TestFullStackPhoneConsultQueueHangup: agent01's phone calls queue
// gen-110 (routing picks agent02, whose console shows the consult), then
// hangs up the citizen dialog while agent02 talks: the transfer completes
// (as documented: the agent hanging up completes a consult), the phone's
// consult dialog gets BYE, the citizen and agent02 hear each other.
func TestFullStackPhoneConsultQueueHangup(t *testing.T) {
	a := fsStart(t, t.TempDir())
	p1, d1, p2, cit, c1, c2, id := fsPhoneStart(t, a)
	phoneHold(t, d1, cit)
	d2, err := p1.dial("gen-110", 20*time.Second)
	if err != nil {
		t.Fatalf("agent01's phone calls queue gen-110: %v", err)
	}
	if ev := consultStep(t, c2, id, "consult"); ev.Agent != "agent02" || ev.By != "agent01" {
		t.Fatalf("routing's consult from the queue: %+v, want agent02 by agent01", ev)
	}
	consultStep(t, c1, id, "consult_answered")
	hearsOnly(t, "agent02 consulted from the queue", mark(t, p2), time.Second, toneConsult1, toneCitizen)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = d1.Hangup(ctx)
	cancel()
	if ev := consultStep(t, c1, id, "consult_completed"); !strings.Contains(ev.Reason, "hung up") {
		t.Fatalf("the completed consult's reason: %q", ev.Reason)
	}
	select {
	case <-d2.Context().Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the phone's consult dialog got no BYE after the transfer by hang-up")
	}
	testpeers.WaitFor(t, 5*time.Second, "agent01 in wrap-up, agent02 busy with the contact", func() bool {
		v1, _ := a.agent(t, "agent01")
		v2, _ := a.agent(t, "agent02")
		return v1.State == router.WrapUp && len(v1.Active) == 0 && v2.State == router.Busy && len(v2.Active) == 1
	})
	hearsOnly(t, "the citizen after the transfer by hang-up", mark(t, cit), 2*time.Second, toneAgent2, toneConsult1)
	hearsOnly(t, "agent02 after the transfer by hang-up", mark(t, p2), 2*time.Second, toneCitizen, toneConsult1)
}

// TestFullStackPhoneConsultOutside: agent01's phone holds a SIPp citizen
// and calls the outside number 1345 (line 110's transfer_numbers): the
// carrier (SIPp) is called through the trunk and answers; the phone then
// REFERs in the consult dialog with Replaces naming the citizen dialog:
// NOTIFY 200, BYE on both of the phone's dialogs, the citizen and the
// carrier are bridged (RTP both ways on the outside leg), agent01 goes to
// wrap-up and the contact closes transferred-out. A number the line does
// not list is refused 403 first.
func TestFullStackPhoneConsultOutside(t *testing.T) {
	carrier, a := startTransferOut(t, outsideAnswers, 90*time.Second)
	p1 := startUAPhone(t, a, "agent01", toneConsult1)
	waitReady(t, a, "agent01")
	c1 := a.fsSignIn(t, "agent01")
	cit := fsStartSipp(t, a.sipUDP(), fsHotline, fsCitizen{From: "01055556666", Echo: true, HoldFor: 16000})
	d1 := p1.offered(20 * time.Second)
	id := c1.connected()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if err := d1.Hold(ctx); err != nil {
		t.Fatalf("agent01's phone: hold: %v", err)
	}
	cancel()
	if _, err := p1.dial("0299990000", 10*time.Second); refusal(err) != 403 {
		t.Fatalf("a consult from the phone to a number the line does not list: %v, want 403", err)
	}
	d2, err := p1.dial("1345", 20*time.Second)
	if err != nil {
		t.Fatalf("agent01's phone calls 1345: %v", err)
	}
	if ev := consultStep(t, c1, id, "consult_answered"); ev.By != "agent01" {
		t.Fatalf("consult answered: %+v", ev)
	}
	cid, remote, local := serverTags(d1)
	code, err := referConsult(t, d2, replaces("sip:1345@"+a.sipUDP(), cid, local, remote))
	if err != nil || code != 200 {
		t.Fatalf("REFER in the consult dialog with the citizen dialog's Replaces: NOTIFY %d, err %v; want 200", code, err)
	}
	for _, d := range []context.Context{d1.Context(), d2.Context()} {
		select {
		case <-d.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("a dialog of agent01's phone got no BYE after the transfer")
		}
	}
	waitWrapUp(t, a, "agent01", 10*time.Second)
	carrierDone(t, cit, carrier)
	rec := a.callRecordTo(t, 10*time.Second, fsHotline)
	var out *store.CallLeg
	for i, l := range rec.Legs {
		if l.Ended.IsZero() {
			t.Errorf("leg %s %s not ended", l.Role, l.URI)
		}
		if l.Role == "outside" {
			out = &rec.Legs[i]
		}
	}
	if out == nil || out.URI != "tel:1345" || out.RTP.PacketsReceived < 100 || out.RTP.PacketsSent < 100 {
		t.Fatalf("call record legs %+v; want an outside leg to 1345 with audio both ways", rec.Legs)
	}
	if c := fsEndedContact(t, a.Store(), 10*time.Second, id); c.EndReason != router.EndTransferredOut.String() {
		t.Fatalf("contact ended %q, want %q", c.EndReason, router.EndTransferredOut.String())
	}
}

// TestFullStackPhoneConsultNotAnswered: agent01's phone consults agent03,
// whose phone first answers 486 (the consult fails "busy", the phone's
// call gets 486), then rings without answering until the routing deadline
// (the consult fails "no answer", the phone's call gets 480, agent03's
// phone stops ringing). Each time agent03 is free again and agent01 keeps
// the held citizen.
func TestFullStackPhoneConsultNotAnswered(t *testing.T) {
	a := fsStart(t, t.TempDir())
	p1, d1, _, cit, c1, _, id := fsPhoneStart(t, a)
	p3 := startUAPhoneOpts(t, a, "agent03", 2300, true)
	p3.reject.Store(486)
	waitReady(t, a, "agent03")
	phoneHold(t, d1, cit)
	if _, err := p1.dial("agent03", 20*time.Second); refusal(err) != 486 {
		t.Fatalf("a consult from the phone to a busy phone: %v, want 486", err)
	}
	if ev := consultStep(t, c1, id, "consult_failed"); !strings.HasSuffix(ev.Reason, ": busy") {
		t.Fatalf("the failed consult's reason: %q, want busy", ev.Reason)
	}
	free := func(what string) {
		testpeers.WaitFor(t, 5*time.Second, "agent03 ready, agent01 busy "+what, func() bool {
			return agentState(t, a, "agent03") == router.Ready && agentState(t, a, "agent01") == router.Busy
		})
	}
	free("after the busy consult")

	p3.reject.Store(0)
	start := time.Now()
	if _, err := p1.dial("agent03", 40*time.Second); refusal(err) != 480 {
		t.Fatalf("a consult from the phone to a phone that never answers: %v, want 480", err)
	}
	t.Logf("no answer after %s", time.Since(start).Round(100*time.Millisecond))
	if ev := consultStep(t, c1, id, "consult_failed"); !strings.HasSuffix(ev.Reason, ": no answer") {
		t.Fatalf("the failed consult's reason: %q, want no answer", ev.Reason)
	}
	select {
	case ring := <-p3.rung:
		select {
		case <-ring.Context().Done():
		case <-time.After(10 * time.Second):
			t.Fatal("agent03's phone still rings after the deadline")
		}
	default:
		t.Fatal("agent03's phone was never rung")
	}
	free("after the unanswered consult")
	hearsNone(t, "the citizen still held", mark(t, cit), 2*time.Second, toneConsult1)
	if d1.Context().Err() != nil {
		t.Fatal("the citizen dialog of agent01's phone ended")
	}
}

// TestFullStackPhoneConsultDigest: the source address and port of agent01's
// phone are no proof over UDP (issue 11). An INVITE from them without
// credentials (a forged one) gets 407 with the registrar's challenge and
// starts nothing; with the wrong password, or another agent's credentials,
// 403 (the wrong password counted as a failed login, as for REGISTER);
// each outcome is in /metrics. The phone's own answer to the challenge then
// starts the consult.
func TestFullStackPhoneConsultDigest(t *testing.T) {
	a := fsStart(t, t.TempDir())
	p1, d1, _, cit, _, c2, id := fsPhoneStart(t, a)
	phoneHold(t, d1, cit)

	if _, err := p1.dialAs("agent02", "agent01", "", 10*time.Second); refusal(err) != 407 {
		t.Fatalf("an INVITE from agent01's phone's address without credentials: %v, want 407", err)
	}
	if _, err := p1.dialAs("agent02", "agent01", "not-demo", 10*time.Second); refusal(err) != 403 {
		t.Fatalf("an INVITE from agent01's phone with the wrong password: %v, want 403", err)
	}
	if _, err := p1.dialAs("agent02", "agent03", "demo", 10*time.Second); refusal(err) != 403 {
		t.Fatalf("an INVITE from agent01's phone with agent03's credentials: %v, want 403", err)
	}
	if st := agentState(t, a, "agent02"); st != router.Ready {
		t.Fatalf("agent02 after the refused INVITEs: %s, want ready (no consult started)", st)
	}
	hearsNone(t, "the citizen still held after the refused INVITEs", mark(t, cit), time.Second, toneConsult1, toneAgent2)
	_, body := get(t, "http://"+a.HTTPAddr()+"/metrics")
	for _, want := range []string{
		// the bare INVITE and the two answered ones were challenged first
		`onecall_sip_phone_invite_auth_total{result="challenged"} 3`,
		`onecall_sip_phone_invite_auth_total{result="refused"} 2`,
		`onecall_sip_phone_invite_auth_total{result="accepted"} 0`,
		`onecall_sip_register_total{result="failed"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Fatalf("/metrics lacks %s:\n%s", want, grepLines(body, "onecall_sip_phone_invite_auth_total")+"\n"+grepLines(body, "onecall_sip_register_total"))
		}
	}

	if _, err := p1.dial("agent02", 20*time.Second); err != nil {
		t.Fatalf("agent01's phone calls agent02 with its credentials: %v", err)
	}
	if ev := consultStep(t, c2, id, "consult"); ev.By != "agent01" || ev.Agent != "agent02" {
		t.Fatalf("agent02's consult event: %+v", ev)
	}
	_, body = get(t, "http://"+a.HTTPAddr()+"/metrics")
	if want := `onecall_sip_phone_invite_auth_total{result="accepted"} 1`; !strings.Contains(body, want) {
		t.Fatalf("/metrics lacks %s:\n%s", want, grepLines(body, "onecall_sip_phone_invite_auth_total"))
	}
}
