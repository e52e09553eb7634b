package console

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"onecall/router"
	"onecall/server"
	"onecall/store"
)

// env is a real router + hub + store + console on httptest.
type env struct {
	t     *testing.T
	st    *store.Store
	hub   *server.Hub
	svc   *Service
	srv   *httptest.Server
	chat  *fakeChat
	calls *fakeCalls
}

func testConfig() router.Config {
	return router.Config{
		Queues: []router.QueueDef{
			{ID: "labor", Skills: []router.SkillReq{{Skill: "labor", Min: 1}}, SLTarget: 0.8, SLThreshold: 20 * time.Second,
				OfferVoice: 15 * time.Second, OfferChat: 30 * time.Second, WrapUpChat: 60 * time.Second, WrapUpVoice: 60 * time.Second, ChatWhileBusy: true},
			{ID: "general", Skills: []router.SkillReq{{Skill: "general", Min: 1}}, SLTarget: 0.8, SLThreshold: 20 * time.Second,
				OfferChat: 30 * time.Second, WrapUpChat: 60 * time.Second},
		},
		Hotlines: []router.HotlineDef{
			{Number: "1350", DefaultQueue: "labor", Schedule: router.Schedule{Always: true}},
			{Number: "110", DefaultQueue: "general", Schedule: router.Schedule{Always: true}},
		},
		Agents: []router.AgentDef{
			{ID: "agent01", Skills: map[string]int{"labor": 4, "ko": 5}, Voice: 1, Chat: 3},
			{ID: "agent02", Skills: map[string]int{"labor": 3, "general": 3}, Voice: 1, Chat: 3},
		},
		MissedOfferNotReady: true,
	}
}

var testUsers = []SeedUser{
	{Username: "agent01", Role: RoleAgent, Password: "demo", Skills: map[string]int{"labor": 4, "ko": 5}, VoiceCap: 1, ChatCap: 3},
	{Username: "agent02", Role: RoleAgent, Password: "demo", Skills: map[string]int{"labor": 3, "general": 3}, VoiceCap: 1, ChatCap: 3},
	{Username: "super01", Role: RoleSupervisor, Password: "demo"},
	{Username: "admin", Role: RoleAdmin, Password: "demo"},
}

