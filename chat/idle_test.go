package chat

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"onecall/router"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func testOptions() Options {
	return Options{Hotlines: []Hotline{
		{Number: "110", NameKO: "정부민원안내", NameEN: "Government", Callbacks: true, Topics: []Topic{{ID: "general", NameKO: "일반", NameEN: "General"}, {ID: "labor", NameKO: "노동", NameEN: "Labor", Queue: "labor"}}},
		{Number: "1350", NameKO: "고용노동부", NameEN: "Labor", Topics: []Topic{{ID: "wage", NameKO: "임금체불", NameEN: "Unpaid wages"}}},
	}}
}

// startMem enters one chat on the in-memory fakes, attached to p.
func startMem(t *testing.T, s *Service, h *fakeHub, p peer) *conv {
	t.Helper()
	rec := contactRec{ID: h.NewContactID(), Number: "110", Language: "ko", State: "waiting", Arrived: s.now(), ResumeHash: hashToken("x")}
	cv := s.newConv(rec)
	s.mu.Lock()
	s.convs[rec.ID] = cv
	s.mu.Unlock()
	cv.mu.Lock()
	cv.attach(p)
	cv.mu.Unlock()
	if _, err := h.Do(context.Background(), s.arrival(rec)); err != nil {
		t.Fatal(err)
	}
	return cv
}

// Inactivity in a conversation: a warning after IdleWarn, the close after
// IdleClose more; any message restarts the clock.
func TestInactivityWarnsThenCloses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &fakeHub{}
		opts := testOptions()
		opts.IdleWarn = 2 * time.Minute
		opts.IdleClose = time.Minute
		s, err := newService(h, newMem(), opts, func(error) bool { return false })
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		h.sink = s.deliver
		p := newPeer()
		cv := startMem(t, s, h, p)
		if _, err := h.Do(t.Context(), router.OfferAccepted{Contact: cv.id, Agent: "a1"}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if !slices.Contains(p.types(), "agent_joined") {
			t.Fatalf("no agent_joined: %v", p.types())
		}
		time.Sleep(90 * time.Second) // fake clock inside the bubble
		if _, err := s.AgentSend(t.Context(), cv.id, "a1", "hello"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(110 * time.Second) // 110 s after the last message: no warning yet
		synctest.Wait()
		if slices.Contains(p.types(), "idle_warning") {
			t.Fatalf("warned too early: %v", p.types())
		}
		time.Sleep(11 * time.Second)
		synctest.Wait()
		if !slices.Contains(p.types(), "idle_warning") {
			t.Fatalf("no warning after IdleWarn: %v", p.types())
		}
		if slices.Contains(p.types(), "ended") {
			t.Fatal("ended at the warning")
		}
		time.Sleep(61 * time.Second)
		synctest.Wait()
		if !slices.Contains(p.types(), "ended") {
			t.Fatalf("not closed after IdleClose: %v", p.types())
		}
		var ended bool
		for _, e := range h.eventsOf(cv.id) {
			if _, ok := e.(router.ContactEnded); ok {
				ended = true
			}
		}
		if !ended {
			t.Fatal("routing was not told the contact ended")
		}
	})
}

// A dropped connection that never resumes is abandoned after DetachGrace.
func TestDetachedChatAbandonedAfterGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &fakeHub{}
		opts := testOptions()
		opts.DetachGrace = time.Minute
		s, err := newService(h, newMem(), opts, func(error) bool { return false })
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		h.sink = s.deliver
		p := newPeer()
		cv := startMem(t, s, h, p)
		cv.mu.Lock()
		cv.detached(p)
		cv.mu.Unlock()
		time.Sleep(59 * time.Second)
		synctest.Wait()
		if len(h.eventsOf(cv.id)) != 1 {
			t.Fatalf("abandoned too early: %v", h.eventsOf(cv.id))
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		evs := h.eventsOf(cv.id)
		if len(evs) != 2 {
			t.Fatalf("events %v", evs)
		}
		if _, ok := evs[1].(router.ContactAbandoned); !ok {
			t.Fatalf("want ContactAbandoned, got %T", evs[1])
		}
	})
}
