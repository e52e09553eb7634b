package sip

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"onecall/router"
	"onecall/server"
	"onecall/store"
)

// engineEnv runs the real routing engine behind the real server.Hub, the
// real store, and the Service, as the lead wires them.
type engineEnv struct {
	hub   *server.Hub
	svc   *Service
	loc   *staticLocator
	store records
	udp   string
}

func newEngineEnv(t *testing.T, agentIDs ...router.AgentID) *engineEnv {
	return newEngineEnvSinks(t, nil, agentIDs...)
}

// newEngineEnvSinks is newEngineEnv with more sinks for the hub's
// commands, registered before the hub runs (Hub.AddSink's rule).
func newEngineEnvSinks(t *testing.T, sinks []server.Sink, agentIDs ...router.AgentID) *engineEnv {
	t.Helper()
	return newEngineEnvWrap(t, nil, sinks, agentIDs...)
}

// newEngineEnvWrap is newEngineEnvSinks with the service's view of the hub
// wrapped by wrap (nil: none), to refuse or delay its events.
func newEngineEnvWrap(t *testing.T, wrap func(Hub) Hub, sinks []server.Sink, agentIDs ...router.AgentID) *engineEnv {
	t.Helper()
	cfg := router.Config{
		Queues: []router.QueueDef{{ID: "general", OfferVoice: 3 * time.Second, WrapUpVoice: time.Second,
			SLTarget: 0.8, SLThreshold: 20 * time.Second}},
		Hotlines: []router.HotlineDef{{Number: "110", DefaultQueue: "general", Schedule: router.Schedule{Always: true}}},
		// As shipped: an agent who lets an offer time out goes not-ready,
		// so the next agent gets the call.
		MissedOfferNotReady: true,
	}
	for _, id := range agentIDs {
		cfg.Agents = append(cfg.Agents, router.AgentDef{ID: id, Skills: map[string]int{}, Voice: 1, Chat: 1})
	}
	eng, err := router.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	hub := server.NewHub(eng, server.WithLogger(log))
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "onecall.db"), store.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	env := &engineEnv{hub: hub, loc: &staticLocator{m: map[string]string{}}, store: records{ch: make(chan callRecord, 16)}}
	var front Hub = hub
	if wrap != nil {
		front = wrap(hub)
	}
	svc, err := New(front, Options{ListenUDP: "127.0.0.1:0", Demo: true, Numbers: staticNumbers{"110": {Skip: true}},
		Locator: env.loc, Store: db, NoRTPTimeout: 30 * time.Second, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	svc.onRecord = func(r callRecord) { env.store.ch <- r }
	hub.AddSink(svc.Sink())
	for _, s := range sinks {
		hub.AddSink(s)
	}
	go func() { _ = hub.Run(ctx) }()
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Close() })
	env.svc = svc
	env.udp, _ = svc.Addr()
	for _, id := range agentIDs {
		if _, err := hub.Do(ctx, router.AgentLoggedIn{Agent: id, Ready: true}); err != nil {
			t.Fatal(err)
		}
	}
	return env
}

