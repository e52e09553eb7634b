package chatbridge_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"onecall/chat"
	"onecall/cluster"
	"onecall/console"
	"onecall/console/chatbridge"
	"onecall/internal/pgtest"
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

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ls []net.Listener
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// startNATS starts n clustered NATS nodes on loopback.
func startNATS(t *testing.T, n int, log *slog.Logger) []*cluster.Node {
	t.Helper()
	ports := freePorts(t, 2*n)
	nodes := make([]*cluster.Node, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		var routes []string
		for j := range n {
			if j != i {
				routes = append(routes, fmt.Sprintf("127.0.0.1:%d", ports[j]))
			}
		}
		cfg := cluster.Config{NodeID: fmt.Sprintf("n%d", i+1), DataDir: t.TempDir(), Secret: "chat-" + t.Name(),
			RoutePort: ports[i], ClientPort: ports[n+i], Routes: routes, SchemaVersion: 1,
			ReadyTimeout: 30 * time.Second, Logger: log}
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
			defer cancel()
			nodes[i], errs[i] = cluster.Start(ctx, cfg)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("start n%d: %v", i+1, err)
		}
	}
	return nodes
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

// TestClusterChatAcrossNodes: three NATS nodes, one PostgreSQL database
// and one routing engine shared by the nodes' chat services (as the
// replicated engine is). A citizen chats on node 1 with an agent whose
// console is on node 2, both ways in order; node 1 dies; the citizen
// resumes on node 3, which takes the chat over from the store, and the
// conversation goes on with the same agent and the following sequence
// numbers. Every acknowledged message is in the transcript once.
func TestClusterChatAcrossNodes(t *testing.T) {
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
	// The agent's console (node 2) accepts every offer.
	hub.AddSink(server.SinkFunc(func(cmds []router.Command) {
		for _, c := range cmds {
			if o, ok := c.(router.Offer); ok && o.Agent == "agent01" {
				_ = hub.Submit(router.OfferAccepted{Contact: o.Contact, Agent: o.Agent})
			}
		}
	}))
	natsNodes := startNATS(t, 3, log)
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
	t.Cleanup(func() {
		for i, n := range nodes {
			if i > 0 || !dead {
				n.close()
			}
		}
	})
	runCtx, stop := context.WithCancel(ctx)
	hubDone := make(chan struct{})
	go func() { hub.Run(runCtx); close(hubDone) }()
	t.Cleanup(func() { stop(); <-hubDone })
	if err := hub.Submit(router.AgentLoggedIn{Agent: "agent01", Ready: true}); err != nil {
		t.Fatal(err)
	}

	// The citizen starts on node 1; the agent (node 2) gets the chat.
	cit := dialCitizen(t, nodes[0].srv)
	cit.send(map[string]any{"type": "start", "number": "1350", "topic": "wage", "lang": "ko"})
	started := cit.next("started")
	contact := router.ContactID(started["contact"].(float64))
	token := started["token"].(string)
	cit.next("agent_joined")
	agent := nodes[1].cl
	events := make(chan console.ChatEvent, 256)
	cancel := agent.Subscribe(contact, func(ev console.ChatEvent) { events <- ev })
	defer cancel()

	acked := map[int64]string{} // every acknowledged seq -> text
	lastSeq := int64(0)
	agentSays := func(text string) {
		t.Helper()
		seq, err := agent.AgentSend(ctx, contact, "agent01", text)
		if err != nil {
			t.Fatalf("agent send %q: %v", text, err)
		}
		if seq <= lastSeq {
			t.Fatalf("agent message %q got seq %d after %d", text, seq, lastSeq)
		}
		lastSeq = seq
		acked[seq] = text
		if f := cit.nextMsg(); f["text"] != text || int64(f["seq"].(float64)) != seq {
			t.Fatalf("citizen got %v, want %q seq %d", f, text, seq)
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
		for {
			select {
			case ev := <-events:
				if ev.Kind != "message" || ev.Sender != chat.SenderCitizen {
					continue
				}
				if ev.Text != text || ev.Seq != seq {
					t.Fatalf("agent got %+v, want %q seq %d", ev, text, seq)
				}
				return
			case <-time.After(10 * time.Second):
				t.Fatalf("agent did not get %q", text)
			}
		}
	}
	for i := range 5 {
		citizenSays(cit, fmt.Sprintf("citizen %d on n1", i))
		agentSays(fmt.Sprintf("agent %d to n1", i))
	}
	if err := agent.AgentTyping(contact, "agent01"); err != nil {
		t.Fatalf("typing: %v", err)
	}
	if err := agent.AgentRead(contact, "agent01", lastSeq); err != nil {
		t.Fatalf("read: %v", err)
	}
	if _, err := agent.AgentSend(ctx, contact, "agent02", "not my chat"); !errors.Is(err, chat.ErrNotYours) {
		t.Fatalf("another agent's send: %v, want ErrNotYours", err)
	}

	// Node 1 dies. Until the citizen is back, the agent's messages fail
	// with a timeout (no one holds the chat), and nothing is committed.
	nodes[0].close()
	dead = true
	cit.closed()
	if _, err := agent.AgentSend(ctx, contact, "agent01", "lost in the gap"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("send while the owner is down: %v, want a timeout", err)
	}

	// The citizen resumes on node 3, which takes the chat over.
	cit3 := dialCitizen(t, nodes[2].srv)
	cit3.send(map[string]any{"type": "resume", "token": token, "last_seq": lastSeq})
	res := cit3.next("resumed")
	if res["state"] != "talking" || int64(res["seq"].(float64)) != lastSeq {
		t.Fatalf("resumed %v, want talking at seq %d", res, lastSeq)
	}
	if !nodes[2].cs.Holds(contact) || nodes[1].cs.Holds(contact) {
		t.Fatal("node 3 does not hold the chat alone")
	}
	cit = cit3
	for i := range 5 {
		agentSays(fmt.Sprintf("agent %d to n3", i))
		citizenSays(cit, fmt.Sprintf("citizen %d on n3", i))
	}

	lines, err := nodes[1].cl.Transcript(ctx, contact)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]int{}
	for _, l := range lines {
		seen[l.Seq]++
		if seen[l.Seq] > 1 {
			t.Fatalf("seq %d twice in the transcript", l.Seq)
		}
		if want, ok := acked[l.Seq]; ok && l.Text != want {
			t.Fatalf("seq %d is %q, acknowledged as %q", l.Seq, l.Text, want)
		}
		if l.Text == "lost in the gap" {
			t.Fatal("a refused message is in the transcript")
		}
	}
	for seq, text := range acked {
		if seen[seq] != 1 {
			t.Fatalf("acknowledged seq %d %q not in the transcript", seq, text)
		}
	}
	if len(acked) != 20 {
		t.Fatalf("%d messages acknowledged, want 20", len(acked))
	}
}
