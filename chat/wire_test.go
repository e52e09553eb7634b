package chat

import (
	"context"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"onecall/router"
)

// eventLog collects console events of one subscription.
type eventLog struct {
	mu  sync.Mutex
	evs []Event
}

func (l *eventLog) add(e Event) { l.mu.Lock(); l.evs = append(l.evs, e); l.mu.Unlock() }
func (l *eventLog) has(k EventKind, seq int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.evs {
		if e.Kind == k && (seq == 0 || e.Seq == seq) {
			return true
		}
	}
	return false
}

// A citizen message is acknowledged only after it is in the store; seqs
// are per contact and increase by one.
func TestStartWaitAndDurableAck(t *testing.T) {
	e := newEnv(t)
	c := e.dial(t)
	id, token := c.start("110", "labor")
	if len(token) != 43 {
		t.Fatalf("token %q: want 32 random bytes, base64url", token)
	}
	q := c.expect("queue")
	// Honest waits: with no agent working the queue the frame says so
	// instead of an estimate; with one, an estimate.
	if num(q, "position") != 1 || (q["no_agent"] != true && num(q, "eta_s") <= 0) || (q["no_agent"] == true && num(q, "eta_s") > 0) {
		t.Fatalf("queue frame %v", q)
	}
	c.send(map[string]any{"type": "msg", "id": "m1", "text": "안녕하세요"})
	ack := c.expect("ack")
	if ack["id"] != "m1" || num(ack, "seq") != 1 {
		t.Fatalf("ack %v", ack)
	}
	// Durable before ack: the row is readable right now.
	msgs, err := e.st.ChatMessages(context.Background(), uint64(id), 0)
	if err != nil || len(msgs) != 1 || msgs[0].Text != "안녕하세요" || msgs[0].SenderKind != "citizen" {
		t.Fatalf("stored %v %v", msgs, err)
	}
	c.send(map[string]any{"type": "msg", "id": "m2", "text": "두번째"})
	if a := c.expect("ack"); num(a, "seq") != 2 {
		t.Fatalf("second ack %v", a)
	}
	// The contact is stored with only the token's hash.
	rec, err := e.st.Contact(context.Background(), uint64(id))
	if err != nil || rec.ResumeHash != hashToken(token) || strings.Contains(rec.ResumeHash, token) || rec.Channel != "chat" {
		t.Fatalf("contact %+v %v", rec, err)
	}
	evs := e.hub.routed(id)
	if len(evs) == 0 {
		t.Fatal("no ContactArrived routed")
	}
	arr := evs[0].(router.ContactArrived)
	if arr.Channel != router.Chat || arr.Number != "110" || arr.Queue != "labor" || arr.Attrs["name"] != "홍길동" {
		t.Fatalf("arrival %+v", arr)
	}
}

