package sip

import (
	"net/netip"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Agent networks (sip.agent_networks): the registrar accepts REGISTERs only
// from these sources (RegistrarOptions.SourceNets) with contacts inside
// them (ContactNets), and the SIP service rings no phone outside them
// (Options.AgentNets), which also covers bindings restored from before a
// configuration change.

func inNets(nets []netip.Prefix, a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	a = a.Unmap()
	for _, n := range nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// sourceAllowed checks a REGISTER's client address (clientAddr: the
// source, or the phone's address a proxy recorded) against SourceNets. A
// REGISTER relayed by a proxy that recorded no address is the proxy's to
// police.
func (r *Registrar) sourceAllowed(req *sip.Request, client netip.Addr) bool {
	if len(r.opts.SourceNets) == 0 {
		return true
	}
	if !client.IsValid() && r.fromProxy(req) {
		return true
	}
	return inNets(r.opts.SourceNets, client)
}

// agentTargetAllowed checks an agent phone's contact host against
// AgentNets (an IP literal inside them; a DNS name is refused).
func (s *Service) agentTargetAllowed(u sip.Uri) bool {
	if len(s.opts.AgentNets) == 0 {
		return true
	}
	a, err := netip.ParseAddr(strings.Trim(u.Host, "[]"))
	if err != nil {
		return false
	}
	return inNets(s.opts.AgentNets, a)
}

// bindingAllowed checks a persisted binding against today's networks: its
// contact host and the source it registered from.
func (r *Registrar) bindingAllowed(b Binding) bool {
	if len(r.opts.SourceNets) > 0 && !inNets(r.opts.SourceNets, sourceAddr(b.Source)) &&
		!inNets(r.opts.Proxies, sourceAddr(b.Source)) {
		return false
	}
	if len(r.opts.ContactNets) == 0 {
		return true
	}
	var u sip.Uri
	if err := sip.ParseUri(strings.Trim(b.Contact, "<>"), &u); err != nil {
		return false
	}
	return r.contactAllowed(u.Host)
}
