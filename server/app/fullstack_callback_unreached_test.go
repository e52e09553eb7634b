package app

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"onecall/internal/testpeers"
	"onecall/router"
	"onecall/store"
)

// bookByVoice: a SIPp citizen calls 110 while no agent is signed in,
// presses 1 and is hung up after the booking; it returns the booked row.
func bookByVoice(t *testing.T, a *fsApp, from string) store.Callback {
	t.Helper()
	citizen := testpeers.StartSIPp(t, testpeers.SIPpOptions{Scenario: "../../sip/testdata/citizen.xml",
		Data: sipCitizen{From: from, DTMFAfter: 2500, Digit: "1", WaitBye: 30000}, Remote: a.sipUDP(),
		Service: fsHotline, Timeout: 45 * time.Second})
	if err := citizen.Wait(t, 50*time.Second); err != nil {
		t.Fatalf("citizen (press 1, then our BYE): %v", err)
	}
	var booked []store.Callback
	testpeers.WaitFor(t, 5*time.Second, "callback booked in the store", func() bool {
		booked, _ = a.Store().Callbacks(t.Context(), store.CallbackBooked)
		return len(booked) == 1
	})
	if booked[0].CitizenNumber != from || booked[0].Hotline != fsHotline {
		t.Fatalf("booked %+v", booked[0])
	}
	return booked[0]
}

// withRingTimeout sets outbound.ring_timeout in a config dir's onecall.yaml.
func withRingTimeout(t *testing.T, dir, d string) {
	t.Helper()
	p := dir + "/onecall.yaml"
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), "  ring_timeout: 30s ", "  ring_timeout: "+d+" ", 1)
	if s == string(b) {
		t.Fatal("no ring_timeout in onecall.yaml")
	}
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestFullStackCallbackUnreachedBusy: the carrier (SIPp) answers both
// attempts 486 Busy. With attempts 2 and backoff 10s, the first busy puts
// the callback back to booked with its next attempt 10 s later (the
// contact ends callback-retry and leaves the queue meanwhile); the second
// busy closes it failed with reason callback-unreached, last outcome busy,
// and the contact ends callback-unreached. The agent (baresip) was rung
// for each attempt before the citizen was dialled.
func TestFullStackCallbackUnreachedBusy(t *testing.T) {
	carrier := startCarrier(t, sipCarrier{Mode: "busy", Challenge: 401, User: "onecall", Pass: "s3cret", Nonce: "a1b2c3",
		To: "01033334444", From: "110", RingFor: 300}, 150*time.Second, "-m", "2")
	cfgDir := configWithTrunk(t, "127.0.0.1:"+strconv.Itoa(carrier.Port), 2, "10s")
	a := fsStartAt(t, cfgDir, t.TempDir())
	cb := bookByVoice(t, a, "01033334444")

	testpeers.StartBaresip(t, testpeers.BaresipOptions{User: "agent01", Registrar: a.sipUDP(),
		Password: "demo", Speech: toneWAV(t, 1000, 30), Quit: 150 * time.Second})
	// First attempt: busy -> booked again with next_at = now + backoff.
	var retry store.Callback
	testpeers.WaitFor(t, 60*time.Second, "first attempt busy, callback booked again", func() bool {
		rows, _ := a.Store().Callbacks(t.Context(), store.CallbackBooked)
		if len(rows) == 1 && rows[0].Attempts == 1 && rows[0].Attrs["next_at"] != "" {
			retry = rows[0]
			return true
		}
		return false
	})
	seen := time.Now()
	next, err := time.Parse(time.RFC3339, retry.Attrs["next_at"])
	if err != nil {
		t.Fatalf("next_at %q: %v", retry.Attrs["next_at"], err)
	}
	if wait := next.Sub(seen); wait < 7*time.Second || wait > 11*time.Second {
		t.Errorf("next attempt %v after the first failed, want the 10s backoff", wait)
	}
	if retry.Attrs["last_outcome"] != "busy" {
		t.Errorf("after attempt 1: attrs %v", retry.Attrs)
	}
	// The wallboard counts it as pending, to retry (not in the engine's queue).
	if n := a.sip.ScheduledCallbacks(cb.Queue); n != 1 {
		t.Errorf("callbacks to retry in %s: %d, want 1", cb.Queue, n)
	}
	// Meanwhile the callback is not offered: it waits outside the queue.
	if v, ok := a.contact(t, router.ContactID(cb.Contact)); ok && v.State != router.Ended {
		t.Errorf("during the backoff the callback is %v in %s", v.State, v.Queue)
	}
	var failed []store.Callback
	testpeers.WaitFor(t, 60*time.Second, "second attempt busy, callback closed", func() bool {
		failed, _ = a.Store().Callbacks(t.Context(), store.CallbackFailed)
		return len(failed) == 1
	})
	if took := time.Since(seen); took < 8*time.Second {
		t.Errorf("second attempt %v after the first failed, before the 10s backoff", took)
	}
	f := failed[0]
	if f.Contact != cb.Contact || f.Attempts != 2 || f.Attrs["reason"] != router.EndCallbackUnreached.String() || f.Attrs["last_outcome"] != "busy" {
		t.Fatalf("closed callback %+v", f)
	}
	if err := carrier.Wait(t, 30*time.Second); err != nil {
		t.Fatalf("carrier (two INVITEs answered busy): %v", err)
	}
	if n := a.sip.ScheduledCallbacks(cb.Queue); n != 0 {
		t.Errorf("callbacks to retry in %s after it closed: %d", cb.Queue, n)
	}
	c := fsEndedContact(t, a.Store(), 10*time.Second, cb.Contact)
	if c.EndReason != router.EndCallbackUnreached.String() {
		t.Fatalf("contact ended %q, want %s", c.EndReason, router.EndCallbackUnreached)
	}
}