// The whole conversation: alias instead of the real name, typing, delivered
// and read receipts both ways, system messages, console subscription.
func TestConversationWithAgent(t *testing.T) {
	e := newEnv(t, func(c *envConfig) {
		c.opts.AgentAlias = func(a router.AgentID) string { return "상담사 별님" }
	})
	c := e.dial(t)
	id, _ := c.start("110", "general")
	var log eventLog
	cancel := e.svc.Subscribe(id, log.add)
	defer cancel()
	e.hub.accept(t, id, "kim.realname")
	j := c.expect("agent_joined")
	if j["alias"] != "상담사 별님" {
		t.Fatalf("joined %v", j)
	}
	sys := c.expect("msg")
	if sys["from"] != "system" || !strings.Contains(sys["text"].(string), "상담사 별님") || strings.Contains(sys["text"].(string), "kim") {
		t.Fatalf("system message %v", sys)
	}
	seq, err := e.svc.AgentSend(context.Background(), id, "kim.realname", "무엇을 도와드릴까요?")
	if err != nil {
		t.Fatal(err)
	}
	m := c.expect("msg")
	if num(m, "seq") != seq || m["from"] != "agent" || m["alias"] != "상담사 별님" || m["text"] != "무엇을 도와드릴까요?" {
		t.Fatalf("agent msg %v", m)
	}
	for k, v := range m {
		if s, ok := v.(string); ok && strings.Contains(s, "kim") {
			t.Fatalf("real agent name leaked in %s: %v", k, m)
		}
	}
	eventually(t, "delivered event", func() bool { return log.has(EventDelivered, seq) })
	if _, err := e.svc.AgentSend(context.Background(), id, "other", "x"); err != ErrNotYours {
		t.Fatalf("other agent: %v", err)
	}

	c.send(map[string]any{"type": "read", "seq": seq})
	eventually(t, "read event", func() bool { return log.has(EventRead, seq) })
	c.send(map[string]any{"type": "typing"})
	eventually(t, "typing event", func() bool { return log.has(EventTyping, 0) })

	if err := e.svc.AgentTyping(id, "kim.realname"); err != nil {
		t.Fatal(err)
	}
	if ty := c.expect("typing"); ty["from"] != "agent" || ty["alias"] != "상담사 별님" {
		t.Fatalf("typing %v", ty)
	}
	c.send(map[string]any{"type": "msg", "id": "q", "text": "<b>월급</b>을 못 받았어요"})
	ack := c.expect("ack")
	cseq := num(ack, "seq")
	eventually(t, "citizen message event", func() bool { return log.has(EventMessage, cseq) })
	if r := c.expect("receipt"); r["status"] != "delivered" || num(r, "seq") != cseq {
		t.Fatalf("delivered receipt %v", r)
	}
	if err := e.svc.AgentRead(id, "kim.realname", cseq); err != nil {
		t.Fatal(err)
	}
	if r := c.expect("receipt"); r["status"] != "read" || num(r, "seq") != cseq {
		t.Fatalf("read receipt %v", r)
	}
	tr, err := e.svc.Transcript(context.Background(), id)
	if err != nil || len(tr) != 3 || tr[2].Text != "<b>월급</b>을 못 받았어요" || tr[1].Alias != "상담사 별님" {
		t.Fatalf("transcript %+v %v", tr, err)
	}
	if err := e.svc.EndByAgent(context.Background(), id, "kim.realname"); err != nil {
		t.Fatal(err)
	}
	if en := c.expect("ended"); en["reason"] != "completed" {
		t.Fatalf("ended %v", en)
	}
	eventually(t, "ended event", func() bool { return log.has(EventEnded, 0) })
}

// After a network drop the client resumes with its last seen seq and gets
// exactly the messages it missed.
func TestResumeAfterDropGetsExactlyTheMissed(t *testing.T) {
	e := newEnv(t)
	c := e.dial(t)
	id, token := c.start("110", "general")
	e.hub.accept(t, id, "a1")
	c.expect("agent_joined")
	for i := range 3 {
		c.send(map[string]any{"type": "msg", "id": "x", "text": "c" + string(rune('0'+i))})
		c.expect("ack")
	}
	c.c.Close()
	ctx := context.Background()
	eventually(t, "detach", func() bool {
		cv := e.svc.conv(id)
		cv.mu.Lock()
		defer cv.mu.Unlock()
		return cv.conn == nil
	})
	last, _ := e.st.LastChatSeq(ctx, uint64(id))
	var sent []int64
	for _, s := range []string{"missed one", "missed two"} {
		seq, err := e.svc.AgentSend(ctx, id, "a1", s)
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, seq)
	}
	c2 := e.dial(t)
	c2.send(map[string]any{"type": "resume", "token": token, "last_seq": last})
	r := c2.expect("resumed")
	if r["state"] != "talking" || num(r, "contact") != int64(id) {
		t.Fatalf("resumed %v", r)
	}
	h := c2.expect("history")
	got := h["messages"].([]any)
	if len(got) != 2 {
		t.Fatalf("history %v", got)
	}
	for i, g := range got {
		if num(g.(map[string]any), "seq") != sent[i] {
			t.Fatalf("history seqs %v, want %v", got, sent)
		}
	}
	// Live again: the next message arrives once, in order.
	seq, _ := e.svc.AgentSend(ctx, id, "a1", "live")
	if m := c2.expect("msg"); num(m, "seq") != seq || seq != sent[1]+1 {
		t.Fatalf("live msg %v", m)
	}
}

