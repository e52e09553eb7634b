package app

import (
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSIPTCPConnectionLimits: with sip.tcp {max_connections 30,
// max_per_source 20, idle_timeout 3s}, 40 half-sent connections from
// 127.0.0.1 and 40 from 127.0.0.2 leave 20 + 10 open (the rest are closed
// at accept), HTTP still answers, a full REGISTER on a new connection from
// 127.0.0.3 finds no room, and after the idle timeout every silent
// connection is closed and SIP over TCP serves again (issue 17, defect 6:
// 1,500 idle connections were never closed, 4,400 exhausted the
// descriptors and took HTTP down).
func TestSIPTCPConnectionLimits(t *testing.T) {
	cfg := fsConfig(t, "", "    idle_timeout: 2m", "    idle_timeout: 3s", "max_connections: 10000", "max_connections: 30",
		"max_per_source: 200", "max_per_source: 20", "fd_reserve: 1024", "fd_reserve: 64")
	a := fsStartAt(t, cfg, t.TempDir())
	_, sipTCP := a.SIPAddrs()
	dial := func(ip string) net.Conn {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", sipTCP)
		if err != nil {
			t.Fatalf("dial from %s: %v", ip, err)
		}
		t.Cleanup(func() { c.Close() })
		// Half a request, never finished.
		_, _ = c.Write([]byte("INVITE sip:110@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP " + ip + ":5060;branch=z9hG4bK-half\r\nFrom: <sip:x@" + ip + ">"))
		return c
	}
	var conns []net.Conn
	from := map[net.Conn]string{}
	for _, ip := range []string{"127.0.0.1", "127.0.0.2"} {
		for range 40 {
			c := dial(ip)
			conns = append(conns, c)
			from[c] = ip
		}
	}
	open := openConns(conns, 700*time.Millisecond)
	byIP := map[string]int{}
	for _, c := range open {
		byIP[from[c]]++
	}
	t.Logf("open after the flood: %v", byIP)
	if byIP["127.0.0.1"] != 20 || byIP["127.0.0.2"] != 10 {
		t.Fatalf("open connections by source %v; want 20 from 127.0.0.1 (per-source cap) and 10 from 127.0.0.2 (total cap 30)", byIP)
	}
	if code, _ := get(t, "http://"+a.HTTPAddr()+"/healthz"); code != 200 {
		t.Fatalf("/healthz while SIP TCP is full: %d", code)
	}
	if got := optionsOverTCP(t, "127.0.0.3", sipTCP); got != "" {
		t.Fatalf("a new connection was served past the total cap: %q", got)
	}

	// The idle timeout closes every silent connection; then there is room.
	if still := openConns(open, 6*time.Second); len(still) != 0 {
		t.Fatalf("%d silent connections still open after the idle timeout (3s)", len(still))
	}
	if got := optionsOverTCP(t, "127.0.0.3", sipTCP); !strings.HasPrefix(got, "SIP/2.0 200") {
		t.Fatalf("OPTIONS over TCP after the idle connections were closed: %q", got)
	}
	for _, r := range []struct {
		reason string
		min    float64
	}{{"tcp_per_source", 20}, {"tcp_total", 31}, {"tcp_idle", 30}} {
		if n := a.metric(t, `onecall_sip_dropped_total{reason="`+r.reason+`"}`); n < r.min {
			t.Errorf("%s drops %v, want >= %v", r.reason, n, r.min)
		}
	}
}

// openConns returns the connections the server still holds open: a read
// times out after d instead of ending (EOF, reset).
func openConns(conns []net.Conn, d time.Duration) []net.Conn {
	var mu sync.Mutex
	var open []net.Conn
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.SetReadDeadline(deadline)
			buf := make([]byte, 4096)
			for {
				_, err := c.Read(buf)
				if err == nil {
					continue // a reply to the half request: keep reading
				}
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					mu.Lock()
					open = append(open, c)
					mu.Unlock()
				}
				return
			}
		}()
	}
	wg.Wait()
	return open
}

// optionsOverTCP sends OPTIONS on a new TCP connection from ip and returns
// the reply's first line ("" if the connection ends or nothing comes in
// 3 s).
func optionsOverTCP(t *testing.T, ip, server string) string {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", server)
	if err != nil {
		return ""
	}
	defer c.Close()
	local := c.LocalAddr().String()
	msg := "OPTIONS sip:110@" + server + " SIP/2.0\r\nVia: SIP/2.0/TCP " + local + ";branch=" + branch() +
		"\r\nFrom: <sip:probe@" + ip + ">;tag=p1\r\nTo: <sip:110@" + server + ">\r\nCall-ID: probe-" + branch() +
		"\r\nCSeq: 1 OPTIONS\r\nContact: <sip:probe@" + local + ";transport=tcp>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	if _, err := c.Write([]byte(msg)); err != nil {
		return ""
	}
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 4096)
	n, _ := c.Read(buf)
	line, _, _ := strings.Cut(string(buf[:n]), "\r\n")
	return line
}
