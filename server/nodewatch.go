package server

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"onecall/router"
)

// NodeWatch is the cluster's detector of dead nodes. Every node's
// heartbeats (cluster.Node.WatchBeats) are fed to Beat on every node; on
// the leader, Run compares them with the engine: a node that holds the
// media of live voice contacts (router.Engine.MediaNodes: its contact ids
// carry its number) and has not beaten for LostAfter is declared lost, and
// the leader submits router.NodeLost for it, which ends those contacts
// with router.EndNodeLost and frees their agents. Chats, booked callbacks
// and agents are not touched by it (see router.NodeLost).
//
// Guards: the leader never declares itself; it judges nobody while its own
// beats do not arrive (a stalled bucket would make every node look dead;
// it logs when it pauses and resumes);
// a node first seen (or never seen) since the watch started counts as
// silent from at most LostAfter/2 before the start, so a new leader needs
// no history yet never declares a live node that beats normally. A node
// still silent and still holding contacts (a late arrival) is declared
// again at most every LostAfter.
//
// What a node holds besides media (consoles, chats: where they live is
// kept outside the engine) is repaired by NodeRepairs (WithNodeRepair):
// at every check while leading, each repair is called for each node it
// says holds something and that has been silent for LostAfter, with how
// long it has been silent, so a repair can wait longer (a console's
// logout grace, a chat's resume window) before it acts.
//
// A node that restarts within LostAfter is never silent that long, yet
// what its previous process held (the consoles connected to it, the
// callbacks it was to place) died with that process. Every beat carries
// when the node's process started (its life); a repair that also
// implements NodeLifeRepair is called, while leading, for every node
// (this one too) that holds something recorded before its current life
// started, once that life is LostAfter old (time for a console to come
// back), so it repairs what the previous life left.
type NodeWatch struct {
	rep       *Replica
	self      uint16
	lostAfter time.Duration
	every     time.Duration
	log       *slog.Logger
	now       func() time.Time
	onLost    func(node uint16, contacts int)
	repairs   []NodeRepair

	mu       sync.Mutex
	start    time.Time
	beats    map[uint16]time.Time
	lives    map[uint16]time.Time // when each node's current process started
	declared map[uint16]time.Time
	paused   bool // own beats late at the last check (logged once per pause)
}

// NodeWatchOption configures a NodeWatch.
type NodeWatchOption func(*NodeWatch)

// WithNodeWatchClock injects the clock (default time.Now).
func WithNodeWatchClock(now func() time.Time) NodeWatchOption {
	return func(w *NodeWatch) { w.now = now }
}

// WithNodeWatchLogger sets the logger.
func WithNodeWatchLogger(l *slog.Logger) NodeWatchOption { return func(w *NodeWatch) { w.log = l } }

// WithOnNodeLost calls fn each time the watch submits a NodeLost (after the
// submission), with the number of contacts that held media on the node.
func WithOnNodeLost(fn func(node uint16, contacts int)) NodeWatchOption {
	return func(w *NodeWatch) { w.onLost = fn }
}

// NodeRepair repairs, on the leader, what a lost node held outside the
// engine's media (NodeWatch calls it). Both methods run on the watch's
// goroutine and must return quickly.
type NodeRepair interface {
	// Holding returns the nodes that hold something this repair acts on
	// (other nodes are not judged for it).
	Holding() map[uint16]bool
	// Repair acts for node, silent for silent (at least LostAfter). It is
	// called at every check while the node stays silent, so it must be
	// idempotent and skip what it already did.
	Repair(ctx context.Context, node uint16, silent time.Duration)
}

// NodeLifeRepair is a NodeRepair that also repairs what a node's previous
// life (process) left when the node restarted before it was declared lost.
type NodeLifeRepair interface {
	NodeRepair
	// Oldest returns, per node, when the oldest thing it holds was
	// recorded.
	Oldest() map[uint16]time.Time
	// Restarted acts for node, whose current life started at started,
	// since ago (at least LostAfter): what it holds recorded before
	// started is from its previous life. Called at every check while such
	// things remain; it must be idempotent.
	Restarted(ctx context.Context, node uint16, started time.Time, since time.Duration)
}

// WithNodeRepair adds a repair for what lost nodes held besides media.
func WithNodeRepair(r NodeRepair) NodeWatchOption {
	return func(w *NodeWatch) { w.repairs = append(w.repairs, r) }
}

