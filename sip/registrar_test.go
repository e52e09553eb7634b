package sip

import (
	"context"
	"errors"
	"net/netip"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"onecall/store"
)

const testRealm = "onecall"

// regPhone drives REGISTERs for one user over one client with a fixed
// Call-ID and increasing CSeq.
type regPhone struct {
	t      testing.TB
	c      *regClient
	server string // server address (host:port)
	user   string
	pw     string
	alg    string
	callID string
	cseq   atomic.Uint32
	tcp    bool
}

func newRegPhone(t testing.TB, c *regClient, server, user, pw string) *regPhone {
	return &regPhone{t: t, c: c, server: server, user: user, pw: pw, alg: DigestSHA256,
		callID: "reg-" + user + "-" + sip.GenerateTagN(10)}
}

// req builds a fresh REGISTER (new transaction) with extra headers.
func (p *regPhone) req(contacts []string, expires int, extra ...sip.Header) *sip.Request {
	req := registerReq(p.user, p.server, "", expires)
	if p.tcp {
		up := sip.NewParams()
		up.Add("transport", "tcp")
		req.Recipient.UriParams = up
	}
	for _, c := range contacts {
		req.AppendHeader(sip.NewHeader("Contact", c))
	}
	cid := sip.CallIDHeader(p.callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: p.cseq.Add(1), MethodName: sip.REGISTER})
	for _, h := range extra {
		req.AppendHeader(h)
	}
	return req
}

// register sends a REGISTER, answers the challenge with the password and
// returns the challenge and the final response.
func (p *regPhone) register(contacts []string, expires int, extra ...sip.Header) (*sip.Response, *sip.Response) {
	p.t.Helper()
	chal := regDo(p.t, p.c.client, p.req(contacts, expires, extra...))
	if chal.StatusCode != 401 {
		p.t.Fatalf("want 401 challenge, got %s", chal.Short())
	}
	req := p.req(contacts, expires, extra...)
	regAuthorize(req, regChallengeOf(p.t, chal, p.alg), p.alg, p.user, testRealm, p.pw)
	return chal, regDo(p.t, p.c.client, req)
}

func (p *regPhone) contact() string { return "<sip:" + p.user + "@" + p.c.addr + ">" }

func newTestRegistrar(t testing.TB, mod func(o *RegistrarOptions)) (*Registrar, *regChangeLog) {
	cl := newRegChangeLog()
	o := RegistrarOptions{
		Realm:       testRealm,
		Credentials: &regCreds{realm: testRealm, pw: map[string]string{"agent01": "demo", "agent02": "demo2"}},
		Logger:      regQuietLogger(),
		OnChange:    cl.on,
		KeepAlive:   -1,
	}
	if mod != nil {
		mod(&o)
	}
	return NewRegistrar(o), cl
}

