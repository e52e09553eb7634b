package server

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"onecall/router"
)

// NATS subjects of the cluster front.
const (
	// EngineRequestSubject carries a follower's Submit and Do to the
	// leader (request/reply; only the leader subscribes).
	EngineRequestSubject = "onecall.engine.request"
	// EngineCommandSubject carries each applied entry's commands, tagged
	// with the entry's sequence, from the leader to every node.
	EngineCommandSubject = "onecall.engine.cmds"
)

// ClusterFront is the routing engine's Front on a node of a cluster. The
// engine is a Replica of the shared log. On the leader, Submit and Do go
// straight to the replica; on a follower they are forwarded to the leader
// over NATS (EngineRequestSubject), in the order of the calls, and no
// leader or a full outbox answers ErrBusy. Query reads this node's
// replica. The leader publishes every applied entry's commands to all
// nodes (EngineCommandSubject); each node passes each entry on once
// (Dedupe by sequence: a new leader re-issues what its predecessor may not
// have delivered) to its sinks, which act on their own contacts, chats and
// agents only.
type ClusterFront struct {
	rep  *Replica
	nc   *nats.Conn
	log  *slog.Logger
	node string

	sinks  []Sink
	dedupe *Dedupe
	floor  uint64
	cmdSub *nats.Subscription

	mu     sync.Mutex
	reqSub *nats.Subscription

	forwarded atomic.Int64
	busy      atomic.Int64
	delivered atomic.Int64
	badCmds   atomic.Int64
}

// requestTimeout bounds a forwarded Submit, and a Do whose context has no
// deadline.
const requestTimeout = 5 * time.Second

// NewClusterFront returns the front of rep on nc, for node (its NATS id,
// for logs). Add the sinks, then Start, then run rep.
func NewClusterFront(rep *Replica, nc *nats.Conn, node string, log *slog.Logger) *ClusterFront {
	f := &ClusterFront{rep: rep, nc: nc, node: node, log: log}
	f.dedupe = &Dedupe{Next: EntrySinkFunc(f.deliverLocal)}
	rep.AddSink(EntrySinkFunc(f.publish))
	return f
}

// SetReissueFloor keeps a takeover from re-issuing the commands of
// entries before seq when this node has received none yet: the log's
// entries from before the node started were carried out by earlier
// leaders. Call before Start.
func (f *ClusterFront) SetReissueFloor(seq uint64) { f.floor = seq }

// Replica is the front's engine replica.
func (f *ClusterFront) Replica() *Replica { return f.rep }

// AddSink registers s for the commands of every entry, once each. Call
// before Start.
func (f *ClusterFront) AddSink(s Sink) { f.sinks = append(f.sinks, s) }

// Now is the local clock (the leader stamps the entries).
func (f *ClusterFront) Now() time.Time { return time.Now() }

// NewContactID returns an id unique in the cluster (the node's range).
func (f *ClusterFront) NewContactID() router.ContactID { return f.rep.NewContactID() }

// Query runs fn on this node's replica.
func (f *ClusterFront) Query(ctx context.Context, fn func(e *router.Engine)) error {
	return f.rep.Query(ctx, fn)
}

// Leading reports whether this node's replica leads.
func (f *ClusterFront) Leading() bool { return f.rep.Leading() }

// Delivered returns the highest entry sequence passed to the sinks.
func (f *ClusterFront) Delivered() uint64 { s, _ := f.dedupe.Last(); return s }

// Start subscribes to the commands the leader publishes.
func (f *ClusterFront) Start() error {
	sub, err := f.nc.Subscribe(EngineCommandSubject, f.onCommands)
	if err != nil {
		return fmt.Errorf("cluster front: %w", err)
	}
	// The fan-out is the node's only feed of commands: never drop for
	// a slow sink (they do not block).
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		return err
	}
	f.cmdSub = sub
	return f.nc.Flush()
}

// Close stops taking commands and forwarded events.
func (f *ClusterFront) Close() {
	f.unserve()
	if f.cmdSub != nil {
		_ = f.cmdSub.Unsubscribe()
	}
}

// Lead runs while this node holds the leader lease (the elector's onLead):
// it serves the followers' events, makes the replica lead (re-issuing the
// commands of the entries this node has not seen delivered), and when ctx
// ends, at the lease's end, stops the replica appending and delivering at
// once, before any other node can win the key.
func (f *ClusterFront) Lead(ctx context.Context) {
	from := max(f.Delivered()+1, f.floor)
	if err := f.serve(); err != nil {
		f.log.Error("cluster front: cannot serve the followers; not leading", "err", err)
		return
	}
	f.rep.Lead(from)
	f.log.Info("cluster: leading the routing engine", "node", f.node, "reissue_from", from)
	<-ctx.Done()
	f.rep.Follow()
	f.unserve()
	f.log.Info("cluster: no longer leading", "node", f.node)
}

