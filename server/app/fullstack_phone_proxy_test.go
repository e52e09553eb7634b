package app

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"onecall/deploy/kamailio"
	"onecall/internal/servetest"
	"onecall/internal/testpeers"
	"onecall/router"
)

// TestFullStackPhoneConsultThroughProxy: the attended transfer from a
// phone registered through Kamailio (sip.proxies; the binding has a Path).
// agent01's phone (the test UA, on 127.0.0.2: not a trunk) and agent02's
// baresip register through Kamailio; the citizen's call is offered to
// agent01 back through Kamailio. A phone no node has rung gets 403 from
// Kamailio for its INVITE. agent01's phone holds the citizen and calls
// agent02 through Kamailio: Kamailio relays it to the node that rang the
// phone, and the node takes it as agent01's consult (the address Kamailio
// received it from, in the phone's Via, is the one its REGISTER came from,
// in the Path; then the digest). agent02 and agent01 talk; the REFER with
// the consult's Replaces completes: NOTIFY 200, BYE on both of the phone's
// dialogs, the citizen and agent02 hear each other.
func TestFullStackPhoneConsultThroughProxy(t *testing.T) {
	a := fsStartAt(t, fsConfig(t, "", "proxies: []", `proxies: ["127.0.0.1/32"]`), t.TempDir())
	k := servetest.StartKamailio(t, kamailio.Config{Trunks: []string{"127.0.0.1/32"}, Nodes: []string{a.sipUDP()},
		ProbeInterval: time.Second})
	p1 := startUAPhoneAt(t, "127.0.0.2", k.Addr(), "agent01", toneConsult1, false)
	tone2 := testpeers.ToneWAV(t, t.TempDir(), toneAgent2, 150*time.Second)
	p2 := testpeers.StartBaresip(t, testpeers.BaresipOptions{User: "agent02", Registrar: k.Addr(), Password: "demo",
		Speech: tone2, Control: true, Quit: 170 * time.Second})
	testpeers.WaitFor(t, 15*time.Second, "agent01 and agent02 ready after their phones registered through Kamailio", func() bool {
		v1, ok1 := a.agent(t, "agent01")
		v2, ok2 := a.agent(t, "agent02")
		return ok1 && ok2 && v1.State == router.Ready && v2.State == router.Ready
	})
	for _, u := range []string{"agent01", "agent02"} {
		if _, route, ok := a.registrar.LookupRoute(u); !ok || len(route) == 0 || !strings.Contains(route[0], ";received=") {
			t.Fatalf("%s's binding has no Path through Kamailio: %v", u, route)
		}
	}

	// agent03's phone, registered through Kamailio but never rung by a
	// node: Kamailio does not relay its INVITE.
	p3 := startUAPhoneAt(t, "127.0.0.3", k.Addr(), "agent03", toneCitizen, false)
	if _, err := p3.dial("agent02", 10*time.Second); refusal(err) != 403 {
		t.Fatalf("an INVITE from a phone no node rang: %v, want 403", err)
	}

	c1, c2 := a.fsSignIn(t, "agent01"), a.fsSignIn(t, "agent02")
	c2.mustCall("state", map[string]any{"state": "not_ready", "reason": "break"})
	tone := testpeers.ToneWAV(t, t.TempDir(), toneCitizen, 150*time.Second)
	cit := testpeers.StartBaresip(t, testpeers.BaresipOptions{User: "01055556666", Speech: tone, Control: true,
		Quit: 170 * time.Second})
	cit.Control(t, "dial", "sip:"+fsHotline+"@"+k.Addr())
	d1 := p1.offered(20 * time.Second)
	if via := d1.InviteRequest.Via(); via == nil || via.Host != "127.0.0.1" || via.Port != k.Port {
		t.Fatalf("the offer did not come through Kamailio: Via %v", via)
	}
	var v struct {
		ID uint64 `json:"id"`
	}
	json.Unmarshal(c1.event("connected", nil), &v)
	id := v.ID
	c2.mustCall("state", map[string]any{"state": "ready"})
	hctx, hcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer hcancel()
	if err := d1.Hold(hctx); err != nil {
		t.Fatalf("agent01's phone: hold through Kamailio: %v", err)
	}

	d2, err := p1.dial("agent02", 20*time.Second)
	if err != nil {
		t.Fatalf("agent01's phone calls agent02 through Kamailio: %v", err)
	}
	ev := consultStep(t, c2, id, "consult")
	if ev.By != "agent01" || ev.Agent != "agent02" {
		t.Fatalf("agent02's consult event: %+v", ev)
	}
	consultStep(t, c1, id, "consult_answered")
	hearsOnly(t, "agent02 consulted from agent01's proxied phone", mark(t, p2), 2*time.Second, toneConsult1, toneCitizen)

	cid, remote, local := tagsOf(d2)
	code, err := refer(t, d1, replaces("sip:agent02@"+k.Addr(), cid, remote, local))
	if err != nil || code != 200 {
		t.Fatalf("REFER with the consult's Replaces through Kamailio: NOTIFY %d, err %v; want 200", code, err)
	}
	for _, d := range []context.Context{d1.Context(), d2.Context()} {
		select {
		case <-d.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("a dialog of agent01's phone got no BYE after the transfer")
		}
	}
	consultStep(t, c1, id, "consult_completed")
	testpeers.WaitFor(t, 5*time.Second, "agent01 in wrap-up, agent02 busy with the contact", func() bool {
		v1, _ := a.agent(t, "agent01")
		v2, _ := a.agent(t, "agent02")
		return v1.State == router.WrapUp && len(v1.Active) == 0 && v2.State == router.Busy && len(v2.Active) == 1
	})
	hearsOnly(t, "the citizen after the transfer", mark(t, cit), 2*time.Second, toneAgent2, toneConsult1)
	c2.mustCall("hangup", map[string]any{"contact": id})
	testpeers.WaitFor(t, 10*time.Second, "no call left", func() bool { return a.sip.Active() == 0 })
}