// A page reload resumes from seq 0 and sees the whole history; a second
// connection with the same token replaces the first (4009).
func TestResumeFromZeroAndReplace(t *testing.T) {
	e := newEnv(t)
	c := e.dial(t)
	id, token := c.start("110", "general")
	c.send(map[string]any{"type": "msg", "id": "1", "text": "one"})
	c.expect("ack")
	c2 := e.dial(t)
	c2.send(map[string]any{"type": "resume", "token": token, "last_seq": 0})
	r := c2.expect("resumed")
	if r["state"] != "waiting" {
		t.Fatalf("resumed %v", r)
	}
	h := c2.expect("history")["messages"].([]any)
	if len(h) != 1 || h[0].(map[string]any)["text"] != "one" {
		t.Fatalf("history %v", h)
	}
	if code := c.expectClose(); code != CloseReplaced {
		t.Fatalf("old connection close code %d", code)
	}
	_ = id
}

// A token opens only its own contact; unknown, malformed and foreign tokens
// are refused with 4001.
func TestResumeTokenOpensOnlyItsOwnContact(t *testing.T) {
	e := newEnv(t)
	a := e.dial(t)
	idA, tokA := a.start("110", "general")
	b := e.dial(t)
	idB, _ := b.start("1350", "wage")
	if idA == idB {
		t.Fatal("same id")
	}
	for _, tok := range []string{"", "short", strings.Repeat("A", 43), tokA[:42] + "x"} {
		c := e.dial(t)
		c.send(map[string]any{"type": "resume", "token": tok, "last_seq": 0})
		if f := c.expect("error"); f["code"] != "bad_token" {
			t.Fatalf("token %q: %v", tok, f)
		}
		if code := c.expectClose(); code != CloseBadToken {
			t.Fatalf("token %q: close %d", tok, code)
		}
	}
	c := e.dial(t)
	c.send(map[string]any{"type": "resume", "token": tokA, "last_seq": 0})
	if r := c.expect("resumed"); num(r, "contact") != int64(idA) {
		t.Fatalf("resumed %v", r)
	}
	// Transcript download needs the token too.
	resp, _ := httpGet(t, e.srv.URL+"/chat/transcript", nil)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("transcript without token: %d", resp.StatusCode)
	}
}

// Resume after onecall restarts: close service, hub and store, open them
// again on the same file; the chat is recovered with its full history.
func TestResumeAfterRestart(t *testing.T) {
	e := newEnv(t)
	c := e.dial(t)
	id, token := c.start("110", "general")
	c.send(map[string]any{"type": "msg", "id": "1", "text": "before restart"})
	c.expect("ack")
	e.restart()
	if code := c.expectClose(); code != CloseShutdown && code != websocket.CloseAbnormalClosure {
		t.Fatalf("close on shutdown: %d", code)
	}
	c2 := e.dial(t)
	c2.send(map[string]any{"type": "resume", "token": token, "last_seq": 0})
	r := c2.expect("resumed")
	if num(r, "contact") != int64(id) || r["state"] != "waiting" {
		t.Fatalf("resumed %v", r)
	}
	h := c2.expect("history")["messages"].([]any)
	if len(h) < 1 || h[0].(map[string]any)["text"] != "before restart" {
		t.Fatalf("history %v", h)
	}
	// Re-entered into routing with its original arrival time.
	evs := e.hub.routed(id)
	if len(evs) == 0 {
		t.Fatal("recovered chat not routed")
	}
	arr := evs[len(evs)-1].(router.ContactArrived)
	if arr.Arrived.IsZero() {
		t.Fatal("recovered arrival lost its place in line")
	}
	e.hub.accept(t, id, "a1")
	c2.expect("agent_joined")
	seq, err := e.svc.AgentSend(context.Background(), id, "a1", "after restart")
	if err != nil {
		t.Fatal(err)
	}
	if m := c2.expectText("after restart"); num(m, "seq") != seq {
		t.Fatalf("msg %v", m)
	}
	// New contact ids continue above the stored ones.
	c3 := e.dial(t)
	id3, _ := c3.start("110", "general")
	if id3 <= id {
		t.Fatalf("new id %d not above %d", id3, id)
	}
}

