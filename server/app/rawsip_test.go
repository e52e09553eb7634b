package app

import (
	"crypto/md5"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// rawUA is a hand-written SIP user agent over UDP for the hardening tests:
// it sends exactly the bytes a test builds (made-up tags, a second source
// address) and reads what comes back with a deadline.
type rawUA struct {
	t    *testing.T
	conn *net.UDPConn
	rtp  *net.UDPConn // the port its SDP offers (never read)
	to   *net.UDPAddr
}

// newRawUA binds a UDP socket on ip (127.0.0.x) aimed at the server's SIP
// address.
func newRawUA(t *testing.T, ip, server string) *rawUA {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatalf("listen %s: %v", ip, err)
	}
	rtp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatalf("listen rtp %s: %v", ip, err)
	}
	to, err := net.ResolveUDPAddr("udp", server)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(); rtp.Close() })
	return &rawUA{t: t, conn: conn, rtp: rtp, to: to}
}

func (u *rawUA) addr() string { return u.conn.LocalAddr().String() }

// crlf is a hand-written SIP message on the wire: leading newlines
// dropped, every line ended by CRLF.
func crlf(msg string) []byte {
	return []byte(strings.ReplaceAll(strings.TrimLeft(msg, "\n"), "\n", "\r\n"))
}

// crlfLen is the Content-Length of body once its lines end in CRLF.
func crlfLen(body string) string { return strconv.Itoa(len(strings.ReplaceAll(body, "\n", "\r\n"))) }

func (u *rawUA) send(msg string) {
	u.t.Helper()
	if _, err := u.conn.WriteToUDP(crlf(msg), u.to); err != nil {
		u.t.Fatalf("send: %v", err)
	}
}

// recv returns the next SIP message (nil at the deadline).
func (u *rawUA) recv(d time.Duration) sip.Message {
	u.t.Helper()
	buf := make([]byte, 65535)
	if err := u.conn.SetReadDeadline(time.Now().Add(d)); err != nil {
		u.t.Fatal(err)
	}
	n, _, err := u.conn.ReadFromUDP(buf)
	if err != nil {
		return nil
	}
	m, err := sip.ParseMessage(buf[:n])
	if err != nil {
		u.t.Fatalf("unparsable message from the server: %v\n%s", err, buf[:n])
	}
	return m
}

// response waits for a final response to method (skipping provisional ones
// and answering requests the server sends with nothing).
func (u *rawUA) response(d time.Duration, method string) *sip.Response {
	u.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		m := u.recv(time.Until(deadline))
		res, ok := m.(*sip.Response)
		if !ok || res.IsProvisional() || res.CSeq() == nil || string(res.CSeq().MethodName) != method {
			continue
		}
		return res
	}
	return nil
}

// rawDialog is a call the raw UA set up: the tags and Call-ID an in-dialog
// request needs.
type rawDialog struct {
	callID, fromTag, toTag, uri string
	cseq                        int
}

// invite calls number from user and ACKs the 2xx; it fails the test
// unless the server answers.
func (u *rawUA) invite(number, user string) *rawDialog {
	u.t.Helper()
	code, d := u.tryInvite(number, user)
	if code < 200 || code > 299 {
		u.t.Fatalf("INVITE %s not answered: %d", number, code)
	}
	return d
}

