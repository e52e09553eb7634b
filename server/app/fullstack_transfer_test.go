package app

import (
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"onecall/internal/testpeers"
	"onecall/router"
)

// Tones of the parties in the transfer tests: each agent phone speaks its
// own tone; the citizen (SIPp -rtp_echo) sends back what it receives, so
// what an agent hears of a tone is what reached the citizen.
const (
	toneAgent1 = 700
	toneAgent2 = 1500
)

// fsToneCitizen starts a baresip citizen (01055556666) speaking a tone
// at hz and calling line 110.
func fsToneCitizen(t *testing.T, a *fsApp, hz int) *testpeers.Baresip {
	t.Helper()
	cit := testpeers.StartBaresip(t, testpeers.BaresipOptions{User: "01055556666", Control: true, Quit: 170 * time.Second,
		Speech: testpeers.ToneWAV(t, t.TempDir(), hz, 150*time.Second)})
	cit.Control(t, "dial", "sip:"+fsHotline+"@"+a.sipUDP())
	a.stopFirst(t)
	return cit
}

// fsTonePhone starts a registered, auto-answering baresip for user that
// speaks tone hz, with ctrl_tcp.
func fsTonePhone(t *testing.T, a *fsApp, user string, hz int) *testpeers.Baresip {
	t.Helper()
	tone := testpeers.ToneWAV(t, t.TempDir(), hz, 150*time.Second)
	p := testpeers.StartBaresip(t, testpeers.BaresipOptions{User: user, Registrar: a.sipUDP(), Password: "demo",
		Speech: tone, Control: true, Quit: 170 * time.Second})
	a.stopFirst(t)
	return p
}

// heard returns the audio a phone decoded (its sndfile "dec" dump).
func heard(t *testing.T, p *testpeers.Baresip) []int16 {
	t.Helper()
	var best []int16
	for _, f := range p.Dumps() {
		if !strings.Contains(filepath.Base(f), "dec") {
			continue
		}
		s, _, err := testpeers.ReadWAV(f)
		if err == nil && len(s) > len(best) {
			best = s
		}
	}
	return best
}

// hears reports whether the phone heard hz for at least d in total, with
// the other tones below 5 % of its audio.
func hears(t *testing.T, p *testpeers.Baresip, hz int, d time.Duration, not ...int) (bool, string) {
	s := heard(t, p)
	share := testpeers.ToneShare(s, 8000, hz)
	msg := ""
	ok := float64(len(s))*share >= d.Seconds()*8000
	msg = "heard " + (time.Duration(len(s)) * time.Second / 8000).String()
	for _, o := range not {
		os := testpeers.ToneShare(s, 8000, o)
		if os > 0.05 {
			ok = false
		}
		msg += "; " + itoa(o) + " Hz share " + ftoa(os)
	}
	return ok, msg + "; " + itoa(hz) + " Hz share " + ftoa(share)
}

// fsTransferStart brings up agent01 and agent02 (phones with tones,
// consoles), agent02 not ready, and a citizen calling 110 answered by
// agent01 whose own tone comes back through the citizen. It returns the
// contact id.
func fsTransferStart(t *testing.T, a *fsApp) (p1, p2 *testpeers.Baresip, c1, c2 *fsConsole, cit *testpeers.SIPp, id uint64) {
	t.Helper()
	p1 = fsTonePhone(t, a, "agent01", toneAgent1)
	p2 = fsTonePhone(t, a, "agent02", toneAgent2)
	waitReady(t, a, "agent01", "agent02")
	t.Log("phones registered")
	c1, c2 = a.fsSignIn(t, "agent01"), a.fsSignIn(t, "agent02")
	c2.mustCall("state", map[string]any{"state": "not_ready", "reason": "break"})
	cit = fsStartSipp(t, a.sipUDP(), fsHotline, fsCitizen{From: "01055556666", Echo: true, WaitBye: 40000})
	id = c1.connected()
	t.Logf("contact %d connected to agent01", id)
	testpeers.WaitFor(t, 10*time.Second, "agent01 hears its own tone back through the citizen", func() bool {
		ok, _ := hears(t, p1, toneAgent1, time.Second, toneAgent2)
		return ok
	})
	c2.mustCall("state", map[string]any{"state": "ready"})
	return p1, p2, c1, c2, cit, id
}