func TestRegisterSHA256WithSipgoClient(t *testing.T) {
	reg, cl := newTestRegistrar(t, nil)
	s := startRegServer(t, reg)
	c := newRegClient(t)
	contact := "<sip:agent01@" + c.addr + ">"
	req := registerReq("agent01", s.udp, contact, 120)
	res := regDo(t, c.client, req)
	if res.StatusCode != 401 {
		t.Fatalf("want 401, got %s", res.Short())
	}
	hs := res.GetHeaders("WWW-Authenticate")
	if len(hs) != 2 {
		t.Fatalf("want 2 challenges, got %d", len(hs))
	}
	for i, alg := range []string{DigestSHA256, DigestMD5} {
		ch, err := parseDigest(hs[i].Value())
		if err != nil || ch.Algorithm != alg || ch.QOP != "auth" || ch.Realm != testRealm || ch.Nonce == "" {
			t.Fatalf("challenge %d = %q (%v)", i, hs[i].Value(), err)
		}
	}
	// sipgo's client (icholy/digest) answers the first challenge: SHA-256.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res2, err := c.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: "agent01", Password: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	if res2.StatusCode != 200 {
		t.Fatalf("want 200, got %s", res2.Short())
	}
	if h := res2.GetHeader("Contact"); h == nil || !strings.Contains(h.Value(), "expires=120") {
		t.Fatalf("contact in 200: %v", h)
	}
	got, ok := reg.Lookup("agent01")
	if want := "sip:agent01@" + c.addr; !ok || got != want {
		t.Fatalf("Lookup = %q %v, want %q", got, ok, want)
	}
	if l := cl.list(); !slices.Equal(l, []string{"agent01=true"}) {
		t.Fatalf("OnChange = %v", l)
	}
	if st := reg.Stats(); st.Registered != 1 || st.Checked != 1 || st.Failed != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestRegisterMD5AndNonceSingleUse(t *testing.T) {
	reg, _ := newTestRegistrar(t, nil)
	s := startRegServer(t, reg)
	p := newRegPhone(t, newRegClient(t), s.udp, "agent01", "demo")
	p.alg = DigestMD5
	_, res := p.register([]string{p.contact()}, 300)
	if res.StatusCode != 200 {
		t.Fatalf("MD5 register: %s", res.Short())
	}
	// Replay the same Authorization in a new transaction: the nonce is spent.
	chal := regDo(t, p.c.client, p.req([]string{p.contact()}, 300))
	req := p.req([]string{p.contact()}, 300)
	v := regAuthorize(req, regChallengeOf(t, chal, DigestMD5), DigestMD5, "agent01", testRealm, "demo")
	if res := regDo(t, p.c.client, req); res.StatusCode != 200 {
		t.Fatalf("second register: %s", res.Short())
	}
	replay := p.req([]string{p.contact()}, 300, sip.NewHeader("Authorization", v))
	res = regDo(t, p.c.client, replay)
	if res.StatusCode != 401 {
		t.Fatalf("replay: want 401, got %s", res.Short())
	}
	for _, h := range res.GetHeaders("WWW-Authenticate") {
		if !strings.Contains(h.Value(), "stale=true") {
			t.Fatalf("replay challenge without stale=true: %q", h.Value())
		}
	}
	if st := reg.Stats(); st.Stale != 1 || st.Failed != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// shape is what an observer sees of a response, minus the nonce.
func shape(res *sip.Response) string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(res.StatusCode) + " " + res.Reason + "\n")
	for _, h := range res.Headers() {
		name := h.Name()
		switch strings.ToLower(name) {
		case "via", "from", "to", "call-id", "cseq", "content-length":
			b.WriteString(name + "\n")
			continue
		}
		v := h.Value()
		if strings.EqualFold(name, "WWW-Authenticate") {
			c, _ := parseDigest(v)
			v = strings.Replace(v, c.Nonce, "NONCE", 1)
		}
		b.WriteString(name + ": " + v + "\n")
	}
	return b.String()
}

func TestUnknownUserLooksLikeWrongPassword(t *testing.T) {
	reg, _ := newTestRegistrar(t, func(o *RegistrarOptions) { o.FailBurst = 100 })
	creds := reg.opts.Credentials.(*regCreds)
	s := startRegServer(t, reg)
	c := newRegClient(t)
	var shapes []string
	for _, u := range []struct{ user, pw string }{{"agent01", "wrong"}, {"nosuchuser", "demo"}, {"agent02", "x"}, {"admin", "demo"}} {
		p := newRegPhone(t, c, s.udp, u.user, u.pw)
		chal, res := p.register([]string{p.contact()}, 300)
		if res.StatusCode != 401 {
			t.Fatalf("%s: want 401, got %s", u.user, res.Short())
		}
		shapes = append(shapes, shape(chal), shape(res))
	}
	for i := range shapes {
		if shapes[i] != shapes[0] {
			t.Fatalf("responses differ:\n%s\nvs\n%s", shapes[0], shapes[i])
		}
	}
	st := reg.Stats()
	if st.Checked != 4 || st.Failed != 4 || creds.calls.Load() != 4 {
		t.Fatalf("every attempt must take the same path: stats %+v, lookups %d", st, creds.calls.Load())
	}
	if len(reg.Bindings()) != 0 {
		t.Fatal("binding created")
	}
}