// tryInvite calls number from user, ACKs a 2xx and returns the final code
// (0: none within 10 s). Safe to call from another goroutine.
func (u *rawUA) tryInvite(number, user string) (int, *rawDialog) {
	host, port, _ := net.SplitHostPort(u.addr())
	_, rtpPort, _ := net.SplitHostPort(u.rtp.LocalAddr().String())
	d := &rawDialog{callID: fmt.Sprintf("raw-%d@%s", time.Now().UnixNano(), host), fromTag: "rawtag" + port,
		uri: "sip:" + number + "@" + u.to.String(), cseq: 1}
	sdp := "v=0\r\no=raw 1 1 IN IP4 " + host + "\r\ns=-\r\nc=IN IP4 " + host + "\r\nt=0 0\r\n" +
		"m=audio " + rtpPort + " RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n"
	u.send(`
INVITE ` + d.uri + ` SIP/2.0
Via: SIP/2.0/UDP ` + u.addr() + `;branch=` + branch() + `
From: <sip:` + user + `@` + host + `>;tag=` + d.fromTag + `
To: <sip:` + number + `@` + u.to.String() + `>
Call-ID: ` + d.callID + `
CSeq: 1 INVITE
Contact: <sip:` + user + `@` + u.addr() + `>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: ` + strconv.Itoa(len(sdp)) + `

` + strings.ReplaceAll(sdp, "\r\n", "\n"))
	res := u.response(10*time.Second, "INVITE")
	if res == nil {
		return 0, d
	}
	if !res.IsSuccess() {
		return res.StatusCode, d
	}
	d.toTag = toTagOf(res)
	u.send(`
ACK ` + d.uri + ` SIP/2.0
Via: SIP/2.0/UDP ` + u.addr() + `;branch=` + branch() + `
From: <sip:` + user + `@` + host + `>;tag=` + d.fromTag + `
To: <sip:` + number + `@` + u.to.String() + `>;tag=` + d.toTag + `
Call-ID: ` + d.callID + `
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

`)
	return res.StatusCode, d
}

// info sends SIP INFO DTMF key on the dialog with the given tags (which a
// test may forge) and returns the response code (0: none).
func (u *rawUA) info(d *rawDialog, fromTag, toTag string, key string) int {
	u.t.Helper()
	return u.request(d, "INFO", fromTag, toTag, "application/dtmf-relay", "Signal="+key+"\nDuration=160\n")
}

// reinvite sends a re-INVITE putting the call on hold (sendonly) and
// returns the response code; a 2xx is ACKed.
func (u *rawUA) reinvite(d *rawDialog, fromTag, toTag string) int {
	u.t.Helper()
	host, _, _ := net.SplitHostPort(u.addr())
	_, rtpPort, _ := net.SplitHostPort(u.rtp.LocalAddr().String())
	sdp := "v=0\no=raw 1 2 IN IP4 " + host + "\ns=-\nc=IN IP4 " + host + "\nt=0 0\n" +
		"m=audio " + rtpPort + " RTP/AVP 8\na=rtpmap:8 PCMA/8000\na=sendonly\n"
	code := u.request(d, "INVITE", fromTag, toTag, "application/sdp", sdp)
	if code >= 200 && code < 300 {
		u.sendInDialog(d, "ACK", d.cseq, fromTag, toTag, "", "")
	}
	return code
}

// bye hangs up the dialog (the server's 200 is awaited).
func (u *rawUA) bye(d *rawDialog) int {
	u.t.Helper()
	return u.request(d, "BYE", d.fromTag, d.toTag, "", "")
}

// request sends an in-dialog request and returns the final response code
// (0: none within 5 s). body lines end in \n.
func (u *rawUA) request(d *rawDialog, method, fromTag, toTag, ctype, body string) int {
	u.t.Helper()
	d.cseq++
	u.sendInDialog(d, method, d.cseq, fromTag, toTag, ctype, body)
	res := u.response(5*time.Second, method)
	if res == nil {
		return 0
	}
	return res.StatusCode
}

func (u *rawUA) sendInDialog(d *rawDialog, method string, cseq int, fromTag, toTag, ctype, body string) {
	u.t.Helper()
	host, _, _ := net.SplitHostPort(u.addr())
	hdrs := ""
	if ctype != "" {
		hdrs = "Content-Type: " + ctype + "\n"
	}
	u.send(`
` + method + ` ` + d.uri + ` SIP/2.0
Via: SIP/2.0/UDP ` + u.addr() + `;branch=` + branch() + `
From: <sip:x@` + host + `>;tag=` + fromTag + `
To: <` + d.uri + `>;tag=` + toTag + `
Call-ID: ` + d.callID + `
CSeq: ` + strconv.Itoa(cseq) + ` ` + method + `
Contact: <sip:x@` + u.addr() + `>
Max-Forwards: 70
` + hdrs + `Content-Length: ` + crlfLen(body) + `

` + body)
}

