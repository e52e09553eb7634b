package server

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"onecall/router"
)

func testEngine(t *testing.T) *router.Engine {
	t.Helper()
	e, err := router.New(router.Config{
		Queues: []router.QueueDef{{
			ID:          "q",
			Skills:      []router.SkillReq{{Skill: "ko", Min: 1}},
			SLTarget:    0.8,
			SLThreshold: 20 * time.Second,
			MaxWaiting:  100,
			MaxWait:     time.Hour,
			OfferVoice:  15 * time.Second,
			OfferChat:   30 * time.Second,
		}},
		Hotlines:            []router.HotlineDef{{Number: "110", DefaultQueue: "q", Schedule: router.Schedule{Always: true}}},
		Agents:              []router.AgentDef{{ID: "a1", Skills: map[string]int{"ko": 5}, Voice: 1, Chat: 3}},
		MissedOfferNotReady: true,
	})
	if err != nil {
		t.Fatalf("router.New: %v", err)
	}
	return e
}

// A full inbox answers ErrBusy at once instead of blocking the transport.
func TestHubFullInboxAnswersBusy(t *testing.T) {
	h := NewHub(testEngine(t), WithInboxSize(2))
	for i := range 2 {
		if err := h.Submit(router.Tick{}); err != nil {
			t.Fatalf("submit %d: %v", i, err)
		}
	}
	if err := h.Submit(router.Tick{}); !errors.Is(err, ErrBusy) {
		t.Fatalf("third submit: got %v, want ErrBusy", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := h.Do(ctx, router.Tick{}); !errors.Is(err, ErrBusy) {
		t.Fatalf("Do on full inbox: got %v, want ErrBusy", err)
	}
}

type recordSink struct {
	mu   sync.Mutex
	cmds []router.Command
}

func (r *recordSink) Deliver(c []router.Command) {
	r.mu.Lock()
	r.cmds = append(r.cmds, c...)
	r.mu.Unlock()
}

func (r *recordSink) offers() []router.Offer {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []router.Offer
	for _, c := range r.cmds {
		if o, ok := c.(router.Offer); ok {
			out = append(out, o)
		}
	}
	return out
}

// The hub runs the engine's timers: an unanswered offer times out on the
// hub's own clock and the contact goes back to its queue.
func TestHubRunsOfferTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHub(testEngine(t))
		sink := &recordSink{}
		h.AddSink(sink)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- h.Run(ctx) }()

		if _, err := h.Do(ctx, router.AgentLoggedIn{Agent: "a1", Ready: true}); err != nil {
			t.Fatal(err)
		}
		id := h.NewContactID()
		if _, err := h.Do(ctx, router.ContactArrived{Contact: id, Channel: router.Voice, Number: "110"}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if n := len(sink.offers()); n != 1 {
			t.Fatalf("offers after arrival = %d, want 1", n)
		}
		<-time.After(16 * time.Second) // fake time inside the bubble
		synctest.Wait()
		var view router.AgentView
		if err := h.Query(ctx, func(e *router.Engine) { view, _ = e.Agent("a1") }); err != nil {
			t.Fatal(err)
		}
		if view.State != router.NotReady {
			t.Fatalf("agent %v after the offer timeout, want not-ready (missed offer)", view.State)
		}
		var cv router.ContactView
		var ok bool
		if err := h.Query(ctx, func(e *router.Engine) { cv, ok = e.Contact(id) }); err != nil {
			t.Fatal(err)
		}
		if !ok || cv.State != router.Waiting {
			t.Fatalf("contact after timeout: ok=%v state=%v, want waiting", ok, cv.State)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if err := h.Submit(router.Tick{}); !errors.Is(err, ErrStopped) {
			t.Fatalf("submit after stop: %v, want ErrStopped", err)
		}
	})
}
