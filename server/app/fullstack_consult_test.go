package app

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"onecall/internal/testpeers"
	"onecall/router"
)

// The citizen of the consult tests is a baresip phone speaking its own
// tone (not SIPp): what it hears is dumped, so each step can check who
// hears whom, in a window of audio after the step.
// agent01 speaks toneConsult1 here: the hold music has energy around
// 600-800 Hz (toneAgent1 is 700).
const (
	toneCitizen  = 1100
	toneConsult1 = 1900
)

// window is a phone's decoded audio from a mark on.
type window struct {
	p    *testpeers.Baresip
	from int
}

// mark starts a window 0.2 s after the audio heard so far: what was in
// flight when the bridge changed is not counted.
func mark(t *testing.T, p *testpeers.Baresip) window {
	return window{p: p, from: len(heard(t, p)) + 1600}
}

// share is the share of hz in the audio heard since the mark, and how much
// audio that is.
func (w window) share(t *testing.T, hz int) (float64, time.Duration) {
	s := heard(t, w.p)
	if len(s) <= w.from {
		return 0, 0
	}
	s = s[w.from:]
	return testpeers.ToneShare(s, 8000, hz), time.Duration(len(s)) * time.Second / 8000
}

// hearsOnly waits until the window holds at least d of audio with hz at
// more than half of it, then checks that none of the other tones reaches
// 5 %.
func hearsOnly(t *testing.T, who string, w window, d time.Duration, hz int, not ...int) {
	t.Helper()
	var msg string
	testpeers.WaitFor(t, 20*time.Second, who+" hears "+itoa(hz)+" Hz", func() bool {
		sh, got := w.share(t, hz)
		msg = "heard " + got.String() + ", " + itoa(hz) + " Hz share " + ftoa(sh)
		return got >= d && sh > 0.5
	})
	for _, o := range not {
		if sh, got := w.share(t, o); sh > 0.05 {
			t.Fatalf("%s hears %d Hz (share %s of %v): %s", who, o, ftoa(sh), got, msg)
		}
	}
	t.Logf("%s: %s", who, msg)
}

// hearsNone waits for d of audio in the window and checks that none of
// the tones reaches 5 % of it (hold music only).
func hearsNone(t *testing.T, who string, w window, d time.Duration, tones ...int) {
	t.Helper()
	testpeers.WaitFor(t, 20*time.Second, who+" has "+d.String()+" of audio", func() bool {
		_, got := w.share(t, tones[0])
		return got >= d
	})
	for _, o := range tones {
		if sh, got := w.share(t, o); sh > 0.05 {
			t.Fatalf("%s hears %d Hz (share %s of %v) while it should hear only hold music", who, o, ftoa(sh), got)
		}
	}
}

// fsConsultStart brings up agent01 and agent02 (tone phones and consoles)
// and a baresip citizen calling 110, connected to agent01 (agent02 is not
// ready until then). It returns the contact id.
func fsConsultStart(t *testing.T, a *fsApp) (p1, p2, cit *testpeers.Baresip, c1, c2 *fsConsole, id uint64) {
	t.Helper()
	p1 = fsTonePhone(t, a, "agent01", toneConsult1)
	p2 = fsTonePhone(t, a, "agent02", toneAgent2)
	waitReady(t, a, "agent01", "agent02")
	c1, c2 = a.fsSignIn(t, "agent01"), a.fsSignIn(t, "agent02")
	c2.mustCall("state", map[string]any{"state": "not_ready", "reason": "break"})
	cit = fsToneCitizen(t, a, toneCitizen)
	id = c1.connected()
	t.Logf("contact %d connected to agent01", id)
	hearsOnly(t, "the citizen", mark(t, cit), time.Second, toneConsult1)
	hearsOnly(t, "agent01", mark(t, p1), time.Second, toneCitizen)
	c2.mustCall("state", map[string]any{"state": "ready"})
	return p1, p2, cit, c1, c2, id
}

type consultEv struct {
	Contact uint64 `json:"contact"`
	Step    string `json:"step"`
	By      string `json:"by"`
	Agent   string `json:"agent"`
	Note    string `json:"note"`
	Reason  string `json:"reason"`
	View    *struct {
		ID      uint64 `json:"id"`
		Citizen string `json:"citizen"`
	} `json:"view"`
}

