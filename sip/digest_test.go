package sip

import (
	"strings"
	"testing"
	"time"
)

// RFC 7616 section 3.9.1 example (qop=auth, MD5 and SHA-256).
func TestDigestRFC7616Vectors(t *testing.T) {
	const (
		user, realm, pw = "Mufasa", "http-auth@example.org", "Circle of Life"
		nonce           = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
		cnonce          = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
	)
	for alg, want := range map[string]string{
		DigestMD5:    "8ca523f5e9506fed4657c9700eebdbec",
		DigestSHA256: "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
	} {
		got := digestResponse(alg, HA1(alg, user, realm, pw), "GET", "/dir/index.html", nonce, "00000001", cnonce, "auth")
		if got != want {
			t.Errorf("%s: %s, want %s", alg, got, want)
		}
	}
	if HA1("SHA-512-256", "a", "b", "c") != "" {
		t.Error("unknown algorithm must give empty HA1")
	}
	if HA1("md5", "a", "b", "c") != HA1(DigestMD5, "a", "b", "c") {
		t.Error("algorithm names are case-insensitive")
	}
}

func TestParseDigest(t *testing.T) {
	c, err := parseDigest(`Digest username="agent01", realm="onecall", nonce="abc", uri="sip:127.0.0.1", ` +
		`response="0123abcd",algorithm=SHA-256 , qop=auth, nc=00000001, cnonce="x\"y\\z", opaque="", newparam=tok`)
	if err != nil {
		t.Fatal(err)
	}
	want := digestCredentials{Username: "agent01", Realm: "onecall", Nonce: "abc", URI: "sip:127.0.0.1",
		Response: "0123abcd", Algorithm: "SHA-256", QOP: "auth", NC: "00000001", CNonce: `x"y\z`}
	if c != want {
		t.Fatalf("got %+v\nwant %+v", c, want)
	}
	for _, bad := range []string{
		"", "Basic abc", "Digestusername=a", `Digest username="a`, "Digest username", "Digest =a",
		"Digest username=a,,", "Digest username=a realm=b", `Digest username="a", username="b"`,
		"Digest username=", `Digest username="a\`, "Digest a=b, " + strings.Repeat("x", maxDigestHeader),
	} {
		if _, err := parseDigest(bad); err == nil {
			t.Errorf("%q: want error", bad)
		}
	}
	if _, err := parseDigest("  digest   USERNAME = a ,REALM=\"r\""); err != nil {
		t.Errorf("case and LWS: %v", err)
	}
}

func FuzzParseDigest(f *testing.F) {
	f.Add(`Digest username="agent01", realm="onecall", nonce="abc", uri="sip:x", response="00", algorithm=MD5, qop=auth, nc=00000001, cnonce="c"`)
	f.Add(`Digest realm="a\"b", stale=true`)
	f.Add("Digest a=b,c=\"\\")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseDigest(s)
		if err != nil {
			return
		}
		// Re-serialised values parse back to the same credentials.
		v := "Digest username=" + quoteDigest(c.Username) + ", realm=" + quoteDigest(c.Realm) +
			", nonce=" + quoteDigest(c.Nonce) + ", uri=" + quoteDigest(c.URI) + ", response=" + quoteDigest(c.Response) +
			", algorithm=" + quoteDigest(c.Algorithm) + ", cnonce=" + quoteDigest(c.CNonce) + ", qop=" + quoteDigest(c.QOP) +
			", nc=" + quoteDigest(c.NC) + ", opaque=" + quoteDigest(c.Opaque)
		if strings.ContainsAny(s, "\r\n") {
			return // quoteDigest strips CR/LF
		}
		c2, err := parseDigest(v)
		if err == nil && c2 != c {
			t.Fatalf("round trip %q: %+v != %+v", v, c2, c)
		}
	})
}

func TestNonces(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	n := newNonces([]byte("secret"), 30*time.Second)
	a := n.mint(now)
	if a == n.mint(now) {
		t.Fatal("nonces repeat")
	}
	if s := n.check(a, now.Add(29*time.Second)); s != nonceFresh {
		t.Fatalf("fresh: %v", s)
	}
	if s := n.check(a, now.Add(31*time.Second)); s != nonceStale {
		t.Fatalf("expired: %v", s)
	}
	if !n.consume(a, now) || n.consume(a, now) {
		t.Fatal("single use")
	}
	if s := n.check(a, now); s != nonceStale {
		t.Fatalf("used: %v", s)
	}
	// Tampered, foreign and junk nonces are bad.
	b := []byte(n.mint(now))
	b[3] ^= 1
	other := newNonces([]byte("other"), 30*time.Second)
	for _, x := range []string{string(b), other.mint(now), "", "abc", strings.Repeat("A", len(a))} {
		if s := n.check(x, now); s != nonceBad {
			t.Errorf("%q: %v", x, s)
		}
	}
	// The used-set is swept of entries past their life.
	for i := 0; i < 100; i++ {
		n.consume(n.mint(now), now)
	}
	n.consume(n.mint(now.Add(time.Hour)), now.Add(time.Hour))
	if l := n.usedLen(); l != 1 {
		t.Fatalf("used-set not swept: %d", l)
	}
	if !digestEqual("abcd", "ABCD") || digestEqual("abcd", "abce") || digestEqual("abcd", "abc") {
		t.Fatal("digestEqual")
	}
	if len(n.dummyHA1(DigestMD5, "x")) != 32 || len(n.dummyHA1(DigestSHA256, "x")) != 64 {
		t.Fatal("dummy HA1 length")
	}
}
