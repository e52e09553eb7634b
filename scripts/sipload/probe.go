package main

// RTP send-interval probes: a few Go "citizens" that call the service over
// UDP with an SDP pointing at a UDP socket of their own, send PCMA every
// 20 ms (so the no-RTP timer and the bridge see a live caller) and record
// the kernel receive timestamp (SO_TIMESTAMPNS) of every RTP packet the
// service sends them. On loopback the arrival interval is the service's
// send interval plus kernel wake-up noise; receive-side goroutine
// scheduling does not enter the figure.

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// intervals collects inter-arrival gaps, split by whether the service was
// under the target load when the packet arrived.
type intervals struct {
	mu            sync.Mutex
	loaded, other []time.Duration
	// rtt: bridged probes' round trip (probe -> onecall -> agent phone's
	// echo -> onecall -> probe) from the send time each probe writes into
	// its payload; sent: the probes' own send intervals; both under load.
	rtt, sent      []time.Duration
	lost, resets   int
	loadedCheck    func() bool
	packets, probe atomic.Int64
}

func (iv *intervals) addTo(s *[]time.Duration, d time.Duration) {
	iv.mu.Lock()
	*s = append(*s, d)
	iv.mu.Unlock()
}

func (iv *intervals) add(d time.Duration, loaded bool) {
	iv.mu.Lock()
	if loaded {
		iv.loaded = append(iv.loaded, d)
	} else {
		iv.other = append(iv.other, d)
	}
	iv.mu.Unlock()
}

func pct(s []time.Duration, p float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	i := int(p * float64(len(s)-1))
	return s[i]
}

func summary(s []time.Duration) string {
	if len(s) == 0 {
		return "no samples"
	}
	s = slices.Clone(s)
	slices.Sort(s)
	in := 0
	for _, d := range s {
		if d >= 15*time.Millisecond && d <= 25*time.Millisecond {
			in++
		}
	}
	r := func(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/1e6) }
	return fmt.Sprintf("n=%d min %s p1 %s p50 %s p99 %s p99.9 %s max %s; within 20±5 ms: %.3f%%",
		len(s), r(s[0]), r(pct(s, 0.01)), r(pct(s, 0.5)), r(pct(s, 0.99)), r(pct(s, 0.999)), r(s[len(s)-1]),
		100*float64(in)/float64(len(s)))
}

// probe is one measuring citizen.
type probe struct {
	conn *net.UDPConn
	port int
	sess *sipgo.DialogClientSession
}

// startProbes places n calls to user at target (the service's UDP address).
func startProbes(ctx context.Context, n int, user, target string, iv *intervals) (stop func(), err error) {
	sipPort := freePort()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("sipload-probe"))
	if err != nil {
		return nil, err
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		return nil, err
	}
	ok := func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
	}
	srv.OnBye(ok)
	srv.OnInvite(ok) // re-INVITE (hold): accept, SDP unchanged
	srv.OnAck(func(*sip.Request, sip.ServerTransaction) {})
	hp := "127.0.0.1:" + strconv.Itoa(sipPort)
	sctx, scancel := context.WithCancel(ctx)
	go func() { _ = srv.ListenAndServe(sctx, "udp", hp) }()
	cli, err := sipgo.NewClient(ua, sipgo.WithClientConnectionAddr(hp))
	if err != nil {
		scancel()
		return nil, err
	}
	dua := sipgo.DialogUA{Client: cli, ContactHDR: sip.ContactHeader{
		Address: sip.Uri{Scheme: "sip", User: "probe", Host: "127.0.0.1", Port: sipPort}}}
	var wg sync.WaitGroup
	var probes []*probe
	done := make(chan struct{})
	stop = func() {
		close(done)
		for _, p := range probes {
			bctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			_ = p.sess.Bye(bctx)
			cancel()
			_ = p.sess.Close()
			_ = p.conn.Close()
		}
		wg.Wait()
		scancel()
		_ = cli.Close()
		_ = ua.Close()
	}
	time.Sleep(100 * time.Millisecond) // let the listener bind (script, not a test)
	for i := 0; i < n; i++ {
		// 127.0.0.2: SIPp's [auto_media_port]s are on 127.0.0.1 and could
		// coincide with an ephemeral probe port.
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
		if err != nil {
			stop()
			return nil, err
		}
		if err := enableTimestamps(c); err != nil {
			c.Close()
			stop()
			return nil, err
		}
		p := &probe{conn: c, port: c.LocalAddr().(*net.UDPAddr).Port}
		var to sip.Uri
		if err := sip.ParseUri("sip:"+user+"@"+target, &to); err != nil {
			c.Close()
			stop()
			return nil, err
		}
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		sess, err := dua.Invite(cctx, to, sdp(p.port), sip.NewHeader("Content-Type", "application/sdp"),
			sip.NewHeader("From", fmt.Sprintf("<sip:0109999%04d@127.0.0.1>;tag=p%d", i, i)))
		if err == nil {
			err = sess.WaitAnswer(cctx, sipgo.AnswerOptions{})
		}
		if err == nil {
			err = sess.Ack(cctx)
		}
		cancel()
		if err != nil {
			c.Close()
			stop()
			return nil, fmt.Errorf("probe %d: %w", i, err)
		}
		p.sess = sess
		probes = append(probes, p)
		remote, err := sdpAddr(sess.InviteResponse.Body())
		if err != nil {
			stop()
			return nil, fmt.Errorf("probe %d: %w", i, err)
		}
		iv.probe.Add(1)
		wg.Add(2)
		go func() { defer wg.Done(); p.send(remote, done, iv) }()
		go func() { defer wg.Done(); p.recv(iv) }()
	}
	return stop, nil
}

