package server

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"onecall/router"
)

// contactMetrics turns the engine's commands into service-level metrics
// per queue, line (the hotline number dialled) and channel. It runs on the
// hub goroutine as a sink, so its map needs no lock; the map holds only
// live contacts and each entry is removed when the contact closes.
// Cardinality is bounded by queues × lines × channels; never per contact.
type contactMetrics struct {
	thresholds   map[string]time.Duration // queue → SL threshold
	shortAbandon time.Duration

	live map[router.ContactID]*liveContact

	offered, answered, withinSL *prometheus.CounterVec
	abandoned, shortAbandoned   *prometheus.CounterVec
	transferredOut              *prometheus.CounterVec
	closed                      *prometheus.CounterVec
	answerWait, handle          *prometheus.HistogramVec
}

type liveContact struct {
	queue, line, channel string
	arrived, connected   time.Time
}

// ServiceLevelMetrics configures the per-queue contact metrics.
type ServiceLevelMetrics struct {
	// Thresholds maps each queue to its service-level threshold.
	Thresholds map[string]time.Duration
	// ShortAbandon: an abandon within this time of arrival also counts as
	// a short abandon (a misdial, a caller who changed their mind).
	ShortAbandon time.Duration
}

var waitBuckets = []float64{1, 5, 10, 20, 30, 60, 120, 300, 600, 1800}
var handleBuckets = []float64{30, 60, 120, 180, 300, 600, 900, 1800, 3600}

// RegisterServiceLevelMetrics registers queue and contact metrics on reg and
// adds their observer to the hub. Call before Run.
func (h *Hub) RegisterServiceLevelMetrics(reg prometheus.Registerer, o ServiceLevelMetrics) error {
	return registerServiceLevelMetrics(reg, o, h, h.AddSink)
}

// RegisterServiceLevelMetrics registers the same metrics on a cluster
// node: the queue gauges read this node's replica, and the contact
// counters observe the commands this node's transports receive (every
// entry's, once: every node counts the whole cluster's contacts, from its
// start). Call before Start.
func (f *ClusterFront) RegisterServiceLevelMetrics(reg prometheus.Registerer, o ServiceLevelMetrics) error {
	return registerServiceLevelMetrics(reg, o, f.rep, f.AddSink)
}

// engineReader reads the routing engine (Hub, Replica).
type engineReader interface {
	Query(ctx context.Context, fn func(e *router.Engine)) error
}

func registerServiceLevelMetrics(reg prometheus.Registerer, o ServiceLevelMetrics, r engineReader, add func(Sink)) error {
	lbl := []string{"queue", "line", "channel"}
	cv := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, lbl)
	}
	m := &contactMetrics{
		thresholds:     o.Thresholds,
		shortAbandon:   o.ShortAbandon,
		live:           map[router.ContactID]*liveContact{},
		offered:        cv("onecall_contacts_offered_total", "Contacts that entered a queue (arrivals, and contacts moved in by overflow or transfer)."),
		answered:       cv("onecall_contacts_answered_total", "Contacts connected to an agent."),
		withinSL:       cv("onecall_contacts_answered_within_sl_total", "Contacts connected within their queue's service-level threshold of arrival."),
		abandoned:      cv("onecall_contacts_abandoned_total", "Contacts whose citizen left before an agent answered."),
		shortAbandoned: cv("onecall_contacts_short_abandoned_total", "Abandons within the short-abandon threshold of arrival (also counted in abandoned)."),
		transferredOut: cv("onecall_contacts_moved_out_total", "Waiting contacts moved to another queue (overflow, escalation, transfer)."),
		closed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "onecall_contacts_closed_total",
			Help: "Contacts closed, by end reason."}, []string{"queue", "line", "channel", "reason"}),
		answerWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "onecall_contact_answer_wait_seconds",
			Help: "Time from arrival to connection with an agent, of answered contacts.", Buckets: waitBuckets},
			[]string{"queue", "channel"}),
		handle: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "onecall_contact_handle_seconds",
			Help: "Time from connection to close (talk, hold and chat time; not wrap-up).", Buckets: handleBuckets},
			[]string{"queue", "channel"}),
	}
	for _, c := range []prometheus.Collector{m.offered, m.answered, m.withinSL, m.abandoned, m.shortAbandoned,
		m.transferredOut, m.closed, m.answerWait, m.handle, &queueCollector{r: r}} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	add(m)
	return nil
}

