package sip

import (
	"errors"
	"net"
	"slices"
	"testing"
	"time"

	"onecall/internal/testpeers"
)

type fakeNow struct{ t time.Time }

func (f *fakeNow) now() time.Time          { return f.t }
func (f *fakeNow) advance(d time.Duration) { f.t = f.t.Add(d) }

func TestPortPoolTable(t *testing.T) {
	for _, tc := range []struct {
		name       string
		min, max   int
		pairs      int
		first, top int
		bad        bool
	}{
		{name: "even range", min: 20000, max: 20009, pairs: 5, first: 20000, top: 20008},
		{name: "odd min rounds up", min: 20001, max: 20010, pairs: 4, first: 20002, top: 20008},
		{name: "max is the top RTCP port", min: 20000, max: 20001, pairs: 1, first: 20000, top: 20000},
		{name: "shipped range", min: 10000, max: 60000, pairs: 25000, first: 10000, top: 59998},
		{name: "no pair", min: 20000, max: 20000, bad: true},
		{name: "inverted", min: 20010, max: 20000, bad: true},
		{name: "above 65535", min: 65000, max: 70000, bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := newPortPool(tc.min, tc.max, time.Second, nil)
			if tc.bad {
				if err == nil {
					t.Fatalf("range %d-%d accepted", tc.min, tc.max)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.pairs() != tc.pairs || p.port(0) != tc.first || p.port(p.pairs()-1) != tc.top {
				t.Fatalf("pairs %d first %d top %d, want %d %d %d", p.pairs(), p.port(0), p.port(p.pairs()-1),
					tc.pairs, tc.first, tc.top)
			}
		})
	}
}

// The pool wraps around: with the top pair busy and the others released,
// new takes are served from the bottom of the range (diago's allocator gave
// up at the top), and a released pair waits out the quarantine.
func TestPortPoolWrapsAndQuarantines(t *testing.T) {
	clk := &fakeNow{t: time.Unix(1000, 0)}
	p, err := newPortPool(30000, 30007, 2*time.Second, clk.now) // 4 pairs
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for range 4 {
		i, err := p.take()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, i)
	}
	if got[0] != 0 || got[3] != 3 {
		t.Fatalf("took %v, want 0..3 in order", got)
	}
	if _, err := p.take(); !errors.Is(err, errNoPorts) {
		t.Fatalf("fifth take: %v, want errNoPorts", err)
	}
	// Pairs 0..2 end; the top pair (3) stays busy.
	for _, i := range got[:3] {
		p.release(i)
	}
	p.release(got[0]) // double release: ignored
	if busy, free, _ := p.counts(); busy != 1 || free != 3 {
		t.Fatalf("busy %d free %d, want 1 3", busy, free)
	}
	if _, err := p.take(); !errors.Is(err, errNoPorts) || p.ready() {
		t.Fatalf("take during quarantine: %v", err)
	}
	clk.advance(2 * time.Second)
	if !p.ready() {
		t.Fatal("not ready after the quarantine")
	}
	for want := range 3 {
		i, err := p.take()
		if err != nil || i != want {
			t.Fatalf("take = %d %v, want %d (wrap to the bottom, oldest first)", i, err, want)
		}
	}
	// Release order is reuse order.
	p.release(2)
	clk.advance(time.Second)
	p.release(0)
	clk.advance(time.Second)
	if i, err := p.take(); err != nil || i != 2 {
		t.Fatalf("take = %d %v, want 2 (released first, quarantine over)", i, err)
	}
	if _, err := p.take(); !errors.Is(err, errNoPorts) {
		t.Fatalf("pair 0 handed out %v into its quarantine", err)
	}
}

// A pair whose port another process holds is skipped, not fatal.
func TestPortPoolSkipsPortsInUse(t *testing.T) {
	base := testpeers.FreeRTPPorts(t) // even, base..base+3 free
	hold, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: base + 1})
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	p, err := newPortPool(base, base+3, time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	rtp, rtcp, idx, err := p.listen(net.IPv4(127, 0, 0, 1))
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer rtp.Close()
	defer rtcp.Close()
	if idx != 1 || rtp.LocalAddr().(*net.UDPAddr).Port != base+2 {
		t.Fatalf("got pair %d (%s), want 1 (%d)", idx, rtp.LocalAddr(), base+2)
	}
	if _, _, failed := p.counts(); failed != 1 {
		t.Fatalf("bind failures %d, want 1", failed)
	}
}

func BenchmarkPortPoolTakeRelease(b *testing.B) {
	p, err := newPortPool(10000, 60000, 0, nil)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		i, err := p.take()
		if err != nil {
			b.Fatal(err)
		}
		p.release(i)
	}
}

// startAt makes pair k the first handed out and keeps every pair in the
// ring exactly once, wrapping past the top of the range.
func TestPortPoolStartAt(t *testing.T) {
	p, err := newPortPool(30000, 30007, 0, nil) // 4 pairs
	if err != nil {
		t.Fatal(err)
	}
	p.startAt(6) // 6 mod 4 = 2
	var got []int
	for range 4 {
		i, err := p.take()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, i)
	}
	if want := []int{2, 3, 0, 1}; !slices.Equal(got, want) {
		t.Fatalf("pairs handed out %v, want %v", got, want)
	}
	if _, err := p.take(); !errors.Is(err, errNoPorts) {
		t.Fatalf("fifth take from four pairs: %v, want errNoPorts", err)
	}
}