// Explicit Recover re-registers chats that were live at the stop.
func TestRecoverReentersLiveChats(t *testing.T) {
	e := newEnv(t)
	c := e.dial(t)
	id, _ := c.start("110", "general")
	e.restart()
	if err := e.svc.Recover(context.Background(), []RecoveredChat{{Contact: id}}); err != nil {
		t.Fatal(err)
	}
	if e.svc.conv(id) == nil || len(e.hub.routed(id)) == 0 {
		t.Fatal("not recovered")
	}
}

// Bad input: malformed JSON and unknown types get error frames and the
// connection stays; too large names the limit; invalid UTF-8 closes 1007.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	c := e.dial(t)
	if err := c.c.WriteMessage(websocket.TextMessage, []byte(`{"type":`)); err != nil {
		t.Fatal(err)
	}
	if f := c.expect("error"); f["code"] != "bad_json" {
		t.Fatalf("bad json: %v", f)
	}
	c.send(map[string]any{"type": "dance"})
	if f := c.expect("error"); f["code"] != "unknown_type" {
		t.Fatalf("unknown: %v", f)
	}
	c.send(map[string]any{"type": "msg", "text": "x"})
	if f := c.expect("error"); f["code"] != "not_started" {
		t.Fatalf("not started: %v", f)
	}
	c.send(map[string]any{"type": "start", "number": "999", "topic": ""})
	if f := c.expect("error"); f["code"] != "unknown_number" {
		t.Fatalf("unknown number: %v", f)
	}
	c.start("110", "general")
	c.send(map[string]any{"type": "msg", "id": "big", "text": strings.Repeat("가", 1366)}) // 4098 bytes
	f := c.expect("error")
	if f["code"] != "too_large" || num(f, "limit") != 4096 || !strings.Contains(f["message"].(string), "4096") || f["id"] != "big" {
		t.Fatalf("too large: %v", f)
	}
	c.send(map[string]any{"type": "msg", "id": "ok", "text": strings.Repeat("a", 4096)})
	c.expect("ack")
	c.send(map[string]any{"type": "ping"})
	c.expect("pong")
	if err := c.c.WriteMessage(websocket.TextMessage, []byte{'{', 0xff, 0xfe, '}'}); err != nil {
		t.Fatal(err)
	}
	if code := c.expectClose(); code != websocket.CloseInvalidFramePayloadData {
		t.Fatalf("invalid utf-8: close %d, want 1007", code)
	}
}

// Only allowed origins may open the socket.
func TestOriginAllowList(t *testing.T) {
	e := newEnv(t, func(c *envConfig) { c.opts.AllowedOrigins = []string{"https://www.gov.kr"} })
	for origin, ok := range map[string]bool{"https://evil.example": false, "https://www.gov.kr": true, e.srv.URL: true} {
		h := http.Header{"Origin": {origin}}
		c, resp, err := websocket.DefaultDialer.Dial(e.wsURL(), h)
		if ok != (err == nil) {
			t.Fatalf("origin %s: err %v", origin, err)
		}
		if !ok && resp.StatusCode != http.StatusForbidden {
			t.Fatalf("origin %s: status %d", origin, resp.StatusCode)
		}
		if c != nil {
			c.Close()
		}
	}
}

// Rate limits: new chats per IP and messages per contact, with clear
// error frames.
func TestRateLimits(t *testing.T) {
	e := newEnv(t, func(c *envConfig) {
		c.opts.NewChatBurst = 2
		c.opts.NewChatsPerIP = 0.001
		c.opts.MsgBurst = 3
		c.opts.MsgsPerSecond = 0.001
	})
	c := e.dial(t)
	c.start("110", "general")
	e.dial(t).start("110", "general")
	third := e.dial(t)
	third.send(map[string]any{"type": "start", "number": "110"})
	if f := third.expect("error"); f["code"] != "rate_limited" || num(f, "retry_after_s") < 1 {
		t.Fatalf("new chat limit: %v", f)
	}
	for i := range 3 {
		c.send(map[string]any{"type": "msg", "id": "m", "text": "hi"})
		if a := c.expect("ack"); num(a, "seq") != int64(i+1) {
			t.Fatalf("ack %v", a)
		}
	}
	c.send(map[string]any{"type": "msg", "id": "m4", "text": "hi"})
	if f := c.expect("error"); f["code"] != "rate_limited" || f["id"] != "m4" {
		t.Fatalf("message limit: %v", f)
	}
	c.send(map[string]any{"type": "ping"})
	c.expect("pong")
}

