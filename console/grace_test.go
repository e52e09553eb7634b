package console

import (
	"io"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"onecall/router"
)

// nilStore satisfies Store for tests that must not touch storage.
type nilStore struct{ Store }

// An agent whose console stays away past LogoutGrace is logged out of
// routing; one who comes back in time is not.
func TestLogoutGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &scriptHub{ch: make(chan router.Event, 16)}
		s, err := newService(h, nilStore{}, Options{LogoutGrace: 2 * time.Minute, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		s.Deliver([]router.Command{
			router.AgentStateChanged{Agent: "agent01", State: router.Ready, At: time.Now()},
			router.AgentStateChanged{Agent: "agent02", State: router.Ready, At: time.Now()},
		})
		drop := func(user string) *conn {
			c := &conn{s: s, sess: &session{User: user, Role: RoleAgent}, send: make(chan []byte, 8), done: make(chan struct{})}
			s.mu.Lock()
			s.conns[user] = c
			s.unregisterLocked(c) // the connection dropped
			s.mu.Unlock()
			return c
		}
		drop("agent01")
		drop("agent02")
		<-time.After(time.Minute)
		// agent02 is back within the grace period.
		s.mu.Lock()
		s.conns["agent02"] = &conn{s: s, sess: &session{User: "agent02", Role: RoleAgent}, send: make(chan []byte, 8), done: make(chan struct{})}
		s.mu.Unlock()
		<-time.After(59 * time.Second)
		synctest.Wait()
		if len(h.ch) != 0 {
			t.Fatalf("logged out before the grace period: %v", <-h.ch)
		}
		<-time.After(2 * time.Second)
		synctest.Wait()
		if len(h.ch) != 1 {
			t.Fatalf("%d events after the grace period", len(h.ch))
		}
		if ev, ok := (<-h.ch).(router.AgentLoggedOut); !ok || ev.Agent != "agent01" || ev.By != "" {
			t.Fatalf("event %+v", ev)
		}
	})
}
