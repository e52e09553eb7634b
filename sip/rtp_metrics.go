package sip

import "github.com/prometheus/client_golang/prometheus"

// MediaCollector exports the RTP guard and port pool: packets dropped by
// reason (onecall_rtp_dropped_total), INVITEs refused before any port was
// allocated (onecall_sip_invites_refused_total{reason=sdp|ports}) and the
// port pairs in use and free; and the call recorder's totals
// (onecall_recordings_*, onecall_recording_*).
func (s *Service) MediaCollector() prometheus.Collector {
	return &mediaCollector{s: s,
		dropped: prometheus.NewDesc("onecall_rtp_dropped_total",
			"RTP/RTCP packets dropped before they reached a call, by reason (source: not from the peer's SDP address; rtcp_source; ssrc: latch mode, another stream; no_peer: before the offer/answer; not_rtp).",
			[]string{"reason"}, nil),
		refused: prometheus.NewDesc("onecall_sip_invites_refused_total",
			"INVITEs refused before media was allocated: no hotline serves the number (number: 404), unusable SDP (sdp: 488) or no RTP port pair (ports: 503).", []string{"reason"}, nil),
		pairs: prometheus.NewDesc("onecall_rtp_port_pairs",
			"RTP port pairs by state (busy: bound to a leg; free: idle or in quarantine).", []string{"state"}, nil),
		held: prometheus.NewDesc("onecall_sip_held_probes_total",
			"In-dialog OPTIONS probes of held legs by result (ok, failed).", []string{"result"}, nil),
		bindFailed: prometheus.NewDesc("onecall_rtp_port_bind_failures_total",
			"Port pairs skipped because another process holds one of their ports.", nil, nil),
		recStarted: prometheus.NewDesc("onecall_recordings_started_total",
			"Call recordings begun (recorded lines).", nil, nil),
		recFailed: prometheus.NewDesc("onecall_recordings_failed_total",
			"Call recordings whose file could not be written whole.", nil, nil),
		recFrames: prometheus.NewDesc("onecall_recording_frames_written_total",
			"20 ms stereo frames written to recordings.", nil, nil),
		recDropped: prometheus.NewDesc("onecall_recording_frames_dropped_total",
			"Recording frames lost because the writer fell a second behind the calls.", nil, nil),
		recTrimmed: prometheus.NewDesc("onecall_recording_samples_trimmed_total",
			"Samples dropped from a recorded direction's queue (bursts, far-end clock drift).", nil, nil),
	}
}

type mediaCollector struct {
	s                             *Service
	dropped, refused, pairs, held *prometheus.Desc
	bindFailed                    *prometheus.Desc

	recStarted, recFailed, recFrames, recDropped, recTrimmed *prometheus.Desc
}

func (c *mediaCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.dropped
	ch <- c.refused
	ch <- c.pairs
	ch <- c.bindFailed
	ch <- c.held
	for _, d := range []*prometheus.Desc{c.recStarted, c.recFailed, c.recFrames, c.recDropped, c.recTrimmed} {
		ch <- d
	}
}

func (c *mediaCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.s.rtp
	for r := dropReason(0); r < numRTPDrops; r++ {
		ch <- prometheus.MustNewConstMetric(c.dropped, prometheus.CounterValue, float64(m.drops[r].Load()), r.String())
	}
	ch <- prometheus.MustNewConstMetric(c.refused, prometheus.CounterValue, float64(c.s.refusedNumber.Load()), "number")
	ch <- prometheus.MustNewConstMetric(c.refused, prometheus.CounterValue, float64(c.s.refusedSDP.Load()), "sdp")
	ch <- prometheus.MustNewConstMetric(c.refused, prometheus.CounterValue, float64(m.exhausted.Load()), "ports")
	busy, free := int(m.open.Load()), 0
	var bindFailed uint64
	if m.pool != nil {
		busy, free, bindFailed = m.pool.counts()
	}
	ch <- prometheus.MustNewConstMetric(c.pairs, prometheus.GaugeValue, float64(busy), "busy")
	ch <- prometheus.MustNewConstMetric(c.pairs, prometheus.GaugeValue, float64(free), "free")
	ch <- prometheus.MustNewConstMetric(c.bindFailed, prometheus.CounterValue, float64(bindFailed))
	ch <- prometheus.MustNewConstMetric(c.held, prometheus.CounterValue, float64(c.s.heldProbes.ok.Load()), "ok")
	ch <- prometheus.MustNewConstMetric(c.held, prometheus.CounterValue, float64(c.s.heldProbes.failed.Load()), "failed")
	rs := c.s.RecordingStats()
	for _, v := range []struct {
		d *prometheus.Desc
		n uint64
	}{{c.recStarted, rs.Started}, {c.recFailed, rs.Failed}, {c.recFrames, rs.Frames}, {c.recDropped, rs.Dropped}, {c.recTrimmed, rs.Trimmed}} {
		ch <- prometheus.MustNewConstMetric(v.d, prometheus.CounterValue, float64(v.n))
	}
}