// Overload: a full routing inbox answers "busy"; the chat is not created.
func TestBusyHub(t *testing.T) {
	e := newEnv(t, func(c *envConfig) { c.busy = true })
	c := e.dial(t)
	c.send(map[string]any{"type": "start", "number": "110"})
	if f := c.expect("error"); f["code"] != "busy" {
		t.Fatalf("busy: %v", f)
	}
	c.send(map[string]any{"type": "ping"})
	c.expect("pong")
}

// Unhealthy storage refuses new chats with a clear error; existing chats
// continue.
func TestUnhealthyStoreRefusesNewChats(t *testing.T) {
	e := newEnv(t)
	old := e.dial(t)
	old.start("110", "general")
	e.faults.sick.Store(true)
	c := e.dial(t)
	c.send(map[string]any{"type": "start", "number": "110"})
	f := c.expect("error")
	if f["code"] != "unavailable" || !strings.Contains(f["message"].(string), "unavailable") {
		t.Fatalf("unhealthy: %v", f)
	}
	old.send(map[string]any{"type": "msg", "id": "go-on", "text": "still there?"})
	if a := old.expect("ack"); a["id"] != "go-on" {
		t.Fatalf("existing chat: %v", a)
	}
}

// No ack without a durable commit: a failed write answers not_saved, the
// seq is not consumed and the next stored message gets it.
func TestNoAckWithoutDurableCommit(t *testing.T) {
	e := newEnv(t)
	c := e.dial(t)
	id, _ := c.start("110", "general")
	e.hub.accept(t, id, "a1")
	c.expect("agent_joined")
	c.expect("msg") // joined system message = seq 1
	e.faults.failDurable.Store(true)
	c.send(map[string]any{"type": "msg", "id": "lost", "text": "not stored"})
	if f := c.expect("error"); f["code"] != "not_saved" || f["id"] != "lost" {
		t.Fatalf("failed write: %v", f)
	}
	if _, err := e.svc.AgentSend(context.Background(), id, "a1", "x"); err != ErrNotDurable {
		t.Fatalf("AgentSend on failing store: %v", err)
	}
	e.faults.failDurable.Store(false)
	c.send(map[string]any{"type": "msg", "id": "kept", "text": "stored"})
	if a := c.expect("ack"); num(a, "seq") != 2 {
		t.Fatalf("ack after recovery %v", a)
	}
	msgs, _ := e.st.ChatMessages(context.Background(), uint64(id), 0)
	for _, m := range msgs {
		if m.Text == "not stored" || m.Text == "x" {
			t.Fatalf("failed message stored: %+v", msgs)
		}
	}
}

// A slow client is cut off through its bounded send buffer, then resumes
// and gets what it missed.
func TestSlowClientCutOffThenResumes(t *testing.T) {
	e := newEnv(t, func(c *envConfig) { c.opts.SendBuffer = 4 })
	c := e.dial(t)
	id, token := c.start("110", "general")
	e.hub.accept(t, id, "a1")
	c.expect("agent_joined")
	var log eventLog
	defer e.svc.Subscribe(id, log.add)()
	// The client reads nothing; typing frames fill the socket, then the queue.
	for i := 0; i < 2_000_000 && !log.has(EventDetached, 0); i++ {
		if err := e.svc.AgentTyping(id, "a1"); err != nil {
			t.Fatal(err)
		}
		if i%1000 == 0 {
			runtime.Gosched() // let the writer run; no wall-clock wait
		}
	}
	eventually(t, "cut off", func() bool { return log.has(EventDetached, 0) })
	seq, err := e.svc.AgentSend(context.Background(), id, "a1", "while cut off")
	if err != nil {
		t.Fatal(err)
	}
	c2 := e.dial(t)
	c2.send(map[string]any{"type": "resume", "token": token, "last_seq": seq - 1})
	c2.expect("resumed")
	h := c2.expect("history")["messages"].([]any)
	if len(h) != 1 || h[0].(map[string]any)["text"] != "while cut off" {
		t.Fatalf("history %v", h)
	}
}