func (e *engineEnv) agent(t *testing.T, id router.AgentID) router.AgentView {
	t.Helper()
	var v router.AgentView
	if err := e.hub.Query(t.Context(), func(en *router.Engine) { v, _ = en.Agent(id) }); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestEngineEndToEnd: the real engine offers the call to the longest-idle
// ready agent; agent01's phone rings past the queue's 3 s offer time (the
// engine withdraws, we CANCEL), agent02's phone answers; after the citizen's
// BYE agent02 goes to wrap-up and then ready, agent01 is not-ready (missed
// offer). Nothing stays busy.
func TestEngineEndToEnd(t *testing.T) {
	t.Parallel()
	env := newEngineEnv(t, "agent01", "agent02")
	a1 := startSipp(t, "agent.xml", agentParams{Mode: "ring"}, "", "")
	a2 := startSipp(t, "agent.xml", agentParams{Mode: "answer", WaitBye: 30000}, "", "")
	env.loc.set("agent01", a1.uri("agent01"))
	env.loc.set("agent02", a2.uri("agent02"))
	c := startSipp(t, "citizen.xml", citizenParams{From: "01011112222", Audio: true, HoldFor: 12000}, env.udp, "110")
	for i, p := range []*sippRun{a1, c, a2} {
		if err := p.wait(t, 40*time.Second); err != nil {
			t.Fatalf("peer %d: %v", i, err)
		}
	}
	rec := env.store.wait(t, 5*time.Second)
	if rec.Agent != "agent02" || rec.AgentRx < minAudio || rec.Cause != causeCitizenBye {
		t.Fatalf("record = %+v", rec)
	}
	waitFor(t, 10*time.Second, "agent02 ready after wrap-up", func() bool {
		v := env.agent(t, "agent02")
		return v.State == router.Ready && len(v.Active) == 0
	})
	if v := env.agent(t, "agent01"); v.State == router.Busy || v.State == router.Reserved || len(v.Offered) != 0 {
		t.Fatalf("agent01 left %v with offers %v", v.State, v.Offered)
	}
}

// TestEngineAbandonWhileRinging: the citizen hangs up while the agent's
// phone rings: CANCEL to the phone, ContactAbandoned, and the real engine
// frees the agent (not left reserved).
func TestEngineAbandonWhileRinging(t *testing.T) {
	t.Parallel()
	env := newEngineEnv(t, "agent01")
	a1 := startSipp(t, "agent.xml", agentParams{Mode: "ring"}, "", "")
	env.loc.set("agent01", a1.uri("agent01"))
	// The offer rings during the greeting; the engine's offer time is 3 s:
	// hang up at 1.5 s, while it rings.
	c := startSipp(t, "citizen.xml", citizenParams{From: "01011112222", HoldFor: 1500}, env.udp, "110")
	for i, p := range []*sippRun{c, a1} {
		if err := p.wait(t, 30*time.Second); err != nil {
			t.Fatalf("peer %d: %v", i, err)
		}
	}
	if rec := env.store.wait(t, 5*time.Second); !rec.Answered.IsZero() || rec.Cause != causeCitizenBye {
		t.Fatalf("record = %+v", rec)
	}
	waitFor(t, 5*time.Second, "agent01 free", func() bool {
		v := env.agent(t, "agent01")
		return v.State != router.Reserved && v.State != router.Busy && len(v.Offered) == 0 && len(v.Active) == 0
	})
}

// electingHub refuses the first n arrivals as a cluster front does while
// no node leads routing (an election), then passes everything through.
type electingHub struct {
	Hub
	mu      sync.Mutex
	refuse  int
	refused int
}

func (h *electingHub) Do(ctx context.Context, ev router.Event) ([]router.Command, error) {
	if _, ok := ev.(router.ContactArrived); ok {
		h.mu.Lock()
		refuse := h.refused < h.refuse
		if refuse {
			h.refused++
		}
		h.mu.Unlock()
		if refuse {
			return nil, fmt.Errorf("%w: forwarding to the routing leader: %w", server.ErrBusy, nats.ErrNoResponders)
		}
	}
	return h.Hub.Do(ctx, ev)
}

// A call that comes in while the cluster elects a routing leader is not
// refused busy: it rings (180) while its arrival is sent again, and once a
// leader takes it, it is answered and handed to an agent as usual.
func TestEngineCallWaitsForAnElection(t *testing.T) {
	t.Parallel()
	eh := &electingHub{refuse: 4}
	env := newEngineEnvWrap(t, func(h Hub) Hub { eh.Hub = h; return eh }, nil, "agent01")
	a1 := startSipp(t, "agent.xml", agentParams{Mode: "answer", WaitBye: 30000}, "", "")
	env.loc.set("agent01", a1.uri("agent01"))
	c := startSipp(t, "citizen.xml", citizenParams{From: "01011112222", Audio: true, HoldFor: 3000}, env.udp, "110")
	for i, p := range []*sippRun{c, a1} {
		if err := p.wait(t, 40*time.Second); err != nil {
			t.Fatalf("peer %d: %v", i, err)
		}
	}
	rec := env.store.wait(t, 5*time.Second)
	if rec.Agent != "agent01" || rec.Cause != causeCitizenBye {
		t.Fatalf("record = %+v", rec)
	}
	eh.mu.Lock()
	refused := eh.refused
	eh.mu.Unlock()
	if refused != 4 {
		t.Fatalf("%d arrivals refused, want 4", refused)
	}
	log := c.MessageLog()
	ring, ok := strings.Index(log, "SIP/2.0 180"), strings.Index(log, "SIP/2.0 200")
	if ring < 0 || ok < 0 || ring > ok {
		t.Fatalf("the citizen did not hear ringing before the answer:\n%s", log)
	}
}
