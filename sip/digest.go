package sip

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash"
	"strings"
	"sync"
	"time"
)

// Digest algorithms the registrar offers (SHA-256 first, then MD5).
const (
	DigestSHA256 = "SHA-256"
	DigestMD5    = "MD5"
)

// HA1 returns the lowercase hex H(user:realm:password) for alg (DigestMD5 or
// DigestSHA256, case-insensitive); "" for an unknown algorithm. This is what
// the store keeps in users.sip_ha1_md5 / users.sip_ha1_sha256.
func HA1(alg, user, realm, password string) string {
	return digestHash(alg, user+":"+realm+":"+password)
}

func newDigestHash(alg string) hash.Hash {
	switch strings.ToUpper(alg) {
	case DigestMD5:
		return md5.New()
	case DigestSHA256:
		return sha256.New()
	}
	return nil
}

func digestHash(alg, s string) string {
	h := newDigestHash(alg)
	if h == nil {
		return ""
	}
	h.Write([]byte(s))
	return hex.EncodeToString(h.Sum(nil))
}

// digestResponse computes the qop=auth response (RFC 7616 3.4.1).
func digestResponse(alg, ha1, method, uri, nonce, nc, cnonce, qop string) string {
	ha2 := digestHash(alg, method+":"+uri)
	return digestHash(alg, ha1+":"+nonce+":"+nc+":"+cnonce+":"+qop+":"+ha2)
}

// digestCredentials is a parsed Authorization header (Digest scheme).
type digestCredentials struct {
	Username  string
	Realm     string
	Nonce     string
	URI       string
	Response  string
	Algorithm string
	CNonce    string
	QOP       string
	NC        string
	Opaque    string
}

const maxDigestHeader = 4096

var (
	errDigestScheme = errors.New("digest: not a Digest credential")
	errDigestSyntax = errors.New("digest: malformed credential")
	errDigestDup    = errors.New("digest: duplicate parameter")
)

// parseDigest parses `Digest k=v, k="quoted", ...` (RFC 7616 / RFC 3261
// 25.1). Unknown parameters are ignored; duplicates and syntax errors are
// errors. It never panics and copies nothing it does not return.
func parseDigest(h string) (digestCredentials, error) {
	var c digestCredentials
	if len(h) > maxDigestHeader {
		return c, errDigestSyntax
	}
	s := strings.TrimLeft(h, " \t")
	if len(s) < 6 || !strings.EqualFold(s[:6], "Digest") {
		return c, errDigestScheme
	}
	s = s[6:]
	if s == "" || (s[0] != ' ' && s[0] != '\t') {
		return c, errDigestScheme
	}
	seen := map[string]bool{}
	first := true
	for {
		s = digestTrimLWS(s)
		if s == "" {
			break
		}
		if !first {
			if s[0] != ',' {
				return c, errDigestSyntax
			}
			s = digestTrimLWS(s[1:])
			if s == "" {
				return c, errDigestSyntax
			}
		}
		first = false
		// name
		i := 0
		for i < len(s) && digestIsToken(s[i]) {
			i++
		}
		if i == 0 {
			return c, errDigestSyntax
		}
		name := strings.ToLower(s[:i])
		s = digestTrimLWS(s[i:])
		if s == "" || s[0] != '=' {
			return c, errDigestSyntax
		}
		s = digestTrimLWS(s[1:])
		var val string
		if s != "" && s[0] == '"' {
			var b strings.Builder
			j := 1
			closed := false
			for j < len(s) {
				ch := s[j]
				if ch == '\\' {
					if j+1 >= len(s) {
						return c, errDigestSyntax
					}
					b.WriteByte(s[j+1])
					j += 2
					continue
				}
				if ch == '"' {
					closed = true
					j++
					break
				}
				b.WriteByte(ch)
				j++
			}
			if !closed {
				return c, errDigestSyntax
			}
			val = b.String()
			s = s[j:]
		} else {
			j := 0
			for j < len(s) && digestIsToken(s[j]) {
				j++
			}
			if j == 0 {
				return c, errDigestSyntax
			}
			val = s[:j]
			s = s[j:]
		}
		if seen[name] {
			return c, errDigestDup
		}
		seen[name] = true
		switch name {
		case "username":
			c.Username = val
		case "realm":
			c.Realm = val
		case "nonce":
			c.Nonce = val
		case "uri":
			c.URI = val
		case "response":
			c.Response = val
		case "algorithm":
			c.Algorithm = val
		case "cnonce":
			c.CNonce = val
		case "qop":
			c.QOP = val
		case "nc":
			c.NC = val
		case "opaque":
			c.Opaque = val
		}
	}
	return c, nil
}