// Waiting citizen books a callback: stored durably, routing told, place kept.
func TestCallbackWhileWaiting(t *testing.T) {
	e := newEnv(t)
	c := e.dial(t)
	id, _ := c.start("110", "general")
	e.svc.deliver([]router.Command{router.CallbackOffered{Contact: id, Reason: "long wait"}})
	c.expect("callback_offer")
	c.send(map[string]any{"type": "callback", "phone": "abc"})
	if f := c.expect("error"); f["code"] != "bad_phone" {
		t.Fatalf("bad phone: %v", f)
	}
	c.send(map[string]any{"type": "callback", "phone": "010-9876-5432"})
	c.expect("callback_booked")
	if en := c.expect("ended"); en["reason"] != "callback" {
		t.Fatalf("ended %v", en)
	}
	cbs, err := e.st.Callbacks(context.Background(), "booked")
	if err != nil || len(cbs) != 1 || cbs[0].Contact != uint64(id) || cbs[0].CitizenNumber != "010-9876-5432" || cbs[0].Arrived.IsZero() {
		t.Fatalf("callbacks %+v %v", cbs, err)
	}
}

// A line that places no callbacks (no outbound trunk, or a crisis line)
// never offers one and refuses a booking: nothing promised is left unplaced.
func TestNoCallbackWhereTheLinePlacesNone(t *testing.T) {
	e := newEnv(t)
	c := e.dial(t)
	id, _ := c.start("1350", "wage")
	e.svc.deliver([]router.Command{router.CallbackOffered{Contact: id, Reason: "long wait"}})
	c.send(map[string]any{"type": "callback", "phone": "010-9876-5432"})
	if f := c.expect("error"); f["code"] != "callback_unavailable" {
		t.Fatalf("callback on a line without callbacks: %v", f)
	}
	cbs, err := e.st.Callbacks(context.Background(), "booked")
	if err != nil || len(cbs) != 0 {
		t.Fatalf("callbacks %+v %v", cbs, err)
	}
}

// A closed hotline ends the chat as offline: the citizen can leave a
// message or book a callback.
func TestClosedHotlineLeaveMessage(t *testing.T) {
	e := newEnv(t, func(c *envConfig) {
		c.opts.Hotlines = append(c.opts.Hotlines, Hotline{Number: "1345", NameKO: "외국인", NameEN: "Immigration", Callbacks: true})
	})
	c := e.dial(t)
	id, _ := c.start("1345", "")
	en := c.expect("ended")
	if en["reason"] != "closed" || en["offline"] != true {
		t.Fatalf("ended %v", en)
	}
	c.send(map[string]any{"type": "msg", "id": "m", "text": "hi"})
	if f := c.expect("error"); f["code"] != "ended" {
		t.Fatalf("msg after end: %v", f)
	}
	c.send(map[string]any{"type": "leave_message", "id": "lm", "text": "체류 연장 문의입니다"})
	c.expect("ack")
	c.send(map[string]any{"type": "callback", "phone": "01012345678"})
	c.expect("callback_booked")
	msgs, _ := e.st.ChatMessages(context.Background(), uint64(id), 0)
	if len(msgs) == 0 || msgs[0].Text != "체류 연장 문의입니다" {
		t.Fatalf("left message %+v", msgs)
	}
}