func (f *ClusterFront) serve() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.reqSub != nil {
		return nil
	}
	sub, err := f.nc.Subscribe(EngineRequestSubject, f.onRequest)
	if err != nil {
		return err
	}
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		return err
	}
	f.reqSub = sub
	return f.nc.Flush()
}

func (f *ClusterFront) unserve() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.reqSub != nil {
		_ = f.reqSub.Unsubscribe()
		f.reqSub = nil
	}
}

// Request kinds.
const (
	reqSubmit byte = 's'
	reqDo     byte = 'd'
)

// Submit appends ev through the leader without waiting for it to be
// applied.
func (f *ClusterFront) Submit(ev router.Event) error {
	if f.rep.Leading() {
		return busyIfNotLeader(f.rep.Submit(ev))
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	_, err := f.forward(ctx, reqSubmit, ev)
	return err
}

// Do appends ev through the leader and waits for its commands.
func (f *ClusterFront) Do(ctx context.Context, ev router.Event) ([]router.Command, error) {
	if f.rep.Leading() {
		cmds, err := f.rep.Do(ctx, ev)
		return cmds, busyIfNotLeader(err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, requestTimeout)
		defer cancel()
	}
	return f.forward(ctx, reqDo, ev)
}

func busyIfNotLeader(err error) error {
	if errors.Is(err, ErrNotLeader) {
		return fmt.Errorf("%w: %w", ErrBusy, err)
	}
	return err
}

func (f *ClusterFront) forward(ctx context.Context, kind byte, ev router.Event) ([]router.Command, error) {
	data, err := router.AppendEvent([]byte{kind}, ev)
	if err != nil {
		return nil, err
	}
	f.forwarded.Add(1)
	msg, err := f.nc.RequestWithContext(ctx, EngineRequestSubject, data)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return nil, ctx.Err()
		}
		// No leader subscribed (an election in progress), or it did not
		// answer in time: the engine cannot take the event now. Unless
		// nobody was listening, the leader may have taken it.
		f.busy.Add(1)
		if !errors.Is(err, nats.ErrNoResponders) {
			return nil, fmt.Errorf("%w: %w: forwarding to the routing leader: %w", ErrBusy, ErrMaybeApplied, err)
		}
		return nil, fmt.Errorf("%w: forwarding to the routing leader: %w", ErrBusy, err)
	}
	cmds, rerr, err := decodeReply(msg.Data)
	if err != nil {
		return nil, err
	}
	return cmds, rerr
}

// onRequest serves a follower's event on the leader. Events are queued in
// the order they arrive; a Do's answer is awaited on its own goroutine.
func (f *ClusterFront) onRequest(m *nats.Msg) {
	if len(m.Data) < 1 {
		return
	}
	ev, err := router.DecodeEvent(m.Data[1:])
	if err != nil {
		f.respond(m, nil, err)
		return
	}
	switch m.Data[0] {
	case reqSubmit:
		f.respond(m, nil, busyIfNotLeader(f.rep.Submit(ev)))
	case reqDo:
		wait, err := f.rep.send(ev)
		if err != nil {
			f.respond(m, nil, busyIfNotLeader(err))
			return
		}
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
			defer cancel()
			cmds, err := wait(ctx)
			f.respond(m, cmds, busyIfNotLeader(err))
		}()
	}
}

func (f *ClusterFront) respond(m *nats.Msg, cmds []router.Command, rerr error) {
	data, err := encodeReply(cmds, rerr)
	if err != nil {
		data, _ = encodeReply(nil, err)
	}
	if err := m.Respond(data); err != nil {
		f.log.Debug("cluster front: reply lost", "err", err)
	}
}

// publish is the leader's sink: every applied entry's commands go to all
// nodes (this one included), while the replica leads.
func (f *ClusterFront) publish(seq uint64, cmds []router.Command) {
	if !f.rep.Leading() {
		return
	}
	data, err := encodeEntryCommands(seq, cmds)
	if err != nil {
		f.log.Error("cluster front: cannot encode commands", "seq", seq, "err", err)
		return
	}
	if err := f.nc.Publish(EngineCommandSubject, data); err != nil {
		f.log.Error("cluster front: cannot publish commands", "seq", seq, "err", err)
	}
}

func (f *ClusterFront) onCommands(m *nats.Msg) {
	seq, cmds, err := decodeEntryCommands(m.Data)
	if err != nil {
		f.badCmds.Add(1)
		f.log.Error("cluster front: bad commands message", "err", err)
		return
	}
	f.dedupe.DeliverEntry(seq, cmds)
}

func (f *ClusterFront) deliverLocal(_ uint64, cmds []router.Command) {
	f.delivered.Add(int64(len(cmds)))
	for _, s := range f.sinks {
		s.Deliver(cmds)
	}
}

