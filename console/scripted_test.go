package console

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"onecall/router"
	"onecall/store"
)

// newScriptEnv is a console on the real store with routing played by the
// test through scriptHub (see browser_test.go).
func newScriptEnv(t *testing.T, mutate ...func(*Options)) (*env, *scriptHub) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "onecall.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := SeedUsers(ctx, st, testUsers, "onecall"); err != nil {
		t.Fatal(err)
	}
	h := &scriptHub{ch: make(chan router.Event, 4096)}
	e := &env{t: t, st: st, chat: newFakeChat(), calls: &fakeCalls{}}
	opts := Options{Chat: e.chat, Calls: e.calls, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), LogoutGrace: time.Hour}
	for _, m := range mutate {
		m(&opts)
	}
	svc, err := newService(h, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	e.srv = httptest.NewServer(svc)
	t.Cleanup(func() {
		e.srv.CloseClientConnections()
		e.srv.Close()
		svc.Close()
	})
	return e, h
}

func offerCmd(id router.ContactID, agent router.AgentID) router.Offer {
	return router.Offer{Contact: id, Agent: agent, Channel: router.Chat, Queue: "labor", Number: "1350",
		Deadline: time.Now().Add(30 * time.Second), Citizen: "c1", Attrs: map[string]string{"topic": "wage"}}
}

// An offer made while the console is disconnected is in the snapshot on
// reconnect; events continue after the snapshot's seq, none repeated.
func TestScriptedResyncAfterDrop(t *testing.T) {
	e, h := newScriptEnv(t)
	c := e.signedIn("agent01")
	ws := c.mustDial()
	ws.snapshot()
	h.expect(t, "login", func(ev router.Event) bool { _, ok := ev.(router.AgentLoggedIn); return ok })
	e.svc.Deliver([]router.Command{router.AgentStateChanged{Agent: "agent01", State: router.Ready, At: time.Now()}})
	ws.event("agent_state", agentIs("ready"))
	ws.ws.Close()
	// Offer while away, plus an offer for someone else.
	e.svc.Deliver([]router.Command{offerCmd(7, "agent01"), offerCmd(8, "agent02"),
		router.AgentStateChanged{Agent: "agent01", State: router.Reserved, At: time.Now()}})
	ws2 := c.mustDial()
	s := ws2.snapshot()
	if len(s.Contacts) != 1 || s.Contacts[0].ID != 7 || s.Contacts[0].State != "offered" || s.Agent.State != "reserved" {
		t.Fatalf("snapshot after drop: %+v agent %+v", s.Contacts, s.Agent)
	}
	snapSeq := ws2.seq
	e.svc.Deliver([]router.Command{router.OfferWithdrawn{Contact: 7, Agent: "agent01", Reason: "timeout"}})
	ws2.event("offer_withdrawn", nil)
	if ws2.seq <= snapSeq {
		t.Fatalf("event seq %d <= snapshot seq %d", ws2.seq, snapSeq)
	}
	// The other agent's offer never reached agent01.
	e.svc.mu.Lock()
	defer e.svc.mu.Unlock()
	if v := e.svc.m.contacts[8]; v == nil || v.Agent != "agent02" {
		t.Fatalf("mirror lost contact 8: %+v", v)
	}
}

// A console that stops reading is cut off with 4008 instead of blocking
// the hub; the agent reconnects and resyncs.
func TestScriptedSlowConsoleCutOff(t *testing.T) {
	e, _ := newScriptEnv(t, func(o *Options) { o.SendQueue = 8 })
	c := e.signedIn("super01")
	u := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/ws/console?csrf=" + c.csrf
	raw, _, err := wsDialer(c).Dial(u, http.Header{"Origin": {e.srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	// The snapshot comes once the connection is registered: before it, a
	// missing connection would read as one already cut off.
	if _, _, err := raw.ReadMessage(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := 0; i < 3000; i++ { // ~50 MB unread: the send queue must overflow
		// Every round changes every queue, so each one is sent again (the
		// console does not resend unchanged stats).
		batch := make([]router.Command, 0, 60)
		for q := 0; q < 60; q++ {
			batch = append(batch, router.QueueStats{Stats: router.QueueSnapshot{
				Queue: fmt.Sprintf("queue-%02d-%s", q, strings.Repeat("x", 200)), Waiting: i + 1}})
		}
		e.svc.Deliver(batch)
		e.svc.mu.Lock()
		cn := e.svc.conns["super01"]
		e.svc.mu.Unlock()
		killed := cn == nil
		if cn != nil {
			select {
			case <-cn.done:
				killed = true
			default:
			}
		}
		if killed {
			break
		}
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("Deliver blocked on a slow console: %v", d)
	}
	var code int
	_ = raw.SetReadDeadline(time.Now().Add(time.Minute)) // a console never cut off fails, not hangs
	for {
		if _, _, err := raw.ReadMessage(); err != nil {
			if ce, ok := err.(*websocket.CloseError); ok {
				code = ce.Code
			}
			break
		}
	}
	if code != closeSlow {
		t.Fatalf("slow console close code %d, want %d", code, closeSlow)
	}
	ws := c.mustDial()
	if s := ws.snapshot(); len(s.Queues) != 60 {
		t.Fatalf("resync snapshot has %d queues", len(s.Queues))
	}
}

// Agents never receive other agents' offers or chats; supervisors get all.
func TestScriptedEventIsolation(t *testing.T) {
	e, _ := newScriptEnv(t)
	a1 := e.signedIn("agent01").mustDial()
	a1.snapshot()
	a2 := e.signedIn("agent02").mustDial()
	a2.snapshot()
	sup := e.signedIn("super01").mustDial()
	sup.snapshot()
	e.svc.Deliver([]router.Command{offerCmd(21, "agent02")})
	e.svc.Deliver([]router.Command{router.Connected{Contact: 21, Agent: "agent02", Channel: router.Chat, Queue: "labor"}})
	e.chat.citizenSays(t, 21, "secret of agent02's citizen")
	a2.event("chat", nil)
	sup.event("connected", nil)
	// agent01 saw none of it: its next event is the marker below.
	e.svc.Deliver([]router.Command{router.AgentStateChanged{Agent: "agent01", State: router.Ready, At: time.Now()}})
	m := a1.next("marker", func(m serverMsgIn) bool { return m.T == "event" })
	if m.Kind != "agent_state" || strings.Contains(string(m.Data), "agent02") {
		t.Fatalf("agent01 received %s %s", m.Kind, m.Data)
	}
	if m := a1.call("follow", map[string]any{"contact": 21}); m.T != "error" {
		t.Fatal("agent followed a chat")
	}
	var lines []ChatLine
	json.Unmarshal(sup.mustCall("follow", map[string]any{"contact": 21}), &lines)
	if len(lines) != 1 {
		t.Fatalf("supervisor transcript %+v", lines)
	}
	// A supervisor moves a waiting contact and re-prioritises it.
	if m := sup.call("move", map[string]any{"contact": 21}); m.T != "error" {
		t.Fatal("empty move accepted")
	}
	sup.mustCall("move", map[string]any{"contact": 21, "queue": "general", "priority": 5})
	// Phone registration reaches the agent and supervisors.
	e.svc.PhoneRegistered("agent01", true)
	a1.event("agent_state", func(d json.RawMessage) bool { return strings.Contains(string(d), `"phone":true`) })
}
