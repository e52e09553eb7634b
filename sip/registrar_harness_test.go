package sip

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// regCreds is a Credentials backed by a map user -> password.
type regCreds struct {
	realm string
	pw    map[string]string
	calls atomic.Int64
}

func (m *regCreds) SIPCredentials(_ context.Context, user string) (string, string, bool, error) {
	m.calls.Add(1)
	p, ok := m.pw[user]
	if !ok {
		return "", "", false, nil
	}
	return HA1(DigestMD5, user, m.realm, p), HA1(DigestSHA256, user, m.realm, p), true, nil
}

// regClock is a settable clock for registrar tests.
type regClock struct {
	mu  sync.Mutex
	now time.Time
}

func newRegClock() *regClock {
	return &regClock{now: time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)}
}

func (c *regClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *regClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// regChangeLog records OnChange calls.
type regChangeLog struct {
	mu  sync.Mutex
	evs []string
	ch  chan string
}

func newRegChangeLog() *regChangeLog { return &regChangeLog{ch: make(chan string, 64)} }

func (c *regChangeLog) on(user string, registered bool) {
	s := user + "=" + strconv.FormatBool(registered)
	c.mu.Lock()
	c.evs = append(c.evs, s)
	c.mu.Unlock()
	select {
	case c.ch <- s:
	default:
	}
}

func (c *regChangeLog) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.evs...)
}

func regQuietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// regServer is a real sipgo server on 127.0.0.1 (UDP and TCP, port 0) with
// the registrar on REGISTER, 200 on OPTIONS and a minimal INVITE handler.
type regServer struct {
	reg     *Registrar
	ua      *sipgo.UserAgent
	srv     *sipgo.Server
	udp     string
	tcp     string
	invites atomic.Int64
}

func startRegServer(t testing.TB, reg *Registrar) *regServer {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("onecall-test"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(regQuietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	s := &regServer{reg: reg, ua: ua, srv: srv}
	srv.OnRegister(reg.HandleRegister)
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		if res := ValidateRequest(req); res != nil {
			_ = tx.Respond(res)
			return
		}
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		if res := ValidateRequest(req); res != nil {
			_ = tx.Respond(res)
			return
		}
		s.invites.Add(1)
		_ = tx.Respond(sip.NewResponseFromRequest(req, 404, "Not Found", nil))
	})
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) {})
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
	})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.udp, s.tcp = pc.LocalAddr().String(), ln.Addr().String()
	go func() { _ = srv.ServeUDP(pc) }()
	go func() { _ = srv.ServeTCP(ln) }()
	t.Cleanup(func() {
		_ = srv.Close()
		_ = ua.Close()
		_ = pc.Close()
		_ = ln.Close()
	})
	return s
}

// regClient is a sipgo UA acting as a phone, with its own UDP listener so
// that it can answer OPTIONS keep-alives.
type regClient struct {
	ua     *sipgo.UserAgent
	client *sipgo.Client
	addr   string // its UDP listen address (Contact)
	pc     net.PacketConn
	srv    *sipgo.Server
}

func newRegClient(t testing.TB) *regClient {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("test-phone"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(regQuietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.ServeUDP(pc) }()
	host, port, _ := net.SplitHostPort(pc.LocalAddr().String())
	p, _ := strconv.Atoi(port)
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname(host), sipgo.WithClientPort(p),
		sipgo.WithClientLogger(regQuietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	c := &regClient{ua: ua, client: client, addr: pc.LocalAddr().String(), pc: pc, srv: srv}
	t.Cleanup(func() { c.close() })
	return c
}

func (c *regClient) close() {
	_ = c.client.Close()
	_ = c.srv.Close()
	_ = c.ua.Close()
	_ = c.pc.Close()
}

// registerReq builds a REGISTER for user to the server at addr.
func registerReq(user, serverAddr, contact string, expires int) *sip.Request {
	host, port, _ := net.SplitHostPort(serverAddr)
	p, _ := strconv.Atoi(port)
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: host, Port: p})
	to := &sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: host}}
	req.AppendHeader(to)
	fp := sip.NewParams()
	fp.Add("tag", sip.GenerateTagN(8))
	req.AppendHeader(&sip.FromHeader{Address: to.Address, Params: fp})
	if contact != "" {
		req.AppendHeader(sip.NewHeader("Contact", contact))
	}
	if expires >= 0 {
		req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expires)))
	}
	return req
}

func regDo(t testing.TB, c *sipgo.Client, req *sip.Request) *sip.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.Do(ctx, req)
	if err != nil {
		t.Fatalf("%s: %v", req.Method, err)
	}
	return res
}

// regChallengeOf returns the parsed WWW-Authenticate of res for alg.
func regChallengeOf(t testing.TB, res *sip.Response, alg string) digestCredentials {
	t.Helper()
	for _, h := range res.GetHeaders("WWW-Authenticate") {
		c, err := parseDigest(h.Value())
		if err != nil {
			t.Fatalf("challenge %q: %v", h.Value(), err)
		}
		if strings.EqualFold(c.Algorithm, alg) {
			return c
		}
	}
	t.Fatalf("no %s challenge in %s", alg, res.String())
	return digestCredentials{}
}

// regAuthorize adds an Authorization answering chal (qop=auth) to req, built
// from the password; it returns the header value.
func regAuthorize(req *sip.Request, chal digestCredentials, alg, user, realm, password string) string {
	uri := req.Recipient.String()
	cnonce := "0a4f113b"
	nc := "00000001"
	ha1 := HA1(alg, user, realm, password)
	resp := digestResponse(alg, ha1, "REGISTER", uri, chal.Nonce, nc, cnonce, "auth")
	v := `Digest username="` + user + `", realm="` + realm + `", nonce="` + chal.Nonce + `", uri="` + uri +
		`", response="` + resp + `", algorithm=` + alg + `, qop=auth, nc=` + nc + `, cnonce="` + cnonce + `"`
	req.RemoveHeader("Authorization")
	req.AppendHeader(sip.NewHeader("Authorization", v))
	return v
}

// regWaitFor polls cond until it holds or the deadline passes.
func regWaitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timeout waiting for %s", what)
		}
		<-tick.C
	}
}
