package sip

import (
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// ValidateRequest applies the checks every UAS handler should make before
// acting on a request (RFC 3261 8.2, the RFC 4475 torture cases sipgo's
// parser lets through). It returns nil when the request may proceed, else the
// response to send. supported lists the option tags accepted in Require.
// ACKs are never answered (nil).
//
//   - Request-URI scheme other than sip/sips/tel: 416 (unkscm)
//   - Request-URI with embedded headers (?...): 400 (escruri)
//   - missing or repeated From/To/Call-ID/CSeq, no Via: 400 (insuf, multi01)
//   - CSeq method differing from the request method: 400 (mismatch01/02)
//   - repeated Content-Length with different values: 400 (mcl01)
//   - Date not in RFC 1123 GMT form: 400 (baddate)
//   - Max-Forwards 0: 483 (zeromf)
//   - Require with an unsupported tag: 420 + Unsupported (bext01)
func ValidateRequest(req *sip.Request, supported ...string) *sip.Response {
	if req.IsAck() {
		return nil
	}
	bad := func(reason string) *sip.Response {
		return sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Request ("+reason+")", nil)
	}
	switch strings.ToLower(req.Recipient.Scheme) {
	case "sip", "sips", "tel":
	default:
		return sip.NewResponseFromRequest(req, 416, "Unsupported URI Scheme", nil)
	}
	if req.Recipient.Headers.Length() > 0 {
		return bad("headers in Request-URI")
	}
	for _, name := range []string{"From", "To", "Call-ID", "CSeq"} {
		if n := len(req.GetHeaders(name)); n != 1 {
			return bad("need exactly one " + name)
		}
	}
	if req.Via() == nil {
		return bad("no Via")
	}
	if cs := req.CSeq(); cs == nil || cs.MethodName != req.Method {
		return bad("CSeq method")
	}
	if cls := req.GetHeaders("Content-Length"); len(cls) > 1 {
		for _, h := range cls[1:] {
			if strings.TrimSpace(h.Value()) != strings.TrimSpace(cls[0].Value()) {
				return bad("Content-Length")
			}
		}
	}
	if h := req.GetHeader("Date"); h != nil && !strings.HasSuffix(strings.TrimSpace(h.Value()), " GMT") {
		return bad("Date")
	}
	if h := req.GetHeader("Max-Forwards"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && n == 0 {
			return sip.NewResponseFromRequest(req, sip.StatusTooManyHops, "Too Many Hops", nil)
		}
	}
	if !req.IsCancel() {
		var unsupported []string
		for _, h := range req.GetHeaders("Require") {
			for _, tag := range strings.Split(h.Value(), ",") {
				tag = strings.TrimSpace(tag)
				if tag == "" {
					continue
				}
				ok := false
				for _, s := range supported {
					ok = ok || strings.EqualFold(s, tag)
				}
				if !ok {
					unsupported = append(unsupported, tag)
				}
			}
		}
		if len(unsupported) > 0 {
			res := sip.NewResponseFromRequest(req, sip.StatusBadExtension, "Bad Extension", nil)
			res.AppendHeader(sip.NewHeader("Unsupported", strings.Join(unsupported, ", ")))
			return res
		}
	}
	return nil
}
