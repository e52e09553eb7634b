package sip

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// CallStats are totals over the calls that have ended since Start: how many,
// and the RTP packets their legs received and sent. Citizen legs count the
// citizen's audio in (Rx) and prompts, hold music and the agent's audio out
// (Tx); agent legs count the agent's audio in and the citizen's audio out.
type CallStats struct {
	Ended                uint64
	Answered             uint64 // reached an agent at least once
	CitizenRx, CitizenTx uint64
	AgentRx, AgentTx     uint64

	// The media clock (all calls, not only ended ones): 20 ms ticks
	// served, ticks missed because a shard ran late, relayed frames
	// dropped to bound the bridge delay.
	ClockTicks, ClockMissed, RelayDropped uint64
}

type callCounters struct {
	ended, answered      atomic.Uint64
	citizenRx, citizenTx atomic.Uint64
	agentRx, agentTx     atomic.Uint64
}

func (k *callCounters) add(r *callRecord) {
	k.ended.Add(1)
	if !r.Answered.IsZero() {
		k.answered.Add(1)
	}
	k.citizenRx.Add(r.RxPackets)
	k.citizenTx.Add(r.TxPackets)
	k.agentRx.Add(r.AgentRx)
	k.agentTx.Add(r.AgentTx)
}

// Stats returns the totals of the calls ended so far. Safe for concurrent use.
func (s *Service) Stats() CallStats {
	k := &s.counters
	return CallStats{
		Ended: k.ended.Load(), Answered: k.answered.Load(),
		CitizenRx: k.citizenRx.Load(), CitizenTx: k.citizenTx.Load(),
		AgentRx: k.agentRx.Load(), AgentTx: k.agentTx.Load(),
		ClockTicks: s.clock.ticks.Load(), ClockMissed: s.clock.missed.Load(), RelayDropped: s.clock.dropped.Load(),
	}
}

// Collector exports the active calls and the Stats totals for Prometheus.
func (s *Service) Collector() prometheus.Collector { return &callCollector{s: s, d: newCallDescs()} }

type callDescs struct{ active, ended, answered, rtp, ticks, missed, dropped, drops *prometheus.Desc }

func newCallDescs() callDescs {
	return callDescs{
		active:   prometheus.NewDesc("onecall_sip_active_calls", "Citizen calls in progress.", nil, nil),
		ended:    prometheus.NewDesc("onecall_sip_calls_ended_total", "Citizen calls ended.", nil, nil),
		answered: prometheus.NewDesc("onecall_sip_calls_answered_total", "Ended citizen calls that reached an agent.", nil, nil),
		rtp: prometheus.NewDesc("onecall_sip_rtp_packets_total",
			"RTP packets of ended calls by leg (citizen, agent) and direction (rx, tx).", []string{"leg", "direction"}, nil),
		ticks:  prometheus.NewDesc("onecall_sip_media_clock_ticks_total", "20 ms ticks served by the media clock's shards.", nil, nil),
		missed: prometheus.NewDesc("onecall_sip_media_clock_missed_total", "Ticks a media clock shard let pass because it ran late (CPU starvation: audio gaps).", nil, nil),
		dropped: prometheus.NewDesc("onecall_sip_relay_frames_dropped_total",
			"Bridged audio frames dropped to keep the relay delay bounded.", nil, nil),
		drops: newDropDesc(),
	}
}

type callCollector struct {
	s *Service
	d callDescs
}

func (c *callCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.d.active
	ch <- c.d.ended
	ch <- c.d.answered
	ch <- c.d.rtp
	ch <- c.d.ticks
	ch <- c.d.missed
	ch <- c.d.dropped
	ch <- c.d.drops
}

func (c *callCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.Stats()
	ch <- prometheus.MustNewConstMetric(c.d.active, prometheus.GaugeValue, float64(c.s.Active()))
	ch <- prometheus.MustNewConstMetric(c.d.ended, prometheus.CounterValue, float64(st.Ended))
	ch <- prometheus.MustNewConstMetric(c.d.answered, prometheus.CounterValue, float64(st.Answered))
	ch <- prometheus.MustNewConstMetric(c.d.ticks, prometheus.CounterValue, float64(st.ClockTicks))
	ch <- prometheus.MustNewConstMetric(c.d.missed, prometheus.CounterValue, float64(st.ClockMissed))
	ch <- prometheus.MustNewConstMetric(c.d.dropped, prometheus.CounterValue, float64(st.RelayDropped))
	for _, v := range []struct {
		leg, dir string
		n        uint64
	}{
		{"citizen", "rx", st.CitizenRx}, {"citizen", "tx", st.CitizenTx},
		{"agent", "rx", st.AgentRx}, {"agent", "tx", st.AgentTx},
	} {
		ch <- prometheus.MustNewConstMetric(c.d.rtp, prometheus.CounterValue, float64(v.n), v.leg, v.dir)
	}
	c.collectDrops(ch)
}
