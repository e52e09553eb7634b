package server

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"onecall/router"
)

func clusterEngine(t testing.TB) *router.Engine {
	t.Helper()
	q := func(id string) router.QueueDef {
		return router.QueueDef{ID: id, Skills: []router.SkillReq{{Skill: id, Min: 1}}, SLTarget: 0.8, SLThreshold: 20 * time.Second,
			MaxWaiting: 100, MaxWait: time.Hour, OfferVoice: 15 * time.Second, OfferChat: 30 * time.Second,
			WrapUpVoice: 5 * time.Second, WrapUpChat: 3 * time.Second}
	}
	var ags []router.AgentDef
	for i := range 5 {
		sk := map[string]int{"labor": 3}
		if i%2 == 0 {
			sk["tax"] = 4
		}
		ags = append(ags, router.AgentDef{ID: router.AgentID(fmt.Sprintf("a%d", i+1)), Skills: sk, Voice: 1, Chat: 2})
	}
	// vip is left alone by the driver: the takeover test's own line.
	ags = append(ags, router.AgentDef{ID: "vip1", Skills: map[string]int{"vip": 5}, Voice: 1, Chat: 2})
	e, err := router.New(router.Config{
		Queues: []router.QueueDef{q("labor"), q("tax"), q("vip")},
		Hotlines: []router.HotlineDef{
			{Number: "1350", DefaultQueue: "labor", Schedule: router.Schedule{Always: true}},
			{Number: "126", DefaultQueue: "tax", Schedule: router.Schedule{Always: true}},
			{Number: "1588", DefaultQueue: "vip", Schedule: router.Schedule{Always: true}},
		},
		Agents:              ags,
		MissedOfferNotReady: true,
	})
	if err != nil {
		t.Fatalf("router.New: %v", err)
	}
	return e
}

// traced is a replica with everything it applied, leading or not.
type traced struct {
	*Replica
	mu      sync.Mutex
	batches []keptBatch
	cancel  context.CancelFunc
	done    chan error
}

func startReplica(t *testing.T, log Log, node uint16, opts ...ReplicaOption) *traced {
	t.Helper()
	return startReplicaOn(t, clusterEngine(t), log, node, opts...)
}

func startReplicaOn(t *testing.T, engine *router.Engine, log Log, node uint16, opts ...ReplicaOption) *traced {
	t.Helper()
	tr := &traced{done: make(chan error, 1)}
	opts = append(opts, WithTrace(func(seq uint64, _ Entry, cmds []router.Command, _ error) {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		// The events of one log entry share its commands' ids.
		if n := len(tr.batches); n > 0 && tr.batches[n-1].seq == seq {
			tr.batches[n-1].cmds = append(slices.Clone(tr.batches[n-1].cmds), cmds...)
			return
		}
		tr.batches = append(tr.batches, keptBatch{seq, cmds})
	}))
	tr.Replica = NewReplica(engine, log, node, opts...)
	ctx, cancel := context.WithCancel(t.Context())
	tr.cancel = cancel
	go func() { tr.done <- tr.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-tr.done
	})
	return tr
}

// encoded renders batches as bytes, so two replicas' outputs compare exactly.
func encoded(t *testing.T, bs []keptBatch) []string {
	t.Helper()
	var out []string
	for _, b := range bs {
		for i, c := range b.cmds {
			enc, err := router.EncodeCommand(c)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, CommandID{b.seq, i}.String()+" "+string(enc))
		}
	}
	return out
}

func (tr *traced) trace() []keptBatch {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return slices.Clone(tr.batches)
}

// driver plays a seeded random mix of agents and citizens against the
// leader, reacting to its commands (accepting or rejecting offers, ending
// calls), with fake time passing in between.
type driver struct {
	t       *testing.T
	rng     *rand.Rand
	mu      sync.Mutex
	offers  map[router.ContactID]router.AgentID
	talking map[router.ContactID]router.AgentID
	waiting []router.ContactID
}

func newDriver(t *testing.T, seed uint64) *driver {
	return &driver{t: t, rng: rand.New(rand.NewPCG(seed, 7)), offers: map[router.ContactID]router.AgentID{},
		talking: map[router.ContactID]router.AgentID{}}
}

// DeliverEntry tracks offers and connections (a sink on the leader).
func (d *driver) DeliverEntry(_ uint64, cmds []router.Command) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range cmds {
		switch c := c.(type) {
		case router.Offer:
			d.offers[c.Contact] = c.Agent
		case router.OfferWithdrawn:
			delete(d.offers, c.Contact)
		case router.Connected:
			delete(d.offers, c.Contact)
			d.talking[c.Contact] = c.Agent
		case router.ContactClosed:
			delete(d.offers, c.Contact)
			delete(d.talking, c.Contact)
		}
	}
}

