package sip

import (
	"net/netip"
	"runtime"
	"testing"
	"time"

	"onecall/router"
	"onecall/store"
)

// TestCallDTMFChoiceBridgeCitizenBye: SIPp citizen presses 2 with the stock
// RFC 4733 pcap (first packet duration 0), reaches the labor queue, is
// offered to agent01 (a SIPp phone that answers and speaks), audio flows both
// ways through our bridge, the citizen hangs up, the agent leg gets BYE.
func TestCallDTMFChoiceBridgeCitizenBye(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, []router.AgentID{"agent01"}, nil)
	agent := startSipp(t, "agent.xml", agentParams{Mode: "answer", WaitBye: 30000}, "", "")
	env.loc.set("agent01", agent.uri("agent01"))
	citizen := startSipp(t, "citizen.xml", citizenParams{From: "01012345678", DTMFAfter: 300, Digit: "2",
		Audio: true, HoldFor: 7000}, env.udp, "1350")

	if err := citizen.wait(t, 40*time.Second); err != nil {
		t.Fatalf("citizen: %v", err)
	}
	if err := agent.wait(t, 10*time.Second); err != nil {
		t.Fatalf("agent: %v", err)
	}
	ev := env.hub.waitEvent(t, 5*time.Second, "ContactArrived", func(e router.Event) bool {
		_, ok := e.(router.ContactArrived)
		return ok
	}).(router.ContactArrived)
	if ev.Queue != "labor" || ev.Channel != router.Voice || ev.Number != "1350" || ev.Citizen != "01012345678" {
		t.Fatalf("arrived = %+v, want queue labor from 01012345678", ev)
	}
	if len(ev.Skills) != 1 || ev.Skills[0].Skill != "labor" {
		t.Fatalf("skills = %+v", ev.Skills)
	}
	env.hub.waitEvent(t, 5*time.Second, "OfferAccepted", func(e router.Event) bool {
		a, ok := e.(router.OfferAccepted)
		return ok && a.Agent == "agent01"
	})
	env.hub.waitEvent(t, 5*time.Second, "ContactEnded", func(e router.Event) bool {
		a, ok := e.(router.ContactEnded)
		return ok && a.Reason == router.EndCompleted
	})
	rec := env.store.wait(t, 5*time.Second)
	t.Logf("record: %+v", rec)
	if rec.Agent != "agent01" || rec.Answered.IsZero() || rec.Cause != causeCitizenBye || rec.Codec != "pcma" || rec.Legs != 2 {
		t.Fatalf("record = %+v", rec)
	}
	// Two-way audio: the citizen's and the agent's speech crossed the bridge.
	if rec.RxPackets < minAudio || rec.AgentRx < minAudio || rec.AgentTx < minAudio || rec.TxPackets < minAudio {
		t.Fatalf("RTP counters too low: %+v", rec)
	}
	// The service totals (exported as onecall_sip_*) count the same call.
	if st := env.svc.Stats(); st.Ended != 1 || st.Answered != 1 || st.CitizenRx != rec.RxPackets ||
		st.CitizenTx != rec.TxPackets || st.AgentRx != rec.AgentRx || st.AgentTx != rec.AgentTx {
		t.Fatalf("Stats = %+v, record %+v", st, rec)
	}
	// The CDR reached the store.
	waitFor(t, 5*time.Second, "CDR in the store", func() bool {
		cdrs, err := env.db.CallRecords(t.Context(), 10)
		return err == nil && len(cdrs) == 1 && cdrs[0].CallID == rec.CallID && len(cdrs[0].Legs) == 2 &&
			cdrs[0].Legs[1].Role == "agent" && cdrs[0].RTP.PacketsReceived == rec.RxPackets && cdrs[0].HangupCause == causeCitizenBye
	})
	for _, e := range env.hub.events() {
		if _, ok := e.(router.ContactAbandoned); ok {
			t.Fatalf("unexpected abandon: %#v", env.hub.events())
		}
	}
}

func isEv[T router.Event](f func(T) bool) func(router.Event) bool {
	return func(e router.Event) bool {
		v, ok := e.(T)
		return ok && (f == nil || f(v))
	}
}

