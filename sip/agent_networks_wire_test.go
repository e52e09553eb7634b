package sip

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"onecall/router"
)

// TestOfferOutsideAgentNetworksNotRung (issue 17, defect 7, the offer side):
// with AgentNets 127.0.0.1/32, agent01's binding points at 127.0.0.2. The
// registrar refuses such a binding and drops it at restore (app
// TestAgentNetworks), so only a locator fed from elsewhere (another
// cluster node configured differently) can hand one over: the citizen's
// call offered to agent01 sends nothing to 127.0.0.2, the offer is
// rejected "agent network" and counted (Drops, the agent_network reason
// of onecall_sip_dropped_total), and the call stays up.
func TestOfferOutsideAgentNetworksNotRung(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, []router.AgentID{"agent01"}, func(o *Options, _ *fakeHub) {
		o.AgentNets = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
	outside := stranger(t)
	env.loc.set("agent01", "sip:agent01@"+outside.LocalAddr().String())
	code, msg, hangup := rawCall(t, env.udp, "110", sdpOffer("c=IN IP4 127.0.0.1\r\n", "m=audio 4000 RTP/AVP 8\r\n"))
	defer hangup()
	if code != 200 {
		t.Fatalf("citizen's call: %d\n%s", code, msg)
	}
	env.hub.waitEvent(t, 10*time.Second, "offer to agent01 rejected for its network", isEv(func(e router.OfferRejected) bool {
		return e.Agent == "agent01" && e.Reason == "agent network"
	}))
	// The refusal replaces the INVITE: had one been sent, it would be queued.
	buf := make([]byte, 4096)
	_ = outside.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, _, err := outside.ReadFromUDP(buf); err == nil {
		t.Fatalf("127.0.0.2 received:\n%s", buf[:n])
	} else if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Fatal(err)
	}
	if n := env.svc.Drops()["agent_network"]; n != 1 {
		t.Fatalf("agent_network drops %d, want 1", n)
	}
	if n := env.svc.Active(); n != 1 {
		t.Fatalf("%d calls up, want the citizen's", n)
	}
}
