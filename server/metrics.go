package server

import (
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"onecall/router"
)

type hubMetrics struct {
	events     *prometheus.CounterVec
	rejected   *prometheus.CounterVec
	busy       prometheus.Counter
	inboxDepth prometheus.Gauge
	applyTime  prometheus.Histogram
}

// RegisterMetrics registers the hub's metrics on reg. Call before Run.
func (h *Hub) RegisterMetrics(reg prometheus.Registerer) error {
	m := &hubMetrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "onecall_router_events_total", Help: "Events applied to the routing engine, by type.",
		}, []string{"event"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "onecall_router_events_rejected_total", Help: "Events the engine rejected, by type.",
		}, []string{"event"}),
		busy: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "onecall_router_inbox_full_total", Help: "Events refused because the routing inbox was full (overload).",
		}),
		inboxDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "onecall_router_inbox_depth", Help: "Events waiting in the routing inbox.",
		}),
		applyTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "onecall_router_apply_seconds",
			Help:    "Time spent in Engine.Apply per event.",
			Buckets: []float64{1e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 5e-4, 1e-3, 1e-2},
		}),
	}
	for _, c := range []prometheus.Collector{m.events, m.rejected, m.busy, m.inboxDepth, m.applyTime} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	h.metrics = m
	return nil
}

func (m *hubMetrics) observe(ev router.Event, err error, d time.Duration) {
	name := eventName(ev)
	m.events.WithLabelValues(name).Inc()
	if err != nil {
		m.rejected.WithLabelValues(name).Inc()
	}
	m.applyTime.Observe(d.Seconds())
}

// eventName is the event's type name without the package, e.g. "Tick".
func eventName(ev router.Event) string {
	s := fmt.Sprintf("%T", ev)
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		return s[i+1:]
	}
	return s
}
