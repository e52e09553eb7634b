package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"onecall/router"
)

// A Replica is one copy of the cluster's routing engine, replicated by its
// input: it applies the entries of a shared Log in order, each at the time
// the entry carries, so every replica holds the same state and computes
// the same commands. One replica leads: it appends the transports' events
// (Submit, Do) and its ticks to the log, and delivers the commands of each
// entry to its EntrySinks, tagged with the entry's sequence number. The
// others follow as hot standbys: they apply everything and deliver
// nothing, and keep the commands of their last entries so that, when one
// takes over (Lead), it re-issues those its predecessor may not have
// carried out. Receivers drop what they already did (Dedupe).
//
// The single node does not use a Replica: Hub applies events directly.
//
// Concurrency: Run's goroutine owns the engine; Submit, Do, Query, Lead and
// Follow are safe from any goroutine and never block on a full queue.

// ErrNotLeader means this replica does not lead: it cannot append events.
var ErrNotLeader = errors.New("server: not the routing leader")

// CommandID identifies a command in the cluster: the log sequence number
// of the entry whose event produced it and its index among that entry's
// commands. A re-issued command has the same id.
type CommandID struct {
	Seq   uint64
	Index int
}

func (id CommandID) String() string {
	return strconv.FormatUint(id.Seq, 10) + "." + strconv.Itoa(id.Index)
}

// EntrySink receives the commands of each applied entry, in log order;
// cmds[i] has CommandID{seq, i}. DeliverEntry runs on the replica's
// goroutine and must not block.
type EntrySink interface {
	DeliverEntry(seq uint64, cmds []router.Command)
}

// EntrySinkFunc adapts a function to EntrySink.
type EntrySinkFunc func(seq uint64, cmds []router.Command)

// DeliverEntry calls f.
func (f EntrySinkFunc) DeliverEntry(seq uint64, cmds []router.Command) { f(seq, cmds) }

// Dedupe passes each entry's commands on to Next once. Every leader
// delivers entries in log order and a new leader re-issues in log order,
// so the highest sequence passed on is all a receiver must remember: an
// entry at or below it was carried out already (an offer, a withdrawal or
// a close received twice is dropped). Safe for concurrent use.
type Dedupe struct {
	Next    EntrySink
	mu      sync.Mutex
	last    uint64
	dropped int
}

// DeliverEntry implements EntrySink.
func (d *Dedupe) DeliverEntry(seq uint64, cmds []router.Command) {
	d.mu.Lock()
	if seq <= d.last {
		d.dropped += len(cmds)
		d.mu.Unlock()
		return
	}
	d.last = seq
	d.mu.Unlock()
	d.Next.DeliverEntry(seq, cmds)
}

// Last returns the highest sequence passed on and the number of commands
// dropped as duplicates.
func (d *Dedupe) Last() (seq uint64, dropped int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.last, d.dropped
}

// Replica options.
type ReplicaOption func(*Replica)

// WithReplicaClock injects the clock that stamps appended entries (default
// time.Now).
func WithReplicaClock(now func() time.Time) ReplicaOption { return func(r *Replica) { r.now = now } }

// WithReplicaLogger sets the logger.
func WithReplicaLogger(l *slog.Logger) ReplicaOption { return func(r *Replica) { r.log = l } }

// WithRetain sets how many entries' commands a replica keeps for
// re-issue at takeover (default 4096). A leader that fell further behind
// in carrying out its commands than this loses the oldest.
func WithRetain(n int) ReplicaOption {
	return func(r *Replica) {
		if n > 0 {
			r.retain = n
		}
	}
}

// WithFrom starts reading the log at seq (the entry after the snapshot
// the engine was restored from); default 1.
func WithFrom(seq uint64) ReplicaOption { return func(r *Replica) { r.next = max(seq, 1) } }

// WithOutbox bounds the events waiting to be appended (default 65536);
// beyond it Submit and Do answer ErrBusy.
func WithOutbox(n int) ReplicaOption {
	return func(r *Replica) {
		if n > 0 {
			r.outbox = make(chan outReq, n)
		}
	}
}

