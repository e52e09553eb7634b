package sip

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// digestVerdict is the outcome of checking a request's digest credentials.
type digestVerdict uint8

const (
	digestNone        digestVerdict = iota // no credentials of ours: challenge
	digestMalformed                        // unparsable or repeated header: 400
	digestWrongUser                        // credentials of another user than wanted: 403
	digestThrottled                        // no failure left for the source or user: 403
	digestFailed                           // forged nonce, wrong password or unknown user (counted)
	digestStale                            // right password on an expired or used nonce
	digestUnavailable                      // the credential store failed: 503
	digestOK                               // right password, nonce consumed
)

// verifyDigest checks the digest credentials in header hdr (Authorization
// for REGISTER, Proxy-Authorization for an agent phone's INVITE) against the
// registrar's realm, nonces and stored hashes. want is the user the
// credentials must name (the REGISTER's To user, the INVITE's From user);
// ip keys the failure throttle with the user. Failures are counted in the
// same throttle and statistics whatever the method.
func (r *Registrar) verifyDigest(req *sip.Request, hdr, want, ip string, now time.Time) (string, digestVerdict) {
	hdrs := req.GetHeaders(hdr)
	if len(hdrs) == 0 {
		return "", digestNone
	}
	if len(hdrs) > 1 {
		return "", digestMalformed
	}
	cred, err := parseDigest(hdrs[0].Value())
	if errors.Is(err, errDigestScheme) {
		// Another scheme (RFC 4475 regaut01): not ours, challenge.
		return "", digestNone
	}
	if err != nil {
		return "", digestMalformed
	}
	alg := strings.ToUpper(cred.Algorithm)
	if alg == "" {
		alg = DigestMD5
	}
	if cred.Realm != r.opts.Realm || !slices.Contains(r.opts.Algorithms, alg) ||
		!strings.EqualFold(cred.QOP, "auth") || cred.NC == "" || cred.CNonce == "" ||
		cred.Username == "" || cred.Response == "" {
		// Not an answer to our challenge: challenge again.
		return "", digestNone
	}
	user := cred.Username
	if want != user {
		return user, digestWrongUser
	}
	if r.thr.throttled(now, ip, user) {
		r.stats.throttled.Add(1)
		return user, digestThrottled
	}
	state := r.nonces.check(cred.Nonce, now)
	if state == nonceBad {
		r.fail(now, ip, user, "bad nonce")
		return user, digestFailed
	}
	r.stats.checked.Add(1)
	var md5h, shah string
	var known bool
	if r.opts.Credentials != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		md5h, shah, known, err = r.opts.Credentials.SIPCredentials(ctx, user)
		cancel()
	}
	if err != nil {
		r.log.Warn("sip credentials", "err", err)
		return user, digestUnavailable
	}
	ha1 := md5h
	if alg == DigestSHA256 {
		ha1 = shah
	}
	if !known || ha1 == "" {
		ha1 = r.nonces.dummyHA1(alg, user)
		known = false
	}
	want = digestResponse(alg, strings.ToLower(ha1), req.Method.String(), cred.URI, cred.Nonce, cred.NC, cred.CNonce, cred.QOP)
	if !digestEqual(want, cred.Response) || !known {
		r.fail(now, ip, user, "wrong credentials")
		return user, digestFailed
	}
	if state == nonceStale || !r.nonces.consume(cred.Nonce, now) {
		r.stats.stale.Add(1)
		return user, digestStale
	}
	return user, digestOK
}

// Outcomes of an agent phone's INVITE digest check (phone_consult.go),
// counted in onecall_sip_phone_invite_auth_total{result}.
const (
	PhoneAuthChallenged = "challenged" // 407 with a fresh challenge
	PhoneAuthStale      = "stale"      // 407 stale=true
	PhoneAuthRefused    = "refused"    // 403: wrong password, another user, throttled
	PhoneAuthAccepted   = "accepted"
)

// AuthorizePhone checks an agent phone's INVITE: its Proxy-Authorization
// must answer a challenge of this registrar (same realm, nonces, stored
// hashes and failure throttle as REGISTER) with user's password, user
// being the From user whose binding the INVITE's source matched. code is 0
// when it is accepted; otherwise the INVITE is answered code with reason
// and hdrs (407 with Proxy-Authenticate, 403, 400 or 503).
func (r *Registrar) AuthorizePhone(req *sip.Request, user string) (code int, reason string, hdrs []sip.Header) {
	now := r.opts.Clock()
	ip := regSourceIP(req)
	_, v := r.verifyDigest(req, "Proxy-Authorization", user, ip, now)
	switch v {
	case digestOK:
		r.stats.phoneAccepted.Add(1)
		return 0, "", nil
	case digestNone:
		r.stats.phoneChallenged.Add(1)
		return sip.StatusProxyAuthRequired, "Proxy Authentication Required", r.challengeHeaders(req, "Proxy-Authenticate", now, false)
	case digestStale:
		r.stats.phoneStale.Add(1)
		return sip.StatusProxyAuthRequired, "Proxy Authentication Required", r.challengeHeaders(req, "Proxy-Authenticate", now, true)
	case digestMalformed:
		return sip.StatusBadRequest, "Bad Request (Proxy-Authorization)", nil
	case digestUnavailable:
		return sip.StatusServiceUnavailable, "Service Unavailable", []sip.Header{sip.NewHeader("Retry-After", "5")}
	default: // digestFailed, digestWrongUser, digestThrottled
		r.stats.phoneRefused.Add(1)
		return sip.StatusForbidden, "Forbidden", nil
	}
}