// Deliver observes a batch of commands (on the hub goroutine).
func (m *contactMetrics) Deliver(cmds []router.Command) {
	for _, cmd := range cmds {
		switch c := cmd.(type) {
		case router.ContactStateChanged:
			if c.State == router.Waiting && !c.Arrived.IsZero() {
				if _, ok := m.live[c.Contact]; !ok {
					lc := &liveContact{queue: c.Queue, line: c.Number, channel: c.Channel.String(), arrived: c.Arrived}
					m.live[c.Contact] = lc
					m.offered.WithLabelValues(lc.queue, lc.line, lc.channel).Inc()
				}
			}
		case router.Overflowed:
			if lc := m.live[c.Contact]; lc != nil && c.ToQueue != lc.queue {
				m.transferredOut.WithLabelValues(lc.queue, lc.line, lc.channel).Inc()
				lc.queue = c.ToQueue
				m.offered.WithLabelValues(lc.queue, lc.line, lc.channel).Inc()
			}
		case router.Connected:
			lc := m.live[c.Contact]
			if lc == nil || !lc.connected.IsZero() {
				continue // a transfer reconnects: count the first answer only
			}
			if c.Queue != "" {
				lc.queue = c.Queue
			}
			lc.connected = connectedAt(cmds, c.Contact, lc.arrived)
			wait := lc.connected.Sub(lc.arrived)
			m.answered.WithLabelValues(lc.queue, lc.line, lc.channel).Inc()
			if th, ok := m.thresholds[lc.queue]; ok && wait <= th {
				m.withinSL.WithLabelValues(lc.queue, lc.line, lc.channel).Inc()
			}
			m.answerWait.WithLabelValues(lc.queue, lc.channel).Observe(wait.Seconds())
		case router.ContactClosed:
			lc := m.live[c.Contact]
			if lc == nil {
				continue
			}
			delete(m.live, c.Contact)
			m.closed.WithLabelValues(lc.queue, lc.line, lc.channel, c.Reason.String()).Inc()
			if c.Reason == router.EndAbandoned {
				m.abandoned.WithLabelValues(lc.queue, lc.line, lc.channel).Inc()
				if c.At.Sub(lc.arrived) <= m.shortAbandon {
					m.shortAbandoned.WithLabelValues(lc.queue, lc.line, lc.channel).Inc()
				}
			}
			if !lc.connected.IsZero() && !c.At.IsZero() {
				m.handle.WithLabelValues(lc.queue, lc.channel).Observe(c.At.Sub(lc.connected).Seconds())
			}
		default:
		}
	}
}

// at finds the time of a Connected command: the batch's Talking state
// change for that contact carries it.
func connectedAt(cmds []router.Command, id router.ContactID, fallback time.Time) time.Time {
	for _, cmd := range cmds {
		if c, ok := cmd.(router.ContactStateChanged); ok && c.Contact == id && c.State == router.Talking && !c.At.IsZero() {
			return c.At
		}
	}
	return fallback
}

// queueCollector reads the queues' live gauges from the engine at scrape
// time, through the hub or the replica (bounded by a short timeout; a busy
// engine skips a scrape rather than block it).
type queueCollector struct{ r engineReader }

var (
	descWaiting = prometheus.NewDesc("onecall_queue_waiting", "Contacts waiting in the queue.", []string{"queue"}, nil)
	descLongest = prometheus.NewDesc("onecall_queue_longest_wait_seconds", "How long the queue's oldest waiting contact has waited.", []string{"queue"}, nil)
	descEWT     = prometheus.NewDesc("onecall_queue_estimated_wait_seconds", "The engine's estimated wait for a new voice contact.", []string{"queue"}, nil)
	descAgents  = prometheus.NewDesc("onecall_queue_agents", "Agents serving the queue, by state.", []string{"queue", "state"}, nil)
)

func (q *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descWaiting
	ch <- descLongest
	ch <- descEWT
	ch <- descAgents
}

func (q *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var snaps []router.QueueSnapshot
	if err := q.r.Query(ctx, func(e *router.Engine) { snaps = e.QueueSnapshots() }); err != nil {
		return
	}
	for _, s := range snaps {
		ch <- prometheus.MustNewConstMetric(descWaiting, prometheus.GaugeValue, float64(s.Waiting), s.Queue)
		ch <- prometheus.MustNewConstMetric(descLongest, prometheus.GaugeValue, s.LongestWait.Seconds(), s.Queue)
		ch <- prometheus.MustNewConstMetric(descEWT, prometheus.GaugeValue, s.EstimatedWait.Seconds(), s.Queue)
		for _, st := range []router.AgentState{router.Ready, router.NotReady, router.Reserved, router.Busy, router.WrapUp} {
			ch <- prometheus.MustNewConstMetric(descAgents, prometheus.GaugeValue, float64(s.AgentsByState[st]), s.Queue, st.String())
		}
	}
}
