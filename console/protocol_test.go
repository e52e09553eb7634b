package console

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"onecall/router"
	"onecall/store"
)

func TestMalformedAndUnknownCommandsKeepSession(t *testing.T) {
	e := newEnv(t)
	ws := e.signedIn("agent01").mustDial()
	ws.snapshot()
	ws.ws.WriteMessage(websocket.TextMessage, []byte("{not json"))
	m := ws.next("error", func(m serverMsgIn) bool { return m.T == "error" })
	if !strings.Contains(m.Error, "malformed") {
		t.Fatalf("malformed: %+v", m)
	}
	if m := ws.call("frobnicate", nil); m.T != "error" || !strings.Contains(m.Error, `"frobnicate"`) || m.Cmd != "frobnicate" {
		t.Fatalf("unknown command: %+v", m)
	}
	if m := ws.call("state", map[string]any{"state": 7}); m.T != "error" || !strings.Contains(m.Error, `"state"`) {
		t.Fatalf("bad args: %+v", m)
	}
	if m := ws.call("accept", map[string]any{"contact": 12345}); m.T != "error" || !strings.Contains(m.Error, "not yours") {
		t.Fatalf("foreign contact: %+v", m)
	}
	if m := ws.call("send", map[string]any{"contact": 12345, "text": "hi"}); m.T != "error" {
		t.Fatalf("send to foreign contact: %+v", m)
	}
	ws.mustCall("ping", nil)
	// Oversized messages close the connection (read limit).
	big := `{"cmd":"ping","args":{"x":"` + strings.Repeat("a", maxMessage) + `"}}`
	ws.ws.WriteMessage(websocket.TextMessage, []byte(big))
	if code := ws.closed(); code != websocket.CloseMessageTooBig && code != -1 {
		t.Fatalf("oversized: close code %d", code)
	}
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MsgRate, o.MsgBurst = 1, 3 })
	ws := e.signedIn("agent01").mustDial()
	ws.snapshot()
	limited := 0
	for i := 0; i < 10; i++ {
		if m := ws.call("ping", nil); m.T == "error" && m.Error == "rate limited" {
			limited++
		}
	}
	if limited < 5 {
		t.Fatalf("only %d of 10 rate limited", limited)
	}
}

func TestSecondTabTakesOver(t *testing.T) {
	e := newEnv(t)
	c := e.signedIn("agent01")
	tab1 := c.mustDial()
	tab1.snapshot()
	tab2 := c.mustDial()
	s := tab2.snapshot()
	if s.Me.User != "agent01" || s.Agent == nil {
		t.Fatalf("snapshot: %+v", s)
	}
	if code := tab1.closed(); code != closeTakenOver {
		t.Fatalf("old tab close code %d, want %d", code, closeTakenOver)
	}
	tab2.mustCall("ping", nil)
	// Same agent on another device (second sign-in) takes over too.
	tab3 := e.signedIn("agent01").mustDial()
	tab3.snapshot()
	if code := tab2.closed(); code != closeTakenOver {
		t.Fatalf("tab2 close code %d", code)
	}
}

func arrive(t *testing.T, e *env, ch router.Channel, number, citizen string) router.ContactID {
	t.Helper()
	id := e.hub.NewContactID()
	if err := e.hub.Submit(router.ContactArrived{Contact: id, Channel: ch, Number: number, Citizen: citizen, Language: "ko",
		Attrs: map[string]string{"ivr": "1>2"}}); err != nil {
		t.Fatal(err)
	}
	return id
}

func contactIs(id router.ContactID) func(json.RawMessage) bool {
	return func(d json.RawMessage) bool {
		var c ContactView
		json.Unmarshal(d, &c)
		return c.ID == uint64(id)
	}
}

