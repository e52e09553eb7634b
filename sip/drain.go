package sip

import (
	"strconv"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Draining (a node leaving a cluster behind a proxy, docs/cluster.md): new
// calls are refused 503 with Retry-After so the proxy fails them over to
// another node, and out-of-dialog OPTIONS (the proxy's health probe) get
// 503 too, so the proxy takes the node out of rotation. Calls in progress
// and in-dialog requests go on until Close.

// Drain starts draining; it cannot be undone (the node is stopping).
func (s *Service) Drain() {
	if !s.draining.Swap(true) {
		s.log.Info("draining: new calls and probes are answered 503")
	}
}

// Draining reports whether Drain was called.
func (s *Service) Draining() bool { return s.draining.Load() }

func (s *Service) retryAfter() sip.Header {
	return sip.NewHeader("Retry-After", strconv.Itoa(int(s.opts.RetryAfter/time.Second)))
}

// drainGate answers an out-of-dialog OPTIONS 503 while draining; it
// reports whether it answered.
func (s *Service) drainGate(req *sip.Request, tx sip.ServerTransaction) bool {
	if !s.draining.Load() || req.Method != sip.OPTIONS || toTag(req) != "" {
		return false
	}
	res := sip.NewResponseFromRequest(req, sip.StatusServiceUnavailable, "Service Unavailable (draining)", nil)
	res.AppendHeader(s.retryAfter())
	_ = tx.Respond(res)
	return true
}
