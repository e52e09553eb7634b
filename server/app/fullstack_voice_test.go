package app

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"onecall/internal/testpeers"
	"onecall/router"
	"onecall/store"
)

// fsHotline is 110 (gen-110): open 24/7, no IVR menu, so a call enters
// routing before it is answered and the greeting is the first queue media.
// agent01 of the demo roster serves it.
const fsHotline = "110"

// TestFullStackCallReachesRegisteredAgent: baresip registers agent01 with
// digest; demo mode logs it in Ready; a SIPp citizen calls 110 speaking
// g711a.pcap; routing offers the call to agent01's registered phone, which
// auto-answers, speaks a WAV and hangs up when it ends; the citizen gets our
// BYE. The store then holds the CDR (answered, RTP both ways, an agent leg)
// and the contact's history (offered to agent01 with the reason, talking,
// ended completed); agent01 is in wrap-up, never left busy, and Ready again
// after WrapUpDone.
func TestFullStackCallReachesRegisteredAgent(t *testing.T) {
	a := fsStart(t, t.TempDir())
	speech, err := filepath.Abs("../../sip/testdata/speech.wav") // ~4 s, 16-bit PCM
	if err != nil {
		t.Fatal(err)
	}
	phone := testpeers.StartBaresip(t, testpeers.BaresipOptions{User: "agent01", Registrar: a.sipUDP(),
		Password: "demo", Speech: speech, Quit: 120 * time.Second})

	waitReady(t, a, "agent01")

	citizen := fsStartSipp(t, a.sipUDP(), fsHotline, fsCitizen{From: "01011112222", Audio: true, WaitBye: 40000})
	if err := citizen.Wait(t, 50*time.Second); err != nil {
		t.Fatalf("citizen scenario failed (expected answer, then our BYE after the agent hung up): %v", err)
	}

	// The CDR.
	rec := a.callRecordTo(t, 5*time.Second, fsHotline)
	t.Logf("call record: %+v", rec)
	if rec.Contact == 0 {
		t.Fatalf("call record without contact id: %+v", rec)
	}
	if rec.Answered.IsZero() || rec.Ended.IsZero() || rec.Ended.Before(rec.Answered) {
		t.Fatalf("call record not answered/ended in order: answered %v ended %v", rec.Answered, rec.Ended)
	}
	if rec.RTP.PacketsReceived < 100 || rec.RTP.PacketsSent < 100 {
		t.Fatalf("citizen leg RTP missing: %+v (want >= 100 packets each way)", rec.RTP)
	}
	var agentLeg *store.CallLeg
	for i := range rec.Legs {
		if rec.Legs[i].Role == "agent" {
			agentLeg = &rec.Legs[i]
		}
	}
	if agentLeg == nil || !strings.Contains(agentLeg.URI, "agent01") {
		t.Fatalf("no agent01 leg in the call record: %+v", rec.Legs)
	}
	id := rec.Contact

	// The agent leg's media, as the SIP service counted it (the CDR keeps
	// only the citizen leg's counters), and as the phone heard it.
	ended := a.callEndedLog(t, id)
	if fsNum(ended, "agent_rx") < 50 || fsNum(ended, "agent_tx") < 50 {
		t.Fatalf("agent leg RTP missing: agent_rx %v agent_tx %v (want >= 50 each way)", ended["agent_rx"], ended["agent_tx"])
	}
	if n := phone.DecodedBytes(); n < 8000 { // > 0.5 s of 16-bit 8 kHz audio
		t.Fatalf("agent phone decoded only %d bytes of audio", n)
	}

	// The contact row and its history.
	c := fsEndedContact(t, a.Store(), 5*time.Second, id)
	t.Logf("contact: %+v", c)
	if c.Agent != "agent01" || c.Queue != "gen-110" {
		t.Fatalf("contact row: agent %q queue %q; want agent01 gen-110", c.Agent, c.Queue)
	}
	checkContactArrival(t, c, "01011112222")
	if c.EndReason != router.EndCompleted.String() || c.Answered.IsZero() {
		t.Fatalf("contact row: end reason %q answered %v; want completed and answered", c.EndReason, c.Answered)
	}
	evs, err := a.Store().ContactEvents(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	offerReason := ""
	for _, e := range evs {
		states = append(states, e.State)
		if e.State == router.Offered.String() && e.Agent == "agent01" {
			offerReason = e.Reason
		}
	}
	t.Logf("contact %d history: %v; offer reason %q", id, states, offerReason)
	if !fsInOrder(states, router.Offered.String(), router.Talking.String(), router.Ended.String()) {
		t.Fatalf("contact history %v lacks offered -> talking -> ended", states)
	}
	if !strings.Contains(offerReason, "agent01") {
		t.Fatalf("offer decision reason %q does not name agent01", offerReason)
	}

	// Routing: the contact is over, the agent in wrap-up (never stuck busy),
	// and Ready again once wrap-up is done.
	if v, ok := a.contact(t, router.ContactID(id)); ok && v.State != router.Ended {
		t.Fatalf("routing still holds contact %d in state %s", id, v.State)
	}
	v, _ := a.agent(t, "agent01")
	if v.State != router.WrapUp && v.State != router.Ready {
		t.Fatalf("agent01 is %s after the call, want wrap-up or ready (active %v offered %v)", v.State, v.Active, v.Offered)
	}
	if len(v.Active) != 0 || len(v.Offered) != 0 {
		t.Fatalf("agent01 still holds contacts after the call: active %v offered %v", v.Active, v.Offered)
	}
	if v.State == router.WrapUp {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		if _, err := a.Hub().Do(ctx, router.WrapUpDone{Agent: "agent01"}); err != nil {
			t.Fatalf("WrapUpDone: %v", err)
		}
	}
	testpeers.WaitFor(t, 5*time.Second, "agent01 ready after wrap-up", func() bool {
		v, _ := a.agent(t, "agent01")
		return v.State == router.Ready
	})
}

// TestFullStackAbandonWhileQueued: no agent is logged in; a citizen calls
// 110, hears the greeting and queue media for 3 s and hangs up. The contact
// ends abandoned in the store and in routing.
func TestFullStackAbandonWhileQueued(t *testing.T) {
	a := fsStart(t, t.TempDir())
	citizen := fsStartSipp(t, a.sipUDP(), fsHotline, fsCitizen{From: "01033334444", Audio: true, HoldFor: 3000})
	if err := citizen.Wait(t, 20*time.Second); err != nil {
		t.Fatalf("citizen scenario failed (expected answer, 3 s in queue, own BYE): %v", err)
	}
	rec := a.callRecordTo(t, 5*time.Second, fsHotline)
	checkAbandoned(t, a, rec, 2*time.Second)
}

func checkAbandoned(t *testing.T, a *fsApp, rec store.CallRecord, minWait time.Duration) {
	t.Helper()
	t.Logf("call record: %+v", rec)
	if rec.Contact == 0 || !rec.Answered.IsZero() || rec.HangupCause != "citizen-bye" {
		t.Fatalf("call record: want a contact never answered by an agent, ended by the citizen: %+v", rec)
	}
	if rec.RTP.PacketsReceived < 50 || rec.RTP.PacketsSent < 50 {
		t.Fatalf("queue media missing on the citizen leg: %+v", rec.RTP)
	}
	for _, l := range rec.Legs {
		if l.Role == "agent" {
			t.Fatalf("an agent leg with no agent logged in: %+v", rec.Legs)
		}
	}
	c := fsEndedContact(t, a.Store(), 5*time.Second, rec.Contact)
	t.Logf("contact: %+v", c)
	checkContactArrival(t, c, "")
	if c.EndReason != router.EndAbandoned.String() || c.Agent != "" || !c.Answered.IsZero() {
		t.Fatalf("contact: end reason %q agent %q answered %v; want abandoned, no agent, never answered",
			c.EndReason, c.Agent, c.Answered)
	}
	if !c.Arrived.IsZero() && !c.Ended.IsZero() {
		if w := c.Ended.Sub(c.Arrived); w < minWait {
			t.Fatalf("contact waited %s (arrived %v ended %v), want >= %s", w, c.Arrived, c.Ended, minWait)
		}
	}
	evs, err := a.Store().ContactEvents(t.Context(), rec.Contact)
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, e := range evs {
		states = append(states, e.State)
	}
	t.Logf("contact %d history: %v", rec.Contact, states)
	if !fsInOrder(states, router.Waiting.String(), router.Ended.String()) || fsInOrder(states, router.Offered.String()) {
		t.Fatalf("contact history %v, want waiting -> ended with no offer", states)
	}
	if v, ok := a.contact(t, router.ContactID(rec.Contact)); ok && v.State != router.Ended {
		t.Fatalf("routing still holds contact %d in state %s", rec.Contact, v.State)
	}
}

// TestFullStackRestartRecovers: a call abandons, then a second call is still
// queued when the server shuts down. Shutdown ends the call in flight with
// a BYE to the citizen; a new App on the same data directory keeps the
// ended contacts, leaves no contact open and continues contact ids.
func TestFullStackRestartRecovers(t *testing.T) {
	dir := t.TempDir()
	a := fsStart(t, dir)
	first := fsStartSipp(t, a.sipUDP(), fsHotline, fsCitizen{From: "01055556666", Audio: true, HoldFor: 2500})
	if err := first.Wait(t, 20*time.Second); err != nil {
		t.Fatalf("first citizen: %v", err)
	}
	rec := a.callRecordTo(t, 5*time.Second, fsHotline)
	checkAbandoned(t, a, rec, 2*time.Second)

	// A second call waits in the queue (no agent) and waits for our BYE.
	second := fsStartSipp(t, a.sipUDP(), fsHotline, fsCitizen{From: "01077778888", WaitBye: 40000})
	var waiting router.ContactID
	testpeers.WaitFor(t, 10*time.Second, "second call waiting in gen-110", func() bool {
		var found router.ContactID
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		if err := a.Hub().Query(ctx, func(e *router.Engine) {
			for id := router.ContactID(rec.Contact + 1); id < router.ContactID(rec.Contact+20); id++ {
				if v, ok := e.Contact(id); ok && v.State == router.Waiting {
					found = id
				}
			}
		}); err != nil {
			t.Fatalf("hub query: %v", err)
		}
		waiting = found
		return found != 0
	})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := a.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := second.Wait(t, 10*time.Second); err != nil {
		t.Fatalf("the queued citizen did not get a BYE from Shutdown: %v", err)
	}

	b := fsStart(t, dir)
	old := fsEndedContact(t, b.Store(), time.Second, rec.Contact)
	if old.EndReason != router.EndAbandoned.String() {
		t.Errorf("after restart contact %d end reason %q, want abandoned (see .agents/fullstack-findings.md F3)",
			rec.Contact, old.EndReason)
	}
	inFlight := fsEndedContact(t, b.Store(), 5*time.Second, uint64(waiting))
	t.Logf("contact in flight at shutdown: %+v", inFlight)
	switch inFlight.EndReason {
	case router.EndAbandoned.String(), router.EndSystemRestart.String():
	default:
		t.Fatalf("contact in flight at shutdown ended %q, want abandoned (drained) or system-restart (recovered)",
			inFlight.EndReason)
	}
	// Shutdown drained the call (BYE above): the old process itself should
	// have recorded the contact's end, before any recovery closed it.
	evs, err := b.Store().ContactEvents(t.Context(), uint64(waiting))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("contact %d history after restart: %+v", waiting, evs)
	drained := false
	for _, e := range evs {
		if e.State == router.Ended.String() && !strings.Contains(e.Reason, router.EndSystemRestart.String()) {
			drained = true
		}
	}
	if !drained {
		t.Errorf("contact %d in flight at Shutdown has no end recorded by the draining process: %+v", waiting, evs)
	}
	if _, ok := b.contact(t, waiting); ok {
		t.Fatalf("restarted routing holds contact %d again", waiting)
	}
	if next := b.Hub().NewContactID(); uint64(next) <= uint64(waiting) {
		t.Fatalf("contact ids restart at %d, want > %d", next, waiting)
	}
}

// checkContactArrival reports (without stopping the test) a contact row
// missing what its arrival should have written: channel, hotline and the
// citizen's number (masked or not, its last 4 digits stay).
func checkContactArrival(t *testing.T, c store.Contact, citizen string) {
	t.Helper()
	if c.Channel != router.Voice.String() || c.Hotline != fsHotline {
		t.Errorf("contact %d row: channel %q hotline %q; want voice %s (see .agents/fullstack-findings.md F1)",
			c.ID, c.Channel, c.Hotline, fsHotline)
	}
	if citizen != "" && !strings.HasSuffix(c.Citizen, citizen[len(citizen)-4:]) {
		t.Errorf("contact %d row: citizen %q, want the caller %s", c.ID, c.Citizen, citizen)
	}
}

// fsInOrder reports whether want occurs in got as a subsequence.
func fsInOrder(got []string, want ...string) bool {
	i := 0
	for _, s := range got {
		if i < len(want) && s == want[i] {
			i++
		}
	}
	return i == len(want)
}