// TestLateOfferInfoDTMFAgentBye: INVITE without SDP (answered with our offer,
// SDP in the ACK), the choice by SIP INFO (diago would answer 488), and the
// agent hangs up first: the citizen gets our BYE.
func TestLateOfferInfoDTMFAgentBye(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, []router.AgentID{"agent01"}, nil)
	agent := startSipp(t, "agent.xml", agentParams{Mode: "bye", HoldFor: 3000}, "", "")
	env.loc.set("agent01", agent.uri("agent01"))
	citizen := startSipp(t, "citizen.xml", citizenParams{From: "0212345678", LateOffer: true, DTMFAfter: 300,
		InfoDigit: "9", Audio: true, WaitBye: 30000}, env.udp, "1350")
	if err := citizen.wait(t, 40*time.Second); err != nil {
		t.Fatalf("citizen: %v", err)
	}
	if err := agent.wait(t, 10*time.Second); err != nil {
		t.Fatalf("agent: %v", err)
	}
	ev := env.hub.waitEvent(t, 5*time.Second, "ContactArrived", isEv[router.ContactArrived](nil)).(router.ContactArrived)
	if ev.Queue != "english" || ev.Language != "en" {
		t.Fatalf("arrived = %+v, want english", ev)
	}
	env.hub.waitEvent(t, 5*time.Second, "ContactEnded", isEv(func(e router.ContactEnded) bool { return e.Reason == router.EndCompleted }))
	rec := env.store.wait(t, 5*time.Second)
	if rec.Cause != causeAgentBye || rec.AgentRx < minAudio || rec.RxPackets < minAudio {
		t.Fatalf("record = %+v", rec)
	}
}

