package sip

import "github.com/prometheus/client_golang/prometheus"

// registrarCollector exports Stats and the live bindings to Prometheus.
type registrarCollector struct {
	r        *Registrar
	counters *prometheus.Desc
	bindings *prometheus.Desc
	users    *prometheus.Desc
	phone    *prometheus.Desc
}

// Collector returns a prometheus.Collector for the registrar:
// onecall_sip_register_total{result}, onecall_sip_bindings and
// onecall_sip_registered_users and onecall_sip_phone_invite_auth_total{result}
// (agent phones' INVITEs: challenged, stale, refused, accepted). Register it once per Registrar.
func (r *Registrar) Collector() prometheus.Collector {
	return &registrarCollector{
		r: r,
		counters: prometheus.NewDesc("onecall_sip_register_total",
			"REGISTER outcomes and binding removals by result.", []string{"result"}, nil),
		bindings: prometheus.NewDesc("onecall_sip_bindings", "Live SIP bindings.", nil, nil),
		users:    prometheus.NewDesc("onecall_sip_registered_users", "Users with at least one live binding.", nil, nil),
		phone: prometheus.NewDesc("onecall_sip_phone_invite_auth_total",
			"Digest checks of agent phones' INVITEs by result.", []string{"result"}, nil),
	}
}

func (c *registrarCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.counters
	ch <- c.bindings
	ch <- c.users
	ch <- c.phone
}

func (c *registrarCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.r.Stats()
	for _, v := range []struct {
		n string
		v uint64
	}{
		{"challenged", st.Challenges}, {"checked", st.Checked}, {"failed", st.Failed},
		{"throttled", st.Throttled}, {"stale", st.Stale}, {"registered", st.Registered},
		{"keepalive_drop", st.KeepAliveDrops}, {"expired", st.Expired}, {"agent_network", st.AgentNetwork},
	} {
		ch <- prometheus.MustNewConstMetric(c.counters, prometheus.CounterValue, float64(v.v), v.n)
	}
	for _, v := range []struct {
		n string
		v uint64
	}{
		{PhoneAuthChallenged, c.r.stats.phoneChallenged.Load()}, {PhoneAuthStale, c.r.stats.phoneStale.Load()},
		{PhoneAuthRefused, c.r.stats.phoneRefused.Load()}, {PhoneAuthAccepted, c.r.stats.phoneAccepted.Load()},
	} {
		ch <- prometheus.MustNewConstMetric(c.phone, prometheus.CounterValue, float64(v.v), v.n)
	}
	bs := c.r.Bindings()
	users := map[string]bool{}
	for _, b := range bs {
		users[b.User] = true
	}
	ch <- prometheus.MustNewConstMetric(c.bindings, prometheus.GaugeValue, float64(len(bs)))
	ch <- prometheus.MustNewConstMetric(c.users, prometheus.GaugeValue, float64(len(users)))
}
