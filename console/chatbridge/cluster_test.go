package chatbridge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"onecall/chat"
	"onecall/cluster"
	"onecall/cluster/clustertest"
	"onecall/console"
	"onecall/console/chatbridge"
	"onecall/internal/pgtest"
	"onecall/internal/testpeers"
	"onecall/router"
	"onecall/server"
	"onecall/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// chatNode is one node of the test cluster: its NATS node, store, chat
// service with its cluster bridge, and its HTTP server.
type chatNode struct {
	nd  *cluster.Node
	st  *store.Store
	cs  *chat.Service
	cl  *chatbridge.Cluster
	srv *httptest.Server
}

func (n *chatNode) close() {
	n.srv.CloseClientConnections()
	n.srv.Close()
	n.cl.Close()
	n.cs.Close()
	n.st.Close()
	n.nd.Close()
}

// citizen is a chat page's WebSocket, read by a goroutine into frames.
type citizen struct {
	t      *testing.T
	ws     *websocket.Conn
	frames chan map[string]any
}

func dialCitizen(t *testing.T, srv *httptest.Server) *citizen {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/ws/chat", nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &citizen{t: t, ws: ws, frames: make(chan map[string]any, 256)}
	go func() {
		defer close(c.frames)
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				return
			}
			var f map[string]any
			if json.Unmarshal(data, &f) == nil {
				c.frames <- f
			}
		}
	}()
	t.Cleanup(func() { ws.Close() })
	return c
}

func (c *citizen) send(f map[string]any) {
	c.t.Helper()
	if err := c.ws.WriteJSON(f); err != nil {
		c.t.Fatal(err)
	}
}

// next returns the next frame of type typ, skipping others (receipts,
// queue updates, system messages are checked elsewhere).
func (c *citizen) next(typ string) map[string]any {
	c.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case f, ok := <-c.frames:
			if !ok {
				c.t.Fatalf("connection closed waiting for %q", typ)
			}
			if f["type"] == "error" {
				c.t.Fatalf("error frame waiting for %q: %v", typ, f)
			}
			if f["type"] == typ {
				return f
			}
		case <-deadline:
			c.t.Fatalf("no %q frame within 10 s", typ)
		}
	}
}

// nextMsg returns the next message frame from an agent.
func (c *citizen) nextMsg() map[string]any {
	c.t.Helper()
	for {
		if f := c.next("msg"); f["from"] == chat.SenderAgent {
			return f
		}
	}
}

// closed waits for the server to close the connection.
func (c *citizen) closed() {
	c.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-c.frames:
			if !ok {
				return
			}
		case <-deadline:
			c.t.Fatal("connection not closed within 10 s")
		}
	}
}

// agentConsole is an agent's console connection on the wire: replies to
// its commands and the events it gets, read by one goroutine.
type agentConsole struct {
	t       *testing.T
	ws      *websocket.Conn
	id      int64
	replies chan consoleFrame
	events  chan consoleFrame
}

type consoleFrame struct {
	T, Kind, Error, Code string
	ID                   int64
	Data                 json.RawMessage
}