// fsTransferredTo checks the second half of a blind transfer of contact id
// from agent01: agent02 is offered it as a transfer by agent01 (with note),
// answers, and then hears its own tone through the citizen and never
// agent01's; agent01's leg is gone and agent01 is in wrap-up with the
// contact to dispose of; no agent went not-ready on the way.
func fsTransferredTo(t *testing.T, a *fsApp, p2 *testpeers.Baresip, c1, c2 *fsConsole, id uint64, note string) {
	t.Helper()
	var offer struct {
		ID        uint64 `json:"id"`
		State     string `json:"state"`
		Transfers []struct {
			From, By, FromQueue, Note string
			ToQueue                   string `json:"to_queue"`
		} `json:"transfers"`
	}
	json.Unmarshal(c2.event("offer", nil), &offer)
	if offer.ID != id || len(offer.Transfers) != 1 || offer.Transfers[0].By != "agent01" || offer.Transfers[0].From != "agent01" ||
		offer.Transfers[0].Note != note {
		t.Fatalf("agent02's offer does not say it is agent01's transfer with the note %q: %+v", note, offer)
	}
	c2.event("connected", nil)
	t.Log("agent02 connected")
	testpeers.WaitFor(t, 15*time.Second, "agent02 hears its own tone through the citizen, never agent01's", func() bool {
		ok, _ := hears(t, p2, toneAgent2, 2*time.Second)
		return ok
	})
	if ok, msg := hears(t, p2, toneAgent2, 2*time.Second, toneAgent1); !ok {
		t.Fatalf("agent02's audio: %s (agent01 still reaches the citizen?)", msg)
	}
	v1, _ := a.agent(t, "agent01")
	if v1.State != router.WrapUp || len(v1.Active) != 0 {
		t.Fatalf("agent01 after the transfer: %s active %v; want wrap-up, no contact", v1.State, v1.Active)
	}
	v2, _ := a.agent(t, "agent02")
	if v2.State != router.Busy {
		t.Fatalf("agent02 after answering the transfer: %s (%s)", v2.State, v2.Reason)
	}
	var tr struct {
		Contact uint64 `json:"contact"`
		WrapUp  bool   `json:"wrap_up"`
	}
	json.Unmarshal(c1.event("transferred", nil), &tr)
	if tr.Contact != id || !tr.WrapUp {
		t.Fatalf("agent01's transferred event: %+v", tr)
	}
	// The transferring agent's own disposition goes into the history.
	c1.mustCall("wrapup", map[string]any{"contact": id, "disposition": "transferred", "notes": "handed on"})
	testpeers.WaitFor(t, 5*time.Second, "the transfer and agent01's disposition in the contact's history", func() bool {
		var evs []struct{ State, Agent, Reason string }
		json.Unmarshal(c2.mustCall("contact_history", map[string]any{"contact": id}), &evs)
		xfer, wrap := false, false
		for _, e := range evs {
			xfer = xfer || (e.State == "transferred" && e.Agent == "agent01" && strings.Contains(e.Reason, note))
			wrap = wrap || (e.State == "wrap_up" && e.Agent == "agent01" && e.Reason == "transferred: handed on")
		}
		return xfer && wrap
	})
}