func TestExpiredNonceIsStale(t *testing.T) {
	clk := newRegClock()
	reg, _ := newTestRegistrar(t, func(o *RegistrarOptions) { o.Clock = clk.Now; o.NonceTTL = 30 * time.Second })
	s := startRegServer(t, reg)
	p := newRegPhone(t, newRegClient(t), s.udp, "agent01", "demo")
	chal := regDo(t, p.c.client, p.req([]string{p.contact()}, 300))
	clk.Advance(31 * time.Second)
	// Wrong password on an expired nonce: a failure, no stale flag.
	req := p.req([]string{p.contact()}, 300)
	regAuthorize(req, regChallengeOf(t, chal, DigestSHA256), DigestSHA256, "agent01", testRealm, "bad")
	res := regDo(t, p.c.client, req)
	if res.StatusCode != 401 || strings.Contains(res.String(), "stale=true") {
		t.Fatalf("wrong password, expired nonce: %s", res.String())
	}
	// Right password on an expired nonce: stale=true, then the new nonce works.
	req = p.req([]string{p.contact()}, 300)
	regAuthorize(req, regChallengeOf(t, chal, DigestSHA256), DigestSHA256, "agent01", testRealm, "demo")
	res = regDo(t, p.c.client, req)
	if res.StatusCode != 401 || len(res.GetHeaders("WWW-Authenticate")) != 2 || !strings.Contains(res.GetHeader("WWW-Authenticate").Value(), "stale=true") {
		t.Fatalf("want 401 stale=true, got %s", res.String())
	}
	req = p.req([]string{p.contact()}, 300)
	regAuthorize(req, regChallengeOf(t, res, DigestSHA256), DigestSHA256, "agent01", testRealm, "demo")
	if res := regDo(t, p.c.client, req); res.StatusCode != 200 {
		t.Fatalf("after stale: %s", res.Short())
	}
}

func TestFailedAttemptsThrottled(t *testing.T) {
	clk := newRegClock()
	reg, _ := newTestRegistrar(t, func(o *RegistrarOptions) {
		o.Clock = clk.Now
		o.FailBurst = 3
		o.FailEvery = time.Minute
	})
	s := startRegServer(t, reg)
	c := newRegClient(t)
	bad := newRegPhone(t, c, s.udp, "agent01", "guess")
	for i := 0; i < 3; i++ {
		if _, res := bad.register([]string{bad.contact()}, 300); res.StatusCode != 401 {
			t.Fatalf("attempt %d: %s", i, res.Short())
		}
	}
	// Throttled: even the right password gets 403 without a check.
	good := newRegPhone(t, c, s.udp, "agent01", "demo")
	if _, res := good.register([]string{good.contact()}, 300); res.StatusCode != 403 {
		t.Fatalf("throttled: want 403, got %s", res.Short())
	}
	// Throttled source: an unknown user answers the same.
	other := newRegPhone(t, c, s.udp, "nosuchuser", "x")
	if _, res := other.register([]string{other.contact()}, 300); res.StatusCode != 403 {
		t.Fatalf("throttled source, other user: want 403, got %s", res.Short())
	}
	if st := reg.Stats(); st.Checked != 3 || st.Throttled != 2 {
		t.Fatalf("stats %+v", st)
	}
	clk.Advance(time.Minute)
	if _, res := good.register([]string{good.contact()}, 300); res.StatusCode != 200 {
		t.Fatalf("after refill: %s", res.Short())
	}
}

