package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"onecall/router"
)

// ErrBusy means routing cannot take the event now: the inbox is full (the
// center is overloaded) or, in a cluster, no leader answered (wrapped with
// that cause; see Electing). Transports answer it with SIP 503, a chat
// "busy" error or HTTP 503.
var ErrBusy = errors.New("server: routing busy")

// ErrStopped means the hub is not running.
var ErrStopped = errors.New("server: hub stopped")

// Sink receives every batch of commands the engine emits, in order. Deliver
// is called on the hub goroutine and must not block: copy what you need into
// your own bounded queue and return.
type Sink interface{ Deliver(cmds []router.Command) }

// SinkFunc adapts a function to Sink.
type SinkFunc func(cmds []router.Command)

// Deliver calls f.
func (f SinkFunc) Deliver(cmds []router.Command) { f(cmds) }

// Hub is the one goroutine that owns the routing engine.
type Hub struct {
	engine  *router.Engine
	inbox   chan request
	sinks   []Sink
	log     *slog.Logger
	now     func() time.Time
	nextID  atomic.Uint64
	running atomic.Bool
	done    chan struct{}
	maxIdle time.Duration
	metrics *hubMetrics
	lose    func(router.Event) bool // WithLoss (tests)
	node    uint16
}

type request struct {
	ev    router.Event
	query func(*router.Engine)
	reply chan result // nil for fire-and-forget
}

type result struct {
	cmds []router.Command
	err  error
}

// HubOption configures a Hub.
type HubOption func(*Hub)

// WithInboxSize bounds the inbox (default 65536).
func WithInboxSize(n int) HubOption {
	return func(h *Hub) {
		if n > 0 {
			h.inbox = make(chan request, n)
		}
	}
}

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) HubOption { return func(h *Hub) { h.log = l } }

// WithClock injects the clock (default time.Now).
func WithClock(now func() time.Time) HubOption { return func(h *Hub) { h.now = now } }

// WithFirstContactID makes NewContactID start above id (the store's highest
// contact id, so ids survive restarts).
func WithFirstContactID(id uint64) HubOption { return func(h *Hub) { h.nextID.Store(id) } }

// WithNode sets the cluster node number (1..MaxNode) whose range contact
// ids come from (ids.go); 0, the default, is the single node. Give it
// before or after WithFirstContactID: a first id outside the node's range
// is ignored.
func WithNode(n uint16) HubOption { return func(h *Hub) { h.node = n } }

// WithTickEvery sets the longest interval between Ticks even when the engine
// has no deadline, so statistics deltas flow (default 1 s).
func WithTickEvery(d time.Duration) HubOption { return func(h *Hub) { h.maxIdle = d } }

// WithLoss drops every event lose reports true for, as if it were lost on
// its way to the engine: Submit and Do report success and nothing is
// applied. For tests that lose an event on purpose (the reconciler's).
func WithLoss(lose func(router.Event) bool) HubOption { return func(h *Hub) { h.lose = lose } }

// NewHub returns a hub owning engine. Call AddSink before Run.
func NewHub(engine *router.Engine, opts ...HubOption) *Hub {
	h := &Hub{
		engine:  engine,
		inbox:   make(chan request, 65536),
		log:     slog.Default(),
		now:     time.Now,
		done:    make(chan struct{}),
		maxIdle: time.Second,
	}
	for _, o := range opts {
		o(h)
	}
	if h.node != 0 {
		h.nextID.Store(firstContactID(h.node, h.nextID.Load()))
	}
	return h
}

// AddSink registers s to receive commands. Call before Run.
func (h *Hub) AddSink(s Sink) { h.sinks = append(h.sinks, s) }

// Now returns the hub's clock reading.
func (h *Hub) Now() time.Time { return h.now() }

// NewContactID returns a fresh, monotonic contact id.
func (h *Hub) NewContactID() router.ContactID { return router.ContactID(h.nextID.Add(1)) }