// TestAdmission: non-trunk source -> 403, unknown number -> 404, over the
// concurrent-call cap -> 503; all before any media (no call record).
func TestAdmission(t *testing.T) {
	t.Parallel()
	t.Run("non-trunk 403", func(t *testing.T) {
		t.Parallel()
		env := newTestEnv(t, nil, func(o *Options, _ *fakeHub) {
			o.Demo = false
			o.Trunks = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
		})
		c := startSipp(t, "citizen.xml", citizenParams{From: "01011112222", Expect: 403}, env.udp, "1350")
		if err := c.wait(t, 20*time.Second); err != nil {
			t.Fatal(err)
		}
		if n := len(env.hub.events()); n != 0 {
			t.Fatalf("routing saw %d events", n)
		}
	})
	t.Run("unknown number 404", func(t *testing.T) {
		t.Parallel()
		env := newTestEnv(t, nil, nil)
		c := startSipp(t, "citizen.xml", citizenParams{From: "01011112222", Expect: 404}, env.udp, "4242")
		if err := c.wait(t, 20*time.Second); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("hub busy 503", func(t *testing.T) {
		t.Parallel()
		env := newTestEnv(t, nil, func(_ *Options, h *fakeHub) { h.busy.Store(true) })
		c := startSipp(t, "citizen.xml", citizenParams{From: "01011112222", Expect: 503}, env.udp, "110")
		if err := c.wait(t, 20*time.Second); err != nil {
			t.Fatal(err)
		}
		if rec := env.store.wait(t, 2*time.Second); rec.Cause != causeBusy || rec.RxPackets != 0 || rec.Codec != "" {
			t.Fatalf("record = %+v", rec)
		}
	})
	t.Run("overload 503", func(t *testing.T) {
		t.Parallel()
		env := newTestEnv(t, nil, func(o *Options, _ *fakeHub) { o.MaxCalls = 1 })
		first := startSipp(t, "citizen.xml", citizenParams{From: "01011112222", HoldFor: 6000}, env.udp, "110")
		env.hub.waitEvent(t, 10*time.Second, "first ContactArrived", isEv[router.ContactArrived](nil))
		second := startSipp(t, "citizen.xml", citizenParams{From: "01033334444", Expect: 503}, env.udp, "110")
		if err := second.wait(t, 20*time.Second); err != nil {
			t.Fatalf("second: %v", err)
		}
		if err := first.wait(t, 20*time.Second); err != nil {
			t.Fatalf("established call suffered: %v", err)
		}
	})
}

// TestAbandonInQueue: nobody answers; the citizen hears hold music and hangs
// up: ContactAbandoned, never ContactEnded.
func TestAbandonInQueue(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, nil, nil)
	c := startSipp(t, "citizen.xml", citizenParams{From: "01011112222", HoldFor: 6000}, env.udp, "110")
	if err := c.wait(t, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	env.hub.waitEvent(t, 5*time.Second, "ContactAbandoned", isEv[router.ContactAbandoned](nil))
	rec := env.store.wait(t, 5*time.Second)
	if rec.TxPackets < minAudio || !rec.Answered.IsZero() || rec.Cause != causeCitizenBye {
		t.Fatalf("record = %+v (want hold music sent, never answered)", rec)
	}
	if env.hub.has(isEv[router.ContactEnded](nil)) {
		t.Fatal("ContactEnded after an abandon")
	}
}

// TestNextAgentAfterBusyAndNoAnswer: agent01 answers 486, agent02 rings past
// the offer timeout (we CANCEL), agent03 answers: OfferRejected twice, then
// the call is bridged to agent03.
func TestNextAgentAfterBusyAndNoAnswer(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, []router.AgentID{"agent01", "agent02", "agent03"}, func(_ *Options, h *fakeHub) {
		h.offerFor = 2 * time.Second
	})
	a1 := startSipp(t, "agent.xml", agentParams{Mode: "reject", Code: 486}, "", "")
	a2 := startSipp(t, "agent.xml", agentParams{Mode: "ring"}, "", "")
	a3 := startSipp(t, "agent.xml", agentParams{Mode: "answer", WaitBye: 30000}, "", "")
	env.loc.set("agent01", a1.uri("agent01"))
	env.loc.set("agent02", a2.uri("agent02"))
	env.loc.set("agent03", a3.uri("agent03"))
	c := startSipp(t, "citizen.xml", citizenParams{From: "01011112222", Audio: true, HoldFor: 9000}, env.udp, "110")
	for i, a := range []*sippRun{a1, a2, c, a3} {
		if err := a.wait(t, 40*time.Second); err != nil {
			t.Fatalf("peer %d: %v", i, err)
		}
	}
	env.hub.waitEvent(t, 5*time.Second, "reject agent01", isEv(func(e router.OfferRejected) bool { return e.Agent == "agent01" && e.Reason == "busy" }))
	env.hub.waitEvent(t, 5*time.Second, "reject agent02", isEv(func(e router.OfferRejected) bool { return e.Agent == "agent02" && e.Reason == "no answer" }))
	env.hub.waitEvent(t, 5*time.Second, "accept agent03", isEv(func(e router.OfferAccepted) bool { return e.Agent == "agent03" }))
	env.hub.waitEvent(t, 5*time.Second, "ContactEnded", isEv[router.ContactEnded](nil))
	if rec := env.store.wait(t, 5*time.Second); rec.Agent != "agent03" || rec.AgentRx < minAudio {
		t.Fatalf("record = %+v", rec)
	}
}

// withdrawWhileRinging: agent01's phone (agent.xml in mode) rings for a
// second, then the router withdraws the offer; the citizen hangs up after
// 5 s. It returns when both SIPp scenarios passed and the contact was
// abandoned, never accepted nor rejected.
func withdrawWhileRinging(t *testing.T, mode string) *testEnv {
	t.Helper()
	env := newTestEnv(t, []router.AgentID{"agent01"}, func(_ *Options, h *fakeHub) { h.offerFor = 20 * time.Second })
	a1 := startSipp(t, "agent.xml", agentParams{Mode: mode}, "", "")
	env.loc.set("agent01", a1.uri("agent01"))
	c := startSipp(t, "citizen.xml", citizenParams{From: "01011112222", HoldFor: 5000}, env.udp, "110")
	ev := env.hub.waitEvent(t, 10*time.Second, "ContactArrived", isEv[router.ContactArrived](nil)).(router.ContactArrived)
	deadline := time.Now().Add(5 * time.Second)
	for env.svc.lookupCall(ev.Contact) == nil && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	time.AfterFunc(time.Second, func() {
		env.hub.inject(router.OfferWithdrawn{Contact: ev.Contact, Agent: "agent01", Reason: "test"})
	})
	if err := a1.wait(t, 20*time.Second); err != nil {
		t.Fatalf("agent phone (%s): %v", mode, err)
	}
	if err := c.wait(t, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	env.hub.waitEvent(t, 5*time.Second, "ContactAbandoned", isEv[router.ContactAbandoned](nil))
	if env.hub.has(isEv[router.OfferRejected](nil)) || env.hub.has(isEv[router.OfferAccepted](nil)) {
		t.Fatalf("offer accepted or rejected after a withdrawal: %#v", env.hub.events())
	}
	return env
}

// TestStrayAnswerAfterNoAnswer: agent01's phone sends no provisional
// response, so at the offer timeout we give up without a CANCEL; its 200
// comes later anyway and still gets ACK and BYE, while the call goes on to
// agent02.
func TestStrayAnswerAfterNoAnswer(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, []router.AgentID{"agent01", "agent02"}, func(_ *Options, h *fakeHub) { h.offerFor = time.Second })
	a1 := startSipp(t, "agent.xml", agentParams{Mode: "silent200", HoldFor: 2500}, "", "")
	a2 := startSipp(t, "agent.xml", agentParams{Mode: "answer", WaitBye: 30000}, "", "")
	env.loc.set("agent01", a1.uri("agent01"))
	env.loc.set("agent02", a2.uri("agent02"))
	c := startSipp(t, "citizen.xml", citizenParams{From: "01011112222", HoldFor: 6000}, env.udp, "110")
	if err := a1.wait(t, 20*time.Second); err != nil {
		t.Fatalf("agent01's late 200 was not ACKed and hung up: %v", err)
	}
	for i, p := range []*sippRun{c, a2} {
		if err := p.wait(t, 30*time.Second); err != nil {
			t.Fatalf("peer %d: %v", i, err)
		}
	}
	env.hub.waitEvent(t, 5*time.Second, "reject agent01", isEv(func(e router.OfferRejected) bool { return e.Agent == "agent01" }))
	env.hub.waitEvent(t, 5*time.Second, "accept agent02", isEv(func(e router.OfferAccepted) bool { return e.Agent == "agent02" }))
	if env.hub.has(isEv(func(e router.OfferAccepted) bool { return e.Agent == "agent01" })) {
		t.Fatal("the stray answer became the bridge")
	}
	if rec := env.store.wait(t, 5*time.Second); rec.Agent != "agent02" {
		t.Fatalf("record = %+v", rec)
	}
}

// TestWithdrawnOfferCancelsAgentLeg: OfferWithdrawn while agent01 rings ->
// CANCEL to the phone (it answers 487), no OfferRejected; the citizen then
// abandons.
func TestWithdrawnOfferCancelsAgentLeg(t *testing.T) {
	t.Parallel()
	withdrawWhileRinging(t, "ring")
}

// TestCitizenReinvite: a bridged caller sends a re-INVITE (a session
// refresh with the same media): it gets 200 with our SDP, the bridge stays
// up and carries the caller's audio after it, and the call ends normally.
func TestCitizenReinvite(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, []router.AgentID{"agent01"}, nil)
	a1 := startSipp(t, "agent.xml", agentParams{Mode: "answer", WaitBye: 30000}, "", "")
	env.loc.set("agent01", a1.uri("agent01"))
	c := startSipp(t, "citizen.xml", citizenParams{From: "01011112222", Audio: true, Reinvite: 1000, HoldFor: 6000}, env.udp, "110")
	env.hub.waitEvent(t, 10*time.Second, "accept agent01", isEv(func(e router.OfferAccepted) bool { return e.Agent == "agent01" }))
	for i, p := range []*sippRun{c, a1} {
		if err := p.wait(t, 30*time.Second); err != nil {
			t.Fatalf("peer %d: %v", i, err)
		}
	}
	env.hub.waitEvent(t, 5*time.Second, "ContactEnded", isEv(func(e router.ContactEnded) bool { return e.Reason == router.EndCompleted }))
	rec := env.store.wait(t, 5*time.Second)
	// At most ~1 s of speech (50 packets) came before the re-INVITE; the
	// rest (the pcap is ~4.8 s) crossed the bridge after it.
	if rec.Cause != causeCitizenBye || rec.Agent != "agent01" || rec.RxPackets < 150 || rec.AgentTx < 150 {
		t.Fatalf("record = %+v", rec)
	}
}

