//go:build !chat_nohub

package chat

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"onecall/router"
	"onecall/server"
)

// The real routing engine and hub. (Build with -tags chat_nohub to use the
// fake hub instead while the engine is unavailable.)

func testRouterConfig() router.Config {
	q := func(id string) router.QueueDef {
		return router.QueueDef{ID: id, Skills: []router.SkillReq{{Skill: "ko", Min: 1}}, SLTarget: 0.8, SLThreshold: 20 * time.Second,
			MaxWaiting: 1000, MaxWait: time.Hour, OfferVoice: 15 * time.Second, OfferChat: 30 * time.Second, AnnounceEvery: time.Second}
	}
	agent := func(id router.AgentID) router.AgentDef {
		return router.AgentDef{ID: id, Skills: map[string]int{"ko": 5}, Voice: 1, Chat: 3}
	}
	intl := q("imm-intl") // as configs/queues.yaml: English at 3, a chosen language replaces it
	intl.Skills = []router.SkillReq{{Skill: "en", Min: 3}, {Skill: "immigration", Min: 2}}
	return router.Config{
		Queues: []router.QueueDef{q("general"), q("labor"), intl},
		Hotlines: []router.HotlineDef{
			{Number: "110", DefaultQueue: "general", Schedule: router.Schedule{Always: true}},
			{Number: "1350", DefaultQueue: "general", Schedule: router.Schedule{Always: true}},
			{Number: "1345", DefaultQueue: "general", Schedule: router.Schedule{}, Closed: router.ClosedRefuse},
			{Number: "1330", DefaultQueue: "imm-intl", Schedule: router.Schedule{Always: true}},
		},
		Agents: []router.AgentDef{agent("a1"), agent("kim.realname"), agent("secret.name"),
			{ID: "en.only", Skills: map[string]int{"en": 5, "immigration": 5}, Voice: 1, Chat: 3},
			{ID: "th.speaker", Skills: map[string]int{"en": 3, "th": 4, "immigration": 3}, Voice: 1, Chat: 3}},
	}
}

type hubEnv struct {
	t      testing.TB
	busy   bool
	h      *server.Hub
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex
	cmds   []router.Command
	events []router.Event
}

func newHubEnv(t testing.TB, cfg *envConfig, firstID uint64) *hubEnv {
	eng, err := router.New(testRouterConfig())
	if err != nil {
		t.Fatalf("router.New: %v", err)
	}
	opts := []server.HubOption{server.WithFirstContactID(firstID)}
	if cfg.busy {
		opts = append(opts, server.WithInboxSize(1))
	}
	e := &hubEnv{t: t, busy: cfg.busy, h: server.NewHub(eng, opts...), done: make(chan struct{})}
	e.h.AddSink(server.SinkFunc(func(c []router.Command) {
		e.mu.Lock()
		e.cmds = append(e.cmds, c...)
		e.mu.Unlock()
	}))
	e.ctx, e.cancel = context.WithCancel(context.Background())
	return e
}

// Submit, Do, NewContactID and Now record what the chat routes.
func (e *hubEnv) Submit(ev router.Event) error { e.record(ev); return e.h.Submit(ev) }
func (e *hubEnv) Do(ctx context.Context, ev router.Event) ([]router.Command, error) {
	e.record(ev)
	return e.h.Do(ctx, ev)
}
func (e *hubEnv) NewContactID() router.ContactID { return e.h.NewContactID() }
func (e *hubEnv) Now() time.Time                 { return e.h.Now() }

func (e *hubEnv) record(ev router.Event) {
	e.mu.Lock()
	e.events = append(e.events, ev)
	e.mu.Unlock()
}

func (e *hubEnv) service(opts Options, be backend) (*Service, error) {
	s, err := newService(e, be, opts, func(err error) bool { return errors.Is(err, server.ErrBusy) })
	if err != nil {
		return nil, err
	}
	e.h.AddSink(s.Sink())
	if e.busy {
		_ = e.h.Submit(router.Tick{}) // the one inbox slot is taken and nobody drains it
		close(e.done)
		return s, nil
	}
	go func() {
		defer close(e.done)
		_ = e.h.Run(e.ctx)
	}()
	return s, nil
}

// accept makes agent ready, waits for routing to offer c to it and accepts.
func (e *hubEnv) accept(t *testing.T, c router.ContactID, a router.AgentID) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = e.h.Do(ctx, router.AgentLoggedIn{Agent: a, Ready: true})
	_, _ = e.h.Do(ctx, router.AgentStateRequested{Agent: a, State: router.Ready})
	eventually(t, "offer to "+string(a), func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, cmd := range e.cmds {
			if o, ok := cmd.(router.Offer); ok && o.Contact == c && o.Agent == a {
				return true
			}
		}
		return false
	})
	if _, err := e.h.Do(ctx, router.OfferAccepted{Contact: c, Agent: a}); err != nil {
		t.Fatalf("OfferAccepted: %v", err)
	}
}

func (e *hubEnv) routed(c router.ContactID) []router.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []router.Event
	for _, ev := range e.events {
		switch ev := ev.(type) {
		case router.ContactArrived:
			if ev.Contact == c {
				out = append(out, ev)
			}
		case router.ContactEnded:
			if ev.Contact == c {
				out = append(out, ev)
			}
		case router.ContactAbandoned:
			if ev.Contact == c {
				out = append(out, ev)
			}
		}
	}
	return out
}

func (e *hubEnv) stop() {
	e.cancel()
	<-e.done
}