// RegisterMetrics exports the node's role and progress.
func (f *ClusterFront) RegisterMetrics(reg prometheus.Registerer) error {
	cs := []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "onecall_cluster_leader",
			Help: "1 while this node leads the routing engine, else 0."}, func() float64 {
			if f.rep.Leading() {
				return 1
			}
			return 0
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "onecall_cluster_applied_seq",
			Help: "Sequence of the last routing log entry this node's replica applied."},
			func() float64 { return float64(f.rep.Applied()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "onecall_cluster_delivered_seq",
			Help: "Sequence of the last entry whose commands this node's sinks received."},
			func() float64 { return float64(f.Delivered()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "onecall_cluster_forwarded_total",
			Help: "Events this node forwarded to the routing leader."},
			func() float64 { return float64(f.forwarded.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "onecall_cluster_forward_busy_total",
			Help: "Forwarded events refused busy: no leader reachable, or no answer in time."},
			func() float64 { return float64(f.busy.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "onecall_cluster_duplicate_commands_total",
			Help: "Commands dropped as already received (re-issued by a new leader)."},
			func() float64 { _, d := f.dedupe.Last(); return float64(d) }),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// remoteErrors are the errors a forwarded event's answer keeps the
// identity of (errors.Is works on the follower as on the leader). Wrapping
// errors come before what they wrap.
var remoteErrors = []error{
	ErrBusy, ErrStopped, ErrNotLeader,
	router.ErrNoAgentFree,
	router.ErrUnknownAgent, router.ErrUnknownContact, router.ErrUnknownQueue, router.ErrUnknownHotline,
	router.ErrInvalidState, router.ErrQueueFull, router.ErrDuplicate, router.ErrInvalidConfig,
	router.ErrUnknownEvent, router.ErrCodec, router.ErrClosed, ErrMaybeApplied,
}

// remoteError is an error answered by the leader.
type remoteError struct {
	msg  string
	errs []error
}

func (e *remoteError) Error() string   { return e.msg }
func (e *remoteError) Unwrap() []error { return e.errs }

// encodeReply: uvarint error mask, uvarint message length, message,
// uvarint command count, each command as uvarint length + router codec.
func encodeReply(cmds []router.Command, rerr error) ([]byte, error) {
	var mask uint64
	msg := ""
	if rerr != nil {
		msg = rerr.Error()
		for i, e := range remoteErrors {
			if errors.Is(rerr, e) {
				mask |= 1 << i
			}
		}
	}
	b := binary.AppendUvarint(nil, mask)
	b = binary.AppendUvarint(b, uint64(len(msg)))
	b = append(b, msg...)
	return appendCommands(b, cmds)
}

func decodeReply(b []byte) ([]router.Command, error, error) {
	mask, n := binary.Uvarint(b)
	if n <= 0 {
		return nil, nil, errBadWire
	}
	b = b[n:]
	l, n := binary.Uvarint(b)
	if n <= 0 || uint64(len(b)-n) < l {
		return nil, nil, errBadWire
	}
	msg := string(b[n : n+int(l)])
	b = b[n+int(l):]
	cmds, err := readCommands(b)
	if err != nil {
		return nil, nil, err
	}
	var rerr error
	if msg != "" || mask != 0 {
		re := &remoteError{msg: msg}
		for i, e := range remoteErrors {
			if mask&(1<<i) != 0 {
				re.errs = append(re.errs, e)
			}
		}
		rerr = re
	}
	return cmds, rerr, nil
}

var errBadWire = errors.New("cluster front: bad message")

func encodeEntryCommands(seq uint64, cmds []router.Command) ([]byte, error) {
	return appendCommands(binary.AppendUvarint(nil, seq), cmds)
}

func decodeEntryCommands(b []byte) (uint64, []router.Command, error) {
	seq, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, nil, errBadWire
	}
	cmds, err := readCommands(b[n:])
	return seq, cmds, err
}

func appendCommands(b []byte, cmds []router.Command) ([]byte, error) {
	b = binary.AppendUvarint(b, uint64(len(cmds)))
	var one []byte
	for _, c := range cmds {
		var err error
		one, err = router.AppendCommand(one[:0], c)
		if err != nil {
			return nil, err
		}
		b = binary.AppendUvarint(b, uint64(len(one)))
		b = append(b, one...)
	}
	return b, nil
}

func readCommands(b []byte) ([]router.Command, error) {
	count, n := binary.Uvarint(b)
	if n <= 0 || count > uint64(len(b)) {
		return nil, errBadWire
	}
	b = b[n:]
	cmds := make([]router.Command, 0, count)
	for range count {
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l {
			return nil, errBadWire
		}
		c, err := router.DecodeCommand(b[n : n+int(l)])
		if err != nil {
			return nil, err
		}
		cmds = append(cmds, c)
		b = b[n+int(l):]
	}
	if len(b) != 0 {
		return nil, errBadWire
	}
	return cmds, nil
}