// waitRTP waits for the first RTP packet the server sends to the offered
// port: the call's media (and its leg) are up.
func (u *rawUA) waitRTP(d time.Duration) {
	u.t.Helper()
	buf := make([]byte, 2048)
	if err := u.rtp.SetReadDeadline(time.Now().Add(d)); err != nil {
		u.t.Fatal(err)
	}
	if _, _, err := u.rtp.ReadFromUDP(buf); err != nil {
		u.t.Fatalf("no RTP from the server within %s: %v", d, err)
	}
}

// branch is a fresh Via branch: a reused one would make the server take a
// new request for a retransmission.
func branch() string { return fmt.Sprintf("z9hG4bK-raw%d", time.Now().UnixNano()) }

func toTagOf(m sip.Message) string {
	if h := m.To(); h != nil {
		v, _ := h.Params.Get("tag")
		return v
	}
	return ""
}

// register sends REGISTER for user with the given Contact URI, answers the
// MD5 digest challenge with password and returns the final code.
func (u *rawUA) register(user, password, contact string) int {
	u.t.Helper()
	host, port, _ := net.SplitHostPort(u.addr())
	callID := fmt.Sprintf("rawreg-%d@%s", time.Now().UnixNano(), host)
	uri := "sip:" + u.to.String()
	send := func(cseq int, auth string) *sip.Response {
		u.send(`
REGISTER ` + uri + ` SIP/2.0
Via: SIP/2.0/UDP ` + u.addr() + `;branch=` + branch() + `
From: <sip:` + user + `@` + u.to.String() + `>;tag=reg` + port + `
To: <sip:` + user + `@` + u.to.String() + `>
Call-ID: ` + callID + `
CSeq: ` + strconv.Itoa(cseq) + ` REGISTER
Contact: <` + contact + `>
Expires: 300
Max-Forwards: 70
` + auth + `Content-Length: 0

`)
		return u.response(5*time.Second, "REGISTER")
	}
	res := send(1, "")
	if res == nil {
		return 0
	}
	if res.StatusCode != 401 {
		return res.StatusCode
	}
	var nonce, realm string
	for _, h := range res.GetHeaders("WWW-Authenticate") {
		v := h.Value()
		if !strings.Contains(v, "algorithm=MD5") {
			continue
		}
		nonce, realm = digestParam(v, "nonce"), digestParam(v, "realm")
	}
	if nonce == "" {
		u.t.Fatalf("no MD5 challenge in %s", res)
	}
	md5hex := func(s string) string { return fmt.Sprintf("%x", md5.Sum([]byte(s))) }
	ha1 := md5hex(user + ":" + realm + ":" + password)
	ha2 := md5hex("REGISTER:" + uri)
	cnonce, nc := "rawcnonce", "00000001"
	resp := md5hex(ha1 + ":" + nonce + ":" + nc + ":" + cnonce + ":auth:" + ha2)
	auth := `Authorization: Digest username="` + user + `", realm="` + realm + `", nonce="` + nonce + `", uri="` + uri +
		`", response="` + resp + `", algorithm=MD5, qop=auth, nc=` + nc + `, cnonce="` + cnonce + `"` + "\n"
	res = send(2, auth)
	if res == nil {
		return 0
	}
	u.t.Logf("REGISTER %s contact %s from %s: %d %s", user, contact, u.addr(), res.StatusCode, res.Reason)
	return res.StatusCode
}

func digestParam(v, k string) string {
	i := strings.Index(v, k+`="`)
	if i < 0 {
		return ""
	}
	v = v[i+len(k)+2:]
	if j := strings.IndexByte(v, '"'); j >= 0 {
		return v[:j]
	}
	return ""
}
