package app

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"onecall/internal/testpeers"
	"onecall/router"
)

// configTransferOut is configWithTrunk with line 110 allowed to transfer
// out to 1345 and showing 02-6196-9110 as its caller ID.
func configTransferOut(t *testing.T, carrier string) string {
	t.Helper()
	dir := configWithTrunk(t, carrier, 3, "5m")
	p := filepath.Join(dir, "hotlines.yaml")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), "  - number: \"110\"\n",
		"  - number: \"110\"\n    caller_id: \"02-6196-9110\"\n    transfer_numbers: [\"1345\"]\n", 1)
	if s == string(b) {
		t.Fatal("line 110 not found in hotlines.yaml")
	}
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// outsideAnswers is the carrier answering the outside number 1345, called
// with line 110's caller ID, and speaking.
var outsideAnswers = sipCarrier{Mode: "answer", To: "1345", From: "0261969110", Speak: true, RingFor: 500, WaitBye: 60000}

// startTransferOut starts the carrier with data (for at most timeout) and
// the App whose trunk leads to it (configTransferOut).
func startTransferOut(t *testing.T, data sipCarrier, timeout time.Duration) (*testpeers.SIPp, *fsApp) {
	t.Helper()
	carrier := startCarrier(t, data, timeout)
	return carrier, fsStartAt(t, configTransferOut(t, "127.0.0.1:"+strconv.Itoa(carrier.Port)), t.TempDir())
}

// carrierDone waits for the citizen (who hangs up) and then for the
// carrier's scenario: it checked the called number and caller ID,
// answered, and got our BYE.
func carrierDone(t *testing.T, cit, carrier *testpeers.SIPp) {
	t.Helper()
	if err := cit.Wait(t, 40*time.Second); err != nil {
		t.Fatalf("citizen: %v", err)
	}
	if err := carrier.Wait(t, 20*time.Second); err != nil {
		t.Fatalf("carrier (called number, caller ID, answer, our BYE): %v", err)
	}
}

// TestFullStackTransferOut: agent01 (baresip) talks with a SIPp citizen on
// line 110 and transfers it from the console to the outside number 1345.
// A number the line does not list is refused (transfer_number_not_allowed)
// and the call stays with the agent. The allowed one is dialled through
// the trunk (SIPp carrier: it checks the called number and the line's
// caller ID); on answer the agent's leg is gone, agent01 is in wrap-up,
// citizen and carrier are bridged (RTP both ways on the outside leg: the
// carrier speaks, the citizen echoes), and when the citizen hangs up the
// carrier gets our BYE; the contact is closed transferred-out and the call
// record shows the outside leg.
func TestFullStackTransferOut(t *testing.T) {
	carrier, a := startTransferOut(t, outsideAnswers, 90*time.Second)
	fsTonePhone(t, a, "agent01", toneAgent1)
	waitReady(t, a, "agent01")
	c1 := a.fsSignIn(t, "agent01")
	var targets struct{ Outside bool }
	json.Unmarshal(c1.mustCall("transfer_targets", nil), &targets)
	if !targets.Outside {
		t.Fatal("transfer_targets does not offer outside numbers with a trunk configured")
	}
	cit := fsStartSipp(t, a.sipUDP(), fsHotline, fsCitizen{From: "01055556666", Echo: true, HoldFor: 16000})
	id := c1.connected()
	if m := c1.call("transfer", map[string]any{"contact": id, "target": "number:02-9999-0000"}); m.Code != "transfer_number_not_allowed" || m.Text["ko"] == "" {
		t.Fatalf("transfer to a number the line does not list: %+v", m)
	}
	if ag, _ := a.agent(t, "agent01"); ag.State != router.Busy {
		t.Fatalf("agent01 after a refused transfer: %s", ag.State)
	}
	c1.mustCall("transfer", map[string]any{"contact": id, "target": "number:1345", "note": "to 1345"})
	waitWrapUp(t, a, "agent01", 10*time.Second)
	carrierDone(t, cit, carrier)
	rec := a.callRecordTo(t, 10*time.Second, fsHotline)
	var legs []string
	for _, l := range rec.Legs {
		legs = append(legs, l.Role+" "+l.URI)
	}
	if len(rec.Legs) != 3 || rec.Legs[1].Role != "agent" || rec.Legs[2].Role != "outside" || rec.Legs[2].URI != "tel:1345" {
		t.Fatalf("call record legs %v; want citizen, agent01, outside 1345", legs)
	}
	if rec.Legs[1].Ended.IsZero() || rec.Legs[1].Ended.After(rec.Legs[2].Started) {
		t.Fatalf("agent leg ended %v, outside leg started %v", rec.Legs[1].Ended, rec.Legs[2].Started)
	}
	out := rec.Legs[2].RTP
	t.Logf("outside leg: rx %d tx %d packets", out.PacketsReceived, out.PacketsSent)
	if out.PacketsReceived < 100 || out.PacketsSent < 100 {
		t.Fatalf("outside leg RTP rx %d tx %d; want audio both ways", out.PacketsReceived, out.PacketsSent)
	}
	c := fsEndedContact(t, a.Store(), 10*time.Second, id)
	if c.EndReason != router.EndTransferredOut.String() {
		t.Fatalf("contact ended %q, want %q", c.EndReason, router.EndTransferredOut.String())
	}
}