// TestCancelRacesAgent200: the phone's 200 crosses our CANCEL of a
// withdrawn offer. The late answer is ACKed and hung up with BYE (the
// phone's scenario fails otherwise), it never becomes the bridge, and the
// citizen stays in the queue until they hang up.
func TestCancelRacesAgent200(t *testing.T) {
	t.Parallel()
	env := withdrawWhileRinging(t, "late200")
	if rec := env.store.wait(t, 5*time.Second); !rec.Answered.IsZero() || rec.Agent != "" {
		t.Fatalf("record = %+v", rec)
	}
}

// TestAgentPhoneVanishes: the agent phone answers and then sends no RTP and
// no BYE: after NoRTPTimeout both legs are hung up and the agent released
// with EndAgentLost.
func TestAgentPhoneVanishes(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, []router.AgentID{"agent01"}, func(o *Options, _ *fakeHub) { o.NoRTPTimeout = 3 * time.Second })
	a1 := startSipp(t, "agent.xml", agentParams{Mode: "vanish", WaitBye: 30000}, "", "")
	env.loc.set("agent01", a1.uri("agent01"))
	c := startSipp(t, "citizen.xml", citizenParams{From: "01011112222", Audio: true, WaitBye: 30000}, env.udp, "110")
	if err := c.wait(t, 40*time.Second); err != nil {
		t.Fatalf("citizen: %v", err)
	}
	if err := a1.wait(t, 10*time.Second); err != nil {
		t.Fatalf("agent: %v", err)
	}
	env.hub.waitEvent(t, 5*time.Second, "ContactEnded(agent lost)", isEv(func(e router.ContactEnded) bool { return e.Reason == router.EndAgentLost }))
	if rec := env.store.wait(t, 5*time.Second); rec.Cause != causeAgentLost {
		t.Fatalf("record = %+v", rec)
	}
}