func newEnv(t *testing.T, mutate ...func(*Options)) *env {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "onecall.db"))
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	if err := SeedUsers(ctx, st, testUsers, "onecall"); err != nil {
		t.Fatalf("SeedUsers: %v", err)
	}
	eng, err := router.New(testConfig())
	if err != nil {
		t.Fatalf("router.New: %v", err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	hub := server.NewHub(eng, server.WithLogger(log))
	e := &env{t: t, st: st, hub: hub, chat: newFakeChat(), calls: &fakeCalls{}}
	opts := Options{Chat: e.chat, Calls: e.calls, Logger: log, LogoutGrace: time.Hour, LoginsPerMinute: 1000,
		Dispositions: map[string][]string{"*": {"resolved", "info"}}, CannedResponses: map[string][]Label{"*": {{Ko: "안녕하세요", En: "Hello"}}}}
	for _, m := range mutate {
		m(&opts)
	}
	svc, err := New(hub, st, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	hub.AddSink(svc.Sink())
	e.svc = svc
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { hub.Run(runCtx); close(done) }()
	e.srv = httptest.NewServer(svc)
	t.Cleanup(func() {
		e.srv.CloseClientConnections()
		e.srv.Close()
		svc.Close()
		cancel()
		<-done
	})
	return e
}

// client is one browser: cookie jar + CSRF token.
type client struct {
	e    *env
	hc   *http.Client
	csrf string
	user string
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, hc: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

func (c *client) do(method, path string, body any, hdr map[string]string) (int, []byte) {
	c.e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.e.srv.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// api sends with the CSRF header.
func (c *client) api(method, path string, body any) (int, []byte) {
	return c.do(method, path, body, map[string]string{"X-CSRF-Token": c.csrf})
}

func (c *client) login(user, pw string) int {
	c.e.t.Helper()
	code, b := c.do("POST", "/api/login", loginReq{Username: user, Password: pw}, nil)
	if code == 200 {
		var r sessionResp
		if err := json.Unmarshal(b, &r); err != nil {
			c.e.t.Fatalf("login body: %v", err)
		}
		c.csrf, c.user = r.CSRF, r.User
	}
	return code
}

func (e *env) signedIn(user string) *client {
	e.t.Helper()
	c := e.client()
	if code := c.login(user, "demo"); code != 200 {
		e.t.Fatalf("login %s: %d", user, code)
	}
	return c
}

// wsConn is a test console connection.
type wsConn struct {
	t    *testing.T
	ws   *websocket.Conn
	msgs chan serverMsgIn
	err  chan error
	id   int64
	seq  uint64
	// backlog holds messages skipped while waiting for something else (an
	// event may arrive before the reply to the command that caused it).
	backlog []serverMsgIn
}

type serverMsgIn struct {
	T     string          `json:"t"`
	Seq   uint64          `json:"seq"`
	Kind  string          `json:"kind"`
	ID    int64           `json:"id"`
	Cmd   string          `json:"cmd"`
	Error string          `json:"error"`
	Code  string          `json:"code"`
	Text  *msgText        `json:"text"`
	Data  json.RawMessage `json:"data"`
}

func (c *client) dial() (*wsConn, *http.Response, error) {
	u := "ws" + strings.TrimPrefix(c.e.srv.URL, "http") + "/ws/console?csrf=" + c.csrf
	hdr := http.Header{}
	hdr.Set("Origin", c.e.srv.URL)
	d := websocket.Dialer{Jar: c.hc.Jar, HandshakeTimeout: 5 * time.Second}
	ws, resp, err := d.Dial(u, hdr)
	if err != nil {
		return nil, resp, err
	}
	w := &wsConn{t: c.e.t, ws: ws, msgs: make(chan serverMsgIn, 1024), err: make(chan error, 1)}
	go func() {
		for {
			var m serverMsgIn
			if err := ws.ReadJSON(&m); err != nil {
				w.err <- err
				close(w.msgs)
				return
			}
			w.msgs <- m
		}
	}()
	c.e.t.Cleanup(func() { ws.Close() })
	return w, resp, nil
}

func (c *client) mustDial() *wsConn {
	c.e.t.Helper()
	w, resp, err := c.dial()
	if err != nil {
		code := 0
		if resp != nil {
			code = resp.StatusCode
		}
		c.e.t.Fatalf("dial: %v (%d)", err, code)
	}
	return w
}

// next waits for a message matching pred.
func (w *wsConn) next(what string, pred func(serverMsgIn) bool) serverMsgIn {
	w.t.Helper()
	for i, m := range w.backlog {
		if pred(m) {
			w.backlog = append(w.backlog[:i:i], w.backlog[i+1:]...)
			return m
		}
	}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m, ok := <-w.msgs:
			if !ok {
				w.t.Fatalf("waiting for %s: connection closed: %v", what, <-w.err)
			}
			if m.T == "event" || m.T == "snapshot" {
				w.seq = m.Seq
			}
			if pred(m) {
				return m
			}
			w.backlog = append(w.backlog, m)
		case <-deadline:
			w.t.Fatalf("timeout waiting for %s", what)
		}
	}
}

func (w *wsConn) event(kind string, pred func(json.RawMessage) bool) json.RawMessage {
	w.t.Helper()
	return w.next("event "+kind, func(m serverMsgIn) bool {
		return m.T == "event" && m.Kind == kind && (pred == nil || pred(m.Data))
	}).Data
}

func (w *wsConn) snapshot() snapshotIn {
	w.t.Helper()
	m := w.next("snapshot", func(m serverMsgIn) bool { return m.T == "snapshot" })
	var s snapshotIn
	if err := json.Unmarshal(m.Data, &s); err != nil {
		w.t.Fatalf("snapshot: %v", err)
	}
	return s
}

type snapshotIn struct {
	Me       me            `json:"me"`
	Agent    *AgentView    `json:"agent"`
	Contacts []ContactView `json:"contacts"`
	WrapUp   []wrapView    `json:"wrap_up"`
	Queues   []QueueView   `json:"queues"`
	Agents   []AgentView   `json:"agents"`
}

// call sends a command and waits for its reply or error.
func (w *wsConn) call(cmd string, args any) serverMsgIn {
	w.t.Helper()
	w.id++
	id := w.id
	b, _ := json.Marshal(args)
	if err := w.ws.WriteJSON(clientMsg{ID: id, Cmd: cmd, Args: b}); err != nil {
		w.t.Fatalf("write %s: %v", cmd, err)
	}
	return w.next("reply to "+cmd, func(m serverMsgIn) bool { return (m.T == "reply" || m.T == "error") && m.ID == id })
}

func (w *wsConn) mustCall(cmd string, args any) json.RawMessage {
	w.t.Helper()
	m := w.call(cmd, args)
	if m.T != "reply" {
		w.t.Fatalf("%s: %s", cmd, m.Error)
	}
	return m.Data
}

// closed waits for the server to close the connection and returns the code.
func (w *wsConn) closed() int {
	w.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-w.msgs:
			if !ok {
				err := <-w.err
				if ce, ok := err.(*websocket.CloseError); ok {
					return ce.Code
				}
				return -1
			}
		case <-deadline:
			w.t.Fatalf("timeout waiting for close")
		}
	}
}

