package sip

import (
	"time"

	"github.com/emiago/sipgo/sip"
)

// The trunk's unknown numbers. Pike (pike.go) never limits a trunk, so a
// trunk (or a stranger spoofing a trunk's address over UDP) dialling
// numbers no hotline serves would get every 404 answered. Rule: new
// INVITEs from a trunk (or a proxy) to a number onecall does not serve
// take a token of that trunk's own bucket, sized like a stranger's pike
// budget (sip.pike.rate per second, sip.pike.burst); over it they are
// dropped without a reply and counted as `trunk_not_found`. The bucket is
// per trunk (trunks[].name; sources in no named trunk, proxies among
// them, share one), and calls to served numbers never touch it: a trunk's
// misdials cannot starve its own calls, nor another trunk's 404s. An agent
// phone's own INVITE (a consult, phone_consult.go) is not a trunk's call.
// With sip.pike.rate 0 (pike off) nothing is limited.

// trunkNumberAllows reports whether req may be served: false drops it.
func (s *Service) trunkNumberAllows(req *sip.Request) bool {
	if s.trunk404 == nil || req.Method != sip.INVITE || toTag(req) != "" {
		return true
	}
	src := sourceAddr(req.Source())
	if !inNets(s.opts.Trunks, src) && !inNets(s.opts.Proxies, src) {
		return true // a stranger: pike's (and then a 403)
	}
	if s.opts.Numbers == nil || req.Recipient.User == "" {
		return true
	}
	if _, _, _, ok := s.opts.Numbers.Resolve(req.Recipient.User, callerNumber(req)); ok {
		return true
	}
	if _, phone := s.agentPhone(req); phone {
		return true
	}
	trunk, ok := s.trunk404.allow(src, time.Now())
	if ok {
		return true
	}
	s.drops.add(DropTrunkNotFound)
	if s.trunk404Warned.CompareAndSwap(false, true) {
		s.log.Warn("INVITEs to unknown numbers over the trunk's budget dropped (logged once)",
			"trunk", trunk, "source", req.Source(), "number", req.Recipient.User)
	}
	return false
}