// TestReconnectResyncKeepsOffer: an offer made while the console is away
// is in the snapshot after reconnecting; events continue in sequence.
func TestReconnectResyncKeepsOffer(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MaskNumbers = true })
	c := e.signedIn("agent01")
	ws := c.mustDial()
	// The console logged the agent in before the snapshot: it says so.
	if sn := ws.snapshot(); sn.Agent == nil || sn.Agent.State != "not_ready" {
		t.Fatalf("snapshot agent %+v, want not_ready", sn.Agent)
	}
	ws.mustCall("state", map[string]any{"state": "ready"})
	ws.event("agent_state", agentIs("ready"))
	ws.ws.Close() // network drop

	id := arrive(t, e, router.Chat, "1350", "01012345678")
	// Wait until the engine has offered it (seen through the mirror).
	deadline := time.Now().Add(5 * time.Second)
	for {
		e.svc.mu.Lock()
		v := e.svc.m.contacts[id]
		offered := v != nil && v.State == "offered"
		e.svc.mu.Unlock()
		if offered {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("contact never offered")
		}
		<-time.After(5 * time.Millisecond)
	}
	ws2 := c.mustDial()
	s := ws2.snapshot()
	if len(s.Contacts) != 1 || s.Contacts[0].ID != uint64(id) || s.Contacts[0].State != "offered" {
		t.Fatalf("snapshot contacts: %+v", s.Contacts)
	}
	if s.Contacts[0].Deadline == 0 || s.Contacts[0].Attrs["ivr"] != "1>2" || s.Contacts[0].Queue != "labor" {
		t.Fatalf("offer details: %+v", s.Contacts[0])
	}
	if s.Agent.State != "reserved" {
		t.Fatalf("agent state %s", s.Agent.State)
	}
	snapSeq := ws2.seq
	ws2.mustCall("accept", map[string]any{"contact": id})
	d := ws2.event("connected", contactIs(id))
	if ws2.seq <= snapSeq {
		t.Fatalf("event seq %d not after snapshot seq %d", ws2.seq, snapSeq)
	}
	var cv ContactView
	json.Unmarshal(d, &cv)
	if cv.Channel != "chat" || cv.Citizen != "*******5678" { // phone numbers are masked on every channel
		t.Fatalf("connected: %+v", cv)
	}
}

func TestVoiceNumberMasked(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MaskNumbers = true })
	ws := e.signedIn("agent01").mustDial()
	ws.snapshot()
	ws.mustCall("state", map[string]any{"state": "ready"})
	id := arrive(t, e, router.Voice, "1350", "010-1234-5678")
	d := ws.event("offer", contactIs(id))
	var cv ContactView
	json.Unmarshal(d, &cv)
	if cv.Citizen != "***-****-5678" || strings.Contains(string(d), "1234") {
		t.Fatalf("voice number not masked: %s", d)
	}
	ws.mustCall("accept", map[string]any{"contact": id})
	ws.event("connected", contactIs(id))
	for _, op := range []string{"hold", "resume", "hangup"} {
		ws.mustCall(op, map[string]any{"contact": id})
	}
	if strings.Join(e.calls.ops, ",") != "hold,resume,hangup" {
		t.Fatalf("call ops %v", e.calls.ops)
	}
	// The other agent cannot control this call.
	ws2 := e.signedIn("agent02").mustDial()
	ws2.snapshot()
	if m := ws2.call("hangup", map[string]any{"contact": id}); m.T != "error" {
		t.Fatalf("agent02 hung up agent01's call: %+v", m)
	}
}