// TestVirtualHoldCallback: waiting on a line with an outbound trunk, the
// citizen presses 1: CallbackRequested, a durable booking with the
// original arrival time, confirmation, our BYE; the callback re-enters
// routing under the same contact id at its original arrival.
func TestVirtualHoldCallback(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, nil, func(o *Options, _ *fakeHub) {
		o.Outbound.Trunks = []OutboundTrunk{{Name: "a", Address: "127.0.0.1:9"}}
	})
	c := startSipp(t, "citizen.xml", citizenParams{From: "01055556666", DTMFAfter: 300, Digit2: "1", Digit2After: 5000, WaitBye: 30000}, env.udp, "110")
	if err := c.wait(t, 40*time.Second); err != nil {
		t.Fatal(err)
	}
	env.hub.waitEvent(t, 5*time.Second, "CallbackRequested", isEv(func(e router.CallbackRequested) bool { return e.Number == "01055556666" }))
	rec := env.store.wait(t, 5*time.Second)
	if rec.Cause != causeCallback {
		t.Fatalf("record = %+v", rec)
	}
	cbs, err := env.db.Callbacks(t.Context(), store.CallbackBooked)
	if err != nil {
		t.Fatal(err)
	}
	if len(cbs) != 1 || cbs[0].CitizenNumber != "01055556666" || cbs[0].Arrived.Sub(rec.Arrived).Abs() > time.Millisecond || cbs[0].Hotline != "110" {
		t.Fatalf("bookings = %+v", cbs)
	}
	if env.hub.has(isEv[router.ContactAbandoned](nil)) {
		t.Fatal("abandon after a callback booking")
	}
	env.hub.waitEvent(t, 5*time.Second, "callback routed", isEv(func(e router.ContactArrived) bool {
		return e.Callback && e.Contact == rec.Contact && e.Arrived.Sub(cbs[0].Arrived).Abs() <= time.Millisecond && e.Citizen == "01055556666" &&
			e.Attrs["kind"] == "callback" && e.Attrs["attempt"] == "1"
	}))
	if env.svc.PendingCallbacks() != 1 {
		t.Fatalf("pending callbacks %d", env.svc.PendingCallbacks())
	}
}

