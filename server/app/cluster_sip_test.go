package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"onecall/cluster/clustertest"
	"onecall/console"
	"onecall/internal/pgtest"
	"onecall/internal/testpeers"
	"onecall/router"
	"onecall/server"
	"onecall/sip"
)

// Console call controls across nodes, with three real cluster nodes (NATS
// in process): the real App's SIP service answers call controls on n1's
// subject; n2's clusterCalls puts the call on hold, resumes it and hangs
// it up through NATS. The citizen (SIPp) gets the BYE, and the call record
// says the console hung up after one hold. Errors keep their identity
// (no call: sip.ErrNoCall) and a node nobody answers for is ErrCallGone.
func TestClusterCallControlsReachOwnerNode(t *testing.T) {
	nodes := clustertest.Start(t, 3)
	a := fsStart(t, t.TempDir())
	sub, err := serveCallControls(nodes[0].Conn(), nodes[0].ID(), callControl{a.sip}, a.log)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	// The test App is a single node (its contact ids carry node 0): every
	// contact lives on n1, except the one that says it is on n3.
	const onN3 = router.ContactID(777)
	cc := newClusterCalls(callControl{}, 2, nodes[1].Conn())
	cc.owner = func(id router.ContactID) uint16 {
		if id == onN3 {
			return 3
		}
		return 1
	}

	testpeers.StartBaresip(t, testpeers.BaresipOptions{User: "agent01", Registrar: a.sipUDP(), Password: "demo", Quit: 60 * time.Second})
	waitReady(t, a, "agent01")
	citizen := fsStartSipp(t, a.sipUDP(), fsHotline, fsCitizen{From: "01012340000", Audio: true, WaitBye: 30000})
	var id router.ContactID
	testpeers.WaitFor(t, 20*time.Second, "the call talking with agent01", func() bool {
		v, _ := a.agent(t, "agent01")
		if len(v.Active) != 1 {
			return false
		}
		c, ok := a.contact(t, v.Active[0])
		id = v.Active[0]
		return ok && c.State == router.Talking
	})

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := cc.Hold(ctx, id); err != nil {
		t.Fatalf("hold from n2: %v", err)
	}
	if err := cc.Resume(ctx, id); err != nil {
		t.Fatalf("resume from n2: %v", err)
	}
	if err := cc.Hold(ctx, id+1000); !errors.Is(err, sip.ErrNoCall) {
		t.Fatalf("hold of a call n1 does not have: %v, want sip.ErrNoCall", err)
	}
	if err := cc.ConsultEnd(ctx, id, router.ConsultCancelled); !errors.Is(err, console.ErrNoConsult) {
		t.Fatalf("consult_cancel without a consult from n2: %v, want console.ErrNoConsult", err)
	}
	if err := cc.Hold(ctx, onN3); !errors.Is(err, console.ErrCallGone) {
		t.Fatalf("hold of a call on n3, which serves no call controls: %v, want console.ErrCallGone", err)
	}
	if err := cc.Hangup(ctx, id); err != nil {
		t.Fatalf("hangup from n2: %v", err)
	}
	if err := citizen.Wait(t, 20*time.Second); err != nil {
		t.Fatalf("citizen did not get the BYE of the hangup from n2: %v", err)
	}
	testpeers.WaitFor(t, 10*time.Second, "the call's end in the log", func() bool {
		for _, m := range a.logRecords("call ended") {
			if router.ContactID(fsNum(m, "contact_id")) == id {
				if m["cause"] != "console-hangup" || fsNum(m, "holds") != 1 {
					t.Fatalf("call ended with cause %v after %v holds; want console-hangup after 1", m["cause"], m["holds"])
				}
				return true
			}
		}
		return false
	})
}