// TestFullStackCallbackUnreachedNoAnswer: the carrier rings and never
// answers; after outbound.ring_timeout (5s) onecall cancels (SIPp checks
// the CANCEL); with attempts 1 the callback is closed failed at once,
// reason callback-unreached, last outcome no-answer.
func TestFullStackCallbackUnreachedNoAnswer(t *testing.T) {
	carrier := startCarrier(t, sipCarrier{Mode: "ring", Challenge: 401, User: "onecall", Pass: "s3cret", Nonce: "a1b2c3",
		To: "01055556666", From: "110"}, 120*time.Second)
	cfgDir := configWithTrunk(t, "127.0.0.1:"+strconv.Itoa(carrier.Port), 1, "10s")
	withRingTimeout(t, cfgDir, "5s")
	a := fsStartAt(t, cfgDir, t.TempDir())
	cb := bookByVoice(t, a, "01055556666")

	testpeers.StartBaresip(t, testpeers.BaresipOptions{User: "agent01", Registrar: a.sipUDP(),
		Password: "demo", Speech: toneWAV(t, 1000, 30), Quit: 120 * time.Second})
	if err := carrier.Wait(t, 90*time.Second); err != nil {
		t.Fatalf("carrier (rang, got CANCEL): %v", err)
	}
	var failed []store.Callback
	testpeers.WaitFor(t, 20*time.Second, "callback closed unreached", func() bool {
		failed, _ = a.Store().Callbacks(t.Context(), store.CallbackFailed)
		return len(failed) == 1
	})
	f := failed[0]
	if f.Contact != cb.Contact || f.Attempts != 1 || f.Attrs["reason"] != router.EndCallbackUnreached.String() || f.Attrs["last_outcome"] != "no-answer" {
		t.Fatalf("closed callback %+v", f)
	}
	c := fsEndedContact(t, a.Store(), 10*time.Second, cb.Contact)
	if c.EndReason != router.EndCallbackUnreached.String() {
		t.Fatalf("contact ended %q, want %s", c.EndReason, router.EndCallbackUnreached)
	}
}

// TestFullStackCallbackMergedOnNewCall: with no agent signed in, a
// citizen books a callback, then calls the same line again from the same
// number: the pending callback is closed cancelled with reason
// callback-merged (its contact ends callback-merged) and the new call
// waits in the callback's place (its original arrival).
func TestFullStackCallbackMergedOnNewCall(t *testing.T) {
	carrier := startCarrier(t, sipCarrier{Mode: "busy"}, 120*time.Second)
	cfgDir := configWithTrunk(t, "127.0.0.1:"+strconv.Itoa(carrier.Port), 3, "10s")
	a := fsStartAt(t, cfgDir, t.TempDir())
	cb := bookByVoice(t, a, "01077778888")

	again := testpeers.StartSIPp(t, testpeers.SIPpOptions{Scenario: "../../sip/testdata/citizen.xml",
		Data: sipCitizen{From: "01077778888", HoldFor: 25000}, Remote: a.sipUDP(), Service: fsHotline, Timeout: 45 * time.Second})
	var cancelled []store.Callback
	testpeers.WaitFor(t, 30*time.Second, "callback merged into the new call", func() bool {
		cancelled, _ = a.Store().Callbacks(t.Context(), store.CallbackCancelled)
		return len(cancelled) == 1
	})
	if m := cancelled[0]; m.Contact != cb.Contact || m.Attrs["reason"] != router.EndCallbackMerged.String() {
		t.Fatalf("merged callback %+v", m)
	}
	c := fsEndedContact(t, a.Store(), 10*time.Second, cb.Contact)
	if c.EndReason != router.EndCallbackMerged.String() {
		t.Fatalf("callback contact ended %q, want %s", c.EndReason, router.EndCallbackMerged)
	}
	var waiting []router.ContactView
	testpeers.WaitFor(t, 10*time.Second, "the new call waiting in "+cb.Queue, func() bool {
		if err := a.Hub().Query(t.Context(), func(e *router.Engine) { waiting = e.Waiting(cb.Queue) }); err != nil {
			t.Fatal(err)
		}
		return len(waiting) == 1
	})
	w := waiting[0]
	if w.ID == router.ContactID(cb.Contact) || w.Citizen != "01077778888" || w.Arrived.Sub(cb.Arrived).Abs() >= time.Millisecond {
		t.Fatalf("new call %+v; want the citizen's new call at the callback's arrival %v", w, cb.Arrived)
	}
	if rows, _ := a.Store().Callbacks(t.Context(), store.CallbackBooked); len(rows) != 0 {
		t.Fatalf("still booked: %+v", rows)
	}
	if err := again.Wait(t, 50*time.Second); err != nil {
		t.Fatalf("second call: %v", err)
	}
}