func pick[K comparable, V any](rng *rand.Rand, m map[K]V, less func(a, b K) int) (K, V, bool) {
	var zero K
	if len(m) == 0 {
		var v V
		return zero, v, false
	}
	ks := make([]K, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, less)
	k := ks[rng.IntN(len(ks))]
	return k, m[k], true
}

func cmpID(a, b router.ContactID) int { return int(a) - int(b) }

// next returns the next event of the mix.
func (d *driver) next(r *Replica) router.Event {
	d.mu.Lock()
	defer d.mu.Unlock()
	agent := router.AgentID(fmt.Sprintf("a%d", d.rng.IntN(5)+1))
	switch n := d.rng.IntN(20); {
	case n < 5:
		id := r.NewContactID()
		d.waiting = append(d.waiting, id)
		ch, num := router.Voice, "1350"
		if d.rng.IntN(3) == 0 {
			ch = router.Chat
		}
		if d.rng.IntN(2) == 0 {
			num = "126"
		}
		return router.ContactArrived{Contact: id, Channel: ch, Number: num, Citizen: fmt.Sprintf("010-%d", d.rng.IntN(20))}
	case n < 9:
		if c, a, ok := pick(d.rng, d.offers, cmpID); ok {
			return router.OfferAccepted{Contact: c, Agent: a}
		}
	case n < 10:
		if c, a, ok := pick(d.rng, d.offers, cmpID); ok {
			return router.OfferRejected{Contact: c, Agent: a, Reason: "busy"}
		}
	case n < 13:
		if c, _, ok := pick(d.rng, d.talking, cmpID); ok {
			return router.ContactEnded{Contact: c, Reason: router.EndCompleted}
		}
	case n < 14:
		if len(d.waiting) > 0 {
			return router.ContactAbandoned{Contact: d.waiting[d.rng.IntN(len(d.waiting))]}
		}
	case n < 17:
		return router.AgentLoggedIn{Agent: agent, Ready: true}
	case n < 18:
		return router.AgentStateRequested{Agent: agent, State: router.Ready}
	case n < 19:
		return router.AgentStateRequested{Agent: agent, State: router.NotReady, Reason: "break"}
	default:
		return router.WrapUpDone{Agent: agent}
	}
	return router.Tick{}
}

// play sends n events to the leader, some waited for (Do), some not
// (Submit), with up to 20 s of fake time between them.
func (d *driver) play(ctx context.Context, r *Replica, n int) {
	d.t.Helper()
	for range n {
		ev := d.next(r)
		if d.rng.IntN(2) == 0 {
			if _, err := r.Do(ctx, ev); err != nil && !errors.Is(err, router.ErrInvalidState) &&
				!errors.Is(err, router.ErrUnknownContact) && !errors.Is(err, router.ErrDuplicate) {
				d.t.Fatalf("Do %T: %v", ev, err)
			}
		} else if err := r.Submit(ev); err != nil {
			d.t.Fatalf("Submit %T: %v", ev, err)
		}
		synctest.Wait()
		<-time.After(time.Duration(d.rng.IntN(20000)) * time.Millisecond)
	}
}