func TestThrottlePerIPAndPerUser(t *testing.T) {
	now := time.Unix(1000, 0)
	th := newThrottle(2, time.Minute, 4)
	th.fail(now, "10.0.0.1", "bob")
	th.fail(now, "10.0.0.1", "bob")
	for _, c := range []struct {
		ip, user string
		want     bool
	}{{"10.0.0.1", "bob", true}, {"10.0.0.2", "bob", true}, {"10.0.0.1", "carol", true}, {"10.0.0.2", "carol", false}} {
		if got := th.throttled(now, c.ip, c.user); got != c.want {
			t.Errorf("throttled(%s,%s) = %v", c.ip, c.user, got)
		}
	}
	if th.throttled(now.Add(time.Minute), "10.0.0.1", "bob") {
		t.Error("one token after a minute")
	}
	// Bounded table: refilled entries are swept, active ones fail open.
	later := now.Add(time.Hour)
	for i := 0; i < 10; i++ {
		th.fail(later, "10.1.0."+strconv.Itoa(i), "u"+strconv.Itoa(i))
	}
	if n := th.len(); n > 4 {
		t.Fatalf("table grew to %d", n)
	}
}

func TestExpiresAndWildcard(t *testing.T) {
	clk := newRegClock()
	reg, cl := newTestRegistrar(t, func(o *RegistrarOptions) { o.Clock = clk.Now })
	s := startRegServer(t, reg)
	p := newRegPhone(t, newRegClient(t), s.udp, "agent01", "demo")
	c1, c2 := "<sip:agent01@127.0.0.1:5071>", "<sip:agent01@127.0.0.1:5072;transport=tcp>"

	// Too brief: lengthened to MinExpires, or 423 + Min-Expires with RejectBrief.
	regRej, _ := newTestRegistrar(t, func(o *RegistrarOptions) { o.RejectBrief = true })
	sRej := startRegServer(t, regRej)
	pRej := newRegPhone(t, p.c, sRej.udp, "agent01", "demo")
	_, res := pRej.register([]string{c1}, 30)
	if res.StatusCode != 423 || res.GetHeader("Min-Expires") == nil || res.GetHeader("Min-Expires").Value() != "60" {
		t.Fatalf("too brief, RejectBrief: %s", res.String())
	}
	regClamp, _ := newTestRegistrar(t, nil)
	sClamp := startRegServer(t, regClamp)
	pClamp := newRegPhone(t, p.c, sClamp.udp, "agent01", "demo")
	_, res = pClamp.register([]string{c1}, 30)
	if res.StatusCode != 200 || res.GetHeader("Contact") == nil || !strings.HasSuffix(res.GetHeader("Contact").Value(), ";expires=60") {
		t.Fatalf("too brief, lengthened: %s", res.String())
	}
	_, res = p.register([]string{c1, c2 + ";expires=100"}, 99999)
	if res.StatusCode != 200 {
		t.Fatalf("register two: %s", res.Short())
	}
	var exp []string
	for _, h := range res.GetHeaders("Contact") {
		exp = append(exp, h.Value())
	}
	sort.Strings(exp)
	want := []string{"<sip:agent01@127.0.0.1:5071>;expires=3600", "<sip:agent01@127.0.0.1:5072;transport=tcp>;expires=100"}
	if !slices.Equal(exp, want) {
		t.Fatalf("contacts %v, want %v", exp, want)
	}
	if u, _ := reg.Lookup("agent01"); u == "" {
		t.Fatal("no lookup")
	}
	// Query: no Contact lists the bindings.
	_, res = p.register(nil, -1)
	if res.StatusCode != 200 || len(res.GetHeaders("Contact")) != 2 {
		t.Fatalf("query: %s", res.String())
	}
	// Expires: 0 on one contact.
	_, res = p.register([]string{c1}, 0)
	if res.StatusCode != 200 || len(reg.Bindings()) != 1 {
		t.Fatalf("unregister one: %s, %v", res.Short(), reg.Bindings())
	}
	// Wildcard with non-zero expiry is a 400; with Expires 0 it removes all.
	if _, res = p.register([]string{"*"}, 60); res.StatusCode != 400 {
		t.Fatalf("* with expires 60: %s", res.Short())
	}
	if _, res = p.register([]string{"*", c1}, 0); res.StatusCode != 400 {
		t.Fatalf("* with another contact: %s", res.Short())
	}
	if _, res = p.register([]string{"*"}, 0); res.StatusCode != 200 || len(reg.Bindings()) != 0 {
		t.Fatalf("* expires 0: %s %v", res.Short(), reg.Bindings())
	}
	if l := cl.list(); !slices.Equal(l, []string{"agent01=true", "agent01=false"}) {
		t.Fatalf("OnChange %v", l)
	}
	// Expiry: the sweep drops the binding and tells OnChange.
	if _, res = p.register([]string{c1}, 60); res.StatusCode != 200 {
		t.Fatal(res.Short())
	}
	clk.Advance(61 * time.Second)
	if _, ok := reg.Lookup("agent01"); ok {
		t.Fatal("expired binding still looked up")
	}
	reg.expire(context.Background())
	if l := cl.list(); len(l) != 4 || l[3] != "agent01=false" || reg.Stats().Expired != 1 {
		t.Fatalf("OnChange after expiry %v, stats %+v", l, reg.Stats())
	}
}