func sdp(port int) []byte {
	return []byte("v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=probe\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n" +
		"m=audio " + strconv.Itoa(port) + " RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\n" +
		"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n")
}

// sdpAddr finds the c= address and m=audio port of an SDP answer.
func sdpAddr(body []byte) (*net.UDPAddr, error) {
	var ip net.IP
	port := 0
	for _, line := range splitLines(string(body)) {
		if len(line) > 9 && line[:9] == "c=IN IP4 " {
			ip = net.ParseIP(line[9:])
		}
		var p int
		if _, err := fmt.Sscanf(line, "m=audio %d", &p); err == nil {
			port = p
		}
	}
	if ip == nil || port == 0 {
		return nil, fmt.Errorf("no audio address in SDP answer %q", body)
	}
	return &net.UDPAddr{IP: ip, Port: port}, nil
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			l := s[start:i]
			if len(l) > 0 && l[len(l)-1] == '\r' {
				l = l[:len(l)-1]
			}
			out = append(out, l)
			start = i + 1
		}
	}
	return out
}

// send paces PCMA silence at 20 ms; the payload's first 8 bytes carry the
// send time (Unix ns), which an echo brings back for the round trip.
func (p *probe) send(to *net.UDPAddr, done <-chan struct{}, iv *intervals) {
	pkt := make([]byte, 12+160)
	pkt[0], pkt[1] = 0x80, 8
	binary.BigEndian.PutUint32(pkt[8:], uint32(p.port))
	for i := 12; i < len(pkt); i++ {
		pkt[i] = 0xd5 // A-law silence
	}
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	var seq uint16
	var ts uint32
	var last time.Time
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		seq++
		ts += 160
		now := time.Now()
		binary.BigEndian.PutUint16(pkt[2:], seq)
		binary.BigEndian.PutUint32(pkt[4:], ts)
		binary.BigEndian.PutUint64(pkt[12:], uint64(now.UnixNano()))
		_, _ = p.conn.WriteToUDP(pkt, to)
		if !last.IsZero() && iv.loadedCheck() {
			iv.addTo(&iv.sent, now.Sub(last))
		}
		last = now
	}
}

// recv records kernel arrival-time gaps between consecutive audio packets
// of one RTP stream (same SSRC, consecutive sequence numbers).
func (p *probe) recv(iv *intervals) {
	buf := make([]byte, 1500)
	oob := make([]byte, 128)
	var last time.Time
	var lastSeq uint16
	var lastSSRC uint32
	for {
		n, oobn, _, _, err := p.conn.ReadMsgUDP(buf, oob)
		if err != nil {
			return
		}
		if n < 12 || buf[0]>>6 != 2 {
			continue
		}
		pt := buf[1] & 0x7f
		if pt != 8 && pt != 0 {
			continue // DTMF events, comfort noise
		}
		at, ok := kernelTime(oob[:oobn])
		if !ok {
			at = time.Now()
		}
		iv.packets.Add(1)
		if n >= 20 {
			// Our own echoed send time, if this is one (hold music never
			// decodes to a time within a minute of now).
			sent := time.Unix(0, int64(binary.BigEndian.Uint64(buf[12:])))
			if d := at.Sub(sent); d >= 0 && d < time.Minute && iv.loadedCheck() {
				iv.addTo(&iv.rtt, d)
			}
		}
		seq := binary.BigEndian.Uint16(buf[2:])
		ssrc := binary.BigEndian.Uint32(buf[8:])
		switch {
		case last.IsZero():
		case ssrc != lastSSRC:
			iv.mu.Lock()
			iv.resets++
			iv.mu.Unlock()
		case seq != lastSeq+1:
			iv.mu.Lock()
			iv.lost++
			iv.mu.Unlock()
		default:
			iv.add(at.Sub(last), iv.loadedCheck())
		}
		last, lastSeq, lastSSRC = at, seq, ssrc
	}
}

func enableTimestamps(c *net.UDPConn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

func kernelTime(oob []byte) (time.Time, bool) {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return time.Time{}, false
	}
	for _, m := range msgs {
		if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SO_TIMESTAMPNS && len(m.Data) >= 16 {
			// struct timespec on linux/amd64 and arm64: two native int64.
			sec := int64(binary.NativeEndian.Uint64(m.Data[0:]))
			nsec := int64(binary.NativeEndian.Uint64(m.Data[8:]))
			return time.Unix(sec, nsec), true
		}
	}
	return time.Time{}, false
}