func views(t *testing.T, r *Replica) (router.Snapshot, []router.ContactView) {
	t.Helper()
	var s router.Snapshot
	var cs []router.ContactView
	err := r.Query(t.Context(), func(e *router.Engine) {
		s = e.Snapshot()
		for _, q := range []string{"labor", "tax"} {
			cs = append(cs, e.Waiting(q)...)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, cs
}

// Three replicas fed the same log emit the same commands, entry by entry,
// and hold the same views; only the leader delivers.
func TestReplicasEmitIdenticalCommands(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := NewMemLog()
		a := startReplica(t, log, 1)
		b := startReplica(t, log, 2)
		c := startReplica(t, log, 3)
		d := newDriver(t, 1)
		a.AddSink(d) // before Lead: sinks are read on the replica's goroutine
		var bDelivered int
		b.AddSink(EntrySinkFunc(func(uint64, []router.Command) { bDelivered++ }))
		if err := b.Submit(router.Tick{}); !errors.Is(err, ErrNotLeader) {
			t.Fatalf("a follower's Submit: %v, want ErrNotLeader", err)
		}
		a.Lead(0)
		synctest.Wait()
		d.play(t.Context(), a.Replica, 400)
		synctest.Wait()

		last := log.Last()
		if last < 400 {
			t.Fatalf("log holds %d entries, want at least 400 (events and ticks)", last)
		}
		ta := encoded(t, a.trace())
		if len(ta) < 500 {
			t.Fatalf("the leader emitted only %d commands", len(ta))
		}
		for _, r := range []*traced{b, c} {
			if r.Applied() != last {
				t.Fatalf("replica %d applied %d of %d", r.node, r.Applied(), last)
			}
			if tr := encoded(t, r.trace()); !slices.Equal(tr, ta) {
				for i := range min(len(tr), len(ta)) {
					if tr[i] != ta[i] {
						t.Fatalf("replica %d differs at command %d:\n got %s\nwant %s", r.node, i, tr[i], ta[i])
					}
				}
				t.Fatalf("replica %d emitted %d commands, leader %d", r.node, len(tr), len(ta))
			}
		}
		sa, ca := views(t, a.Replica)
		for _, r := range []*traced{b, c} {
			if s, cs := views(t, r.Replica); !reflect.DeepEqual(s, sa) || !reflect.DeepEqual(cs, ca) {
				t.Fatalf("replica %d views differ from the leader's", r.node)
			}
		}
		if bDelivered != 0 {
			t.Fatalf("a follower delivered %d batches", bDelivered)
		}
	})
}

// A replica started from another's snapshot at seq k reads the log from
// k+1 and emits, entry by entry, the commands the replicas that applied
// everything emit, and ends with the same views.
func TestReplicaStartsFromSnapshot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := NewMemLog()
		a := startReplica(t, log, 1)
		b := startReplica(t, log, 2)
		d := newDriver(t, 3)
		a.AddSink(d)
		a.Lead(0)
		synctest.Wait()
		d.play(t.Context(), a.Replica, 150)
		synctest.Wait()
		k, state, err := b.Snapshot(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if k != log.Last() || k < 150 {
			t.Fatalf("snapshot at %d, log at %d", k, log.Last())
		}
		e, err := router.RestoreState(state)
		if err != nil {
			t.Fatal(err)
		}
		c := startReplicaOn(t, e, log, 3, WithFrom(k+1))
		d.play(t.Context(), a.Replica, 150)
		synctest.Wait()
		if c.Applied() != log.Last() {
			t.Fatalf("restored replica applied %d of %d", c.Applied(), log.Last())
		}
		var after []keptBatch
		for _, bt := range a.trace() {
			if bt.seq > k {
				after = append(after, bt)
			}
		}
		tc := c.trace()
		if len(tc) == 0 || tc[0].seq != k+1 {
			t.Fatalf("restored replica starts at %v, want %d", tc[:min(1, len(tc))], k+1)
		}
		if got, want := encoded(t, tc), encoded(t, after); !slices.Equal(got, want) {
			t.Fatalf("restored replica emitted %d commands after %d, the leader %d", len(got), k, len(want))
		}
		sa, ca := views(t, a.Replica)
		if s, cs := views(t, c.Replica); !reflect.DeepEqual(s, sa) || !reflect.DeepEqual(cs, ca) {
			t.Fatal("restored replica's views differ from the leader's")
		}
	})
}

// receiver stands for the nodes that carry commands out: every batch that
// passes its Dedupe is done once.
type receiver struct {
	mu   sync.Mutex
	done []keptBatch
}

func (r *receiver) DeliverEntry(seq uint64, cmds []router.Command) {
	r.mu.Lock()
	r.done = append(r.done, keptBatch{seq, cmds})
	r.mu.Unlock()
}

