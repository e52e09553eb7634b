package sip

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/nats-io/nats.go/jetstream"

	"onecall/cluster"
	"onecall/cluster/clustertest"
)

// openShared opens node nd's view of the shared bindings.
func openShared(t *testing.T, nd *cluster.Node, clock func() time.Time, onChange func(string, bool)) *SharedBindings {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	s, err := OpenSharedBindings(ctx, nd.JetStream(), SharedBindingsOptions{Node: nd.ID(), Replicas: nd.Replicas(),
		Sweep: 20 * time.Millisecond, OnChange: onChange, Logger: regQuietLogger(), Clock: clock})
	if err != nil {
		t.Fatalf("open shared bindings on %s: %v", nd.ID(), err)
	}
	t.Cleanup(s.Close)
	return s
}

// Three real cluster nodes: an agent's phone registers through a proxy
// (Path) with node n1's registrar; n2 finds the binding with its Path as
// the route, n3 learns the agent is registered; n1 restores it, Path
// included, after a restart; when it expires every node forgets it and
// n1's sweep deletes it from the bucket.
func TestSharedBindingsAcrossNodes(t *testing.T) {
	nodes := clustertest.Start(t, 3)
	clock := newRegClock()
	loop := netip.MustParsePrefix("127.0.0.1/32")
	changes := make([]*regChangeLog, 3)
	shared := make([]*SharedBindings, 3)
	regs := make([]*Registrar, 3)
	for i, nd := range nodes {
		changes[i] = newRegChangeLog()
		shared[i] = openShared(t, nd, clock.Now, changes[i].on)
		regs[i], _ = newTestRegistrar(t, func(o *RegistrarOptions) {
			o.Proxies = []netip.Prefix{loop}
			o.Store = shared[i]
			o.Clock = clock.Now
			o.OnChange = nil
		})
	}

	s := startRegServer(t, regs[0])
	c := newRegClient(t)
	p := newRegPhone(t, c, s.udp, "agent01", "demo")
	path := "<sip:127.0.0.1:5999;lr;received=sip:10.1.2.3:5062>"
	if _, res := p.register([]string{"<sip:agent01@10.1.2.3:5062>"}, 120,
		sip.NewHeader("Path", path), sip.NewHeader("Supported", "path")); res.StatusCode != 200 {
		t.Fatalf("REGISTER through the proxy on n1: %s", res.Short())
	}

	loc2 := shared[1].Locator(regs[1])
	regWaitFor(t, 10*time.Second, "n2 to find agent01's binding", func() bool {
		_, ok := loc2.Lookup("agent01")
		return ok
	})
	contact, route, ok := loc2.LookupRoute("agent01")
	if !ok || contact != "sip:agent01@10.1.2.3:5062" || !slices.Equal(route, []string{path}) {
		t.Fatalf("n2 LookupRoute = %q %q %v, want the contact through the Path", contact, route, ok)
	}
	// A consult INVITE from the phone, relayed by the proxy to n2 (the
	// node with the phone's call): n2 takes it as agent01's phone.
	if !loc2.BoundFrom("agent01", netip.MustParseAddrPort("10.1.2.3:5062"), true) {
		t.Fatal("n2 does not take an INVITE the proxy received from agent01's address as agent01's phone")
	}
	if loc2.BoundFrom("agent01", netip.MustParseAddrPort("10.1.2.3:5063"), true) ||
		loc2.BoundFrom("agent01", netip.MustParseAddrPort("127.0.0.1:5999"), false) {
		t.Fatal("n2 takes an INVITE from elsewhere as agent01's phone")
	}
	if _, ok := shared[0].Lookup("agent01"); ok {
		t.Fatal("n1's shared Lookup returned its own binding (it has it locally)")
	}
	if _, _, ok := loc2.LookupRoute("agent02"); ok {
		t.Fatal("n2 found a binding for an agent that never registered")
	}
	for i := range nodes {
		select {
		case ev := <-changes[i].ch:
			if ev != "agent01=true" {
				t.Fatalf("n%d OnChange %s, want agent01=true", i+1, ev)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("n%d: no OnChange for agent01", i+1)
		}
	}

	// n1 restarts its registrar: its binding comes back from the bucket
	// with its Path (the SQL store kept none).
	r1b, _ := newTestRegistrar(t, func(o *RegistrarOptions) {
		o.Proxies = []netip.Prefix{loop}
		o.Store = shared[0]
		o.Clock = clock.Now
	})
	if err := r1b.Restore(t.Context()); err != nil {
		t.Fatal(err)
	}
	if c, r, ok := r1b.LookupRoute("agent01"); !ok || c != contact || !slices.Equal(r, []string{path}) {
		t.Fatalf("restored on n1: %q %q %v, want the binding with its Path", c, r, ok)
	}

	// Expiry: past the binding's 120 s nobody finds it and every node
	// says so; n1's sweep deletes the key.
	clock.Advance(121 * time.Second)
	if _, _, ok := loc2.LookupRoute("agent01"); ok {
		t.Fatal("n2 still finds the expired binding")
	}
	for i := range nodes {
		select {
		case ev := <-changes[i].ch:
			if ev != "agent01=false" {
				t.Fatalf("n%d OnChange %s after expiry, want agent01=false", i+1, ev)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("n%d: no OnChange after expiry", i+1)
		}
	}
	regs[0].expire(t.Context())
	kv, err := nodes[2].JetStream().KeyValue(t.Context(), RegistrarBucket)
	if err != nil {
		t.Fatal(err)
	}
	key := sharedKey("n1", "agent01", contact)
	regWaitFor(t, 10*time.Second, "the expired binding's key to leave the bucket", func() bool {
		_, err := kv.Get(t.Context(), key)
		return errors.Is(err, jetstream.ErrKeyNotFound)
	})
	if bs, _ := shared[0].LoadBindings(t.Context()); len(bs) != 0 {
		t.Fatalf("n1 would restore %d bindings after the delete", len(bs))
	}
}

// A phone that moved: its newer binding on another node wins over the
// stale local one.
func TestClusterLocatorPrefersNewest(t *testing.T) {
	nodes := clustertest.Start(t, 1)
	clock := newRegClock()
	sh := openShared(t, nodes[0], clock.Now, nil)
	reg, _ := newTestRegistrar(t, func(o *RegistrarOptions) { o.Clock = clock.Now })
	s := startRegServer(t, reg)
	c := newRegClient(t)
	p := newRegPhone(t, c, s.udp, "agent01", "demo")
	if _, res := p.register([]string{p.contact()}, 300); res.StatusCode != 200 {
		t.Fatalf("REGISTER: %s", res.Short())
	}
	loc := sh.Locator(reg)
	if got, ok := loc.Lookup("agent01"); !ok || got != "sip:agent01@"+c.addr {
		t.Fatalf("local binding: %q %v", got, ok)
	}
	// Another node's newer binding of the same agent (written as that node
	// would).
	other, err := OpenSharedBindings(t.Context(), nodes[0].JetStream(), SharedBindingsOptions{Node: "n9", Clock: clock.Now, Logger: regQuietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	clock.Advance(time.Second)
	_ = other.SaveBinding(t.Context(), Binding{User: "agent01", Contact: "sip:agent01@10.9.9.9:5060",
		Registered: clock.Now(), Expires: clock.Now().Add(time.Minute)})
	regWaitFor(t, 10*time.Second, "the newer remote binding", func() bool {
		got, _ := loc.Lookup("agent01")
		return got == "sip:agent01@10.9.9.9:5060"
	})
}
