package sip

import (
	"path/filepath"
	"testing"
	"time"

	"onecall/internal/testpeers"
	"onecall/router"
)

// TestBaresipAgentPhone: a real softphone as the agent: it auto-answers our
// offer INVITE, speaks a prompt WAV and hangs up when it ends (agent BYE);
// the citizen (SIPp) gets our BYE; sndfile shows the phone decoded our
// bridged audio.
func TestBaresipAgentPhone(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, []router.AgentID{"agent01"}, nil)
	speech, err := filepath.Abs("testdata/speech.wav")
	if err != nil {
		t.Fatal(err)
	}
	phone := testpeers.StartBaresip(t, testpeers.BaresipOptions{User: "agent01", Speech: speech, Quit: 60 * time.Second})
	env.loc.set("agent01", phone.URI("agent01"))
	c := startSipp(t, "citizen.xml", citizenParams{From: "01011112222", Audio: true, WaitBye: 40000}, env.udp, "110")
	if err := c.wait(t, 50*time.Second); err != nil {
		t.Fatalf("citizen: %v", err)
	}
	env.hub.waitEvent(t, 5*time.Second, "accept agent01", isEv(func(e router.OfferAccepted) bool { return e.Agent == "agent01" }))
	env.hub.waitEvent(t, 5*time.Second, "ContactEnded", isEv[router.ContactEnded](nil))
	rec := env.store.wait(t, 5*time.Second)
	t.Logf("record: %+v", rec)
	if rec.AgentRx < minAudio || rec.AgentTx < minAudio || rec.RxPackets < minAudio {
		t.Fatalf("two-way audio missing: %+v", rec)
	}
	if decoded := phone.DecodedBytes(); decoded < 8000 { // > 0.5 s of 16-bit 8 kHz audio heard by the phone
		t.Fatalf("phone decoded %d bytes of audio; dumps %v", decoded, phone.Dumps())
	}
}