// TestNoCallbackWithoutTrunk: with no outbound trunk (the shipped config)
// no callback is promised: pressing 1 books nothing and the call stays in
// line until the citizen hangs up; so on a line whose callback is off.
func TestNoCallbackWithoutTrunk(t *testing.T) {
	t.Parallel()
	for _, withTrunk := range []bool{false, true} {
		env := newTestEnv(t, nil, func(o *Options, _ *fakeHub) {
			if withTrunk {
				o.Outbound.Trunks = []OutboundTrunk{{Name: "a", Address: "127.0.0.1:9"}}
				o.Lines = staticLines{"110": {Callback: false}}
			}
		})
		if env.svc.CallbacksOn("110") {
			t.Fatalf("trunk %v: callbacks on", withTrunk)
		}
		c := startSipp(t, "citizen.xml", citizenParams{From: "01055556666", DTMFAfter: 300, Digit2: "1", Digit2After: 3000, HoldFor: 6000}, env.udp, "110")
		if err := c.wait(t, 40*time.Second); err != nil {
			t.Fatal(err)
		}
		rec := env.store.wait(t, 5*time.Second)
		if rec.Cause != causeCitizenBye {
			t.Fatalf("trunk %v: record = %+v", withTrunk, rec)
		}
		if env.hub.has(isEv[router.CallbackRequested](nil)) {
			t.Fatalf("trunk %v: callback booked", withTrunk)
		}
	}
}

type staticLines map[string]Line

func (l staticLines) Line(n string) (Line, bool) { v, ok := l[n]; return v, ok }

// TestClosedHotline: the router closes the contact with EndRefusedClosed:
// after-hours message, then our BYE.
func TestClosedHotline(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, nil, func(_ *Options, h *fakeHub) {
		h.onEvent = func(ev router.Event) []router.Command {
			if a, ok := ev.(router.ContactArrived); ok {
				return []router.Command{router.ContactClosed{Contact: a.Contact, Channel: router.Voice, Reason: router.EndRefusedClosed}}
			}
			return nil
		}
	})
	c := startSipp(t, "citizen.xml", citizenParams{From: "01011112222", WaitBye: 30000}, env.udp, "110")
	if err := c.wait(t, 40*time.Second); err != nil {
		t.Fatal(err)
	}
	rec := env.store.wait(t, 5*time.Second)
	if rec.Cause != causeClosed || rec.TxPackets < minAudio {
		t.Fatalf("record = %+v", rec)
	}
	if env.hub.has(isEv[router.ContactAbandoned](nil)) {
		t.Fatal("abandon after the router closed the contact")
	}
}

