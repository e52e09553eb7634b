package app

import (
	"context"
	"net"
	"testing"
	"time"

	"onecall/internal/testpeers"
	"onecall/router"
)

// TestAgentNetworks: with sip.agent_networks [127.0.0.1/32] an agent phone
// can neither register from 127.0.0.2 nor register a Contact there (403),
// and a binding to 127.0.0.2 left in the store by an earlier run without
// the setting is dropped at restore: the next call for that agent sends no
// INVITE (nor keep-alive) to 127.0.0.2 (issue 17, defect 7). A phone inside
// the network still registers. The three refusals are counted in /metrics
// (onecall_sip_register_total{result="agent_network"}).
func TestAgentNetworks(t *testing.T) {
	data := t.TempDir()
	// The phone the binding points at: nothing may ever reach it.
	outside, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Fatal(err)
	}
	defer outside.Close()
	outsideURI := "sip:agent01@" + outside.LocalAddr().String()

	// Run 1, no agent_networks: the outside contact is accepted (today's
	// behaviour) and persisted.
	a := fsStart(t, data)
	reg := newRawUA(t, "127.0.0.1", a.sipUDP())
	if code := reg.register("agent01", "demo", outsideURI); code != 200 {
		t.Fatalf("run 1: REGISTER with contact %s: %d, want 200", outsideURI, code)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := a.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	drain(outside) // run 1's keep-alives, if any

	// Run 2 on the same data with agent_networks.
	cfg := fsConfig(t, "", "agent_networks: []", "agent_networks: [127.0.0.1/32]")
	b := fsStartAt(t, cfg, data)
	if _, ok := b.registrar.Lookup("agent01"); ok {
		t.Fatal("run 2: the binding to 127.0.0.2 survived the restore")
	}
	reg = newRawUA(t, "127.0.0.1", b.sipUDP())
	if code := reg.register("agent01", "demo", outsideURI); code != 403 {
		t.Fatalf("REGISTER with contact %s: %d, want 403", outsideURI, code)
	}
	from2 := newRawUA(t, "127.0.0.2", b.sipUDP())
	if code := from2.register("agent02", "demo", "sip:agent02@"+from2.addr()); code != 403 {
		t.Fatalf("REGISTER from 127.0.0.2: %d, want 403", code)
	}

	// agent01 is logged in and Ready (by the console, say); a citizen calls.
	if _, err := b.Hub().Do(ctx, router.AgentLoggedIn{Agent: "agent01", Ready: true}); err != nil {
		t.Fatal(err)
	}
	citizen := newRawUA(t, "127.0.0.1", b.sipUDP())
	d := citizen.invite(fsHotline, "01055556666")
	testpeers.WaitFor(t, 10*time.Second, "the call offered to agent01", func() bool {
		v, _ := b.agent(t, "agent01")
		return len(v.Offered) > 0 || v.State == router.NotReady
	})
	if got := recvAny(outside, 2*time.Second); got != "" {
		t.Fatalf("127.0.0.2 received:\n%s", got)
	}
	if code := citizen.bye(d); code != 200 {
		t.Fatalf("BYE: %d", code)
	}

	// Inside the network a phone registers.
	if code := reg.register("agent03", "demo", "sip:agent03@"+reg.addr()); code != 200 {
		t.Fatalf("REGISTER inside the agent networks: %d, want 200", code)
	}
	if n := len(b.logRecords("register from outside the agent networks")); n != 1 {
		t.Fatalf("%d log lines for the refused source, want 1", n)
	}
	// Each refusal is counted: the binding dropped at restore and the two
	// REGISTERs refused 403.
	if n := b.metric(t, `onecall_sip_register_total{result="agent_network"}`); n != 3 {
		t.Fatalf("register_total{agent_network} %v, want 3", n)
	}
}

// drain discards what is queued on c.
func drain(c *net.UDPConn) {
	for recvAny(c, 50*time.Millisecond) != "" {
	}
}

// recvAny returns the first datagram on c within d ("" if none).
func recvAny(c *net.UDPConn, d time.Duration) string {
	buf := make([]byte, 65535)
	_ = c.SetReadDeadline(time.Now().Add(d))
	n, _, err := c.ReadFromUDP(buf)
	if err != nil {
		return ""
	}
	return string(buf[:n])
}
