package sip

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// phoneInvite is an agent phone's INVITE from src, answering chal (when it
// has a nonce) as user with password.
func phoneInvite(chal digestCredentials, user, password string) *sip.Request {
	req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "agent02", Host: "127.0.0.1", Port: 5060})
	req.AppendHeader(&sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "agent01", Host: "127.0.0.1"}, Params: sip.NewParams()})
	req.SetSource("127.0.0.1:5070")
	if chal.Nonce != "" {
		uri := req.Recipient.String()
		alg := chal.Algorithm
		resp := digestResponse(alg, HA1(alg, user, testRealm, password), "INVITE", uri, chal.Nonce, "00000001", "0a4f113b", "auth")
		req.AppendHeader(sip.NewHeader("Proxy-Authorization", `Digest username="`+user+`", realm="`+testRealm+
			`", nonce="`+chal.Nonce+`", uri="`+uri+`", response="`+resp+`", algorithm=`+alg+`, qop=auth, nc=00000001, cnonce="0a4f113b"`))
	}
	return req
}

// proxyChallenge is the alg challenge of a 407's Proxy-Authenticate headers.
func proxyChallenge(t *testing.T, hdrs []sip.Header, alg string) digestCredentials {
	t.Helper()
	for _, h := range hdrs {
		if h.Name() != "Proxy-Authenticate" {
			t.Fatalf("challenge header %s", h.Name())
		}
		c, err := parseDigest(h.Value())
		if err != nil {
			t.Fatal(err)
		}
		if c.Algorithm == alg {
			return c
		}
	}
	t.Fatalf("no %s challenge in %v", alg, hdrs)
	return digestCredentials{}
}

// TestAuthorizePhone: an agent phone's INVITE is challenged 407 with the
// registrar's realm and nonces; a wrong password or another user's
// credentials get 403, the wrong password spending the login throttle that
// REGISTER uses (a throttled phone gets 403 even with the right password);
// an expired or replayed nonce gets 407 stale=true.
func TestAuthorizePhone(t *testing.T) {
	clk := newRegClock()
	reg, _ := newTestRegistrar(t, func(o *RegistrarOptions) {
		o.Clock = clk.Now
		o.NonceTTL = 30 * time.Second
		o.FailBurst = 2
		o.FailEvery = time.Minute
	})
	code, _, hdrs := reg.AuthorizePhone(phoneInvite(digestCredentials{}, "", ""), "agent01")
	if code != 407 || len(hdrs) != 2 {
		t.Fatalf("no credentials: %d %v, want 407 with two challenges", code, hdrs)
	}
	chal := proxyChallenge(t, hdrs, DigestSHA256)
	if chal.Realm != testRealm || chal.QOP != "auth" {
		t.Fatalf("challenge %+v", chal)
	}
	if code, _, _ := reg.AuthorizePhone(phoneInvite(chal, "agent02", "demo2"), "agent01"); code != 403 {
		t.Fatalf("agent02's credentials on agent01's INVITE: %d, want 403", code)
	}
	if code, _, _ := reg.AuthorizePhone(phoneInvite(chal, "agent01", "demo"), "agent01"); code != 0 {
		t.Fatalf("right password: %d, want accepted", code)
	}
	if code, _, hdrs := reg.AuthorizePhone(phoneInvite(chal, "agent01", "demo"), "agent01"); code != 407 ||
		!strings.Contains(hdrs[0].Value(), "stale=true") {
		t.Fatalf("replayed nonce: %d %v, want 407 stale", code, hdrs)
	}
	_, _, hdrs = reg.AuthorizePhone(phoneInvite(digestCredentials{}, "", ""), "agent01")
	old := proxyChallenge(t, hdrs, DigestMD5)
	clk.Advance(31 * time.Second)
	if code, _, hdrs := reg.AuthorizePhone(phoneInvite(old, "agent01", "demo"), "agent01"); code != 407 ||
		!strings.Contains(hdrs[0].Value(), "stale=true") {
		t.Fatalf("expired nonce: %d %v, want 407 stale", code, hdrs)
	}
	_, _, hdrs = reg.AuthorizePhone(phoneInvite(digestCredentials{}, "", ""), "agent01")
	chal = proxyChallenge(t, hdrs, DigestSHA256)
	for i := range 2 {
		if code, _, _ := reg.AuthorizePhone(phoneInvite(chal, "agent01", "guess"), "agent01"); code != 403 {
			t.Fatalf("wrong password %d: %d, want 403", i, code)
		}
	}
	if code, _, _ := reg.AuthorizePhone(phoneInvite(chal, "agent01", "demo"), "agent01"); code != 403 {
		t.Fatalf("throttled phone, right password: %d, want 403", code)
	}
	if st := reg.Stats(); st.Failed != 2 || st.Throttled != 1 {
		t.Fatalf("registrar stats %+v: want the 2 wrong passwords failed, 1 throttled", st)
	}
	clk.Advance(2 * time.Minute)
	_, _, hdrs = reg.AuthorizePhone(phoneInvite(digestCredentials{}, "", ""), "agent01")
	if code, _, _ := reg.AuthorizePhone(phoneInvite(proxyChallenge(t, hdrs, DigestSHA256), "agent01", "demo"), "agent01"); code != 0 {
		t.Fatalf("after the throttle refilled: %d, want accepted", code)
	}
	if a, r, c := reg.stats.phoneAccepted.Load(), reg.stats.phoneRefused.Load(), reg.stats.phoneChallenged.Load(); a != 2 || r != 4 || c != 4 {
		t.Fatalf("phone counters accepted %d refused %d challenged %d, want 2 4 4", a, r, c)
	}
}
