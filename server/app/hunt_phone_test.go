package app

import (
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// huntPhone is an agent phone for the stuck-state hunt that does what
// baresip 1.0 cannot over its control socket: hold (re-INVITE sendonly or
// inactive). A hand-written UA on 127.0.0.1: it registers with digest,
// answers every offer at once, speaks PCMA every 20 ms from the port its
// SDP names, answers the server's in-dialog requests (BYE, OPTIONS probes,
// re-INVITEs), and can hang up, hold, resume, vanish (stop sending and
// answering, sockets open) or be killed (sockets closed) at any moment.
// One call at a time (voice capacity 1). Every wait is bounded.
type huntPhone struct {
	user string
	ua   *rawUA
	resp chan *sip.Response
	gone atomic.Bool // vanished or killed
	wg   sync.WaitGroup

	mu     sync.Mutex
	d      *phoneDialog // the current call, nil: none
	server *net.UDPAddr // where the server's last request came from
	cseq   int
	close  sync.Once
}

// phoneDialog is the phone's side of one answered call (the phone is the
// callee: its tag is the To tag of the server's INVITE).
type phoneDialog struct {
	callID, local, remote string // Call-ID, our tag, the server's tag
	from, to              string // the INVITE's From and To URIs
	target                string // the server's Contact URI
	rtpTo                 *net.UDPAddr
	held                  atomic.Bool
	acked                 atomic.Bool // the server ACKed our 200 OK: we may re-INVITE (RFC 3261 14.1)
	ended                 chan struct{}
	once                  sync.Once
}

func (d *phoneDialog) end() { d.once.Do(func() { close(d.ended) }) }

// startHuntPhone registers user (demo password) from a fresh UDP port.
func startHuntPhone(t *testing.T, a *fsApp, user string) *huntPhone {
	t.Helper()
	ua := newRawUA(t, "127.0.0.1", a.sipUDP())
	p := &huntPhone{user: user, ua: ua, server: ua.to, resp: make(chan *sip.Response, 16)}
	if code := ua.register(user, "demo", "sip:"+user+"@"+ua.addr()); code != 200 {
		t.Fatalf("hunt phone %s: REGISTER %d", user, code)
	}
	_ = ua.conn.SetReadDeadline(time.Time{})
	p.wg.Add(1)
	go p.read()
	t.Cleanup(p.kill)
	return p
}

// kill closes the phone's sockets: later requests get ICMP unreachable.
func (p *huntPhone) kill() {
	p.close.Do(func() {
		p.gone.Store(true)
		p.ua.conn.Close()
		p.ua.rtp.Close()
		if d := p.current(); d != nil {
			d.end()
		}
		p.wg.Wait()
	})
}

// vanish stops sending and answering anything, sockets open: a frozen
// phone or a cut cable.
func (p *huntPhone) vanish() { p.gone.Store(true) }

func (p *huntPhone) current() *phoneDialog {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.d
}

func (p *huntPhone) peer() *net.UDPAddr {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.server
}

func (p *huntPhone) sendTo(msg string) { _, _ = p.ua.conn.WriteToUDP(crlf(msg), p.peer()) }

func (p *huntPhone) sdp(dir string) string {
	host, _, _ := net.SplitHostPort(p.ua.addr())
	_, rtpPort, _ := net.SplitHostPort(p.ua.rtp.LocalAddr().String())
	return "v=0\no=phone 1 " + strconv.FormatInt(time.Now().UnixNano()%1e9, 10) + " IN IP4 " + host + "\ns=-\nc=IN IP4 " + host +
		"\nt=0 0\nm=audio " + rtpPort + " RTP/AVP 8\na=rtpmap:8 PCMA/8000\na=" + dir + "\n"
}

// answer replies to req with code, our To tag and an optional SDP body.
func (p *huntPhone) answer(req *sip.Request, code int, tag, sdp string) {
	res := sip.NewResponseFromRequest(req, code, "OK", nil)
	if to := res.To(); to != nil && tag != "" { // sipgo made up a tag: ours is the dialog's
		to.Params.Add("tag", tag)
	}
	if sdp != "" {
		res.AppendHeader(sip.NewHeader("Contact", "<sip:"+p.user+"@"+p.ua.addr()+">"))
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		res.SetBody([]byte(strings.ReplaceAll(sdp, "\n", "\r\n")))
	}
	_, _ = p.ua.conn.WriteToUDP([]byte(res.String()), p.peer())
}

func (p *huntPhone) read() {
	defer p.wg.Done()
	readSIP(p.ua.conn, &p.gone, p.resp, func(m *sip.Request, from *net.UDPAddr) {
		p.mu.Lock()
		p.server = from
		p.mu.Unlock()
		p.request(m)
	})
}

func (p *huntPhone) request(req *sip.Request) {
	d := p.current()
	callID := req.CallID().Value()
	mine := d != nil && d.callID == callID
	switch req.Method {
	case sip.ACK:
		if mine {
			d.acked.Store(true)
		}
	case sip.INVITE:
		if mine { // the server's re-INVITE: answer with our direction
			dir := "sendrecv"
			if d.held.Load() {
				dir = "sendonly"
			}
			p.answer(req, 200, d.local, p.sdp(dir))
			return
		}
		if d != nil && !p.ended(d) {
			p.answer(req, 486, "busy"+strconv.FormatInt(time.Now().UnixNano(), 36), "")
			return
		}
		nd := &phoneDialog{callID: callID, local: "ph" + strconv.FormatInt(time.Now().UnixNano(), 36), ended: make(chan struct{}),
			rtpTo: answerRTP(string(req.Body()))}
		if f := req.From(); f != nil {
			nd.remote, _ = f.Params.Get("tag")
			nd.from = f.Address.String()
		}
		if to := req.To(); to != nil {
			nd.to = to.Address.String()
		}
		nd.target = nd.from
		if c := req.Contact(); c != nil {
			nd.target = c.Address.String()
		}
		p.mu.Lock()
		p.d = nd
		p.mu.Unlock()
		p.answer(req, 200, nd.local, p.sdp("sendrecv"))
		if nd.rtpTo != nil {
			p.wg.Add(1)
			go p.speak(nd)
		}
	case sip.BYE, sip.CANCEL:
		p.answer(req, 200, "", "")
		if mine {
			d.end()
		}
	default: // OPTIONS probes, INFO, NOTIFY ...
		p.answer(req, 200, "", "")
	}
}

func (p *huntPhone) ended(d *phoneDialog) bool {
	select {
	case <-d.ended:
		return true
	default:
		return false
	}
}

// speak sends PCMA silence to the server while d is up.
func (p *huntPhone) speak(d *phoneDialog) {
	defer p.wg.Done()
	speakSilence(p.ua.rtp, d.rtpTo, d.ended, &p.gone, &d.held, nil)
}

// inDialog sends method in d as the callee and returns the final response
// (nil: none within 3 s; ACK and nothing awaited for it).
func (p *huntPhone) inDialog(d *phoneDialog, method string, cseq int, body string) *sip.Response {
	hdrs := ""
	if body != "" {
		hdrs = "Content-Type: application/sdp\n"
	}
	p.sendTo(`
` + method + ` ` + d.target + ` SIP/2.0
Via: SIP/2.0/UDP ` + p.ua.addr() + `;branch=` + branch() + `
From: <` + d.to + `>;tag=` + d.local + `
To: <` + d.from + `>;tag=` + d.remote + `
Call-ID: ` + d.callID + `
CSeq: ` + strconv.Itoa(cseq) + ` ` + method + `
Contact: <sip:` + p.user + `@` + p.ua.addr() + `>
Max-Forwards: 70
` + hdrs + `Content-Length: ` + crlfLen(body) + `

` + body) // send turns every \n into \r\n
	if method == "ACK" {
		return nil
	}
	deadline := time.After(3 * time.Second)
	for {
		select {
		case r := <-p.resp:
			if r.CSeq() != nil && string(r.CSeq().MethodName) == method && int(r.CSeq().SeqNo) == cseq {
				return r
			}
		case <-deadline:
			return nil
		}
	}
}

func (p *huntPhone) nextCSeq() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cseq++
	return 100 + p.cseq
}

