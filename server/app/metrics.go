package app

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"onecall/server"
)

func (a *App) registerMetrics() error {
	reg := a.reg
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return err
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return err
	}
	thresholds := map[string]time.Duration{}
	for _, q := range a.cfg.Queues {
		thresholds[q.ID] = q.ServiceLevel.Within.D()
	}
	sl := server.ServiceLevelMetrics{Thresholds: thresholds, ShortAbandon: a.cfg.Server.Metrics.ShortAbandon.D()}
	if a.cfront != nil {
		// A cluster node: its role and progress, and the queues and
		// contacts from its replica. (The hub's inbox and apply metrics
		// are the single node's.)
		if err := a.cfront.RegisterMetrics(reg); err != nil {
			return err
		}
		if err := a.cfront.RegisterServiceLevelMetrics(reg, sl); err != nil {
			return err
		}
	} else {
		if err := a.hub.RegisterMetrics(reg); err != nil {
			return err
		}
		if err := a.hub.RegisterServiceLevelMetrics(reg, sl); err != nil {
			return err
		}
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
		counter("onecall_store_conflicts_total", "Batches PostgreSQL rolled back in a deadlock with another writer, run again.", func() float64 { return float64(st.Stats().Conflicts) }),
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

// metricsHandler serves the registry, behind metrics.token when one is set.
func (a *App) metricsHandler() http.Handler {
	h := promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{Registry: a.reg})
	token := a.cfg.Server.Metrics.Token
	if token == "" {
		return h
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "metrics: bearer token required", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// startMetricsListener serves /metrics on metrics.listen when it is set
// (a private address for the scraper), instead of the public listener.
func (a *App) startMetricsListener() error {
	addr := a.cfg.Server.Metrics.Listen
	if addr == "" {
		return nil
	}
	if a.opts.Demo {
		addr = loopback(addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.metricsHandler())
	a.metricsLn = ln
	a.metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 10 * time.Second,
		IdleTimeout: time.Minute, ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelWarn)}
	go func() {
		if err := a.metricsSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("metrics server", "err", err)
		}
	}()
	return nil
}

// MetricsAddr is the bound address of the separate metrics listener, or ""
// when /metrics is served on the main HTTP listener.
func (a *App) MetricsAddr() string {
	if a.metricsLn == nil {
		return ""
	}
	return a.metricsLn.Addr().String()
}