// WithTrace calls fn with every applied entry, leading or not, on the
// replica's goroutine (tests compare replicas with it).
func WithTrace(fn func(seq uint64, e Entry, cmds []router.Command, err error)) ReplicaOption {
	return func(r *Replica) { r.trace = fn }
}

// WithReplicaTickEvery sets the longest interval between the leader's
// ticks when the engine has no deadline (default 1 s).
func WithReplicaTickEvery(d time.Duration) ReplicaOption {
	return func(r *Replica) {
		if d > 0 {
			r.maxIdle = d
		}
	}
}

// Replica is one replica of the routing engine (see above).
type Replica struct {
	engine  *router.Engine
	rlog    Log
	node    uint16
	now     func() time.Time
	log     *slog.Logger
	maxIdle time.Duration
	retain  int
	trace   func(uint64, Entry, []router.Command, error)
	sinks   []EntrySink

	outbox  chan outReq
	queries chan request
	control chan leadReq
	nextID  atomic.Uint64
	reqSeq  atomic.Uint64
	leading atomic.Bool // appends allowed (set by Lead, cleared by Follow)
	tickOut atomic.Bool // a tick is on its way to the log
	running atomic.Bool
	done    chan struct{}

	mu      sync.Mutex
	waiters map[uint64]chan result

	// Owned by Run's goroutine.
	next    uint64 // next sequence to apply
	applied atomic.Uint64
	state   leadState
	from    uint64        // re-issue from this sequence at takeover
	barrier atomic.Uint64 // request number of the takeover barrier
	leadAt  time.Time     // when the takeover began (for its log lines)
	kept    []keptBatch
	keptAt  int // ring position
}

type leadState uint8

const (
	following leadState = iota
	takingOver
	leading
)

type outReq struct {
	ev  router.Event
	req uint64
}

type leadReq struct {
	lead bool
	from uint64
}

type keptBatch struct {
	seq  uint64
	cmds []router.Command
}

// NewReplica returns a follower of log for node (1..MaxNode) owning engine,
// which holds the state before the first entry it will read (a new engine
// with the cluster's config, or one restored from a snapshot, WithFrom).
func NewReplica(engine *router.Engine, log Log, node uint16, opts ...ReplicaOption) *Replica {
	r := &Replica{
		engine:  engine,
		rlog:    log,
		node:    node,
		now:     time.Now,
		log:     slog.Default(),
		maxIdle: time.Second,
		retain:  4096,
		outbox:  make(chan outReq, 65536),
		queries: make(chan request, 64),
		control: make(chan leadReq, 8),
		done:    make(chan struct{}),
		waiters: map[uint64]chan result{},
		next:    1,
	}
	for _, o := range opts {
		o(r)
	}
	r.nextID.Store(contactIDBase(node))
	return r
}

// AddSink registers s to receive the commands the replica delivers while
// it leads. Call before Run.
func (r *Replica) AddSink(s EntrySink) { r.sinks = append(r.sinks, s) }

// SetFirstContactID makes NewContactID continue after last when last is
// one of this node's ids (the highest the store holds). Call before Run.
func (r *Replica) SetFirstContactID(last uint64) { r.nextID.Store(firstContactID(r.node, last)) }

// NewContactID returns a fresh contact id, unique in the cluster.
func (r *Replica) NewContactID() router.ContactID { return router.ContactID(r.nextID.Add(1)) }

// Applied returns the sequence number of the last applied entry.
func (r *Replica) Applied() uint64 { return r.applied.Load() }

// Leading reports whether the replica leads (appends and delivers, or is
// taking over).
func (r *Replica) Leading() bool { return r.leading.Load() }

// Lead makes the replica the leader. It first appends a barrier entry and
// applies the log up to it, then re-issues the commands it kept of the
// entries from sequence from on (the first its predecessor may not have
// carried out; 0 = all it kept), then delivers every new entry's commands.
// The election calls Lead only once the previous leader can no longer
// append nor deliver.
func (r *Replica) Lead(from uint64) {
	r.leading.Store(true)
	r.control <- leadReq{lead: true, from: from}
}

// Follow stops leading at once: no more appends, no more deliveries.
func (r *Replica) Follow() {
	r.leading.Store(false)
	r.control <- leadReq{lead: false}
}

