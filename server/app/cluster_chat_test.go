package app

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"onecall/internal/testpeers"
	"onecall/router"
)

// TestClusterServeChatAcrossNodes: three `onecall serve` nodes. A citizen
// chats on a follower with agent01, whose console is on the other
// follower, both ways in order; the citizen's node stops; the agent's
// message meanwhile is refused with "timeout"; the citizen resumes on the
// third node, which takes the chat over, and the conversation goes on at
// the following sequence numbers with the same agent. Every acknowledged
// message is in the transcript once. The stopping node also holds
// agent02's console and a second chat whose citizen never comes back: the
// leader repairs them (cluster_repair_test.go).
func TestClusterServeChatAcrossNodes(t *testing.T) {
	nodes := startRepairCluster(t)
	lead := leaderOf(t, nodes, 20*time.Second)
	var others []*clusterNode
	for _, c := range nodes {
		if c != lead {
			others = append(others, c)
		}
	}
	chatNode, agentNode, resumeNode := others[0], others[1], lead
	t.Logf("chat on n%d, agent01's console on n%d, resumed on n%d (leader)", chatNode.n, agentNode.n, resumeNode.n)
	dialer := &websocket.Dialer{HandshakeTimeout: 5 * time.Second}

	con := agentNode.fsSignIn(t, "agent01")
	// Right after the start the leader key may still change hands on a
	// loaded machine: the agent tries again while routing is busy.
	busyRetry(t, con, "state", map[string]any{"state": "ready"})
	cit := startChat(t, dialer, "http://"+chatNode.HTTPAddr())
	started := cit.begin("")
	if started["type"] != "started" {
		t.Fatalf("chat not started: %v", started)
	}
	contact := uint64(started["contact"].(float64))
	token := started["token"].(string)
	isContact := func(d json.RawMessage) bool {
		var v struct {
			ID uint64 `json:"id"`
		}
		return json.Unmarshal(d, &v) == nil && v.ID == contact
	}
	con.event("offer", isContact)
	busyRetry(t, con, "accept", map[string]any{"contact": contact})
	con.event("connected", isContact)
	cit.next("agent_joined")

	acked := map[int64]string{}
	lastSeq := int64(0)
	agentSays := func(c *chatCitizen, text string) {
		t.Helper()
		var rep struct {
			Seq int64 `json:"seq"`
		}
		if err := json.Unmarshal(con.mustCall("send", map[string]any{"contact": contact, "text": text}), &rep); err != nil || rep.Seq <= lastSeq {
			t.Fatalf("agent send %q: seq %d after %d (%v)", text, rep.Seq, lastSeq, err)
		}
		lastSeq = rep.Seq
		acked[rep.Seq] = text
		for {
			m := c.next("msg")
			if m["from"] != "agent" {
				continue
			}
			if m["text"] != text || int64(m["seq"].(float64)) != rep.Seq {
				t.Fatalf("citizen got %v, want %q seq %d", m, text, rep.Seq)
			}
			return
		}
	}
	citizenSays := func(c *chatCitizen, text string) {
		t.Helper()
		c.send(map[string]any{"type": "msg", "id": text, "text": text})
		ack := c.next("ack", "error")
		if ack["type"] != "ack" {
			t.Fatalf("citizen message %q: %v", text, ack)
		}
		seq := int64(ack["seq"].(float64))
		if seq <= lastSeq {
			t.Fatalf("citizen message %q: seq %d after %d", text, seq, lastSeq)
		}
		lastSeq = seq
		acked[seq] = text
		var ev struct {
			Contact uint64 `json:"contact"`
			Kind    string `json:"kind"`
			Seq     int64  `json:"seq"`
			Sender  string `json:"sender"`
			Text    string `json:"text"`
		}
		json.Unmarshal(con.event("chat", func(d json.RawMessage) bool {
			return json.Unmarshal(d, &ev) == nil && ev.Kind == "message" && ev.Sender == "citizen" && ev.Contact == contact
		}), &ev)
		if ev.Contact != contact || ev.Seq != seq || ev.Text != text {
			t.Fatalf("console got %+v, want %q seq %d", ev, text, seq)
		}
	}
	for i := range 3 {
		citizenSays(cit, fmt.Sprintf("citizen %d on n%d", i, chatNode.n))
		agentSays(cit, fmt.Sprintf("agent %d to n%d", i, chatNode.n))
	}

	lost := prepareLostNode(t, chatNode, lead, con)

	// The citizen's node stops.
	stopped := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	if err := chatNode.Shutdown(ctx); err != nil {
		t.Fatalf("n%d shutdown: %v", chatNode.n, err)
	}
	cancel()
	if m := con.call("send", map[string]any{"contact": contact, "text": "lost in the gap"}); m.T != "error" || m.Code != "timeout" {
		t.Fatalf("send while no node holds the chat: %+v, want error code timeout", m)
	}

	// The citizen's page resumes on another node, which takes the chat over.
	cit = startChat(t, dialer, "http://"+resumeNode.HTTPAddr())
	cit.send(map[string]any{"type": "resume", "token": token, "last_seq": lastSeq})
	res := cit.next("resumed", "error")
	if res["type"] != "resumed" || res["state"] != "talking" || int64(res["seq"].(float64)) != lastSeq {
		t.Fatalf("resume on n%d: %v, want talking at seq %d", resumeNode.n, res, lastSeq)
	}
	for i := range 3 {
		agentSays(cit, fmt.Sprintf("agent %d to n%d", i, resumeNode.n))
		citizenSays(cit, fmt.Sprintf("citizen %d on n%d", i, resumeNode.n))
	}

	var lines []testpeers.TranscriptLine
	if err := json.Unmarshal(con.mustCall("transcript", map[string]any{"contact": contact}), &lines); err != nil {
		t.Fatal(err)
	}
	testpeers.CheckTranscript(t, lines, acked, "lost in the gap")
	if len(acked) != 12 {
		t.Fatalf("%d messages acknowledged, want 12", len(acked))
	}
	lost.check(t, stopped, router.ContactID(contact), agentNode)
}
