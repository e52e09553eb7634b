package app

import (
	"encoding/binary"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// huntCaller is a citizen for the stuck-state hunt: a hand-written UA on
// 127.0.0.1 that calls, speaks PCMA every 20 ms from the port its SDP
// names, answers the server's in-dialog requests (BYE, OPTIONS probes of a
// held leg) and can hang up, hold or vanish (stop sending and answering)
// at any moment. Every wait is bounded.
type huntCaller struct {
	t      *testing.T
	sig    *net.UDPConn
	rtp    *net.UDPConn
	server *net.UDPAddr
	resp   chan *sip.Response
	gone   atomic.Bool  // vanished: no RTP, no answers
	held   atomic.Bool  // on hold: no RTP (answers OPTIONS)
	sent   atomic.Int64 // RTP packets sent
	ended  chan struct{}
	once   sync.Once
	d      rawDialog
	rtpTo  *net.UDPAddr // the server's RTP address (its answer's SDP)
	wg     sync.WaitGroup
}

func newHuntCaller(t *testing.T, server string) (*huntCaller, error) {
	sig, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	rtp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		sig.Close()
		return nil, err
	}
	to, err := net.ResolveUDPAddr("udp", server)
	if err != nil {
		return nil, err
	}
	c := &huntCaller{t: t, sig: sig, rtp: rtp, server: to, resp: make(chan *sip.Response, 16), ended: make(chan struct{})}
	c.wg.Add(1)
	go c.read()
	return c, nil
}

// close stops the caller's goroutines and sockets.
func (c *huntCaller) close() {
	c.end()
	c.sig.Close()
	c.rtp.Close()
	c.wg.Wait()
}

func (c *huntCaller) end() { c.once.Do(func() { close(c.ended) }) }

func (c *huntCaller) addr() string { return c.sig.LocalAddr().String() }

// serverRTP is where the server takes the call's RTP (nil before a 2xx).
func (c *huntCaller) serverRTP() *net.UDPAddr { return c.rtpTo }

func (c *huntCaller) send(msg string) { _, _ = c.sig.WriteToUDP(crlf(msg), c.server) }

// read answers the server's requests and passes final responses on.
func (c *huntCaller) read() {
	defer c.wg.Done()
	readSIP(c.sig, &c.gone, c.resp, func(m *sip.Request, _ *net.UDPAddr) {
		if m.Method == sip.ACK {
			return
		}
		res := sip.NewResponseFromRequest(m, 200, "OK", nil)
		_, _ = c.sig.WriteToUDP([]byte(res.String()), c.server)
		if m.Method == sip.BYE {
			c.end()
		}
	})
}

// readSIP reads SIP messages from conn until it is closed: final responses
// go to resp (dropped when it is full), requests to request with their
// source; while gone is set (a vanished UA) everything is dropped.
func readSIP(conn *net.UDPConn, gone *atomic.Bool, resp chan<- *sip.Response, request func(*sip.Request, *net.UDPAddr)) {
	buf := make([]byte, 65535)
	for {
		n, from, err := conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		m, err := sip.ParseMessage(buf[:n])
		if err != nil || gone.Load() {
			continue
		}
		switch m := m.(type) {
		case *sip.Response:
			if !m.IsProvisional() {
				select {
				case resp <- m:
				default:
				}
			}
		case *sip.Request:
			request(m, from)
		}
	}
}

func (c *huntCaller) response(method string, d time.Duration) *sip.Response {
	deadline := time.After(d)
	for {
		select {
		case r := <-c.resp:
			if r.CSeq() != nil && string(r.CSeq().MethodName) == method {
				return r
			}
		case <-deadline:
			return nil
		}
	}
}

// call places the call to number; it returns the final code (0: none) and
// on a 2xx ACKs it and starts speaking.
func (c *huntCaller) call(number, from string) int {
	host, port, _ := net.SplitHostPort(c.addr())
	_, rtpPort, _ := net.SplitHostPort(c.rtp.LocalAddr().String())
	c.d = rawDialog{callID: fmt.Sprintf("hunt-%d-%s@%s", time.Now().UnixNano(), port, host), fromTag: "hunt" + port,
		uri: "sip:" + number + "@" + c.server.String(), cseq: 1}
	sdp := "v=0\no=hunt 1 1 IN IP4 " + host + "\ns=-\nc=IN IP4 " + host + "\nt=0 0\n" +
		"m=audio " + rtpPort + " RTP/AVP 8 101\na=rtpmap:8 PCMA/8000\na=rtpmap:101 telephone-event/8000\na=fmtp:101 0-15\n"
	c.send(`
INVITE ` + c.d.uri + ` SIP/2.0
Via: SIP/2.0/UDP ` + c.addr() + `;branch=` + branch() + `
From: <sip:` + from + `@` + host + `>;tag=` + c.d.fromTag + `
To: <sip:` + number + `@` + c.server.String() + `>
Call-ID: ` + c.d.callID + `
CSeq: 1 INVITE
Contact: <sip:` + from + `@` + c.addr() + `>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: ` + crlfLen(sdp) + `

` + sdp)
	res := c.response("INVITE", 10*time.Second)
	if res == nil {
		return 0
	}
	if !res.IsSuccess() {
		return res.StatusCode
	}
	c.d.toTag = toTagOf(res)
	c.inDialog("ACK", 1, "", "")
	if to := answerRTP(string(res.Body())); to != nil {
		c.rtpTo = to
		c.wg.Add(1)
		go c.speak(to)
	}
	return res.StatusCode
}

