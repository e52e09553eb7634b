package kamailio_test

import (
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"onecall/deploy/kamailio"
	"onecall/internal/servetest"
	"onecall/internal/testpeers"
)

// An agent phone (baresip) registers through Kamailio: its REGISTER lands on
// one node with a Path, and when a citizen's call on that node is offered
// to the agent, the node's INVITE reaches the phone back through Kamailio
// (the proxy's Via and Record-Route are on it) and the phone answers.
func TestKamailioPathRoutesAgentInvite(t *testing.T) {
	a := servetest.StartNode(t, 1, servetest.NodeOptions{})
	b := servetest.StartNode(t, 2, servetest.NodeOptions{})
	k := servetest.StartKamailio(t, kamailio.Config{Trunks: []string{"127.0.0.1"}, Nodes: []string{a.Addr(), b.Addr()}, ProbeInterval: time.Second})
	phone := testpeers.StartBaresip(t, testpeers.BaresipOptions{User: "agent01", Registrar: k.Addr(),
		Password: "demo", Args: []string{"-s"}})

	// The node the REGISTER reached knows the phone; the other does not.
	regOK := regexp.MustCompile(`SIP/2.0 200 OK[^#]*CSeq: \d+ REGISTER`)
	testpeers.WaitFor(t, 15*time.Second, "agent01's REGISTER through Kamailio answered 200", func() bool {
		return regOK.MatchString(phone.Output())
	})
	var home *servetest.Node
	var cons *servetest.Console
	// Few rounds: logins are rate-limited per source address.
	for round := 0; home == nil && round < 3; round++ {
		for _, n := range []*servetest.Node{a, b} {
			c := servetest.OpenConsole(t, n, "agent01", "demo")
			if c.Phone() {
				home, cons = n, c
				break
			}
			c.WS.Close()
		}
		if home == nil {
			time.Sleep(500 * time.Millisecond)
		}
	}
	if home == nil {
		t.Fatal("no node has agent01's phone registered")
	}
	cons.Do(t, "state", map[string]any{"state": "ready"})

	// Two calls at once: round robin puts one on each node, so one of them
	// is on the phone's node and is offered to agent01.
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); servetest.CitizenCall(t, k, "110", 6000) }()
	}
	defer wg.Wait()
	kamPort := strconv.Itoa(k.Port)
	testpeers.WaitFor(t, 20*time.Second, "the node's INVITE at the phone through Kamailio", func() bool {
		out := phone.Output()
		i := strings.Index(out, "INVITE sip:agent01")
		return i >= 0 && strings.Contains(out[i:], "Record-Route: <sip:127.0.0.1:"+kamPort) &&
			strings.Contains(out[i:], "Via: SIP/2.0/UDP 127.0.0.1:"+kamPort)
	})
	testpeers.WaitFor(t, 10*time.Second, "the phone answered", func() bool {
		return strings.Contains(phone.Output(), "Call established")
	})
	t.Logf("agent01 registered on %s through Kamailio; the offer reached the phone through Kamailio and was answered", home.Name)
}