// TestConsoleControl: hold, resume, blind transfer (agent leg dropped,
// ContactTransferred, caller back in queue, next agent bridged) and hang up,
// all through the Go API the console uses.
func TestConsoleControl(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, []router.AgentID{"agent01", "agent02"}, nil)
	a1 := startSipp(t, "agent.xml", agentParams{Mode: "answer", WaitBye: 30000}, "", "")
	a2 := startSipp(t, "agent.xml", agentParams{Mode: "answer", WaitBye: 30000}, "", "")
	env.loc.set("agent01", a1.uri("agent01"))
	env.loc.set("agent02", a2.uri("agent02"))
	c := startSipp(t, "citizen.xml", citizenParams{From: "01011112222", Audio: true, WaitBye: 30000}, env.udp, "110")
	ev := env.hub.waitEvent(t, 15*time.Second, "ContactArrived", isEv[router.ContactArrived](nil)).(router.ContactArrived)
	ctx := t.Context()
	if err := env.svc.Hold(ctx, ev.Contact+100); err != ErrNoCall {
		t.Fatalf("hold of unknown contact: %v", err)
	}
	env.hub.waitEvent(t, 10*time.Second, "accept agent01", isEv(func(e router.OfferAccepted) bool { return e.Agent == "agent01" }))
	if err := env.svc.Hold(ctx, ev.Contact); err != nil {
		t.Fatalf("hold: %v", err)
	}
	if err := env.svc.Resume(ctx, ev.Contact); err != nil {
		t.Fatalf("resume: %v", err)
	}
	if err := env.svc.Transfer(ctx, ev.Contact, router.TransferTarget{Queue: "labor"}, "agent01", ""); err != nil {
		t.Fatalf("transfer: %v", err)
	}
	if err := a1.wait(t, 10*time.Second); err != nil {
		t.Fatalf("agent01 leg not dropped: %v", err)
	}
	env.hub.waitEvent(t, 5*time.Second, "ContactTransferred", isEv(func(e router.ContactTransferred) bool {
		return e.ToQueue == "labor" && e.By == "agent01"
	}))
	env.hub.waitEvent(t, 10*time.Second, "accept agent02", isEv(func(e router.OfferAccepted) bool { return e.Agent == "agent02" }))
	if err := env.svc.Hangup(ctx, ev.Contact); err != nil {
		t.Fatalf("hangup: %v", err)
	}
	for i, p := range []*sippRun{a2, c} {
		if err := p.wait(t, 10*time.Second); err != nil {
			t.Fatalf("peer %d: %v", i, err)
		}
	}
	env.hub.waitEvent(t, 5*time.Second, "ContactEnded", isEv[router.ContactEnded](nil))
	rec := env.store.wait(t, 5*time.Second)
	if rec.Cause != causeConsole || rec.Legs != 3 || rec.Agent != "agent02" || rec.Holds != 1 {
		t.Fatalf("record = %+v", rec)
	}
	// The CDR keeps each agent leg's own RTP counters; together they are
	// the call's agent totals.
	cdr := env.onlyCDR(t)
	if len(cdr.Legs) != 3 || cdr.Legs[1].Role != "agent" || cdr.Legs[2].Role != "agent" || cdr.Legs[1].CallID == cdr.Legs[2].CallID {
		t.Fatalf("CDR legs = %+v", cdr.Legs)
	}
	a1rtp, a2rtp := cdr.Legs[1].RTP, cdr.Legs[2].RTP
	t.Logf("agent legs: %+v %+v; record agent rx %d tx %d", a1rtp, a2rtp, rec.AgentRx, rec.AgentTx)
	if a1rtp.PacketsReceived+a2rtp.PacketsReceived != rec.AgentRx || a1rtp.PacketsSent+a2rtp.PacketsSent != rec.AgentTx {
		t.Fatalf("agent legs' RTP %+v + %+v, record rx %d tx %d", a1rtp, a2rtp, rec.AgentRx, rec.AgentTx)
	}
}

// TestNoAckGetsBye: a 2xx never ACKed (RFC 3261 13.3.1.4): sipgo stops
// retransmitting after 64*T1 but sends no BYE; we do, and nothing reaches
// routing. Slow (~32 s) by nature; runs in parallel with the rest.
func TestNoAckGetsBye(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, nil, nil)
	c := startSipp(t, "citizen.xml", citizenParams{From: "01011112222", NoAck: true}, env.udp, "110")
	if err := c.wait(t, 70*time.Second); err != nil {
		t.Fatalf("no BYE after the unACKed 2xx: %v", err)
	}
	if rec := env.store.wait(t, 10*time.Second); rec.Cause != causeAnswerFailed {
		t.Fatalf("record = %+v", rec)
	}
	// 110 has no menu, so the contact entered routing before the answer;
	// it must leave it again.
	env.hub.waitEvent(t, 5*time.Second, "ContactAbandoned", isEv[router.ContactAbandoned](nil))
}