func consultStep(t *testing.T, c *fsConsole, id uint64, step string) consultEv {
	t.Helper()
	var ev consultEv
	json.Unmarshal(c.event("consult", func(d json.RawMessage) bool {
		var e consultEv
		return json.Unmarshal(d, &e) == nil && e.Contact == id && e.Step == step
	}), &ev)
	return ev
}

func agentState(t *testing.T, a *fsApp, id router.AgentID) router.AgentState {
	v, _ := a.agent(t, id)
	return v.State
}

// TestFullStackConsult: agent01 talks with the citizen and consults
// agent02 from the console: the citizen holds (music, not the consult
// talk), agent02's console sees the consult from agent01 with the note
// and the contact, agent01 and agent02 hear each other. Cancel: agent02 is
// free again (ready, no wrap-up), agent01 and the citizen hear each other.
// A consult to an agent who is not ready is refused. Then a consult to
// queue gen-110 (routing picks agent02) and complete: the citizen and
// agent02 hear each other, agent01 is in wrap-up. Every step is in the
// contact's history and the call record.
func TestFullStackConsult(t *testing.T) {
	a := fsStart(t, t.TempDir())
	p1, p2, cit, c1, c2, id := fsConsultStart(t, a)

	note := "연금 문의 pension"
	c1.mustCall("consult", map[string]any{"contact": id, "agent": "agent02", "note": note})
	ev := consultStep(t, c2, id, "consult")
	if ev.By != "agent01" || ev.Note != note || ev.View == nil || ev.View.ID != id {
		t.Fatalf("agent02's consult event: %+v", ev)
	}
	consultStep(t, c1, id, "consult_answered")
	w1, w2, wc := mark(t, p1), mark(t, p2), mark(t, cit)
	if st := agentState(t, a, "agent02"); st != router.Busy {
		t.Fatalf("agent02 while consulted: %s, want busy", st)
	}
	if m := c1.call("consult", map[string]any{"contact": id, "agent": "agent02"}); m.Code != "consult_active" || m.Text["ko"] == "" {
		t.Fatalf("a second consult: %+v", m)
	}
	hearsOnly(t, "agent01 consulting", w1, 2*time.Second, toneAgent2, toneCitizen)
	hearsOnly(t, "agent02 consulted", w2, 2*time.Second, toneConsult1, toneCitizen)
	hearsNone(t, "the citizen on hold", wc, 2*time.Second, toneConsult1, toneAgent2)

	t.Log("cancel")
	c1.mustCall("consult_cancel", map[string]any{"contact": id})
	consultStep(t, c1, id, "consult_cancelled")
	testpeers.WaitFor(t, 5*time.Second, "agent02 ready again (no wrap-up) after the cancel", func() bool {
		return agentState(t, a, "agent02") == router.Ready
	})
	w1, wc = mark(t, p1), mark(t, cit)
	hearsOnly(t, "the citizen after the cancel", wc, 2*time.Second, toneConsult1, toneAgent2)
	hearsOnly(t, "agent01 after the cancel", w1, 2*time.Second, toneCitizen, toneAgent2)

	c2.mustCall("state", map[string]any{"state": "not_ready", "reason": "break"})
	if m := c1.call("consult", map[string]any{"contact": id, "agent": "agent02"}); m.Code != "consult_no_agent_free" || m.Text["en"] == "" {
		t.Fatalf("a consult to an agent who is not ready: %+v", m)
	}
	c2.mustCall("state", map[string]any{"state": "ready"})

	t.Log("consult a queue, then complete")
	c1.mustCall("consult", map[string]any{"contact": id, "queue": "gen-110", "note": "tax"})
	ev = consultStep(t, c2, id, "consult")
	if ev.Agent != "agent02" {
		t.Fatalf("routing picked %q for the queue consult, want agent02", ev.Agent)
	}
	consultStep(t, c1, id, "consult_answered")
	w2 = mark(t, p2)
	hearsOnly(t, "agent02 consulted from the queue", w2, time.Second, toneConsult1, toneCitizen)
	c1.mustCall("consult_complete", map[string]any{"contact": id})
	consultStep(t, c1, id, "consult_completed")
	c2.event("connected", func(d json.RawMessage) bool { return strings.Contains(string(d), `"agent":"agent02"`) })
	testpeers.WaitFor(t, 5*time.Second, "agent01 in wrap-up, agent02 busy with the contact", func() bool {
		v1, _ := a.agent(t, "agent01")
		v2, _ := a.agent(t, "agent02")
		return v1.State == router.WrapUp && len(v1.Active) == 0 && v2.State == router.Busy && len(v2.Active) == 1
	})
	w2, wc = mark(t, p2), mark(t, cit)
	hearsOnly(t, "the citizen after the complete", wc, 2*time.Second, toneAgent2, toneConsult1)
	hearsOnly(t, "agent02 after the complete", w2, 2*time.Second, toneCitizen, toneConsult1)

	testpeers.WaitFor(t, 5*time.Second, "every consult step in the contact's history", func() bool {
		var evs []struct{ State, Agent, Reason string }
		json.Unmarshal(c2.mustCall("contact_history", map[string]any{"contact": id}), &evs)
		seen := map[string]bool{}
		for _, e := range evs {
			if e.Agent == "agent01" {
				seen[e.State] = true
			}
		}
		return seen["consult"] && seen["consult_answered"] && seen["consult_cancelled"] && seen["consult_completed"]
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
	if len(rec.Legs) != 4 || rec.Legs[2].Role != "consult" || rec.Legs[3].Role != "consult" ||
		!strings.Contains(rec.Legs[3].URI, "agent02") {
		t.Fatalf("call record legs %v; want citizen, agent01, agent02 (cancelled consult), agent02 (completed)", legs)
	}
	if c := fsEndedContact(t, a.Store(), 10*time.Second, id); c.Agent != "agent02" {
		t.Fatalf("contact ended with agent %q, want agent02", c.Agent)
	}
}

// TestFullStackConsultCitizenLeaves: the citizen hangs up while agent01
// consults agent02: every leg ends (agent01's and agent02's phones get
// BYE), agent02 is ready again, agent01 goes to wrap-up.
func TestFullStackConsultCitizenLeaves(t *testing.T) {
	a := fsStart(t, t.TempDir())
	_, _, cit, c1, c2, id := fsConsultStart(t, a)
	c1.mustCall("consult", map[string]any{"contact": id, "agent": "agent02"})
	consultStep(t, c2, id, "consult_answered")
	cit.Control(t, "hangup", "")
	consultStep(t, c2, id, "consult_cancelled")
	testpeers.WaitFor(t, 10*time.Second, "agent02 ready, agent01 in wrap-up, no call left", func() bool {
		return agentState(t, a, "agent02") == router.Ready && agentState(t, a, "agent01") == router.WrapUp &&
			a.sip.Active() == 0
	})
	rec := a.callRecordTo(t, 10*time.Second, fsHotline)
	for _, l := range rec.Legs {
		if l.Ended.IsZero() {
			t.Errorf("leg %s %s not ended", l.Role, l.URI)
		}
	}
	if len(rec.Legs) != 3 || rec.HangupCause != "citizen-bye" {
		t.Fatalf("call record: %d legs, cause %q", len(rec.Legs), rec.HangupCause)
	}
}

// hearsBoth waits until the window holds at least d of audio with both
// tones at 20 % or more each, then checks the listener's own tone stays
// under 5 % (nobody hears themself in a conference).
func hearsBoth(t *testing.T, who string, w window, d time.Duration, hz1, hz2, own int) {
	t.Helper()
	var msg string
	testpeers.WaitFor(t, 20*time.Second, who+" hears "+itoa(hz1)+" and "+itoa(hz2)+" Hz", func() bool {
		s1, got := w.share(t, hz1)
		s2, _ := w.share(t, hz2)
		msg = "heard " + got.String() + ", " + itoa(hz1) + " Hz " + ftoa(s1) + ", " + itoa(hz2) + " Hz " + ftoa(s2)
		return got >= d && s1 > 0.2 && s2 > 0.2
	})
	if sh, _ := w.share(t, own); sh > 0.05 {
		t.Fatalf("%s hears itself (%d Hz share %s): %s", who, own, ftoa(sh), msg)
	}
	t.Logf("%s: %s", who, msg)
}

// TestFullStackConsultConference: agent01 consults agent02 and makes it a
// conference: each of the three hears the other two and never itself.
// Cancel drops agent02 (ready again; agent01 and the citizen talk on). A
// second conference, then agent01's phone hangs up: agent02 keeps the
// citizen (they hear each other), agent01 goes to wrap-up.
//
// Line 110 is recorded here: the one WAV follows the call through the
// consult, the conference and the transfer (what the citizen hears is its
// right channel: both agents in the conference, agent02 alone after).
func TestFullStackConsultConference(t *testing.T) {
	a := fsStartAt(t, fsRecordedConfig(t), t.TempDir())
	p1, p2, cit, c1, c2, id := fsConsultStart(t, a)
	var confAt time.Time
	conf := func() {
		c1.mustCall("consult", map[string]any{"contact": id, "agent": "agent02"})
		consultStep(t, c1, id, "consult_answered")
		c1.mustCall("conference", map[string]any{"contact": id})
		consultStep(t, c2, id, "conference")
		confAt = time.Now()
		w1, w2, wc := mark(t, p1), mark(t, p2), mark(t, cit)
		hearsBoth(t, "the citizen in the conference", wc, 2*time.Second, toneConsult1, toneAgent2, toneCitizen)
		hearsBoth(t, "agent01 in the conference", w1, 2*time.Second, toneCitizen, toneAgent2, toneConsult1)
		hearsBoth(t, "agent02 in the conference", w2, 2*time.Second, toneCitizen, toneConsult1, toneAgent2)
	}
	conf()
	t.Log("agent02 leaves")
	c1.mustCall("consult_cancel", map[string]any{"contact": id})
	consultStep(t, c1, id, "conference_left")
	testpeers.WaitFor(t, 5*time.Second, "agent02 ready again after leaving the conference", func() bool {
		return agentState(t, a, "agent02") == router.Ready
	})
	hearsOnly(t, "the citizen after agent02 left", mark(t, cit), 2*time.Second, toneConsult1, toneAgent2)
	hearsOnly(t, "agent01 after agent02 left", mark(t, p1), 2*time.Second, toneCitizen, toneAgent2)

	conf()
	t.Log("agent01's phone hangs up")
	p1.Control(t, "hangup", "")
	consultStep(t, c2, id, "consult_completed")
	testpeers.WaitFor(t, 10*time.Second, "agent01 in wrap-up, agent02 busy with the contact", func() bool {
		v1, _ := a.agent(t, "agent01")
		v2, _ := a.agent(t, "agent02")
		return v1.State == router.WrapUp && len(v1.Active) == 0 && v2.State == router.Busy && len(v2.Active) == 1
	})
	confAt2, leftAt := confAt, time.Now()
	hearsOnly(t, "the citizen after agent01 left", mark(t, cit), 2*time.Second, toneAgent2, toneConsult1)
	hearsOnly(t, "agent02 after agent01 left", mark(t, p2), 2*time.Second, toneCitizen, toneConsult1)
	c2.mustCall("hangup", map[string]any{"contact": id})
	rec := a.callRecordTo(t, 10*time.Second, fsHotline)
	if rec.RecordingPath == "" {
		t.Fatal("the recorded call has no recording")
	}
	left, right := readStereo(t, rec.RecordingPath)
	if d := time.Duration(len(left))*time.Second/8000 - rec.Ended.Sub(rec.Started); d > time.Second || d < -time.Second {
		t.Fatalf("recording %d samples, call %s: want within 1 s", len(left), rec.Ended.Sub(rec.Started))
	}
	inConf := seg(right, confAt2.Sub(rec.Started)+500*time.Millisecond, confAt2.Sub(rec.Started)+2*time.Second)
	after := seg(right, leftAt.Sub(rec.Started)+time.Second, leftAt.Sub(rec.Started)+2500*time.Millisecond)
	cit1 := seg(left, leftAt.Sub(rec.Started)+time.Second, leftAt.Sub(rec.Started)+2500*time.Millisecond)
	sh := map[string]float64{
		"conference agent01": testpeers.ToneShare(inConf, 8000, toneConsult1),
		"conference agent02": testpeers.ToneShare(inConf, 8000, toneAgent2),
		"after agent02":      testpeers.ToneShare(after, 8000, toneAgent2),
		"after agent01":      testpeers.ToneShare(after, 8000, toneConsult1),
		"citizen left":       testpeers.ToneShare(cit1, 8000, toneCitizen),
	}
	t.Logf("recording tone shares: %v", sh)
	if sh["conference agent01"] < 0.2 || sh["conference agent02"] < 0.2 || sh["after agent02"] < 0.6 ||
		sh["after agent01"] > 0.05 || sh["citizen left"] < 0.6 {
		t.Fatalf("the recording does not follow the conference and the transfer: %v", sh)
	}
	for _, l := range rec.Legs {
		if l.Ended.IsZero() {
			t.Errorf("leg %s %s not ended", l.Role, l.URI)
		}
	}
	if len(rec.Legs) != 4 {
		t.Fatalf("call record: %d legs, want citizen, agent01, agent02 twice", len(rec.Legs))
	}
}

// TestFullStackConsultNotReached: the consulted agent is ready but has no
// phone registered: the consult fails at once with a reason on the
// console, agent01 is back with the citizen (they hear each other) and
// agent03 is ready again.
func TestFullStackConsultNotReached(t *testing.T) {
	a := fsStart(t, t.TempDir())
	p1, _, cit, c1, _, id := fsConsultStart(t, a)
	c3 := a.fsSignIn(t, "agent03")
	c3.call("login", nil)
	c3.mustCall("state", map[string]any{"state": "ready"})
	c1.mustCall("consult", map[string]any{"contact": id, "agent": "agent03", "note": "no phone"})
	ev := consultStep(t, c1, id, "consult_failed")
	if !strings.Contains(ev.Reason, "not registered") {
		t.Fatalf("the failed consult's reason: %q", ev.Reason)
	}
	consultStep(t, c3, id, "consult_failed")
	testpeers.WaitFor(t, 5*time.Second, "agent03 ready again, agent01 busy", func() bool {
		return agentState(t, a, "agent03") == router.Ready && agentState(t, a, "agent01") == router.Busy
	})
	hearsOnly(t, "the citizen after the failed consult", mark(t, cit), 2*time.Second, toneConsult1)
	hearsOnly(t, "agent01 after the failed consult", mark(t, p1), 2*time.Second, toneCitizen)
}

// TestFullStackConsultOutside: agent01 consults the outside number 1345
// (allowed by line 110's transfer_numbers) through the trunk: the carrier
// (SIPp) is called with the line's caller ID and answers; agent01 hears
// the carrier and no longer the citizen (whose echo would carry agent01's
// own tone); complete: agent01's leg ends, agent01 goes to wrap-up, the
// citizen and the carrier are bridged (RTP both ways on the outside leg)
// and the contact closes transferred-out.
func TestFullStackConsultOutside(t *testing.T) {
	carrier, a := startTransferOut(t, outsideAnswers, 90*time.Second)
	p1 := fsTonePhone(t, a, "agent01", toneConsult1)
	waitReady(t, a, "agent01")
	c1 := a.fsSignIn(t, "agent01")
	cit := fsStartSipp(t, a.sipUDP(), fsHotline, fsCitizen{From: "01055556666", Echo: true, HoldFor: 16000})
	id := c1.connected()
	hearsOnly(t, "agent01 with the citizen", mark(t, p1), time.Second, toneConsult1)
	if m := c1.call("consult", map[string]any{"contact": id, "target": "number:02-9999-0000"}); m.Code != "transfer_number_not_allowed" {
		t.Fatalf("consult of a number the line does not list: %+v", m)
	}
	c1.mustCall("consult", map[string]any{"contact": id, "target": "number:1345", "note": "to 1345"})
	consultStep(t, c1, id, "consult_answered")
	w1 := mark(t, p1)
	testpeers.WaitFor(t, 10*time.Second, "agent01 hears 2 s of the carrier", func() bool {
		_, got := w1.share(t, toneConsult1)
		return got >= 2*time.Second
	})
	if sh, _ := w1.share(t, toneConsult1); sh > 0.05 {
		t.Fatalf("agent01 hears its own tone back through the held citizen (share %s)", ftoa(sh))
	}
	c1.mustCall("consult_complete", map[string]any{"contact": id})
	waitWrapUp(t, a, "agent01", 10*time.Second)
	carrierDone(t, cit, carrier)
	rec := a.callRecordTo(t, 10*time.Second, fsHotline)
	if len(rec.Legs) != 3 || rec.Legs[2].Role != "outside" || rec.Legs[2].URI != "tel:1345" {
		t.Fatalf("call record legs %+v; want citizen, agent01, outside 1345", rec.Legs)
	}
	if out := rec.Legs[2].RTP; out.PacketsReceived < 100 || out.PacketsSent < 100 {
		t.Fatalf("outside leg RTP rx %d tx %d; want audio both ways", out.PacketsReceived, out.PacketsSent)
	}
	if c := fsEndedContact(t, a.Store(), 10*time.Second, id); c.EndReason != router.EndTransferredOut.String() {
		t.Fatalf("contact ended %q, want %q", c.EndReason, router.EndTransferredOut.String())
	}
}