// answerRTP reads the audio address of an SDP answer.
func answerRTP(sdp string) *net.UDPAddr {
	var ip, port string
	for _, l := range strings.Split(strings.ReplaceAll(sdp, "\r\n", "\n"), "\n") {
		if v, ok := strings.CutPrefix(l, "c=IN IP4 "); ok {
			ip = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(l, "m=audio "); ok {
			port, _, _ = strings.Cut(v, " ")
		}
	}
	a, err := net.ResolveUDPAddr("udp", net.JoinHostPort(ip, port))
	if err != nil {
		return nil
	}
	return a
}

// speak sends PCMA silence to the server while the call is up.
func (c *huntCaller) speak(to *net.UDPAddr) {
	defer c.wg.Done()
	speakSilence(c.rtp, to, c.ended, &c.gone, &c.held, &c.sent)
}

// speakSilence sends PCMA silence from conn to to every 20 ms until ended
// closes or gone is set (a vanished or killed UA); while held is set it
// sends nothing. sent, if not nil, counts the packets written.
func speakSilence(conn *net.UDPConn, to *net.UDPAddr, ended <-chan struct{}, gone, held *atomic.Bool, sent *atomic.Int64) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	pkt := make([]byte, 12+160)
	pkt[0], pkt[1] = 0x80, 8
	binary.BigEndian.PutUint32(pkt[8:], uint32(time.Now().UnixNano()))
	for i := 12; i < len(pkt); i++ {
		pkt[i] = 0xd5
	}
	var seq uint16
	var ts uint32
	for {
		select {
		case <-ended:
			return
		case <-tick.C:
		}
		if gone.Load() {
			return
		}
		if held.Load() {
			continue
		}
		seq++
		ts += 160
		binary.BigEndian.PutUint16(pkt[2:], seq)
		binary.BigEndian.PutUint32(pkt[4:], ts)
		if _, err := conn.WriteToUDP(pkt, to); err == nil && sent != nil {
			sent.Add(1)
		}
	}
}

func (c *huntCaller) inDialog(method string, cseq int, ctype, body string) {
	host, _, _ := net.SplitHostPort(c.addr())
	hdrs := ""
	if ctype != "" {
		hdrs = "Content-Type: " + ctype + "\n"
	}
	c.send(`
` + method + ` ` + c.d.uri + ` SIP/2.0
Via: SIP/2.0/UDP ` + c.addr() + `;branch=` + branch() + `
From: <sip:x@` + host + `>;tag=` + c.d.fromTag + `
To: <` + c.d.uri + `>;tag=` + c.d.toTag + `
Call-ID: ` + c.d.callID + `
CSeq: ` + strconv.Itoa(cseq) + ` ` + method + `
Contact: <sip:x@` + c.addr() + `>
Max-Forwards: 70
` + hdrs + `Content-Length: ` + crlfLen(body) + `

` + body) // send turns every \n into \r\n
}

// hangup sends BYE (the answer is not awaited: the server may have ended
// the call already).
func (c *huntCaller) hangup() {
	c.d.cseq++
	c.inDialog("BYE", c.d.cseq, "", "")
	c.response("BYE", 2*time.Second)
	c.end()
}

// hold puts the call on hold (re-INVITE sendonly) and stops speaking.
func (c *huntCaller) hold() {
	host, _, _ := net.SplitHostPort(c.addr())
	_, rtpPort, _ := net.SplitHostPort(c.rtp.LocalAddr().String())
	sdp := "v=0\no=hunt 1 2 IN IP4 " + host + "\ns=-\nc=IN IP4 " + host + "\nt=0 0\n" +
		"m=audio " + rtpPort + " RTP/AVP 8\na=rtpmap:8 PCMA/8000\na=sendonly\n"
	c.held.Store(true)
	c.d.cseq++
	c.inDialog("INVITE", c.d.cseq, "application/sdp", sdp)
	if r := c.response("INVITE", 3*time.Second); r != nil && r.IsSuccess() {
		c.inDialog("ACK", c.d.cseq, "", "")
	}
}

// vanish stops sending and answering anything, as a killed phone.
func (c *huntCaller) vanish() { c.gone.Store(true) }