func waitFor(t *testing.T, d time.Duration, what string, f func() bool) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(d)
	for !f() {
		select {
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

// TestAgentPhoneHoldReinvite: the agent phone re-INVITEs with a=sendonly
// (hold) and later a=sendrecv: the citizen hears hold music meanwhile and
// the bridge comes back; the call then ends normally.
func TestAgentPhoneHoldReinvite(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, []router.AgentID{"agent01"}, nil)
	a1 := startSipp(t, "agent.xml", agentParams{Mode: "hold", WaitBye: 30000}, "", "")
	env.loc.set("agent01", a1.uri("agent01"))
	c := startSipp(t, "citizen.xml", citizenParams{From: "01011112222", Audio: true, HoldFor: 12000}, env.udp, "110")
	for i, p := range []*sippRun{c, a1} {
		if err := p.wait(t, 40*time.Second); err != nil {
			t.Fatalf("peer %d: %v", i, err)
		}
	}
	rec := env.store.wait(t, 5*time.Second)
	if rec.Holds != 1 || rec.Cause != causeCitizenBye || rec.AgentRx < minAudio {
		t.Fatalf("record = %+v, want one hold", rec)
	}
	env.hub.waitEvent(t, 5*time.Second, "ContactEnded", isEv[router.ContactEnded](nil))
}

// TestTCPCitizenAndShutdownDuringIVR: a citizen over TCP reaches the menu;
// Close hangs the call up although it never entered routing.
func TestTCPCitizenAndShutdownDuringIVR(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, nil, nil)
	_, tcp := env.svc.Addr()
	c := startSipp(t, "citizen.xml", citizenParams{From: "01011112222", Audio: true, WaitBye: 30000}, tcp, "1350", "-t", "t1")
	waitFor(t, 10*time.Second, "call in progress", func() bool { return env.svc.Active() == 1 })
	waitFor(t, 10*time.Second, "media flowing", func() bool {
		env.svc.mu.Lock()
		defer env.svc.mu.Unlock()
		for _, l := range env.svc.legs {
			if rx, _ := l.Counters(); rx > 20 {
				return true
			}
		}
		return false
	})
	if err := env.svc.Close(); err != nil {
		t.Logf("close: %v", err)
	}
	if err := c.wait(t, 15*time.Second); err != nil {
		t.Fatalf("citizen got no BYE on shutdown: %v", err)
	}
	if env.svc.Active() != 0 {
		t.Fatalf("%d calls left after Close", env.svc.Active())
	}
	if rec := env.store.wait(t, 5*time.Second); rec.RxPackets < 20 {
		t.Fatalf("record = %+v", rec)
	}
}

// TestAnnouncementsRateLimited: two Announce commands in a row while
// waiting: the place and wait are spoken once (AnnounceEvery), hold music
// continues, the citizen abandons.
func TestAnnouncementsRateLimited(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, nil, func(o *Options, _ *fakeHub) { o.AnnounceEvery = time.Minute })
	c := startSipp(t, "citizen.xml", citizenParams{From: "01011112222", HoldFor: 8000}, env.udp, "110")
	ev := env.hub.waitEvent(t, 10*time.Second, "ContactArrived", isEv[router.ContactArrived](nil)).(router.ContactArrived)
	env.hub.inject(router.Announce{Contact: ev.Contact, Channel: router.Voice, Position: 12, EstimatedWait: 3 * time.Minute})
	env.hub.inject(router.Announce{Contact: ev.Contact, Channel: router.Voice, Position: 11, EstimatedWait: 2 * time.Minute})
	env.hub.inject(router.Announce{Contact: ev.Contact, Channel: router.Chat, Position: 1}) // not ours
	if err := c.wait(t, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	rec := env.store.wait(t, 5*time.Second)
	if rec.Announces != 1 || rec.TxPackets < 4*minAudio {
		t.Fatalf("record = %+v, want exactly one announcement", rec)
	}
	env.hub.waitEvent(t, 5*time.Second, "ContactAbandoned", isEv[router.ContactAbandoned](nil))
}
