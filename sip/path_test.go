package sip

import (
	"net/netip"
	"slices"
	"strings"
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
// everything the proxy relays comes from the same address. It identifies
// a relayed INVITE by where the proxy received it from (the Path's
// received parameter against the phone's Via, as phoneSource reads it).
func TestBoundFromIgnoresProxiedBindings(t *testing.T) {
	reg, _ := newTestRegistrar(t, func(o *RegistrarOptions) {
		o.Proxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
	s := startRegServer(t, reg)
	c := newRegClient(t)
	p := newRegPhone(t, c, s.udp, "agent01", "demo")
	_, res := p.register([]string{p.contact()}, 120, sip.NewHeader("Path", "<sip:127.0.0.1:5999;lr;received=sip:10.0.0.7:5062>"))
	if res.StatusCode != 200 {
		t.Fatalf("register: %s", res.Short())
	}
	b, ok := reg.LookupBinding("agent01")
	if !ok {
		t.Fatal("no binding")
	}
	if reg.BoundFrom("agent01", netip.MustParseAddrPort(b.Source), false) {
		t.Fatal("a request from the proxy's address was taken as agent01's phone")
	}
	if !reg.BoundFrom("agent01", netip.MustParseAddrPort("10.0.0.7:5062"), true) {
		t.Fatal("an INVITE the proxy received from the phone's address was not taken as agent01's phone")
	}
	for _, other := range []string{"10.0.0.7:5063", "10.0.0.8:5062"} {
		if reg.BoundFrom("agent01", netip.MustParseAddrPort(other), true) {
			t.Fatalf("an INVITE the proxy received from %s was taken as agent01's phone", other)
		}
	}
	if reg.BoundFrom("agent01", netip.MustParseAddrPort("10.0.0.7:5062"), false) {
		t.Fatal("a direct INVITE was taken as the proxied phone's")
	}
}

// phoneSource reads a relayed INVITE's phone address from the Via below
// the proxy's: received and rport as the proxy set them.
func TestPhoneSource(t *testing.T) {
	s := &Service{opts: Options{Proxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}}
	for _, tc := range []struct {
		src, vias, want string
		proxied, ok     bool
	}{
		{"10.0.0.9:5070", "SIP/2.0/UDP 10.0.0.9:5070;branch=z9hG4bKa", "10.0.0.9:5070", false, true},
		{"127.0.0.1:5060", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKk|SIP/2.0/UDP 192.168.1.4:5062;rport=40000;received=10.0.0.7;branch=z9hG4bKp", "10.0.0.7:40000", true, true},
		{"127.0.0.1:5060", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKk|SIP/2.0/UDP 10.0.0.7:5062;branch=z9hG4bKp", "10.0.0.7:5062", true, true},
		{"127.0.0.1:5060", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKk", "", false, false},
	} {
		raw := "INVITE sip:agent02@127.0.0.1 SIP/2.0\r\n"
		for _, v := range strings.Split(tc.vias, "|") {
			raw += "Via: " + v + "\r\n"
		}
		raw += "From: <sip:agent01@127.0.0.1>;tag=a\r\nTo: <sip:agent02@127.0.0.1>\r\nCall-ID: c1\r\n" +
			"CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
		m, err := sip.ParseMessage([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		req := m.(*sip.Request)
		req.SetSource(tc.src)
		got, proxied, ok := s.phoneSource(req)
		if ok != tc.ok || proxied != tc.proxied || (ok && got.String() != tc.want) {
			t.Errorf("phoneSource(from %s, Via %s) = %s %v %v, want %s %v %v", tc.src, tc.vias, got, proxied, ok, tc.want, tc.proxied, tc.ok)
		}
	}
}