// NewNodeWatch returns the watch of replica rep on node self (1..MaxNode).
// lostAfter is how long a node may stay silent (several of its beats).
func NewNodeWatch(rep *Replica, self uint16, lostAfter time.Duration, opts ...NodeWatchOption) *NodeWatch {
	w := &NodeWatch{rep: rep, self: self, lostAfter: lostAfter, every: max(lostAfter/10, 20*time.Millisecond),
		log: slog.Default(), now: time.Now, beats: map[uint16]time.Time{}, lives: map[uint16]time.Time{},
		declared: map[uint16]time.Time{}}
	for _, o := range opts {
		o(w)
	}
	w.start = w.now()
	return w
}

// Beat records that node beat at at; started is when its process started
// (zero: unknown).
func (w *NodeWatch) Beat(node uint16, at, started time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if at.After(w.beats[node]) {
		w.beats[node] = at
	}
	if started.After(w.lives[node]) {
		w.lives[node] = started
	}
}

// lastBeat is when node last beat, bounded below by the watch's start
// minus LostAfter/2.
func (w *NodeWatch) lastBeat(node uint16) time.Time {
	floor := w.start.Add(-w.lostAfter / 2)
	if t := w.beats[node]; t.After(floor) {
		return t
	}
	return floor
}

// Run checks every LostAfter/10 until ctx ends.
func (w *NodeWatch) Run(ctx context.Context) {
	t := time.NewTicker(w.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.Check(ctx)
		}
	}
}

// Check runs one comparison (Run calls it; tests may too). It does nothing
// on a follower.
func (w *NodeWatch) Check(ctx context.Context) {
	if !w.rep.Leading() {
		w.mu.Lock()
		clear(w.declared)
		w.mu.Unlock()
		return
	}
	now := w.now()
	w.mu.Lock()
	own := w.lastBeat(w.self)
	late := now.Sub(own) >= w.lostAfter/2
	changed := late != w.paused
	w.paused = late
	w.mu.Unlock()
	if late {
		// Our own beats do not arrive: the bucket (or this node's watch of
		// it), not the nodes, is stalled. Nobody is judged meanwhile, so a
		// repair that was due may come late, past its next step.
		if changed {
			w.log.Warn("cluster: node watch paused: this node's own beats are late", "late_ms", now.Sub(own).Milliseconds())
		}
		return
	}
	if changed {
		w.log.Info("cluster: node watch resumed")
	}
	var media map[uint16]int
	qctx, cancel := context.WithTimeout(ctx, w.lostAfter)
	err := w.rep.Query(qctx, func(e *router.Engine) { media = e.MediaNodes() })
	cancel()
	if err != nil {
		return
	}
	for node, n := range media {
		if node == w.self {
			continue
		}
		w.mu.Lock()
		last := w.lastBeat(node)
		d, again := w.declared[node]
		w.mu.Unlock()
		silent := now.Sub(last)
		if silent < w.lostAfter || (again && d.After(last) && now.Sub(d) < w.lostAfter) {
			continue
		}
		if err := w.rep.Submit(router.NodeLost{Node: node}); err != nil {
			w.log.Warn("cluster: node lost, but its end was not submitted", "node", node, "err", err)
			continue
		}
		w.mu.Lock()
		w.declared[node] = now
		w.mu.Unlock()
		w.log.Warn("cluster: node lost: ending the calls whose media was on it", "node", node,
			"calls", n, "silent_ms", silent.Milliseconds())
		if w.onLost != nil {
			w.onLost(node, n)
		}
	}
	for _, r := range w.repairs {
		for node := range r.Holding() {
			if node == w.self || node == 0 {
				continue
			}
			w.mu.Lock()
			silent := now.Sub(w.lastBeat(node))
			w.mu.Unlock()
			if silent >= w.lostAfter {
				r.Repair(ctx, node, silent)
			}
		}
		if lr, ok := r.(NodeLifeRepair); ok {
			w.previousLives(ctx, lr, now)
		}
	}
}

// previousLives calls lr for every live node holding something recorded
// before its current life started, once that life is LostAfter old.
func (w *NodeWatch) previousLives(ctx context.Context, lr NodeLifeRepair, now time.Time) {
	for node, oldest := range lr.Oldest() {
		if node == 0 {
			continue
		}
		w.mu.Lock()
		started := w.lives[node]
		silent := now.Sub(w.lastBeat(node))
		w.mu.Unlock()
		if started.IsZero() || !oldest.Before(started) || silent >= w.lostAfter {
			continue // unknown life, nothing older than it, or lost (Repair acts)
		}
		if since := now.Sub(started); since >= w.lostAfter {
			lr.Restarted(ctx, node, started, since)
		}
	}
}