// Submit enqueues ev without waiting. It never blocks: a full inbox returns
// ErrBusy.
func (h *Hub) Submit(ev router.Event) error {
	return h.enqueue(request{ev: ev})
}

// Do enqueues ev and waits for the engine's answer.
func (h *Hub) Do(ctx context.Context, ev router.Event) ([]router.Command, error) {
	reply := make(chan result, 1)
	if err := h.enqueue(request{ev: ev, reply: reply}); err != nil {
		return nil, err
	}
	select {
	case r := <-reply:
		return r.cmds, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrMaybeApplied, ctx.Err())
	case <-h.done:
		return nil, fmt.Errorf("%w: %w", ErrMaybeApplied, ErrStopped)
	}
}

// Query runs fn on the hub goroutine, with exclusive access to the engine.
// fn must be quick and must not keep references into the engine.
func (h *Hub) Query(ctx context.Context, fn func(e *router.Engine)) error {
	reply := make(chan result, 1)
	if err := h.enqueue(request{query: fn, reply: reply}); err != nil {
		return err
	}
	select {
	case r := <-reply:
		return r.err
	case <-ctx.Done():
		return ctx.Err()
	case <-h.done:
		return ErrStopped
	}
}

func (h *Hub) enqueue(r request) error {
	if h.lose != nil && r.ev != nil && h.lose(r.ev) {
		if r.reply != nil {
			r.reply <- result{}
		}
		return nil
	}
	if !h.running.Load() {
		select {
		case <-h.done:
			return ErrStopped
		default:
		}
	}
	select {
	case h.inbox <- r:
		if h.metrics != nil {
			h.metrics.inboxDepth.Set(float64(len(h.inbox)))
		}
		return nil
	default:
		if h.metrics != nil {
			h.metrics.busy.Inc()
		}
		return ErrBusy
	}
}

// Run owns the engine until ctx ends. Events queued before Run starts are
// processed once it does.
func (h *Hub) Run(ctx context.Context) error {
	h.running.Store(true)
	defer func() {
		h.running.Store(false)
		close(h.done)
	}()
	timer := time.NewTimer(h.maxIdle)
	defer timer.Stop()
	for {
		h.resetTimer(timer)
		select {
		case <-ctx.Done():
			h.drain()
			return nil
		case r := <-h.inbox:
			h.handle(r)
			// Take whatever else is already queued before touching the timer.
			for n := 0; n < 256; n++ {
				select {
				case r := <-h.inbox:
					h.handle(r)
					continue
				default:
				}
				break
			}
		case <-timer.C:
			h.handle(request{ev: router.Tick{}})
		}
	}
}

// drain answers queued requests after stop so no caller waits forever.
func (h *Hub) drain() {
	for {
		select {
		case r := <-h.inbox:
			if r.reply != nil {
				r.reply <- result{err: ErrStopped}
			}
		default:
			return
		}
	}
}

func (h *Hub) resetTimer(t *time.Timer) {
	now := h.now()
	d := h.maxIdle
	if dl, ok := h.engine.NextDeadline(); ok {
		if until := dl.Sub(now); until < d {
			d = until
		}
	}
	if d < 0 {
		d = 0
	}
	t.Reset(d)
}

func (h *Hub) handle(r request) {
	if r.query != nil {
		r.query(h.engine)
		if r.reply != nil {
			r.reply <- result{}
		}
		return
	}
	start := time.Now()
	cmds, err := h.engine.Apply(r.ev, h.now())
	if h.metrics != nil {
		h.metrics.observe(r.ev, err, time.Since(start))
	}
	if err != nil && r.reply == nil {
		h.log.Debug("event rejected", "event", eventName(r.ev), "err", err)
	}
	if len(cmds) > 0 {
		for _, s := range h.sinks {
			s.Deliver(cmds)
		}
	}
	if r.reply != nil {
		r.reply <- result{cmds: cmds, err: err}
	}
}
