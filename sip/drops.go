package sip

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// DropReason is why the SIP front end refused or dropped a request or a
// connection without serving it. Each has a counter (Drops, and
// onecall_sip_dropped_total{reason} in /metrics).
type DropReason uint8

const (
	// DropWrongDialog: an in-dialog request (INFO, re-INVITE) whose tags or
	// source address do not match the dialog its Call-ID names (481).
	DropWrongDialog DropReason = iota
	// DropPike: a request over its source's rate (sip.pike), dropped
	// silently.
	DropPike
	// DropTrunkRate: an INVITE over its trunk's calls per second (503).
	DropTrunkRate
	// DropTCPPerSource: a TCP/TLS connection over the per-source cap,
	// closed at accept.
	DropTCPPerSource
	// DropTCPTotal: a TCP/TLS connection over the total cap, closed at
	// accept.
	DropTCPTotal
	// DropTCPIdle: a TCP/TLS connection closed after the idle timeout.
	DropTCPIdle
	// DropAgentNetwork: an agent phone's contact outside sip.agent_networks
	// (never rung).
	DropAgentNetwork
	// DropTrunkNotFound: an INVITE from a trunk to a number no hotline
	// serves, over the trunk's budget for them (trunk_notfound.go),
	// dropped silently.
	DropTrunkNotFound
	// DropMaxCalls: an INVITE while limits.max_calls citizen calls are up
	// (503 + Retry-After).
	DropMaxCalls
	// DropCallRate: an INVITE over limits.max_calls_per_second, all trunks
	// together (503 + Retry-After).
	DropCallRate
	numDropReasons
)

var dropNames = [numDropReasons]string{"wrong_dialog", "pike", "trunk_rate", "tcp_per_source", "tcp_total", "tcp_idle", "agent_network", "trunk_not_found", "max_calls", "call_rate"}

func (r DropReason) String() string {
	if r < numDropReasons {
		return dropNames[r]
	}
	return "unknown"
}

// dropCounters count drops by reason; safe for concurrent use.
type dropCounters [numDropReasons]atomic.Uint64

func (d *dropCounters) add(r DropReason) {
	if r < numDropReasons {
		d[r].Add(1)
	}
}

// Drops returns the drop counters by reason (wire spelling).
func (s *Service) Drops() map[string]uint64 {
	out := make(map[string]uint64, numDropReasons)
	for r := DropReason(0); r < numDropReasons; r++ {
		out[r.String()] = s.drops[r].Load()
	}
	return out
}

func newDropDesc() *prometheus.Desc {
	return prometheus.NewDesc("onecall_sip_dropped_total",
		"SIP requests and connections refused or dropped unserved, by reason.", []string{"reason"}, nil)
}

func (c *callCollector) collectDrops(ch chan<- prometheus.Metric) {
	for r := DropReason(0); r < numDropReasons; r++ {
		ch <- prometheus.MustNewConstMetric(c.d.drops, prometheus.CounterValue, float64(c.s.drops[r].Load()), r.String())
	}
}