// The citizen ends, rates 1-5 once and downloads the transcript as text.
func TestEndRateAndTranscript(t *testing.T) {
	e := newEnv(t, func(c *envConfig) { c.opts.AgentAlias = func(router.AgentID) string { return "상담사 7" } })
	c := e.dial(t)
	id, token := c.start("110", "general")
	e.hub.accept(t, id, "secret.name")
	c.expect("agent_joined")
	c.send(map[string]any{"type": "rate", "score": 5})
	if f := c.expect("error"); f["code"] != "bad_state" {
		t.Fatalf("rate before end: %v", f)
	}
	c.send(map[string]any{"type": "msg", "id": "1", "text": "<script>alert(1)</script> 고맙습니다"})
	c.expect("ack")
	if _, err := e.svc.AgentSend(context.Background(), id, "secret.name", "천만에요 & 안녕히"); err != nil {
		t.Fatal(err)
	}
	c.send(map[string]any{"type": "end"})
	if en := c.expect("ended"); en["reason"] != "citizen_ended" {
		t.Fatalf("ended %v", en)
	}
	c.send(map[string]any{"type": "rate", "score": 9})
	if f := c.expect("error"); f["code"] != "bad_score" {
		t.Fatalf("bad score %v", f)
	}
	c.send(map[string]any{"type": "rate", "score": 4})
	c.expect("rated")
	c.send(map[string]any{"type": "rate", "score": 4})
	if f := c.expect("error"); f["code"] != "already_rated" {
		t.Fatalf("second rating %v", f)
	}
	eventually(t, "satisfaction stored", func() bool {
		ct, err := e.st.Contact(context.Background(), uint64(id))
		return err == nil && ct.Satisfaction == 4
	})
	resp, body := httpGet(t, e.srv.URL+"/chat/transcript", map[string]string{"Authorization": "Bearer " + token})
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("transcript %d %v", resp.StatusCode, resp.Header)
	}
	for _, want := range []string{"<script>alert(1)</script> 고맙습니다", "상담사 7: 천만에요 & 안녕히"} {
		if !strings.Contains(body, want) {
			t.Fatalf("transcript lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "secret.name") {
		t.Fatalf("transcript leaks the agent's name:\n%s", body)
	}
	routed := e.hub.routed(id)
	if !slices.ContainsFunc(routed, func(ev router.Event) bool { _, ok := ev.(router.ContactEnded); return ok }) {
		t.Fatalf("routing not told: %v", routed)
	}
}

// The page, widget and static files are served with CSP frame-ancestors.
func TestPageWidgetAndHeaders(t *testing.T) {
	e := newEnv(t, func(c *envConfig) { c.opts.FrameAncestors = []string{"https://www.gov.kr"} })
	for _, p := range []string{"/chat", "/chat/", "/chat/110"} {
		resp, body := httpGet(t, e.srv.URL+p, nil)
		if resp.StatusCode != 200 || !strings.Contains(body, `<html lang="ko">`) {
			t.Fatalf("%s: %d", p, resp.StatusCode)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors 'self' https://www.gov.kr") || !strings.Contains(csp, "script-src 'self'") {
			t.Fatalf("%s: CSP %q", p, csp)
		}
	}
	if resp, _ := httpGet(t, e.srv.URL+"/chat/9999", nil); resp.StatusCode != 404 {
		t.Fatalf("unknown number page: %d", resp.StatusCode)
	}
	resp, body := httpGet(t, e.srv.URL+"/chat/widget.js", nil)
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "javascript") || !strings.Contains(body, "iframe") {
		t.Fatalf("widget: %d %v", resp.StatusCode, resp.Header)
	}
	for _, p := range []string{"/chat/static/chat.js", "/chat/static/chat.css", "/chat/hotlines.json"} {
		if resp, _ := httpGet(t, e.srv.URL+p, nil); resp.StatusCode != 200 {
			t.Fatalf("%s: %d", p, resp.StatusCode)
		}
	}
	// The page script renders text with textContent only.
	_, js := httpGet(t, e.srv.URL+"/chat/static/chat.js", nil)
	if strings.Contains(js, "innerHTML") || strings.Contains(js, "insertAdjacentHTML") {
		t.Fatal("chat.js must not inject HTML")
	}
}