// Two real Apps in cluster mode (cluster.enabled, embedded NATS, each on
// its own PostgreSQL database): agent01's phone (baresip) registers with
// n1; n2's SIP service finds it (its Locator) and n2's supervisor console
// shows agent01's phone registered.
func TestClusterAppsShareRegistrations(t *testing.T) {
	pg := pgtest.Shared(t)
	ports := make([]int, 4)
	for i := range ports {
		ports[i] = testpeers.FreeTCPPort(t)
	}
	apps := make([]*fsApp, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range apps {
		dir := fsConfig(t, "")
		f, err := os.OpenFile(filepath.Join(dir, "onecall.yaml"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(f, "store:\n  driver: postgres\n  dsn: %q\ncluster:\n  enabled: true\n  node: %d\n  host: 127.0.0.1\n"+
			"  route_port: %d\n  client_port: %d\n  routes: [\"127.0.0.1:%d\"]\n  secret: \"test-cluster-secret-0123\"\n  replicas: 1\n",
			pg.Database(t), i+1, ports[i], ports[2+i], ports[1-i])
		f.Close()
		logs := &testpeers.Buffer{}
		opts := Options{ConfigPath: dir, DataDir: t.TempDir(), HTTPAddr: "127.0.0.1:0", SIPAddr: "127.0.0.1:0", Demo: true,
			Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})), DrainTimeout: time.Second}
		wg.Go(func() {
			a, err := New(t.Context(), opts)
			if err == nil {
				if err = a.Start(t.Context()); err != nil {
					_ = a.Shutdown(context.Background())
				}
			}
			if err != nil {
				errs[i] = err
				return
			}
			apps[i] = &fsApp{App: a, name: fmt.Sprintf("n%d", i+1), logs: logs}
		})
	}
	wg.Wait()
	for i, a := range apps {
		if a != nil {
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				if err := a.Shutdown(ctx); err != nil {
					t.Errorf("n%d Shutdown: %v", i+1, err)
				}
				if t.Failed() {
					a.dumpLog(t)
				}
			})
		}
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("n%d: %v", i+1, err)
		}
	}
	n1, n2 := apps[0], apps[1]
	sup := n2.fsSignIn(t, "super01")

	testpeers.StartBaresip(t, testpeers.BaresipOptions{User: "agent01", Registrar: n1.sipUDP(), Password: "demo", Quit: 60 * time.Second})
	testpeers.WaitFor(t, 15*time.Second, "n2 to find agent01's phone registered with n1", func() bool {
		_, ok := n2.locator().Lookup("agent01")
		return ok
	})
	if _, ok := n2.registrar.Lookup("agent01"); ok {
		t.Fatal("n2's own registrar has agent01: the phone registered with n1 only")
	}
	sup.event("agent_state", func(d json.RawMessage) bool {
		var v struct {
			ID    string `json:"id"`
			Phone bool   `json:"phone"`
		}
		return json.Unmarshal(d, &v) == nil && v.ID == "agent01" && v.Phone
	})
}

// Voice across three nodes of a real cluster (three Apps on embedded NATS
// and PostgreSQL): agent01's phone (baresip) registers with n3, its
// console is on n2, a SIPp citizen calls n1. Routing offers the call to
// agent01; n1 rings the phone registered with n3 (the shared bindings);
// the console on n2 holds, resumes and hangs up the call on n1 (NATS call
// controls); the citizen gets the BYE and n1's call ended
// "console-hangup" after one hold.
func TestClusterVoiceAcrossNodes(t *testing.T) {
	nodes := startCluster(t)
	callNode, conNode, phoneNode := nodes[0], nodes[1], nodes[2]
	testpeers.StartBaresip(t, testpeers.BaresipOptions{User: "agent01", Registrar: phoneNode.sipUDP(), Password: "demo", Quit: 90 * time.Second})
	testpeers.WaitFor(t, 20*time.Second, "n1 to find agent01's phone registered with n3", func() bool {
		_, ok := callNode.locator().Lookup("agent01")
		return ok
	})
	con := conNode.fsSignIn(t, "agent01")
	con.mustCall("state", map[string]any{"state": "ready"})

	citizen := fsStartSipp(t, callNode.sipUDP(), fsHotline, fsCitizen{From: "01012349999", Audio: true, WaitBye: 40000})
	var offer struct {
		ID uint64 `json:"id"`
	}
	json.Unmarshal(con.event("offer", nil), &offer)
	id := router.ContactID(offer.ID)
	if got := server.ContactIDNode(id); int(got) != callNode.n {
		t.Fatalf("offered call %d carries node %d, want n%d (where the citizen called)", id, got, callNode.n)
	}
	testpeers.WaitFor(t, 20*time.Second, "the call talking on every replica", func() bool {
		for _, c := range nodes {
			var v router.ContactView
			var ok bool
			if err := c.Front().Query(t.Context(), func(e *router.Engine) { v, ok = e.Contact(id) }); err != nil || !ok || v.State != router.Talking {
				return false
			}
		}
		return true
	})
	// The console's mirror on n2 folds the fanned-out commands on its own
	// schedule: hold is refused until it has seen the call connected.
	if got := con.connected(); got != offer.ID {
		t.Fatalf("connected event for contact %d, want %d", got, offer.ID)
	}
	con.mustCall("hold", map[string]any{"contact": offer.ID})
	con.mustCall("resume", map[string]any{"contact": offer.ID})
	con.mustCall("hangup", map[string]any{"contact": offer.ID})
	if err := citizen.Wait(t, 20*time.Second); err != nil {
		t.Fatalf("citizen did not get the BYE of the hangup from n%d's console: %v", conNode.n, err)
	}
	testpeers.WaitFor(t, 10*time.Second, "the call's end in n1's log", func() bool {
		for _, m := range callNode.logRecords("call ended") {
			if router.ContactID(fsNum(m, "contact_id")) == id {
				if m["cause"] != "console-hangup" || fsNum(m, "holds") != 1 {
					t.Fatalf("call ended with cause %v after %v holds; want console-hangup after 1", m["cause"], m["holds"])
				}
				return true
			}
		}
		return false
	})
}