func digestTrimLWS(s string) string {
	return strings.TrimLeft(s, " \t\r\n")
}

// isToken reports RFC 3261 token characters.
func digestIsToken(ch byte) bool {
	if ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' {
		return true
	}
	switch ch {
	case '-', '.', '!', '%', '*', '_', '+', '`', '\'', '~':
		return true
	}
	return false
}

// quoteDigest escapes a value for a quoted-string.
func quoteDigest(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\r', '\n':
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// nonceState is the verdict on a nonce presented by a client.
type nonceState uint8

const (
	nonceBad   nonceState = iota // not ours (bad MAC / syntax)
	nonceFresh                   // ours, within its life, not yet used
	nonceStale                   // ours but expired or already used
)

func (s nonceState) String() string {
	switch s {
	case nonceFresh:
		return "fresh"
	case nonceStale:
		return "stale"
	default:
		return "bad"
	}
}

// nonces mints HMAC-signed single-use nonces: base64url(issued unix-nano
// (8) | random (12) | HMAC-SHA256(key, issued|random)[:16]). Verification
// needs no state; the used-set (nonce -> expiry) makes each nonce single-use
// and is swept of entries older than the nonce life. Safe for concurrent use.
type nonces struct {
	key [32]byte
	ttl time.Duration

	mu        sync.Mutex
	used      map[string]time.Time
	nextSweep time.Time
}

const nonceRawLen = 8 + 12 + 16

func newNonces(key []byte, ttl time.Duration) *nonces {
	n := &nonces{ttl: ttl, used: map[string]time.Time{}}
	if len(key) == 0 {
		if _, err := rand.Read(n.key[:]); err != nil {
			panic("sip: crypto/rand: " + err.Error())
		}
	} else {
		n.key = sha256.Sum256(key)
	}
	return n
}

func (n *nonces) mac(b []byte) []byte {
	m := hmac.New(sha256.New, n.key[:])
	m.Write(b)
	return m.Sum(nil)[:16]
}

func (n *nonces) mint(now time.Time) string {
	var raw [nonceRawLen]byte
	binary.BigEndian.PutUint64(raw[:8], uint64(now.UnixNano()))
	if _, err := rand.Read(raw[8:20]); err != nil {
		panic("sip: crypto/rand: " + err.Error())
	}
	copy(raw[20:], n.mac(raw[:20]))
	return base64.RawURLEncoding.EncodeToString(raw[:])
}

// check verifies a nonce without consuming it.
func (n *nonces) check(nonce string, now time.Time) nonceState {
	if len(nonce) != base64.RawURLEncoding.EncodedLen(nonceRawLen) {
		return nonceBad
	}
	raw, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(raw) != nonceRawLen {
		return nonceBad
	}
	if !hmac.Equal(raw[20:], n.mac(raw[:20])) {
		return nonceBad
	}
	issued := time.Unix(0, int64(binary.BigEndian.Uint64(raw[:8])))
	if now.Sub(issued) > n.ttl || issued.Sub(now) > time.Minute {
		return nonceStale
	}
	n.mu.Lock()
	_, used := n.used[nonce]
	n.mu.Unlock()
	if used {
		return nonceStale
	}
	return nonceFresh
}

// consume marks a fresh nonce used; false if it was used already (a replay
// racing with the first use).
func (n *nonces) consume(nonce string, now time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, used := n.used[nonce]; used {
		return false
	}
	n.used[nonce] = now.Add(n.ttl + time.Minute)
	if now.After(n.nextSweep) {
		for k, exp := range n.used {
			if now.After(exp) {
				delete(n.used, k)
			}
		}
		n.nextSweep = now.Add(n.ttl)
	}
	return true
}

// usedLen is the size of the used-set (tests, metrics).
func (n *nonces) usedLen() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.used)
}

// dummyHA1 is the HA1 used for unknown users, so that unknown users and
// wrong passwords take the same path and the same time.
func (n *nonces) dummyHA1(alg, user string) string {
	m := hmac.New(sha256.New, n.key[:])
	m.Write([]byte("no-such-user\x00" + alg + "\x00" + user))
	s := hex.EncodeToString(m.Sum(nil))
	if strings.EqualFold(alg, DigestMD5) {
		return s[:32]
	}
	return s
}

// digestEqual compares two hex digests in constant time (case-insensitive).
func digestEqual(want, got string) bool {
	if len(want) != len(got) {
		// Still do the work of a comparison.
		subtle.ConstantTimeCompare([]byte(want), []byte(want))
		return false
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(got))) == 1
}