// The leader stops after publishing the commands of entry k; it applied
// later entries whose commands never reached anyone. A follower takes
// over: it re-issues the commands it kept, the receivers drop those they
// already carried out, and every command is carried out exactly once,
// the lost offer, withdrawal and close included.
func TestTakeoverReissuesLostCommands(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		log := NewMemLog()
		a := startReplica(t, log, 1)
		b := startReplica(t, log, 2)
		recv := &receiver{}
		dd := &Dedupe{Next: recv}
		d := newDriver(t, 2)
		var cut sync.Mutex
		lost := false
		a.AddSink(d)
		a.AddSink(EntrySinkFunc(func(seq uint64, cmds []router.Command) {
			cut.Lock()
			defer cut.Unlock()
			if !lost {
				dd.DeliverEntry(seq, cmds)
			}
		}))
		b.AddSink(d)
		b.AddSink(dd)
		a.Lead(0)
		synctest.Wait()
		d.play(t.Context(), a.Replica, 150)
		k, _ := dd.Last()

		// From here the leader's commands are lost on their way.
		cut.Lock()
		lost = true
		cut.Unlock()
		ctx := t.Context()
		if _, err := a.Do(ctx, router.AgentLoggedIn{Agent: "vip1", Ready: true}); err != nil {
			t.Fatal(err)
		}
		id := a.NewContactID()
		cmds, err := a.Do(ctx, router.ContactArrived{Contact: id, Channel: router.Chat, Number: "1588"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Do(ctx, router.ContactAbandoned{Contact: id}); err != nil {
			t.Fatal(err)
		}
		a.Follow() // the election deposed it: no more appends
		a.cancel()
		<-a.done
		a.done <- nil // for the cleanup
		if _, err := a.Do(ctx, router.Tick{}); !errors.Is(err, ErrNotLeader) {
			t.Fatalf("Do on the stopped leader: %v", err)
		}
		lastA := log.Last()
		synctest.Wait()
		if b.Applied() != lastA {
			t.Fatalf("follower applied %d of %d", b.Applied(), lastA)
		}

		b.Lead(0) // the predecessor's progress is unknown: re-issue all kept
		synctest.Wait()
		if !b.Leading() {
			t.Fatal("b does not lead")
		}
		if _, err := b.Do(ctx, router.AgentLoggedIn{Agent: "a2", Ready: true}); err != nil {
			t.Fatalf("Do on the new leader: %v", err)
		}
		synctest.Wait()

		_, dropped := dd.Last()
		if dropped == 0 {
			t.Fatal("the new leader re-issued nothing the receivers had done")
		}
		// Every entry with commands was carried out exactly once, in order,
		// with the commands every replica computed for it.
		want := encoded(t, nonEmpty(b.trace()))
		recv.mu.Lock()
		got := encoded(t, recv.done)
		recv.mu.Unlock()
		if !slices.Equal(got, want) {
			t.Fatalf("carried out %d commands, want %d (k=%d)", len(got), len(want), k)
		}
		var offered, withdrawn, closed int
		for _, bt := range recv.done {
			for _, c := range bt.cmds {
				switch c := c.(type) {
				case router.Offer:
					if c.Contact == id {
						offered++
					}
				case router.OfferWithdrawn:
					if c.Contact == id {
						withdrawn++
					}
				case router.ContactClosed:
					if c.Contact == id {
						closed++
					}
				}
			}
		}
		hadOffer := slices.ContainsFunc(cmds, func(c router.Command) bool { _, ok := c.(router.Offer); return ok })
		if closed != 1 || (hadOffer && (offered != 1 || withdrawn != 1)) {
			t.Fatalf("lost contact %d: offered %d, withdrawn %d, closed %d times (offer made: %v)", id, offered, withdrawn, closed, hadOffer)
		}
		if !hadOffer {
			t.Fatalf("the lost contact was not offered")
		}
	})
}

func nonEmpty(bs []keptBatch) []keptBatch {
	return slices.DeleteFunc(bs, func(b keptBatch) bool { return len(b.cmds) == 0 })
}

// A second Dedupe delivery of the same entry is dropped, an older one too.
func TestDedupeDropsRepeats(t *testing.T) {
	recv := &receiver{}
	dd := &Dedupe{Next: recv}
	offer := []router.Command{router.Offer{Contact: 1, Agent: "a1"}}
	closeC := []router.Command{router.OfferWithdrawn{Contact: 1, Agent: "a1"}, router.ContactClosed{Contact: 1}}
	dd.DeliverEntry(3, offer)
	dd.DeliverEntry(5, closeC)
	dd.DeliverEntry(3, offer)
	dd.DeliverEntry(5, closeC)
	if len(recv.done) != 2 {
		t.Fatalf("passed %d batches, want 2", len(recv.done))
	}
	if last, dropped := dd.Last(); last != 5 || dropped != 3 {
		t.Fatalf("last %d dropped %d, want 5 and 3", last, dropped)
	}
}

