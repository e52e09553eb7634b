package sip

import (
	"errors"
	"net/netip"
	"net/url"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// SIP proxies in front (sip.proxies, e.g. Kamailio; docs/cluster.md): their
// REGISTERs may carry Path headers (RFC 3327). The registrar keeps the Path
// with the binding, and every request to that phone (offers, consults,
// callbacks, supervisor legs, keep-alive OPTIONS) carries it as its Route
// set, so it goes back through the proxy the phone registered through. For
// source checks (agent networks, the failed-digest throttle) a REGISTER
// from a proxy counts as coming from the phone's address in the outermost
// Path entry's "received" parameter (Kamailio's add_path_received).
// Path from any other source is refused.

// maxPath bounds the Path entries kept per binding, maxPathLen each.
const (
	maxPath    = 4
	maxPathLen = 512
)

var errBadPath = errors.New("bad Path")

// pathOf returns the REGISTER's Path entries in order (topmost first), each
// as a name-addr "<sip:...>".
func pathOf(req *sip.Request) ([]string, error) {
	var out []string
	for _, h := range req.GetHeaders("Path") {
		for _, v := range splitAddrList(h.Value()) {
			if len(out) == maxPath || len(v) > maxPathLen {
				return nil, errBadPath
			}
			var u sip.Uri
			params := sip.NewParams()
			if _, err := sip.ParseAddressValue(v, &u, &params); err != nil || u.Host == "" {
				return nil, errBadPath
			}
			if sc := strings.ToLower(u.Scheme); sc != "sip" && sc != "sips" {
				return nil, errBadPath
			}
			if strings.ContainsAny(v, "\r\n") {
				return nil, errBadPath
			}
			if !strings.HasPrefix(v, "<") {
				v = "<" + v + ">"
			}
			out = append(out, v)
		}
	}
	return out, nil
}

// splitAddrList splits a header value at the commas outside <> and quotes.
func splitAddrList(v string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '<':
			depth++
		case c == '>':
			depth--
		case c == ',' && depth == 0:
			if s := strings.TrimSpace(v[start:i]); s != "" {
				out = append(out, s)
			}
			start = i + 1
		}
	}
	if s := strings.TrimSpace(v[start:]); s != "" {
		out = append(out, s)
	}
	return out
}

// pathReceived is the phone's address that the outermost proxy (the last
// Path entry) recorded in its "received" parameter: "sip:1.2.3.4:5060",
// possibly URI-escaped. Invalid when absent.
func pathReceived(path []string) netip.Addr {
	ap, ok := pathReceivedAddrPort(path)
	if !ok {
		return netip.Addr{}
	}
	return ap.Addr()
}

// pathReceivedAddrPort is pathReceived with the port (5060 when the
// received URI names none).
func pathReceivedAddrPort(path []string) (netip.AddrPort, bool) {
	if len(path) == 0 {
		return netip.AddrPort{}, false
	}
	v := path[len(path)-1]
	i := strings.Index(strings.ToLower(v), ";received=")
	if i < 0 {
		return netip.AddrPort{}, false
	}
	r := v[i+len(";received="):]
	if j := strings.IndexAny(r, ";>"); j >= 0 {
		r = r[:j]
	}
	if u, err := url.PathUnescape(r); err == nil {
		r = u
	}
	r = strings.Trim(r, `"`)
	r = strings.TrimPrefix(strings.TrimPrefix(r, "sip:"), "sips:")
	if j := strings.IndexByte(r, ';'); j >= 0 {
		r = r[:j]
	}
	if ap, err := netip.ParseAddrPort(r); err == nil {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
	}
	if a, err := netip.ParseAddr(strings.Trim(r, "[]")); err == nil {
		return netip.AddrPortFrom(a.Unmap(), 5060), true
	}
	return netip.AddrPort{}, false
}

// fromProxy reports whether req came from one of the proxies in front.
func (r *Registrar) fromProxy(req *sip.Request) bool {
	return len(r.opts.Proxies) > 0 && inNets(r.opts.Proxies, sourceAddr(req.Source()))
}

// clientAddr is where the phone is: the source address, or for a REGISTER
// relayed by a proxy the address its Path records (invalid when the proxy
// recorded none).
func (r *Registrar) clientAddr(req *sip.Request, path []string) netip.Addr {
	if r.fromProxy(req) {
		return pathReceived(path)
	}
	return sourceAddr(req.Source())
}

// LookupRoute is Lookup with the route set that reaches the phone: the
// binding's Path, or, for a binding restored from the store (the Path is
// not stored) that registered through a proxy, that proxy as a loose route.
func (r *Registrar) LookupRoute(user string) (contactURI string, route []string, ok bool) {
	b, ok := r.LookupBinding(user)
	if !ok {
		return "", nil, false
	}
	return b.Contact, r.routeOf(b), true
}

func (r *Registrar) routeOf(b Binding) []string {
	if len(b.Path) > 0 {
		return b.Path
	}
	if len(r.opts.Proxies) > 0 && inNets(r.opts.Proxies, sourceAddr(b.Source)) {
		return []string{"<sip:" + b.Source + ";lr>"}
	}
	return nil
}

// RouteLocator is a Locator that also gives the route set to the phone
// (*Registrar).
type RouteLocator interface {
	LookupRoute(user string) (contactURI string, route []string, ok bool)
}

// lookupAgent finds the agent's phone and the Route headers that reach it.
func (s *Service) lookupAgent(user string) (string, []sip.Header, bool) {
	if s.opts.Locator == nil {
		return "", nil, false
	}
	rl, isRL := s.opts.Locator.(RouteLocator)
	if !isRL {
		c, ok := s.opts.Locator.Lookup(user)
		return c, nil, ok
	}
	c, route, ok := rl.LookupRoute(user)
	return c, routeHeaders(route), ok
}

func routeHeaders(route []string) []sip.Header {
	hs := make([]sip.Header, 0, len(route))
	for _, v := range route {
		hs = append(hs, sip.NewHeader("Route", v))
	}
	return hs
}

// supports reports whether req's Supported headers name the option tag.
func supports(req *sip.Request, tag string) bool {
	for _, h := range req.GetHeaders("Supported") {
		for _, t := range strings.Split(h.Value(), ",") {
			if strings.EqualFold(strings.TrimSpace(t), tag) {
				return true
			}
		}
	}
	return false
}
