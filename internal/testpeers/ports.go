package testpeers

import (
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
		p := FreeUDPPort(t, false)
		var ls []net.Listener
		ok := true
		for _, port := range []int{p, p + 1} {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
			if err != nil {
				ok = false
				break
			}
			ls = append(ls, l)
		}
		for _, l := range ls {
			l.Close()
		}
		if ok {
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
		p := FreeUDPPort(t, true)
		var cs []net.PacketConn
		ok := true
		for port := p + 1; port <= p+3; port++ {
			c, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port))
			if err != nil {
				ok = false
				break
			}
			cs = append(cs, c)
		}
		for _, c := range cs {
			c.Close()
		}
		if ok {
			return p
		}
	}
	t.Fatal("no free RTP ports")
	return 0
}