func TestEntryRoundTrip(t *testing.T) {
	at := time.Date(2026, 12, 7, 1, 0, 0, 123, time.UTC)
	e := Entry{At: at, Origin: 3, Req: 1 << 40, Event: router.OfferAccepted{Contact: 9, Agent: "a1"}}
	b, err := AppendEntry(nil, e)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeEntry(b)
	if err != nil || !reflect.DeepEqual(got, e) {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	for _, bad := range [][]byte{nil, b[:5], append([]byte{9}, b[1:]...), append(b[:11:11], 0xff), b[:len(b)-1]} {
		if _, err := DecodeEntry(bad); !errors.Is(err, ErrEntry) {
			t.Errorf("DecodeEntry(%q): %v, want ErrEntry", bad, err)
		}
		if _, err := DecodeBatch(bad); !errors.Is(err, ErrEntry) {
			t.Errorf("DecodeBatch(%q): %v, want ErrEntry", bad, err)
		}
	}
	es := []Entry{e, {At: at.Add(time.Second), Origin: 1, Event: router.Tick{}}}
	bb, err := AppendBatch(nil, es)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := DecodeBatch(bb); err != nil || !reflect.DeepEqual(got, es) {
		t.Fatalf("batch round trip: %+v %v", got, err)
	}
	if got, err := DecodeBatch(b); err != nil || !reflect.DeepEqual(got, es[:1]) {
		t.Fatalf("a single entry as a batch: %+v %v", got, err)
	}
	for _, bad := range [][]byte{{2}, {2, 0}, {2, 5, 1}, bb[:len(bb)-1], append(slices.Clone(bb), 0)} {
		if _, err := DecodeBatch(bad); !errors.Is(err, ErrEntry) {
			t.Errorf("DecodeBatch(%q): %v, want ErrEntry", bad, err)
		}
	}
}

// Nodes draw contact ids from disjoint ranges below 2^53; node 0 (the
// single node) keeps the plain counter.
func TestContactIDsUniqueAcrossNodes(t *testing.T) {
	e := clusterEngine(t)
	single := NewHub(e, WithFirstContactID(41))
	if id := single.NewContactID(); id != 42 {
		t.Fatalf("single node id %d, want 42", id)
	}
	seen := map[router.ContactID]uint16{}
	for _, node := range []uint16{1, 2, MaxNode} {
		h := NewHub(e, WithNode(node), WithFirstContactID(41))
		r := NewReplica(e, NewMemLog(), node)
		for range 3 {
			for _, id := range []router.ContactID{h.NewContactID(), r.NewContactID()} {
				if ContactIDNode(id) != node || id >= 1<<53 {
					t.Fatalf("node %d made id %d (node %d)", node, id, ContactIDNode(id))
				}
				if n, dup := seen[id]; dup && n != node {
					t.Fatalf("id %d from nodes %d and %d", id, n, node)
				}
				seen[id] = node
			}
		}
	}
	// A node continues after its own highest stored id.
	own := uint64(2)<<ContactIDNodeShift + 500
	if id := NewHub(e, WithFirstContactID(own), WithNode(2)).NewContactID(); uint64(id) != own+1 {
		t.Fatalf("node 2 after %d made %d", own, id)
	}
}

// BenchmarkReplicatedPath measures events per second through a leader and
// a follower on the in-memory log (append, read back, decode, apply on
// both, deliver), against the single-node Hub doing the same work: an
// arrival, an accept, an end and a wrap-up per contact.
func BenchmarkReplicatedPath(b *testing.B) {
	cycle := func(id router.ContactID) []router.Event {
		return []router.Event{
			router.ContactArrived{Contact: id, Channel: router.Voice, Number: "1350"},
			router.OfferAccepted{Contact: id, Agent: "a1"},
			router.ContactEnded{Contact: id, Reason: router.EndCompleted},
			router.WrapUpDone{Agent: "a1"},
		}
	}
	type target interface {
		Submit(router.Event) error
		Do(context.Context, router.Event) ([]router.Command, error)
	}
	run := func(b *testing.B, tg target, newID func() router.ContactID) {
		ctx := b.Context()
		if _, err := tg.Do(ctx, router.AgentLoggedIn{Agent: "a1", Ready: true}); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		n := 0
		for b.Loop() {
			evs := cycle(newID())
			for i, ev := range evs {
				var err error
				if i == len(evs)-1 {
					_, err = tg.Do(ctx, ev)
				} else {
					for err = tg.Submit(ev); errors.Is(err, ErrBusy); err = tg.Submit(ev) {
					}
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			n += len(evs)
		}
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "events/s")
	}
	b.Run("hub", func(b *testing.B) {
		h := NewHub(clusterEngine(b))
		ctx, cancel := context.WithCancel(b.Context())
		defer cancel()
		go func() { _ = h.Run(ctx) }()
		run(b, h, h.NewContactID)
	})
	b.Run("replicated", func(b *testing.B) {
		log := NewMemLog()
		ctx, cancel := context.WithCancel(b.Context())
		defer cancel()
		lead := NewReplica(clusterEngine(b), log, 1)
		follow := NewReplica(clusterEngine(b), log, 2)
		go func() { _ = lead.Run(ctx) }()
		go func() { _ = follow.Run(ctx) }()
		lead.Lead(0)
		for lead.Submit(router.Tick{}) != nil || lead.Applied() == 0 {
			runtime.Gosched()
		}
		run(b, lead, lead.NewContactID)
	})
}