func TestRegisterOverTCPAndOutOfOrder(t *testing.T) {
	reg, _ := newTestRegistrar(t, nil)
	s := startRegServer(t, reg)
	p := newRegPhone(t, newRegClient(t), s.tcp, "agent02", "demo2")
	p.tcp = true
	_, res := p.register([]string{p.contact()}, 300)
	if res.StatusCode != 200 {
		t.Fatalf("tcp register: %s", res.Short())
	}
	if b := reg.Bindings(); len(b) != 1 || b[0].Transport != "tcp" {
		t.Fatalf("bindings %+v", b)
	}
	// Same Call-ID with a lower CSeq than the binding's: 500, no update.
	p.cseq.Store(0)
	chal := regDo(t, p.c.client, p.req([]string{p.contact()}, 600))
	req := p.req([]string{p.contact()}, 600)
	regAuthorize(req, regChallengeOf(t, chal, DigestSHA256), DigestSHA256, "agent02", testRealm, "demo2")
	if res := regDo(t, p.c.client, req); res.StatusCode != 500 {
		t.Fatalf("out of order: %s", res.Short())
	}
}

func openTestStore(t testing.TB) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "onecall.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	for _, u := range []string{"agent01", "agent02"} {
		if err := st.UpsertUser(ctx, store.User{Username: u, DisplayName: u, Role: "agent",
			SIPHA1MD5:    HA1(DigestMD5, u, testRealm, "demo"),
			SIPHA1SHA256: HA1(DigestSHA256, u, testRealm, "demo")}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.UpsertUser(ctx, store.User{Username: "gone", Role: "agent", Disabled: true,
		SIPHA1SHA256: HA1(DigestSHA256, "gone", testRealm, "demo")}); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestBindingsSurviveRestartWithStore(t *testing.T) {
	st := openTestStore(t)
	ad := NewStoreAdapter(st)
	ctx := context.Background()
	reg, _ := newTestRegistrar(t, func(o *RegistrarOptions) { o.Credentials = ad; o.Store = ad })
	s := startRegServer(t, reg)
	c := newRegClient(t)
	p := newRegPhone(t, c, s.udp, "agent01", "demo")
	if _, res := p.register([]string{p.contact()}, 600); res.StatusCode != 200 {
		t.Fatalf("register: %s", res.Short())
	}
	// A disabled user is just unknown.
	d := newRegPhone(t, c, s.udp, "gone", "demo")
	if _, res := d.register([]string{d.contact()}, 600); res.StatusCode != 401 {
		t.Fatalf("disabled user: %s", res.Short())
	}
	// An already expired row is dropped by Restore.
	if err := st.Durable(ctx, store.Registration{User: "agent02", ContactURI: "sip:agent02@127.0.0.1:5999",
		Expires: time.Now().Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	regWaitFor(t, 5*time.Second, "binding stored", func() bool {
		rs, err := st.Registrations(ctx)
		return err == nil && len(rs) == 2
	})
	// "Restart": a new registrar on the same store.
	reg2, cl2 := newTestRegistrar(t, func(o *RegistrarOptions) { o.Credentials = ad; o.Store = ad })
	if err := reg2.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	got, ok := reg2.Lookup("agent01")
	if want := "sip:agent01@" + c.addr; !ok || got != want {
		t.Fatalf("restored Lookup = %q %v", got, ok)
	}
	if _, ok := reg2.Lookup("agent02"); ok {
		t.Fatal("expired binding restored")
	}
	if l := cl2.list(); !slices.Equal(l, []string{"agent01=true"}) {
		t.Fatalf("OnChange after restore %v", l)
	}
	regWaitFor(t, 5*time.Second, "expired row deleted", func() bool {
		rs, err := st.Registrations(ctx)
		return err == nil && len(rs) == 1 && rs[0].User == "agent01"
	})
	// Unregister deletes the row.
	s2 := startRegServer(t, reg2)
	p2 := newRegPhone(t, c, s2.udp, "agent01", "demo")
	if _, res := p2.register([]string{p.contact()}, 0); res.StatusCode != 200 {
		t.Fatalf("unregister: %s", res.Short())
	}
	regWaitFor(t, 5*time.Second, "row deleted", func() bool {
		rs, err := st.Registrations(ctx)
		return err == nil && len(rs) == 0
	})
}

func TestKeepAliveDropsDeadPhone(t *testing.T) {
	reg, cl := newTestRegistrar(t, func(o *RegistrarOptions) {
		o.KeepAlive = 40 * time.Millisecond
		o.KeepAliveTimeout = 300 * time.Millisecond
		o.KeepAliveFailures = 2
		o.KeepAliveConcurrency = 2
	})
	s := startRegServer(t, reg)
	live := newRegPhone(t, newRegClient(t), s.udp, "agent01", "demo")
	if _, res := live.register([]string{live.contact()}, 600); res.StatusCode != 200 {
		t.Fatal(res.Short())
	}
	deadClient := newRegClient(t)
	dead := newRegPhone(t, deadClient, s.udp, "agent02", "demo2")
	if _, res := dead.register([]string{dead.contact()}, 600); res.StatusCode != 200 {
		t.Fatal(res.Short())
	}
	deadClient.close() // the phone vanishes: its port no longer answers

	client, err := sipgo.NewClient(s.ua, sipgo.WithClientLogger(regQuietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reg.Start(ctx, client)
	defer reg.Close()
	regWaitFor(t, 10*time.Second, "dead binding dropped", func() bool {
		_, ok := reg.Lookup("agent02")
		return !ok
	})
	if _, ok := reg.Lookup("agent01"); !ok {
		t.Fatal("live phone dropped")
	}
	if st := reg.Stats(); st.KeepAliveDrops != 1 {
		t.Fatalf("stats %+v", st)
	}
	found := false
	for _, e := range cl.list() {
		found = found || e == "agent02=false"
	}
	if !found {
		t.Fatalf("OnChange %v", cl.list())
	}
}

func TestRegisterRejectsMalformed(t *testing.T) {
	reg, _ := newTestRegistrar(t, nil)
	s := startRegServer(t, reg)
	p := newRegPhone(t, newRegClient(t), s.udp, "agent01", "demo")
	for a, want := range map[string]int{
		`Digest username="agent01", realm="onecall`: 400,
		`Digest username=a, username=b`:             400,
		`Basic YWdlbnQwMTpkZW1v`:                    401, // another scheme: challenge (RFC 4475 regaut01)
	} {
		res := regDo(t, p.c.client, p.req([]string{p.contact()}, 60, sip.NewHeader("Authorization", a)))
		if res.StatusCode != want {
			t.Errorf("%q: %s, want %d", a, res.Short(), want)
		}
	}
	// Authenticating as someone else than the To user.
	chal := regDo(t, p.c.client, p.req([]string{p.contact()}, 600))
	req := p.req([]string{p.contact()}, 600)
	regAuthorize(req, regChallengeOf(t, chal, DigestSHA256), DigestSHA256, "agent02", testRealm, "demo2")
	if res := regDo(t, p.c.client, req); res.StatusCode != 403 {
		t.Errorf("username != To: %s", res.Short())
	}
}

func TestContactNets(t *testing.T) {
	reg, _ := newTestRegistrar(t, func(o *RegistrarOptions) {
		o.ContactNets = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	s := startRegServer(t, reg)
	p := newRegPhone(t, newRegClient(t), s.udp, "agent01", "demo")
	for contact, want := range map[string]int{
		"<sip:agent01@127.0.0.1:5070>":    200,
		"<sip:agent01@192.0.2.10:5060>":   403,
		"<sip:agent01@phone.example.com>": 403,
	} {
		if _, res := p.register([]string{contact}, 300); res.StatusCode != want {
			t.Errorf("%s: %s, want %d", contact, res.Short(), want)
		}
	}
	if b := reg.Bindings(); len(b) != 1 || b[0].Contact != "sip:agent01@127.0.0.1:5070" {
		t.Fatalf("bindings %+v", b)
	}
}

// Start's background loop drops expired bindings on its own (fake time).
func TestStartSweepsExpiredBindings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg, cl := newTestRegistrar(t, func(o *RegistrarOptions) { o.KeepAlive = 10 * time.Second })
		req := benchRegister(reg, "agent01", "demo", DigestSHA256, 1, time.Now())
		req.ReplaceHeader(sip.NewHeader("Expires", "60"))
		if res := reg.serve(req); res.StatusCode != 200 {
			t.Fatalf("register: %s", res.Short())
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		reg.Start(ctx, nil)
		time.Sleep(55 * time.Second)
		synctest.Wait()
		if len(reg.Bindings()) != 1 {
			t.Fatal("dropped before expiry")
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if l := cl.list(); !slices.Equal(l, []string{"agent01=true", "agent01=false"}) {
			t.Fatalf("OnChange %v", l)
		}
		if st := reg.Stats(); st.Expired != 1 {
			t.Fatalf("stats %+v", st)
		}
		cancel()
		_ = reg.Close()
	})
}

type failingCreds struct{}

func (failingCreds) SIPCredentials(context.Context, string) (string, string, bool, error) {
	return "", "", false, errors.New("disk gone")
}

func TestChallengeChoiceAndStoreFailure(t *testing.T) {
	reg, _ := newTestRegistrar(t, nil)
	algsOf := func(ua string) []string {
		req := registerReq("agent01", "127.0.0.1:5060", "<sip:agent01@127.0.0.1:5062>", 60)
		cid := sip.CallIDHeader("c")
		req.AppendHeader(&cid)
		req.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.REGISTER})
		req.AppendHeader(sip.NewHeader("Via", "SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKx"))
		if ua != "" {
			req.AppendHeader(sip.NewHeader("User-Agent", ua))
		}
		res := reg.serve(req)
		var out []string
		for _, h := range res.GetHeaders("WWW-Authenticate") {
			c, _ := parseDigest(h.Value())
			out = append(out, c.Algorithm)
		}
		return out
	}
	if got := algsOf("Grandstream GXP2170"); !slices.Equal(got, []string{DigestSHA256, DigestMD5}) {
		t.Errorf("default: %v", got)
	}
	if got := algsOf("baresip v1.0.0 (x86_64/linux)"); !slices.Equal(got, []string{DigestMD5}) {
		t.Errorf("baresip: %v", got)
	}
	reg2, _ := newTestRegistrar(t, func(o *RegistrarOptions) {
		o.Algorithms = []string{"md5", "SHA-256", "bogus"}
		o.LegacyUserAgents = []string{}
	})
	reg = reg2
	if got := algsOf("baresip"); !slices.Equal(got, []string{DigestMD5, DigestSHA256}) {
		t.Errorf("configured order: %v", got)
	}
	// A failing credential store: 503 + Retry-After, for every user alike.
	reg3, _ := newTestRegistrar(t, func(o *RegistrarOptions) { o.Credentials = failingCreds{} })
	for _, u := range []string{"agent01", "nosuchuser"} {
		res := reg3.serve(benchRegister(reg3, u, "demo", DigestSHA256, 1, time.Now()))
		if res.StatusCode != 503 || res.GetHeader("Retry-After") == nil {
			t.Errorf("%s with a failing store: %s", u, res.Short())
		}
	}
}

// A phone registered over TCP with a Contact nobody can connect to (an
// ephemeral port) is pinged over its own connection and stays registered.
func TestKeepAliveOverPhonesTCPConnection(t *testing.T) {
	reg, _ := newTestRegistrar(t, func(o *RegistrarOptions) {
		o.KeepAlive = 40 * time.Millisecond
		o.KeepAliveTimeout = 500 * time.Millisecond
		o.KeepAliveFailures = 1
	})
	s := startRegServer(t, reg)
	c := newRegClient(t)
	p := newRegPhone(t, c, s.tcp, "agent01", "demo")
	p.tcp = true
	closed := regFreeUDPTCPPort(t)
	contact := "<sip:agent01@127.0.0.1:" + strconv.Itoa(closed) + ";transport=tcp>"
	if _, res := p.register([]string{contact}, 600); res.StatusCode != 200 {
		t.Fatal(res.Short())
	}
	b, ok := reg.LookupBinding("agent01")
	if !ok || b.Transport != "tcp" || b.Source == "" {
		t.Fatalf("binding %+v", b)
	}
	var pings atomic.Int64
	c.srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		pings.Add(1)
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	client, err := sipgo.NewClient(s.ua, sipgo.WithClientLogger(regQuietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reg.Start(ctx, client)
	defer reg.Close()
	regWaitFor(t, 10*time.Second, "3 keep-alives answered", func() bool { return pings.Load() >= 3 })
	if _, ok := reg.Lookup("agent01"); !ok || reg.Stats().KeepAliveDrops != 0 {
		t.Fatalf("TCP phone dropped: %+v", reg.Stats())
	}
}

func TestRegistrarCollector(t *testing.T) {
	reg, _ := newTestRegistrar(t, nil)
	if res := reg.serve(benchRegister(reg, "agent01", "demo", DigestSHA256, 1, time.Now())); res.StatusCode != 200 {
		t.Fatal(res.Short())
	}
	if res := reg.serve(benchRegister(reg, "agent02", "bad", DigestSHA256, 1, time.Now())); res.StatusCode != 401 {
		t.Fatal(res.Short())
	}
	pr := prometheus.NewPedanticRegistry()
	if err := pr.Register(reg.Collector()); err != nil {
		t.Fatal(err)
	}
	mfs, err := pr.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			k := mf.GetName()
			for _, l := range m.GetLabel() {
				k += "/" + l.GetValue()
			}
			got[k] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	for k, want := range map[string]float64{
		"onecall_sip_register_total/registered": 1, "onecall_sip_register_total/failed": 1,
		"onecall_sip_register_total/checked": 2, "onecall_sip_bindings": 1, "onecall_sip_registered_users": 1,
	} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v (all: %v)", k, got[k], want, got)
		}
	}
}