func agentIs(state string) func(json.RawMessage) bool {
	return func(d json.RawMessage) bool {
		var a AgentView
		json.Unmarshal(d, &a)
		return a.State == state
	}
}

// fakeChat records what the console asked of the chat service. The real
// chat service is exercised in the browser test.
type fakeChat struct {
	mu    sync.Mutex
	sent  []string
	seq   int64
	ended []router.ContactID
	subs  map[router.ContactID]func(ChatEvent)
	lines map[router.ContactID][]ChatLine
}

func newFakeChat() *fakeChat {
	return &fakeChat{subs: map[router.ContactID]func(ChatEvent){}, lines: map[router.ContactID][]ChatLine{}}
}

func (f *fakeChat) AgentSend(ctx context.Context, c router.ContactID, a router.AgentID, text string) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	f.sent = append(f.sent, text)
	f.lines[c] = append(f.lines[c], ChatLine{Seq: f.seq, Sender: "agent", SenderID: string(a), Text: text})
	return f.seq, nil
}
func (f *fakeChat) AgentTyping(router.ContactID, router.AgentID) error      { return nil }
func (f *fakeChat) AgentRead(router.ContactID, router.AgentID, int64) error { return nil }
func (f *fakeChat) EndByAgent(ctx context.Context, c router.ContactID, a router.AgentID) error {
	f.mu.Lock()
	f.ended = append(f.ended, c)
	f.mu.Unlock()
	return nil
}
func (f *fakeChat) Transcript(ctx context.Context, c router.ContactID) ([]ChatLine, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]ChatLine(nil), f.lines[c]...), nil
}
func (f *fakeChat) Subscribe(c router.ContactID, fn func(ChatEvent)) func() {
	f.mu.Lock()
	f.subs[c] = fn
	f.mu.Unlock()
	return func() {
		f.mu.Lock()
		delete(f.subs, c)
		f.mu.Unlock()
	}
}

// citizenSays delivers a citizen message through the subscription, waiting
// until the console has subscribed.
func (f *fakeChat) citizenSays(t *testing.T, c router.ContactID, text string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		f.mu.Lock()
		fn := f.subs[c]
		if fn != nil {
			f.seq++
			seq := f.seq
			f.lines[c] = append(f.lines[c], ChatLine{Seq: seq, Sender: "citizen", Text: text})
			f.mu.Unlock()
			fn(ChatEvent{Contact: c, Kind: "message", Seq: seq, Sender: "citizen", Text: text, Sent: time.Now()})
			return
		}
		f.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("console never subscribed to chat %d", c)
		}
		<-time.After(5 * time.Millisecond) // polling with a deadline
	}
}

type fakeCalls struct {
	mu  sync.Mutex
	ops []string
}

func (f *fakeCalls) op(s string) error {
	f.mu.Lock()
	f.ops = append(f.ops, s)
	f.mu.Unlock()
	return nil
}
func (f *fakeCalls) Hold(ctx context.Context, c router.ContactID) error   { return f.op("hold") }
func (f *fakeCalls) Resume(ctx context.Context, c router.ContactID) error { return f.op("resume") }
func (f *fakeCalls) Hangup(ctx context.Context, c router.ContactID) error { return f.op("hangup") }
func (f *fakeCalls) Transfer(ctx context.Context, c router.ContactID, to router.TransferTarget, by router.AgentID, note string) error {
	return f.op("transfer " + to.String())
}

func wsDialer(c *client) *websocket.Dialer {
	return &websocket.Dialer{Jar: c.hc.Jar, HandshakeTimeout: 5 * time.Second}
}

func storeOpen(dir string) (*store.Store, error) {
	return store.Open(context.Background(), filepath.Join(dir, "onecall.db"))
}