// TestFullStackTransferOutBusy: the outside number answers busy: the agent
// gets transfer_outside_failed, stays busy with the call, and hears its own
// tone back through the citizen again (bridged back); then hangs up.
func TestFullStackTransferOutBusy(t *testing.T) {
	carrier, a := startTransferOut(t, sipCarrier{Mode: "busy", To: "1345", From: "0261969110", RingFor: 2000}, 60*time.Second)
	p1 := fsTonePhone(t, a, "agent01", toneAgent1)
	waitReady(t, a, "agent01")
	c1 := a.fsSignIn(t, "agent01")
	cit := fsStartSipp(t, a.sipUDP(), fsHotline, fsCitizen{From: "01055556666", Echo: true, WaitBye: 40000})
	id := c1.connected()
	if m := c1.call("transfer", map[string]any{"contact": id, "target": "number:1345"}); m.Code != "transfer_outside_failed" {
		t.Fatalf("transfer to a busy outside number: %+v", m)
	}
	if err := carrier.Wait(t, 10*time.Second); err != nil {
		t.Fatalf("carrier (busy): %v", err)
	}
	if ag, _ := a.agent(t, "agent01"); ag.State != router.Busy || len(ag.Active) != 1 {
		t.Fatalf("agent01 after a failed transfer out: %s %v", ag.State, ag.Active)
	}
	toneSecs := func() float64 {
		s := heard(t, p1)
		return float64(len(s)) * testpeers.ToneShare(s, 8000, toneAgent1) / 8000
	}
	before := toneSecs()
	testpeers.WaitFor(t, 15*time.Second, "agent01 hears 2 s more of its own tone back through the citizen", func() bool {
		return toneSecs() >= before+2
	})
	c1.mustCall("hangup", map[string]any{"contact": id})
	if err := cit.Wait(t, 20*time.Second); err != nil {
		t.Fatalf("citizen: %v", err)
	}
	if c := fsEndedContact(t, a.Store(), 10*time.Second, id); c.EndReason != router.EndCompleted.String() {
		t.Fatalf("contact ended %q", c.EndReason)
	}
}

// TestFullStackPhoneTransferOut: agent01's phone transfers the call by
// REFER to the outside number 1345: the carrier is called with the line's
// caller ID and answers, agent01's leg ends and agent01 goes to wrap-up,
// and the contact closes transferred-out when the citizen hangs up.
func TestFullStackPhoneTransferOut(t *testing.T) {
	carrier, a := startTransferOut(t, outsideAnswers, 90*time.Second)
	p1 := fsTonePhone(t, a, "agent01", toneAgent1)
	waitReady(t, a, "agent01")
	c1 := a.fsSignIn(t, "agent01")
	cit := fsStartSipp(t, a.sipUDP(), fsHotline, fsCitizen{From: "01055556666", Echo: true, HoldFor: 12000})
	id := c1.connected()
	p1.Control(t, "transfer", "sip:1345@127.0.0.1")
	waitWrapUp(t, a, "agent01", 10*time.Second)
	carrierDone(t, cit, carrier)
	if c := fsEndedContact(t, a.Store(), 10*time.Second, id); c.EndReason != router.EndTransferredOut.String() {
		t.Fatalf("contact ended %q", c.EndReason)
	}
}
