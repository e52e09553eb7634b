package testpeers

import (
	"io"
	"net"
	"strconv"
	"testing"
)

// FreeUDPPort returns a UDP port free on 127.0.0.1 right now; even asks for
// an even port (RTP).
func FreeUDPPort(t testing.TB, even bool) int {
	t.Helper()
	for range 50 {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := c.LocalAddr().(*net.UDPAddr).Port
		c.Close()
		if !even || p%2 == 0 {
			return p
		}
	}
	t.Fatal("no free UDP port")
	return 0
}

// FreeSIPPort returns a port p with UDP p, TCP p and TCP p+1 (baresip's
// TLS) free on 127.0.0.1 right now.
func FreeSIPPort(t testing.TB) int {
	t.Helper()
	for range 100 {
		if p := FreeUDPPort(t, false); bindable("tcp", p, p+1) {
			return p
		}
	}
	t.Fatal("no free SIP port")
	return 0
}

// FreeRTPPorts returns an even port p with UDP p..p+3 free on 127.0.0.1
// right now: SIPp's -mp takes p (audio RTP), p+1 (RTCP) and p+2, p+3
// (video RTP/RTCP, bound even when unused).
func FreeRTPPorts(t testing.TB) int {
	t.Helper()
	for range 100 {
		if p := FreeUDPPort(t, true); bindable("udp", p+1, p+2, p+3) {
			return p
		}
	}
	t.Fatal("no free RTP ports")
	return 0
}

// bindable reports whether all ports can be bound on 127.0.0.1 for
// network ("udp" or "tcp") at once; it releases them before returning.
func bindable(network string, ports ...int) bool {
	var held []io.Closer
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for _, p := range ports {
		addr := "127.0.0.1:" + strconv.Itoa(p)
		var c io.Closer
		var err error
		if network == "udp" {
			c, err = net.ListenPacket(network, addr)
		} else {
			c, err = net.Listen(network, addr)
		}
		if err != nil {
			return false
		}
		held = append(held, c)
	}
	return true
}