// Submit appends ev to the log without waiting. Only the leader appends
// (ErrNotLeader); a full outbox answers ErrBusy.
func (r *Replica) Submit(ev router.Event) error {
	return r.enqueue(outReq{ev: ev})
}

// Do appends ev and waits until this replica has applied it, answering
// the engine's commands and error.
func (r *Replica) Do(ctx context.Context, ev router.Event) ([]router.Command, error) {
	wait, err := r.send(ev)
	if err != nil {
		return nil, err
	}
	return wait(ctx)
}

// send queues ev for the log like Do, in the order of the calls, and
// returns the wait for its answer (the cluster front queues forwarded
// events in their order and waits for each on its own goroutine).
func (r *Replica) send(ev router.Event) (func(context.Context) ([]router.Command, error), error) {
	req := r.reqSeq.Add(1)
	reply := make(chan result, 1)
	r.mu.Lock()
	r.waiters[req] = reply
	r.mu.Unlock()
	forget := func() {
		r.mu.Lock()
		delete(r.waiters, req)
		r.mu.Unlock()
	}
	if err := r.enqueue(outReq{ev: ev, req: req}); err != nil {
		forget()
		return nil, err
	}
	return func(ctx context.Context) ([]router.Command, error) {
		defer forget()
		select {
		case res := <-reply:
			return res.cmds, res.err
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %w", ErrMaybeApplied, ctx.Err())
		case <-r.done:
			return nil, fmt.Errorf("%w: %w", ErrMaybeApplied, ErrStopped)
		}
	}, nil
}

// Query runs fn on the replica's goroutine with exclusive access to the
// engine (its state as of Applied).
func (r *Replica) Query(ctx context.Context, fn func(e *router.Engine)) error {
	reply := make(chan result, 1)
	select {
	case r.queries <- request{query: fn, reply: reply}:
	case <-ctx.Done():
		return ctx.Err()
	case <-r.done:
		return ErrStopped
	}
	select {
	case <-reply:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-r.done:
		return ErrStopped
	}
}

func (r *Replica) enqueue(o outReq) error {
	if !r.leading.Load() {
		return ErrNotLeader
	}
	select {
	case <-r.done:
		return ErrStopped
	default:
	}
	select {
	case r.outbox <- o:
		return nil
	default:
		return ErrBusy
	}
}

func (r *Replica) answer(req uint64, res result) {
	r.mu.Lock()
	w := r.waiters[req]
	delete(r.waiters, req)
	r.mu.Unlock()
	if w != nil {
		w <- res
	}
}

type logEntry struct {
	seq  uint64
	data []byte
}