func dialConsole(t *testing.T, base, user string) *agentConsole {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	b, _ := json.Marshal(map[string]string{"username": user, "password": "demo"})
	resp, err := hc.Post(base+"/api/login", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var sess struct{ CSRF string }
	err = json.NewDecoder(resp.Body).Decode(&sess)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%s login: %d %v", user, resp.StatusCode, err)
	}
	hdr := http.Header{}
	hdr.Set("Origin", base)
	d := websocket.Dialer{Jar: jar, HandshakeTimeout: 5 * time.Second}
	ws, _, err := d.Dial("ws"+strings.TrimPrefix(base, "http")+"/ws/console?csrf="+sess.CSRF, hdr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	a := &agentConsole{t: t, ws: ws, replies: make(chan consoleFrame, 16), events: make(chan consoleFrame, 1024)}
	go func() {
		for {
			var f consoleFrame
			if err := ws.ReadJSON(&f); err != nil {
				close(a.events)
				return
			}
			switch f.T {
			case "reply", "error":
				a.replies <- f
			case "event":
				a.events <- f
			}
		}
	}()
	return a
}

// call sends cmd and returns its reply or error frame.
func (a *agentConsole) call(cmd string, args any) consoleFrame {
	a.t.Helper()
	a.id++
	if err := a.ws.WriteJSON(map[string]any{"id": a.id, "cmd": cmd, "args": args}); err != nil {
		a.t.Fatal(err)
	}
	for {
		select {
		case f := <-a.replies:
			if f.ID == a.id {
				return f
			}
		case <-time.After(15 * time.Second):
			a.t.Fatalf("no reply to %s", cmd)
		}
	}
}

// event returns the next event for which match is true.
func (a *agentConsole) event(what string, match func(consoleFrame) bool) consoleFrame {
	a.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case f, ok := <-a.events:
			if !ok {
				a.t.Fatalf("console closed waiting for %s", what)
			}
			if match(f) {
				return f
			}
		case <-deadline:
			a.t.Fatalf("no %s within 10 s", what)
		}
	}
}

type chatEventData struct {
	Contact uint64
	Kind    string
	Seq     int64
	Sender  string
	Text    string
}

// TestClusterChatAcrossNodes: three NATS nodes, one PostgreSQL database
// and one routing engine shared by the nodes' chat services (as the
// replicated engine is). A citizen chats on node 1 with an agent whose
// console (a real console service and WebSocket) is on node 2, both ways
// in order; node 1 dies; the citizen resumes on node 3, which takes the
// chat over from the store, and the conversation goes on with the same
// agent and the following sequence numbers. Every acknowledged message is
// in the transcript once.
// chatCluster is three chat nodes on one routing hub, each with its own
// NATS node and store connection (one PostgreSQL database), and agent01's
// console on node 2, ready.
type chatCluster struct {
	hub   *server.Hub
	nodes []*chatNode
	agent *agentConsole
	// kill closes node 1 (index 0) as if it died; the cleanup skips it.
	kill func()
}

