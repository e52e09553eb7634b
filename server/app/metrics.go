package app

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func (a *App) registerMetrics() error {
	reg := a.reg
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return err
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return err
	}
	if err := a.hub.RegisterMetrics(reg); err != nil {
		return err
	}
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	counter := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f)
	}
	st := a.st
	for _, c := range []prometheus.Collector{
		gauge("onecall_store_healthy", "1 while the store commits, 0 during a storage fault (alarm).", func() float64 {
			if st.Health().OK {
				return 1
			}
			return 0
		}),
		gauge("onecall_store_pending_records", "Records queued or held in memory, not yet committed.", func() float64 {
			return float64(st.Health().Pending)
		}),
		counter("onecall_store_committed_total", "Records committed.", func() float64 { return float64(st.Stats().Committed) }),
		counter("onecall_store_failures_total", "Batch attempts that failed on a storage fault.", func() float64 { return float64(st.Stats().Failures) }),
		counter("onecall_store_overloaded_total", "Records refused because the write queue was full.", func() float64 { return float64(st.Stats().Overloaded) }),
		counter("onecall_store_dropped_total", "Records lost (durable failures, unflushed at close).", func() float64 { return float64(st.Stats().Dropped) }),
		counter("onecall_store_durable_wait_seconds_total", "Total time callers waited for durable commits.", func() float64 {
			return float64(st.Stats().DurableWaitNS) / 1e9
		}),
		counter("onecall_store_durable_calls_total", "Durable writes.", func() float64 { return float64(st.Stats().DurableCalls) }),
	} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

func (a *App) metricsHandler() http.Handler {
	return promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{Registry: a.reg})
}