// fsTransferEnd hangs up from agent02's console and checks the CDR: the
// citizen leg, agent01's leg ended before agent02's began.
func fsTransferEnd(t *testing.T, a *fsApp, c2 *fsConsole, cit *testpeers.SIPp, id uint64) {
	t.Helper()
	t.Log("hang up")
	c2.mustCall("hangup", map[string]any{"contact": id})
	if err := cit.Wait(t, 20*time.Second); err != nil {
		t.Fatalf("citizen scenario: %v", err)
	}
	rec := a.callRecordTo(t, 5*time.Second, fsHotline)
	var legs []string
	for _, l := range rec.Legs {
		legs = append(legs, l.Role+" "+l.URI)
	}
	if len(rec.Legs) != 3 || !strings.Contains(rec.Legs[1].URI, "agent01") || !strings.Contains(rec.Legs[2].URI, "agent02") {
		t.Fatalf("call record legs %v; want citizen, agent01, agent02", legs)
	}
	if rec.Legs[1].Ended.After(rec.Legs[2].Started) {
		t.Fatalf("agent01's leg ended %v after agent02's began %v", rec.Legs[1].Ended, rec.Legs[2].Started)
	}
	c := fsEndedContact(t, a.Store(), 5*time.Second, id)
	t.Log("call record checked")
	if c.Agent != "agent02" {
		t.Fatalf("contact ended with agent %q, want agent02", c.Agent)
	}
}

// TestFullStackConsoleTransfer: agent01 transfers a live call from the
// console with the button's form {contact, queue, note}: the call moves to
// agent02 (their phone rings and answers; the citizen hears agent02 and no
// longer agent01), the offer says it is agent01's transfer with the note,
// agent01 goes to wrap-up with its own disposition, and the history has the
// transfer.
func TestFullStackConsoleTransfer(t *testing.T) {
	a := fsStart(t, t.TempDir())
	_, p2, c1, c2, cit, id := fsTransferStart(t, a)
	// Refusals carry a code and ko/en text.
	if m := c1.call("transfer", map[string]any{"contact": id, "queue": "no-such-queue"}); m.Code != "transfer_unknown_queue" || m.Text["ko"] == "" {
		t.Fatalf("transfer to an unknown queue: %+v", m)
	}
	if m := c1.call("transfer", map[string]any{"contact": id, "target": "number:0212345678"}); m.Code != "transfer_no_outside" {
		t.Fatalf("transfer to an outside number: %+v", m)
	}
	var targets struct {
		Queues []struct {
			ID        string
			Name      map[string]string
			Available int
		}
		Agents []struct{ ID, State string }
	}
	json.Unmarshal(c1.mustCall("transfer_targets", nil), &targets)
	found := false
	for _, q := range targets.Queues {
		found = found || (q.ID == "gen-110" && q.Name["ko"] != "" && q.Available >= 1)
	}
	if !found || len(targets.Agents) == 0 {
		t.Fatalf("transfer_targets: %+v", targets)
	}
	t.Log("transfer")
	note := "세금 문의 tax question"
	c1.mustCall("transfer", map[string]any{"contact": id, "queue": "gen-110", "note": note})
	fsTransferredTo(t, a, p2, c1, c2, id, note)
	fsTransferEnd(t, a, c2, cit, id)
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', 3, 64) }

// TestFullStackPhoneTransfer: agent01's phone transfers the live call by
// REFER (baresip "transfer" over ctrl_tcp) to agent02: we answer 202 and
// NOTIFY, end agent01's leg, and the call moves to agent02 exactly as from
// the console: agent02's phone rings and answers, the citizen hears agent02
// and no longer agent01, the offer says it is agent01's transfer, agent01 is
// in wrap-up and the history has the transfer.
func TestFullStackPhoneTransfer(t *testing.T) {
	a := fsStart(t, t.TempDir())
	p1, p2, c1, c2, cit, id := fsTransferStart(t, a)
	t.Log("REFER")
	p1.Control(t, "transfer", "sip:agent02@127.0.0.1")
	fsTransferredTo(t, a, p2, c1, c2, id, "")
	if !strings.Contains(p1.Output(), "agent02") {
		t.Fatalf("agent01's phone shows no transfer to agent02:\n%s", p1.Output())
	}
	fsTransferEnd(t, a, c2, cit, id)
}
