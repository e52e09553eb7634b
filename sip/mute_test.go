package sip

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"onecall/internal/testpeers"
	"onecall/router"
)

// TestConsoleMuteWire: a real agent phone (baresip) speaks a tone without
// pause; the citizen's audio port is a socket of the test. While the
// console has the call muted, not one packet of the agent's audio reaches
// the citizen although the phone keeps sending (only that direction is cut);
// after unmute the agent is heard again, and a hold and resume keep the mute.
func TestConsoleMuteWire(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, []router.AgentID{"agent01"}, nil)
	ear, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ear.Close() })
	var heard atomic.Int64 // RTP packets the citizen received
	go func() {
		buf := make([]byte, 1500)
		for {
			n, _, err := ear.ReadFromUDP(buf)
			if err != nil {
				return
			}
			if n > 12 {
				heard.Add(1)
			}
		}
	}()
	tone := testpeers.ToneWAV(t, t.TempDir(), 440, 40*time.Second)
	phone := testpeers.StartBaresip(t, testpeers.BaresipOptions{User: "agent01", Speech: tone, Quit: 60 * time.Second})
	env.loc.set("agent01", phone.URI("agent01"))
	c := startSipp(t, "citizen.xml", citizenParams{From: "01011112222", WaitBye: 50000,
		MediaPort: ear.LocalAddr().(*net.UDPAddr).Port}, env.udp, "110")
	ev := env.hub.waitEvent(t, 15*time.Second, "ContactArrived", isEv[router.ContactArrived](nil)).(router.ContactArrived)
	env.hub.waitEvent(t, 15*time.Second, "accept agent01", isEv(func(e router.OfferAccepted) bool { return e.Agent == "agent01" }))
	agentRx := func() uint64 {
		call := env.svc.lookupCall(ev.Contact)
		if call == nil {
			return 0
		}
		env.svc.mu.Lock()
		defer env.svc.mu.Unlock()
		var rx uint64
		for _, l := range env.svc.legs {
			if l.CallID() != call.leg.CallID() {
				r, _ := l.Counters()
				rx += r
			}
		}
		return rx
	}
	waitFor(t, 10*time.Second, "the citizen hears the agent", func() bool { return heard.Load() > 50 })
	ctx := t.Context()
	if err := env.svc.Mute(ctx, ev.Contact); err != nil {
		t.Fatalf("mute: %v", err)
	}
	h0, r0 := heard.Load(), agentRx()
	// 2 s of the phone's audio arrives while muted (it keeps speaking).
	waitFor(t, 10*time.Second, "the phone speaks while muted", func() bool { return agentRx() > r0+100 })
	if d := heard.Load() - h0; d > 2 { // at most a frame already on the wire
		t.Fatalf("muted: the citizen received %d agent packets", d)
	}
	if err := env.svc.Unmute(ctx, ev.Contact); err != nil {
		t.Fatalf("unmute: %v", err)
	}
	h1 := heard.Load()
	waitFor(t, 10*time.Second, "the citizen hears the agent again", func() bool { return heard.Load() > h1+50 })
	// Mute is kept across a hold: resume brings back the citizen only.
	if err := env.svc.Mute(ctx, ev.Contact); err != nil {
		t.Fatalf("mute: %v", err)
	}
	if err := env.svc.Hold(ctx, ev.Contact); err != nil {
		t.Fatalf("hold: %v", err)
	}
	if err := env.svc.Resume(ctx, ev.Contact); err != nil {
		t.Fatalf("resume: %v", err)
	}
	h2, r2 := heard.Load(), agentRx()
	waitFor(t, 10*time.Second, "the phone speaks after resume", func() bool { return agentRx() > r2+100 })
	if d := heard.Load() - h2; d > 2 {
		t.Fatalf("muted across hold: the citizen received %d packets after resume", d)
	}
	if err := env.svc.Hangup(ctx, ev.Contact); err != nil {
		t.Fatalf("hangup: %v", err)
	}
	if err := c.wait(t, 10*time.Second); err != nil {
		t.Fatalf("citizen: %v", err)
	}
}
