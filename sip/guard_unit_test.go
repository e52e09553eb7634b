package sip

import (
	"net/netip"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// The offer side refuses a contact outside the agent networks (a binding
// restored from before the setting, a DNS name).
func TestAgentTargetAllowed(t *testing.T) {
	s := &Service{opts: Options{AgentNets: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}}}
	for _, c := range []struct {
		host string
		want bool
	}{{"10.1.2.3", true}, {"10.2.0.1", false}, {"phone.example.org", false}, {"[::ffff:10.1.0.9]", true}} {
		if got := s.agentTargetAllowed(sip.Uri{Host: c.host}); got != c.want {
			t.Errorf("agentTargetAllowed(%s) = %v, want %v", c.host, got, c.want)
		}
	}
	if !(&Service{}).agentTargetAllowed(sip.Uri{Host: "phone.example.org"}) {
		t.Error("no agent networks: every contact allowed")
	}
}

// Pike: burst then rate per source, exempt networks, a full table evicts
// refilled buckets.
func TestPikeBuckets(t *testing.T) {
	p := newPike(2, 3, []netip.Prefix{netip.MustParsePrefix("10.9.0.0/16")})
	now := time.Unix(1000, 0)
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	for i := range 3 {
		if !p.allow(a, now) {
			t.Fatalf("request %d within the burst refused", i+1)
		}
	}
	if p.allow(a, now) {
		t.Fatal("4th request at once allowed (burst 3)")
	}
	if !p.allow(b, now) {
		t.Fatal("another source shares the first one's bucket")
	}
	if !p.allow(a, now.Add(500*time.Millisecond)) {
		t.Fatal("a token did not refill after 0.5 s at 2/s")
	}
	for range 100 {
		if !p.allow(netip.MustParseAddr("10.9.1.1"), now) {
			t.Fatal("exempt source limited")
		}
	}
	p.max = 2 // table full with a and b
	c := netip.MustParseAddr("192.0.2.3")
	if !p.allow(c, now.Add(time.Minute)) || len(p.m) != 1 {
		t.Fatalf("full table did not evict idle buckets: %d entries", len(p.m))
	}
	if newPike(0, 10, nil).allow(a, now) != true {
		t.Fatal("rate 0 must disable pike")
	}
}