// TestChatFlowWithSupervisor: offer, accept, messages both ways, transfer,
// supervisor sees agent states and follows the chat; wrap-up.
func TestChatFlowWithSupervisor(t *testing.T) {
	e := newEnv(t)
	sup := e.signedIn("super01").mustDial()
	ss := sup.snapshot()
	if ss.Me.Role != "supervisor" {
		t.Fatalf("supervisor snapshot %+v", ss.Me)
	}
	a1 := e.signedIn("agent01").mustDial()
	a1.snapshot()
	a1.mustCall("state", map[string]any{"state": "ready"})
	sup.event("agent_state", func(d json.RawMessage) bool {
		var a AgentView
		json.Unmarshal(d, &a)
		return a.ID == "agent01" && a.State == "ready"
	})
	a2 := e.signedIn("agent02").mustDial()
	a2.snapshot()

	id := arrive(t, e, router.Chat, "1350", "citizen-abc")
	a1.event("offer", contactIs(id))
	a1.mustCall("accept", map[string]any{"contact": id})
	a1.event("connected", contactIs(id))
	e.chat.citizenSays(t, id, "<b>임금</b> 체불 문의")
	d := a1.event("chat", nil)
	var ch chatEventView
	json.Unmarshal(d, &ch)
	if ch.Text != "<b>임금</b> 체불 문의" || ch.Sender != "citizen" || ch.Contact != uint64(id) {
		t.Fatalf("chat event %+v", ch)
	}
	// Supervisor follows the chat and sees both sides.
	var lines []ChatLine
	json.Unmarshal(sup.mustCall("follow", map[string]any{"contact": id}), &lines)
	if len(lines) != 1 {
		t.Fatalf("follow transcript %+v", lines)
	}
	a1.mustCall("send", map[string]any{"contact": id, "text": "안녕하세요, 도와드리겠습니다"})
	sup.event("chat", func(d json.RawMessage) bool { return strings.Contains(string(d), "도와드리겠습니다") })
	// agent02 cannot read agent01's chat.
	if m := a2.call("transcript", map[string]any{"contact": id}); m.T != "error" {
		t.Fatalf("agent02 read agent01's transcript: %+v", m)
	}
	// nor control it; agent01's chat has no consult and no interpreter.
	for _, cmd := range []string{"transfer", "consult", "consult_cancel", "interpret"} {
		if m := a2.call(cmd, map[string]any{"contact": id, "agent": "agent02", "number": "1345"}); m.Code != "contact_not_yours" {
			t.Fatalf("agent02's %s of agent01's chat: %+v", cmd, m)
		}
	}
	for cmd, code := range map[string]string{"consult": "consult_not_talking", "consult_cancel": "consult_none", "interpret": "interpret_not_voice"} {
		if m := a1.call(cmd, map[string]any{"contact": id, "agent": "agent02", "number": "1345"}); m.Code != code {
			t.Fatalf("agent01's %s of its chat: %+v, want %s", cmd, m, code)
		}
	}
	if m := a1.call("send", map[string]any{"contact": id, "text": strings.Repeat("가", maxChatText+1)}); m.T != "error" {
		t.Fatal("over-long message accepted")
	}
	// Waiting drill-down is supervisor-only and lists the live contact.
	var live []ContactView
	json.Unmarshal(sup.mustCall("waiting", map[string]any{"queue": "labor"}), &live)
	if len(live) != 1 || live[0].Agent != "agent01" {
		t.Fatalf("waiting: %+v", live)
	}
	// Transfer to agent02 with a note.
	a2.mustCall("state", map[string]any{"state": "ready"})
	if m := a1.call("transfer", map[string]any{"contact": id, "agent": "agent01"}); m.Code != "transfer_self" || m.Text == nil || m.Text.KO == "" {
		t.Fatalf("transfer to self: %+v", m)
	}
	if m := a1.call("transfer", map[string]any{"contact": id, "target": "number:1345"}); m.Code != "transfer_chat_number" {
		t.Fatalf("chat to a number: %+v", m)
	}
	a1.mustCall("transfer", map[string]any{"contact": id, "agent": "agent02", "note": "wage claim"})
	a1.event("transferred", func(d json.RawMessage) bool {
		var ev transferredEvent
		json.Unmarshal(d, &ev)
		return ev.Contact == uint64(id) && ev.WrapUp && ev.Transfer.From == "agent01" && ev.Transfer.ToAgent == "agent02"
	})
	offer := a2.event("offer", contactIs(id))
	var ov ContactView
	json.Unmarshal(offer, &ov)
	if len(ov.Transfers) != 1 || ov.Transfers[0].By != "agent01" || ov.Transfers[0].Note != "wage claim" {
		t.Fatalf("offer of a transferred chat without its transfer: %+v", ov.Transfers)
	}
	a2.mustCall("accept", map[string]any{"contact": id})
	a2.event("connected", contactIs(id))
	var tl []ChatLine
	json.Unmarshal(a2.mustCall("transcript", map[string]any{"contact": id}), &tl)
	if len(tl) != 2 {
		t.Fatalf("transcript after transfer: %+v", tl)
	}
	if m := a1.call("send", map[string]any{"contact": id, "text": "still here?"}); m.T != "error" {
		t.Fatal("agent01 still sends after transfer")
	}
	a1.event("agent_state", agentIs("wrap_up"))
	a1.mustCall("wrapup_done", nil)
	a1.event("agent_state", agentIs("ready"))
	// agent02 ends: the chat service ends it (here the fake; then routing).
	a2.mustCall("end", map[string]any{"contact": id})
	if len(e.chat.ended) != 1 {
		t.Fatal("EndByAgent not called")
	}
	if err := e.hub.Submit(router.ContactEnded{Contact: id, Reason: router.EndCompleted}); err != nil {
		t.Fatal(err)
	}
	a2.event("contact_closed", func(d json.RawMessage) bool { return strings.Contains(string(d), `"completed"`) })
	sup.event("agent_state", func(d json.RawMessage) bool {
		var a AgentView
		json.Unmarshal(d, &a)
		return a.ID == "agent02" && a.State == "wrap_up"
	})
	// The contact row exists, as the store sink writes it on arrival.
	if err := e.st.Durable(t.Context(), store.ContactUpsert{ID: uint64(id), Channel: "chat", Hotline: "1350", Queue: "labor", Arrived: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if m := a2.call("wrapup", map[string]any{"contact": id, "disposition": "bogus"}); m.T != "error" {
		t.Fatal("unknown disposition accepted")
	}
	// agent01 gives its own disposition for the chat it transferred: into
	// the contact's history, never over agent02's.
	a1.mustCall("wrapup", map[string]any{"contact": id, "disposition": "info", "notes": "sent to agent02"})
	if m := a1.call("wrapup", map[string]any{"contact": id, "disposition": "info"}); m.T != "error" {
		t.Fatal("agent01 wrapped up the transferred chat twice")
	}
	a2.mustCall("wrapup", map[string]any{"contact": id, "disposition": "resolved", "notes": "explained wage claim", "then": "lunch"})
	a2.event("agent_state", func(d json.RawMessage) bool {
		var a AgentView
		json.Unmarshal(d, &a)
		return a.State == "not_ready" && a.Reason == "lunch"
	})
	// Force state by the supervisor.
	sup.mustCall("force_state", map[string]any{"agent": "agent02", "state": "ready"})
	a2.event("agent_state", agentIs("ready"))
	sup.mustCall("force_logout", map[string]any{"agent": "agent02"})
	a2.event("agent_state", agentIs("offline"))
	// The agent comes back by going Ready again.
	a2.mustCall("state", map[string]any{"state": "ready"})
	a2.event("agent_state", agentIs("ready"))
}

// The wallboard lists idle queues from the engine's snapshot, not only the
// queues whose statistics changed since the console started.
func TestWallboardSeededFromEngine(t *testing.T) {
	e := newEnv(t)
	sup := e.signedIn("super01")
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, b := sup.api("GET", "/api/queues", nil)
		var qs []QueueView
		json.Unmarshal(b, &qs)
		if code == 200 && len(qs) == 2 && qs[0].Queue == "general" && qs[1].Queue == "labor" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queues %d %s", code, b)
		}
		<-time.After(10 * time.Millisecond) // polling with a deadline
	}
	ws := sup.mustDial()
	if s := ws.snapshot(); len(s.Queues) != 2 {
		t.Fatalf("snapshot queues %+v", s.Queues)
	}
	// Drill-in: waiting contacts with the engine's positions and priorities.
	first := arrive(t, e, router.Voice, "110", "0101111")
	second := arrive(t, e, router.Voice, "110", "0102222")
	ws.event("contact_state", contactIs(second))
	var list []ContactView
	json.Unmarshal(ws.mustCall("waiting", map[string]any{"queue": "general"}), &list)
	if len(list) != 2 || list[0].ID != uint64(first) || list[0].Position != 1 || list[1].Position != 2 || list[0].State != "waiting" {
		t.Fatalf("waiting %+v", list)
	}
	code, b := sup.api("GET", "/api/queues/general/waiting", nil)
	if code != 200 || !strings.Contains(string(b), `"position":2`) {
		t.Fatalf("api waiting %d %s", code, b)
	}
}