// busy is the phone's live call (ACKed), or nil.
func (p *huntPhone) busy() *phoneDialog {
	if p.gone.Load() {
		return nil
	}
	if d := p.current(); d != nil && d.acked.Load() && !p.ended(d) {
		return d
	}
	return nil
}

// hold re-INVITEs the call sendonly (or inactive) and stops speaking; it
// reports whether the server took the hold (2xx). Refused, the phone
// talks on.
func (p *huntPhone) hold(inactive bool) bool {
	d := p.busy()
	if d == nil {
		return false
	}
	dir := "sendonly"
	if inactive {
		dir = "inactive"
	}
	d.held.Store(true)
	n := p.nextCSeq()
	if r := p.inDialog(d, "INVITE", n, p.sdp(dir)); r != nil && r.IsSuccess() {
		p.inDialog(d, "ACK", n, "")
		return true
	}
	d.held.Store(false)
	return false
}

// resume takes the call off hold (re-INVITE sendrecv).
func (p *huntPhone) resume() bool {
	d := p.busy()
	if d == nil || !d.held.Load() {
		return false
	}
	n := p.nextCSeq()
	if r := p.inDialog(d, "INVITE", n, p.sdp("sendrecv")); r != nil && r.IsSuccess() {
		p.inDialog(d, "ACK", n, "")
	}
	d.held.Store(false)
	return true
}

// hangup sends BYE on the live call.
func (p *huntPhone) hangup() bool {
	d := p.busy()
	if d == nil {
		return false
	}
	p.inDialog(d, "BYE", p.nextCSeq(), "")
	d.end()
	return true
}
