package sip

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// A REGISTER relayed by a proxy keeps its Path with the binding and the
// route to the phone is that Path; the phone's own address (the Path's
// received parameter) is what the agent networks check. Path from a source
// that is not a proxy is refused.
func TestRegisterPathFromProxy(t *testing.T) {
	loop := netip.MustParsePrefix("127.0.0.1/32")
	reg, _ := newTestRegistrar(t, func(o *RegistrarOptions) {
		o.Proxies = []netip.Prefix{loop}
		o.SourceNets = []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}
	})
	s := startRegServer(t, reg)
	c := newRegClient(t)
	p := newRegPhone(t, c, s.udp, "agent01", "demo")
	path := "<sip:127.0.0.1:5999;lr=on;received=sip:10.1.2.3:5062>"
	_, res := p.register([]string{"<sip:agent01@10.1.2.3:5062>"}, 120,
		sip.NewHeader("Path", path), sip.NewHeader("Supported", "path"))
	if res.StatusCode != 200 {
		t.Fatalf("REGISTER with Path via the proxy: %s", res.Short())
	}
	if h := res.GetHeader("Path"); h == nil || h.Value() != path {
		t.Fatalf("200 does not echo the Path: %v", h)
	}
	contact, route, ok := reg.LookupRoute("agent01")
	if !ok || contact != "sip:agent01@10.1.2.3:5062" || !slices.Equal(route, []string{path}) {
		t.Fatalf("LookupRoute = %q %q %v", contact, route, ok)
	}
	// The phone outside the agent networks: refused although the proxy is
	// trusted.
	p2 := newRegPhone(t, c, s.udp, "agent02", "demo2")
	res2 := regDo(t, c.client, p2.req([]string{"<sip:agent02@192.0.2.7:5062>"}, 120,
		sip.NewHeader("Path", "<sip:127.0.0.1:5999;lr;received=sip:192.0.2.7:5062>")))
	if res2.StatusCode != 403 {
		t.Fatalf("phone outside the agent networks behind the proxy: %s", res2.Short())
	}
}

func TestRegisterPathFromStrangerRefused(t *testing.T) {
	reg, _ := newTestRegistrar(t, func(o *RegistrarOptions) {
		o.Proxies = []netip.Prefix{netip.MustParsePrefix("192.0.2.1/32")}
	})
	s := startRegServer(t, reg)
	c := newRegClient(t)
	p := newRegPhone(t, c, s.udp, "agent01", "demo")
	res := regDo(t, c.client, p.req([]string{p.contact()}, 120,
		sip.NewHeader("Path", "<sip:203.0.113.9;lr>")))
	if res.StatusCode != 403 {
		t.Fatalf("Path from a source that is not a proxy: %s", res.Short())
	}
}

func TestPathReceived(t *testing.T) {
	for in, want := range map[string]string{
		"<sip:127.0.0.1:5060;lr;received=sip:10.0.0.5:5062>":                   "10.0.0.5",
		"<sip:127.0.0.1:5060;lr;received=sip:10.0.0.5:5062%3Btransport%3Dtcp>": "10.0.0.5",
		`<sip:127.0.0.1:5060;lr;received="sip:[2001:db8::1]:5062">`:            "2001:db8::1",
		"<sip:127.0.0.1:5060;lr>":                                              "invalid IP",
	} {
		if got := pathReceived([]string{in}).String(); got != want {
			t.Errorf("pathReceived(%s) = %s, want %s", in, got, want)
		}
	}
	if got := splitAddrList(`<sip:a;lr>, "x,y" <sip:b>,<sip:c>`); len(got) != 3 {
		t.Errorf("splitAddrList = %q", got)
	}
}

// A binding made through a proxy does not identify the phone by source:
// everything the proxy relays comes from the same address.
func TestBoundFromIgnoresProxiedBindings(t *testing.T) {
	reg, _ := newTestRegistrar(t, func(o *RegistrarOptions) {
		o.Proxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
	s := startRegServer(t, reg)
	c := newRegClient(t)
	p := newRegPhone(t, c, s.udp, "agent01", "demo")
	_, res := p.register([]string{p.contact()}, 120, sip.NewHeader("Path", "<sip:127.0.0.1:5999;lr>"))
	if res.StatusCode != 200 {
		t.Fatalf("register: %s", res.Short())
	}
	b, ok := reg.LookupBinding("agent01")
	if !ok {
		t.Fatal("no binding")
	}
	if reg.BoundFrom("agent01", netip.MustParseAddrPort(b.Source)) {
		t.Fatal("a request from the proxy's address was taken as agent01's phone")
	}
}