// Run reads and applies the log until ctx ends or the log fails.
func (r *Replica) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return errors.New("server: replica already running")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer func() {
		cancel()
		close(r.done)
	}()
	entries := make(chan logEntry, 1024)
	readErr := make(chan error, 1)
	go func() {
		readErr <- r.rlog.Read(ctx, r.next, func(seq uint64, data []byte) error {
			select {
			case entries <- logEntry{seq, data}:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	go r.appendLoop(ctx)
	timer := time.NewTimer(r.maxIdle)
	defer timer.Stop()
	for {
		r.resetTimer(timer)
		select {
		case <-ctx.Done():
			return nil
		case err := <-readErr:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("server: reading the routing log: %w", err)
		case e := <-entries:
			r.apply(e)
			for n := 0; n < 256; n++ {
				select {
				case e := <-entries:
					r.apply(e)
					continue
				default:
				}
				break
			}
		case q := <-r.queries:
			q.query(r.engine)
			q.reply <- result{}
		case c := <-r.control:
			r.setLead(c)
		case <-timer.C:
			if r.state == leading && r.tickOut.CompareAndSwap(false, true) {
				if err := r.enqueue(outReq{ev: router.Tick{}}); err != nil {
					r.tickOut.Store(false)
				}
			}
		}
	}
}

// resetTimer arms the leader's tick at the engine's next deadline (the
// entry time of the last tick is the leader's clock, so the deadline is
// compared with it).
func (r *Replica) resetTimer(t *time.Timer) {
	if !t.Stop() {
		select {
		case <-t.C:
		default:
		}
	}
	if r.state != leading {
		return
	}
	d := r.maxIdle
	if dl, ok := r.engine.NextDeadline(); ok {
		if until := dl.Sub(r.now()); until < d {
			d = until
		}
	}
	t.Reset(max(d, 0))
}

func (r *Replica) setLead(c leadReq) {
	if !c.lead {
		r.state = following
		return
	}
	if r.state != following {
		return
	}
	r.state = takingOver
	r.from = c.from
	r.leadAt = time.Now()
	r.barrier.Store(r.reqSeq.Add(1))
	if err := r.enqueue(outReq{ev: router.Tick{}, req: r.barrier.Load()}); err != nil {
		r.log.Error("routing takeover: cannot append the barrier", "err", err)
		r.state = following
		r.leading.Store(false)
	}
}

// appendLoop stamps and appends the outbox's events in order.
func (r *Replica) appendLoop(ctx context.Context) {
	var buf []byte
	var batch []outReq
	var entries []Entry
	for {
		batch = batch[:0]
		select {
		case <-ctx.Done():
			return
		case o := <-r.outbox:
			batch = append(batch, o)
		}
		// What queued up while the last append was on its way goes in one
		// log entry.
	more:
		for len(batch) < maxBatch {
			select {
			case o := <-r.outbox:
				batch = append(batch, o)
			default:
				break more
			}
		}
		fail := func(err error) {
			for _, o := range batch {
				if _, isTick := o.ev.(router.Tick); isTick && o.req == 0 {
					r.tickOut.Store(false)
				}
				if o.req != 0 {
					r.answer(o.req, result{err: err})
				}
			}
		}
		if !r.leading.Load() {
			fail(ErrNotLeader)
			continue
		}
		now := r.now()
		entries = entries[:0]
		barrier := false
		for _, o := range batch {
			entries = append(entries, Entry{At: now, Origin: r.node, Req: o.req, Event: o.ev})
			barrier = barrier || (o.req != 0 && o.req == r.barrier.Load())
		}
		var err error
		if buf, err = AppendBatch(buf[:0], entries); err != nil {
			fail(err)
			continue
		}
		// The log may keep data: give it its own copy.
		if err := r.appendRetry(ctx, append([]byte(nil), buf...), barrier); err != nil {
			r.log.Warn("routing log append failed", "events", len(batch), "err", err)
			fail(err)
		}
	}
}

// maxBatch bounds the events in one log entry.
const maxBatch = 256

// appendRetry appends data, trying again while the replica leads: a new
// leader may still be reading its predecessor's last entries (the log
// refuses appends until it has), or the log may be electing its own
// leader. The takeover barrier is tried until leadership ends, anything
// else appendTries times.
func (r *Replica) appendRetry(ctx context.Context, data []byte, barrier bool) error {
	wait := 5 * time.Millisecond
	start := time.Now()
	for try := 1; ; try++ {
		// Each attempt has its own deadline: while the log's stream elects a
		// new leader a publish waits for a reply that never comes (5 s by
		// default), and a takeover's barrier waited twice that. A retried
		// append that was stored after all is not stored twice (the log
		// dedupes it).
		actx, cancel := context.WithTimeout(ctx, appendTimeout)
		seq, err := r.rlog.Append(actx, data)
		cancel()
		if err == nil {
			if barrier {
				r.log.Info("routing takeover: barrier appended", "seq", seq, "tries", try, "took", time.Since(start).Round(time.Millisecond))
			}
			return nil
		}
		if !r.leading.Load() {
			return ErrNotLeader
		}
		if barrier && (try <= 3 || try%10 == 0) {
			r.log.Info("routing takeover: barrier append failed; trying again", "try", try, "err", err)
		}
		if !barrier && try >= appendTries {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
}

// appendTries bounds the attempts to append one event, appendTimeout each.
const (
	appendTries   = 8
	appendTimeout = time.Second
)

func (r *Replica) apply(le logEntry) {
	if le.seq < r.next {
		return // delivered again by the log
	}
	r.next = le.seq + 1
	r.applied.Store(le.seq)
	es, err := DecodeBatch(le.data)
	if err != nil {
		// Every replica skips the same bad entry.
		r.log.Error("routing log entry skipped", "seq", le.seq, "err", err)
		return
	}
	// The commands of all the entry's events, in order, are the entry's:
	// cmds[i] has CommandID{seq, i}.
	var all []router.Command
	type reply struct {
		req uint64
		res result
	}
	var replies []reply
	reissue := false
	for _, e := range es {
		cmds, aerr := r.engine.Apply(e.Event, e.At)
		if r.trace != nil {
			r.trace(le.seq, e, cmds, aerr)
		}
		if len(es) == 1 {
			all = cmds
		} else {
			all = append(all, cmds...)
		}
		if e.Origin != r.node {
			continue
		}
		if _, ok := e.Event.(router.Tick); ok && e.Req == 0 {
			r.tickOut.Store(false)
		}
		switch {
		case e.Req == 0:
		case r.state == takingOver && e.Req == r.barrier.Load():
			reissue = true
		default:
			replies = append(replies, reply{e.Req, result{cmds: cmds, err: aerr}})
		}
	}
	r.keep(le.seq, all)
	if reissue {
		r.reissue() // the kept commands include this entry's
		r.state = leading
	} else if r.state == leading && len(all) > 0 {
		for _, s := range r.sinks {
			s.DeliverEntry(le.seq, all)
		}
	}
	for _, x := range replies {
		r.answer(x.req, x.res)
	}
}

// keep remembers the commands of the last r.retain entries.
func (r *Replica) keep(seq uint64, cmds []router.Command) {
	if len(cmds) == 0 {
		return
	}
	if len(r.kept) < r.retain {
		r.kept = append(r.kept, keptBatch{seq, cmds})
		return
	}
	r.kept[r.keptAt] = keptBatch{seq, cmds}
	r.keptAt = (r.keptAt + 1) % len(r.kept)
}

// ReissueFloor is an EntrySink that a takeover re-issues to from its own
// floor when that is lower than the replica's: e.g. the store's sink, whose
// records of entries already delivered may not have been committed when the
// previous leader died.
type ReissueFloor interface {
	EntrySink
	// ReissueFloor is the first entry whose commands the sink may not have
	// carried out (0: all kept).
	ReissueFloor() uint64
}

// reissue delivers the kept commands of the entries from r.from on (from a
// ReissueFloor sink's own floor when lower), in log order (the barrier's
// own are among them).
func (r *Replica) reissue() {
	floors := make([]uint64, len(r.sinks))
	for i, s := range r.sinks {
		floors[i] = r.from
		if f, ok := s.(ReissueFloor); ok {
			floors[i] = min(r.from, f.ReissueFloor())
		}
	}
	n := 0
	for i := range r.kept {
		b := r.kept[(r.keptAt+i)%len(r.kept)]
		for j, s := range r.sinks {
			if b.seq >= floors[j] {
				s.DeliverEntry(b.seq, b.cmds)
			}
		}
		if b.seq < r.from {
			continue
		}
		if n == 0 && len(r.kept) == r.retain && r.from > 0 && b.seq > r.from {
			r.log.Warn("routing takeover: commands before the kept window are not re-issued", "from", r.from, "first_kept", b.seq)
		}
		n++
	}
	r.log.Info("routing takeover: leading", "node", r.node, "applied", r.next-1, "reissued_entries", n,
		"took", time.Since(r.leadAt).Round(time.Millisecond))
}

// Snapshot returns the engine's state (router.Engine.MarshalState) and the
// sequence number of the last entry it covers. A replica restored from it
// (router.RestoreState, then NewReplica with WithFrom(seq+1)) continues
// exactly as this one. Routing waits only while the state is copied
// (router.Engine.SaveState); it is encoded on the caller's goroutine.
func (r *Replica) Snapshot(ctx context.Context) (seq uint64, state []byte, err error) {
	var st *router.EngineState
	qerr := r.Query(ctx, func(e *router.Engine) {
		seq = r.next - 1
		st, err = e.SaveState()
	})
	if qerr != nil {
		return 0, nil, qerr
	}
	if err != nil {
		return 0, nil, err
	}
	state, err = st.Marshal()
	return seq, state, err
}