func startChatCluster(t *testing.T) *chatCluster {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	dsn := pgtest.Shared(t).Database(t)
	eng, err := router.New(e2eConfig())
	if err != nil {
		t.Fatal(err)
	}
	hub := server.NewHub(eng, server.WithLogger(log))
	natsNodes := clustertest.Start(t, 3)
	nodes := make([]*chatNode, 3)
	for i, nd := range natsNodes {
		st, err := store.OpenPostgres(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		cl, err := chatbridge.NewCluster(ctx, nd, chatbridge.ClusterOptions{Timeout: 2 * time.Second, Logger: log.With("node", nd.ID())})
		if err != nil {
			t.Fatal(err)
		}
		cs, err := chat.New(hub, st, chat.Options{Logger: log.With("node", nd.ID()), MsgsPerSecond: 100, MsgBurst: 100,
			Claim: cl.Claim, Publish: cl.Publish,
			Hotlines: []chat.Hotline{{Number: "1350", NameKO: "고용노동부", NameEN: "Labor",
				Topics: []chat.Topic{{ID: "wage", NameKO: "임금체불", NameEN: "Unpaid wages", Queue: "labor"}}}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := cl.Serve(cs); err != nil {
			t.Fatal(err)
		}
		hub.AddSink(cs.Sink())
		nodes[i] = &chatNode{nd: nd, st: st, cs: cs, cl: cl, srv: httptest.NewServer(cs)}
	}
	dead := false
	kill := func() { nodes[0].close(); dead = true }
	t.Cleanup(func() {
		for i, n := range nodes {
			if i > 0 || !dead {
				n.close()
			}
		}
	})
	// The agent's console runs on node 2, with the cluster's ChatAgent.
	if err := console.SeedUsers(ctx, nodes[1].st, []console.SeedUser{
		{Username: "agent01", DisplayName: "김상담", Role: "agent", Password: "demo", Skills: map[string]int{"labor": 4}, VoiceCap: 1, ChatCap: 3},
	}, "onecall"); err != nil {
		t.Fatal(err)
	}
	svc, err := console.New(hub, nodes[1].st, console.Options{Chat: nodes[1].cl, Logger: log.With("node", "n2")})
	if err != nil {
		t.Fatal(err)
	}
	hub.AddSink(svc.Sink())
	consoleSrv := httptest.NewServer(svc)
	t.Cleanup(func() {
		consoleSrv.CloseClientConnections()
		consoleSrv.Close()
		svc.Close()
	})
	runCtx, stop := context.WithCancel(ctx)
	hubDone := make(chan struct{})
	go func() { hub.Run(runCtx); close(hubDone) }()
	t.Cleanup(func() { stop(); <-hubDone })

	agent := dialConsole(t, consoleSrv.URL, "agent01")
	if f := agent.call("state", map[string]any{"state": "ready"}); f.T != "reply" {
		t.Fatalf("ready: %+v", f)
	}

	return &chatCluster{hub: hub, nodes: nodes, agent: agent, kill: kill}
}

func TestClusterChatAcrossNodes(t *testing.T) {
	ctx := context.Background()
	cc := startChatCluster(t)
	nodes, agent := cc.nodes, cc.agent

	// The citizen starts on node 1; the agent on node 2 accepts.
	cit := dialCitizen(t, nodes[0].srv)
	cit.send(map[string]any{"type": "start", "number": "1350", "topic": "wage", "lang": "ko"})
	started := cit.next("started")
	contact := router.ContactID(started["contact"].(float64))
	token := started["token"].(string)
	agent.event("the offer", func(f consoleFrame) bool {
		var v struct{ ID uint64 }
		return f.Kind == "offer" && json.Unmarshal(f.Data, &v) == nil && v.ID == uint64(contact)
	})
	if f := agent.call("accept", map[string]any{"contact": contact}); f.T != "reply" {
		t.Fatalf("accept: %+v", f)
	}
	cit.next("agent_joined")
	agent.event("connected", func(f consoleFrame) bool { return f.Kind == "connected" })

	acked := map[int64]string{} // every acknowledged seq -> text
	lastSeq := int64(0)
	agentSays := func(text string) {
		t.Helper()
		f := agent.call("send", map[string]any{"contact": contact, "text": text})
		var rep struct{ Seq int64 }
		if f.T != "reply" || json.Unmarshal(f.Data, &rep) != nil {
			t.Fatalf("agent send %q: %+v", text, f)
		}
		if rep.Seq <= lastSeq {
			t.Fatalf("agent message %q got seq %d after %d", text, rep.Seq, lastSeq)
		}
		lastSeq = rep.Seq
		acked[rep.Seq] = text
		if m := cit.nextMsg(); m["text"] != text || int64(m["seq"].(float64)) != rep.Seq {
			t.Fatalf("citizen got %v, want %q seq %d", m, text, rep.Seq)
		}
	}
	citizenSays := func(c *citizen, text string) {
		t.Helper()
		c.send(map[string]any{"type": "msg", "id": text, "text": text})
		ack := c.next("ack")
		seq := int64(ack["seq"].(float64))
		if ack["id"] != text || seq <= lastSeq {
			t.Fatalf("ack %v after seq %d", ack, lastSeq)
		}
		lastSeq = seq
		acked[seq] = text
		f := agent.event("citizen message "+text, func(f consoleFrame) bool {
			var ev chatEventData
			return f.Kind == "chat" && json.Unmarshal(f.Data, &ev) == nil && ev.Kind == "message" && ev.Sender == chat.SenderCitizen
		})
		var ev chatEventData
		_ = json.Unmarshal(f.Data, &ev)
		if ev.Text != text || ev.Seq != seq || ev.Contact != uint64(contact) {
			t.Fatalf("agent got %+v, want %q seq %d", ev, text, seq)
		}
	}
	for i := range 5 {
		citizenSays(cit, fmt.Sprintf("citizen %d on n1", i))
		agentSays(fmt.Sprintf("agent %d to n1", i))
	}
	if f := agent.call("typing", map[string]any{"contact": contact}); f.T != "reply" {
		t.Fatalf("typing: %+v", f)
	}
	cit.next("typing")
	if f := agent.call("read", map[string]any{"contact": contact, "seq": lastSeq}); f.T != "reply" {
		t.Fatalf("read: %+v", f)
	}
	if _, err := nodes[2].cl.AgentSend(ctx, contact, "agent02", "not my chat"); !errors.Is(err, chat.ErrNotYours) {
		t.Fatalf("another agent's send through node 3: %v, want ErrNotYours", err)
	}

	// Node 1 dies. Until the citizen is back, the agent's messages are
	// refused with the code "timeout" (no node holds the chat), and
	// nothing is committed.
	cc.kill()
	cit.closed()
	if f := agent.call("send", map[string]any{"contact": contact, "text": "lost in the gap"}); f.T != "error" || f.Code != "timeout" {
		t.Fatalf("send while the chat's node is down: %+v, want error code timeout", f)
	}

	// The citizen resumes on node 3, which takes the chat over; the
	// console is told to reload it.
	cit3 := dialCitizen(t, nodes[2].srv)
	cit3.send(map[string]any{"type": "resume", "token": token, "last_seq": lastSeq})
	res := cit3.next("resumed")
	if res["state"] != "talking" || int64(res["seq"].(float64)) != lastSeq {
		t.Fatalf("resumed %v, want talking at seq %d", res, lastSeq)
	}
	if !nodes[2].cs.Holds(contact) || nodes[1].cs.Holds(contact) {
		t.Fatal("node 3 does not hold the chat alone")
	}
	agent.event("resync after the takeover", func(f consoleFrame) bool {
		var ev chatEventData
		return f.Kind == "chat" && json.Unmarshal(f.Data, &ev) == nil && ev.Kind == "resync"
	})
	cit = cit3
	for i := range 5 {
		agentSays(fmt.Sprintf("agent %d to n3", i))
		citizenSays(cit, fmt.Sprintf("citizen %d on n3", i))
	}

	f := agent.call("transcript", map[string]any{"contact": contact})
	var lines []testpeers.TranscriptLine
	if f.T != "reply" || json.Unmarshal(f.Data, &lines) != nil {
		t.Fatalf("transcript: %+v", f)
	}
	testpeers.CheckTranscript(t, lines, acked, "lost in the gap")
	if len(acked) != 20 {
		t.Fatalf("%d messages acknowledged, want 20", len(acked))
	}
}

// A chat that routing ended while its node was down, before anyone wrote
// its end to the store, is ended when its citizen resumes on another node:
// the stored record still says talking, but the chat is not entered into
// routing again (cluster run 39 closed such chats twice, or never).
func TestClusterChatEndedWhileItsNodeWasDown(t *testing.T) {
	ctx := context.Background()
	cc := startChatCluster(t)
	contact, token := cc.talkingChatOnNode1(t)

	cc.kill()
	// Routing ends the chat (as the agent's end, or a lost node's repair,
	// does): its node is gone, so nothing writes the end to the store.
	if _, err := cc.hub.Do(ctx, router.ContactEnded{Contact: contact, Reason: router.EndCompleted}); err != nil {
		t.Fatal(err)
	}
	rec, err := cc.nodes[2].st.Contact(ctx, uint64(contact))
	if err != nil || rec.State != "talking" {
		t.Fatalf("stored chat %+v, %v: want still talking (the end is not written yet)", rec, err)
	}

	cit3 := dialCitizen(t, cc.nodes[2].srv)
	cit3.send(map[string]any{"type": "resume", "token": token})
	if res := cit3.next("resumed"); res["state"] != "ended" {
		t.Fatalf("resumed %v, want the chat ended", res)
	}
	if cc.routed(t, contact) {
		t.Fatal("the ended chat was entered into routing again")
	}
	// The chat's own end is written in the background.
	testpeers.WaitFor(t, 5*time.Second, "the chat stored as ended completed", func() bool {
		rec, err = cc.nodes[2].st.Contact(ctx, uint64(contact))
		return err == nil && rec.State == "ended" && rec.EndReason == "completed"
	})
	// And entering it again is refused by routing itself.
	_, err = cc.hub.Do(ctx, router.ContactArrived{Contact: contact, Channel: router.Chat, Number: "1350", Queue: "labor"})
	if !errors.Is(err, router.ErrClosed) {
		t.Fatalf("chat entered again: %v, want ErrClosed", err)
	}
}

// An agent's "end" of a chat whose node died (its citizen has not resumed
// elsewhere) ends it in routing: the agent is free, and the citizen who
// resumes later finds the chat ended. Another agent's "end" is refused.
func TestClusterChatEndWhileItsNodeIsDown(t *testing.T) {
	ctx := context.Background()
	cc := startChatCluster(t)
	contact, token := cc.talkingChatOnNode1(t)
	cc.kill()

	if err := cc.nodes[2].cl.EndByAgent(ctx, contact, "agent02"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("another agent's end while the chat's node is down: %v, want the timeout", err)
	}
	// No owner known either (the node died before its owner entry was
	// written): the end still goes to routing.
	// The bucket's stream may still be electing a leader after the kill
	// (each request times out in 5 s): tried again until it answers.
	testpeers.WaitFor(t, 30*time.Second, "the chat's owner entry purged", func() bool {
		kv, err := cc.nodes[2].nd.JetStream().KeyValue(ctx, chatbridge.OwnerBucket)
		if err == nil {
			err = kv.Purge(ctx, strconv.FormatUint(uint64(contact), 10))
		}
		if err != nil {
			t.Logf("purge: %v", err)
		}
		return err == nil
	})
	if f := cc.agent.call("end", map[string]any{"contact": contact}); f.T != "reply" {
		t.Fatalf("end while the chat's node is down: %+v, want done", f)
	}
	if cc.routed(t, contact) {
		t.Fatal("the chat is still routed after its agent ended it")
	}
	cit3 := dialCitizen(t, cc.nodes[2].srv)
	cit3.send(map[string]any{"type": "resume", "token": token})
	if res := cit3.next("resumed"); res["state"] != "ended" {
		t.Fatalf("resumed %v, want the chat ended", res)
	}
}

// routed reports whether routing holds contact.
func (cc *chatCluster) routed(t *testing.T, contact router.ContactID) bool {
	t.Helper()
	var held bool
	if err := cc.hub.Query(t.Context(), func(e *router.Engine) { _, held = e.Contact(contact) }); err != nil {
		t.Fatal(err)
	}
	return held
}

// talkingChatOnNode1 starts a chat on node 1 that agent01 accepts; the
// citizen's connection is closed when node 1 is killed.
func (cc *chatCluster) talkingChatOnNode1(t *testing.T) (router.ContactID, string) {
	t.Helper()
	cit := dialCitizen(t, cc.nodes[0].srv)
	cit.send(map[string]any{"type": "start", "number": "1350", "topic": "wage", "lang": "ko"})
	started := cit.next("started")
	contact := router.ContactID(started["contact"].(float64))
	cc.agent.event("the offer", func(f consoleFrame) bool {
		var v struct{ ID uint64 }
		return f.Kind == "offer" && json.Unmarshal(f.Data, &v) == nil && v.ID == uint64(contact)
	})
	if f := cc.agent.call("accept", map[string]any{"contact": contact}); f.T != "reply" {
		t.Fatalf("accept: %+v", f)
	}
	cit.next("agent_joined")
	return contact, started["token"].(string)
}