// Waiting chats send nothing for long: the server's pings keep them alive
// past the start timeout; a connection that never starts is closed (4002).
func TestKeepAliveAndStartTimeout(t *testing.T) {
	e := newEnv(t, func(c *envConfig) {
		c.opts.StartTimeout = 100 * time.Millisecond
		c.opts.PingEvery = 250 * time.Millisecond // longer than the start timeout
	})
	idle := e.dial(t)
	if code := idle.expectClose(); code != CloseNoStart {
		t.Fatalf("no start: close %d", code)
	}
	c := e.dial(t)
	pings := make(chan struct{}, 100)
	c.c.SetPingHandler(func(data string) error {
		pings <- struct{}{}
		return c.c.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	id, _ := c.start("110", "general")
	gone := make(chan struct{})
	go func() { // keep reading so control frames are handled
		defer close(gone)
		for {
			if _, _, err := c.c.NextReader(); err != nil {
				return
			}
		}
	}()
	for range 2 { // 500 ms, well past the start timeout
		select {
		case <-pings:
		case <-time.After(5 * time.Second):
			t.Fatal("no ping")
		}
	}
	select {
	case <-gone:
		t.Fatal("connection dropped while waiting")
	default:
	}
	cv := e.svc.conv(id)
	cv.mu.Lock()
	attached := cv.conn != nil
	cv.mu.Unlock()
	if !attached {
		t.Fatal("chat lost its connection while waiting")
	}
}

// A transfer: the citizen sees the agent leave (back to waiting, system
// message), then the new agent's alias; the first agent can no longer send.
func TestTransferShowsSystemMessages(t *testing.T) {
	e := newEnv(t, func(c *envConfig) {
		c.opts.AgentAlias = func(a router.AgentID) string {
			if a == "a1" {
				return "상담사 하나"
			}
			return "상담사 둘"
		}
	})
	c := e.dial(t)
	id, _ := c.start("110", "general")
	e.hub.accept(t, id, "a1")
	c.expect("agent_joined")
	c.expectText("상담사 하나 상담사가 연결되었습니다.")
	if _, err := e.hub.Do(context.Background(), router.ContactTransferred{Contact: id, ToAgent: "kim.realname", By: "a1", Note: "labor law"}); err != nil {
		t.Fatalf("transfer: %v", err)
	}
	if st := c.expect("state"); st["state"] != "waiting" {
		t.Fatalf("state %v", st)
	}
	c.expectText("상담사가 나갔습니다. 다음 상담사를 기다리고 있습니다.")
	if _, err := e.svc.AgentSend(context.Background(), id, "a1", "still here?"); err != ErrNotYours {
		t.Fatalf("old agent after transfer: %v", err)
	}
	e.hub.accept(t, id, "kim.realname")
	if j := c.expect("agent_joined"); j["alias"] != "상담사 둘" {
		t.Fatalf("joined %v", j)
	}
	c.expectText("상담사 둘 상담사에게 전환되었습니다.")
	if _, err := e.svc.AgentSend(context.Background(), id, "kim.realname", "이어서 도와드리겠습니다"); err != nil {
		t.Fatal(err)
	}
}

// A resume token is short-lived: once the chat has ended it opens it only
// for ResumeTTL.
func TestResumeTokenExpiresAfterEnd(t *testing.T) {
	var skew atomic.Int64
	e := newEnv(t, func(c *envConfig) {
		c.opts.ResumeTTL = 10 * time.Minute
		c.opts.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	})
	c := e.dial(t)
	_, token := c.start("110", "general")
	c.send(map[string]any{"type": "end"})
	c.expect("ended")
	skew.Store(int64(9 * time.Minute))
	c2 := e.dial(t)
	c2.send(map[string]any{"type": "resume", "token": token, "last_seq": 0})
	if r := c2.expect("resumed"); r["state"] != "ended" {
		t.Fatalf("resumed %v", r)
	}
	resp, _ := httpGet(t, e.srv.URL+"/chat/transcript", map[string]string{"Authorization": "Bearer " + token})
	if resp.StatusCode != 200 {
		t.Fatalf("transcript within TTL: %d", resp.StatusCode)
	}
	skew.Store(int64(11 * time.Minute))
	c3 := e.dial(t)
	c3.send(map[string]any{"type": "resume", "token": token, "last_seq": 0})
	if f := c3.expect("error"); f["code"] != "bad_token" {
		t.Fatalf("expired token: %v", f)
	}
	if code := c3.expectClose(); code != CloseBadToken {
		t.Fatalf("close %d", code)
	}
	if resp, _ := httpGet(t, e.srv.URL+"/chat/transcript", map[string]string{"Authorization": "Bearer " + token}); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("transcript after TTL: %d", resp.StatusCode)
	}
}
