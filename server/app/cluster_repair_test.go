package app

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"onecall/chat"
	"onecall/console"
	"onecall/internal/testpeers"
	"onecall/router"
	"onecall/server"
	"onecall/store"
)

// The node-lost repairs of consoles and chats (cluster_repair.go), checked
// inside TestClusterServeChatAcrossNodes (one cluster start for both): on
// the node that stops, agent02's console (Ready) and a second chat that
// agent01 talks in and whose citizen never comes back.

// Short bounds for the test: node_lost_after (its minimum), the console's
// logout grace and the chat's detach grace.
const (
	repairLostAfter = 3 * time.Second
	repairGrace     = 4 * time.Second
	repairDetach    = 8 * time.Second
)

func startRepairCluster(t *testing.T) []*clusterNode {
	return startClusterWith(t, "  node_lost_after: 3s\n", func(o *Options) {
		o.logoutGrace = repairGrace
		o.editChat = func(c *chat.Options) { c.DetachGrace = repairDetach }
	}, // an outbound trunk, so callbacks can be booked (nothing dials it here)
		"  trunks: []\n", "  trunks:\n    - name: carrier\n      address: \"127.0.0.1:9\"\n")
}

// lostNodeSide is what the stopping node holds for the repairs.
type lostNodeSide struct {
	node    *clusterNode
	lead    *clusterNode
	con     *fsConsole // agent01's, on another node: talks in the chat
	contact router.ContactID
	text    string // the citizen's acknowledged message
	// Callbacks the stopping node holds: one waiting in routing, one
	// between attempts.
	queued, backoff store.Callback
}

// prepareLostNode puts on victim a chat accepted by agent01 (con, on
// another node) with one acknowledged citizen message, and agent02's
// console, Ready; it returns once lead's replica and watches see them.
func prepareLostNode(t *testing.T, victim, lead *clusterNode, con *fsConsole) *lostNodeSide {
	t.Helper()
	cit := startChat(t, &websocket.Dialer{HandshakeTimeout: 5 * time.Second}, "http://"+victim.HTTPAddr())
	started := cit.begin("")
	if started["type"] != "started" {
		t.Fatalf("second chat not started: %v", started)
	}
	s := &lostNodeSide{node: victim, lead: lead, con: con, text: "hello before the node dies",
		contact: router.ContactID(uint64(started["contact"].(float64)))}
	is := func(d json.RawMessage) bool {
		var v struct {
			ID uint64 `json:"id"`
		}
		return json.Unmarshal(d, &v) == nil && v.ID == uint64(s.contact)
	}
	con.event("offer", is)
	busyRetry(t, con, "accept", map[string]any{"contact": uint64(s.contact)})
	cit.next("agent_joined")
	cit.send(map[string]any{"type": "msg", "id": "m1", "text": s.text})
	if ack := cit.next("ack", "error"); ack["type"] != "ack" {
		t.Fatalf("second chat's message: %v", ack)
	}
	s.bookCallbacks(t)
	con2 := victim.fsSignIn(t, "agent02")
	busyRetry(t, con2, "state", map[string]any{"state": "ready"})
	vid := server.NodeName(uint16(victim.n))
	testpeers.WaitFor(t, 10*time.Second, "agent02 ready, its console and the second chat recorded on the stopping node", func() bool {
		return s.agent(t, "agent02").State == router.Ready && lead.consoles.Where("agent02") == vid &&
			slices.Contains(lead.chatCluster.OwnedBy(vid), s.contact)
	})
	testpeers.WaitFor(t, 10*time.Second, "the stopping node's callbacks recorded on it", func() bool {
		q, _ := lead.callbackNode(router.ContactID(s.queued.Contact))
		b, _ := lead.callbackNode(router.ContactID(s.backoff.Contact))
		v, ok := s.contactView(t, router.ContactID(s.queued.Contact))
		return int(q) == victim.n && int(b) == victim.n && ok && v.State == router.Waiting
	})
	checkClusterMetrics(t, victim, lead) // cluster_metrics_test.go
	return s
}

// bookCallbacks books two callbacks of queue imm-vi (no agent of the test
// serves it, so none is offered) on the stopping node, as its IVR does:
// the row in the store, then the SIP service takes it. One waits in
// routing, the other waits for its second attempt in an hour.
func (s *lostNodeSide) bookCallbacks(t *testing.T) {
	t.Helper()
	now := time.Now().Truncate(time.Millisecond)
	rep := s.node.ClusterFront()
	for i, cb := range []*store.Callback{&s.queued, &s.backoff} {
		*cb = store.Callback{Contact: uint64(rep.NewContactID()), CitizenNumber: fmt.Sprintf("0101234567%d", i),
			Hotline: "1345", Queue: "imm-vi", Arrived: now.Add(-time.Minute), Booked: now, Status: store.CallbackBooked,
			Attrs: map[string]string{}}
	}
	s.backoff.Attempts = 1
	s.backoff.Attrs["next_at"] = now.Add(time.Hour).UTC().Format(time.RFC3339)
	for _, cb := range []store.Callback{s.queued, s.backoff} {
		if err := s.node.st.Durable(t.Context(), cb); err != nil {
			t.Fatal(err)
		}
		if err := s.node.sip.BookCallback(t.Context(), cb, false); err != nil {
			t.Fatal(err)
		}
	}
}

func (s *lostNodeSide) contactView(t *testing.T, id router.ContactID) (router.ContactView, bool) {
	var v router.ContactView
	var ok bool
	_ = s.lead.Front().Query(t.Context(), func(e *router.Engine) { v, ok = e.Contact(id) })
	return v, ok
}

// checkCallbacks: once the node is lost the leader places its callbacks:
// the one waiting in routing keeps its place (same contact, same arrival,
// still waiting), the other waits for its next attempt on the leader; the
// store rows stay booked.
func (s *lostNodeSide) checkCallbacks(t *testing.T, stopped time.Time) {
	t.Helper()
	q, b := router.ContactID(s.queued.Contact), router.ContactID(s.backoff.Contact)
	testpeers.WaitFor(t, repairLostAfter+10*time.Second, "the lost node's callbacks adopted by the leader", func() bool {
		nq, _ := s.lead.callbackNode(q)
		nb, _ := s.lead.callbackNode(b)
		return int(nq) == s.lead.n && int(nb) == s.lead.n && s.lead.sip.HoldsCallback(q) && s.lead.sip.HoldsCallback(b)
	})
	t.Logf("after n%d stopped: its callbacks placed by n%d from %v", s.node.n, s.lead.n, time.Since(stopped).Round(time.Millisecond))
	if v, ok := s.contactView(t, q); !ok || v.State != router.Waiting || !v.Arrived.Equal(s.queued.Arrived) {
		t.Errorf("the waiting callback after the adoption: %+v (live %v), want waiting since %v", v, ok, s.queued.Arrived)
	}
	if _, ok := s.contactView(t, b); ok {
		t.Error("the callback between attempts entered routing before its next attempt")
	}
	if n := s.lead.sip.ScheduledCallbacks("imm-vi"); n != 1 {
		t.Errorf("leader's scheduled callbacks of imm-vi: %d, want 1", n)
	}
	for _, cb := range []store.Callback{s.queued, s.backoff} {
		row, err := s.lead.st.Callback(t.Context(), cb.Contact)
		if err != nil || row.Status != store.CallbackBooked || row.Attempts != cb.Attempts {
			t.Errorf("callback %d's row: %+v %v, want booked after %d attempts", cb.Contact, row, err, cb.Attempts)
		}
	}
}

func (s *lostNodeSide) agent(t *testing.T, id router.AgentID) router.AgentView {
	t.Helper()
	var v router.AgentView
	if err := s.lead.Front().Query(t.Context(), func(e *router.Engine) { v, _ = e.Agent(id) }); err != nil {
		t.Fatal(err)
	}
	return v
}

func (s *lostNodeSide) live(t *testing.T, id router.ContactID) bool {
	var ok bool
	_ = s.lead.Front().Query(t.Context(), func(e *router.Engine) { _, ok = e.Contact(id) })
	return ok
}

// check runs once the node stopped at stopped (it beat until then, at most
// a beat before): agent02 goes not-ready "connection_lost" (no offer to the
// empty seat), is logged out after the grace, the second chat ends
// node-lost after the detach grace with its transcript kept, resumed (the
// first chat) stays; agent02 signs in again on other and is routed.
func (s *lostNodeSide) check(t *testing.T, stopped time.Time, resumed router.ContactID, other *clusterNode) {
	t.Helper()
	// The leader's own transports receive every command: agent02's
	// states after the stop, in order, with the log's times.
	var away, out time.Duration
	testpeers.WaitFor(t, repairGrace+10*time.Second, "agent02 not ready (connection lost), then logged out", func() bool {
		away, out = 0, 0
		for _, st := range s.lead.agentStates("agent02", stopped) {
			switch {
			case st.State == router.NotReady && st.Reason == console.ReasonConnectionLost && away == 0 && out == 0:
				away = st.At.Sub(stopped)
			case st.State == router.Offline && out == 0:
				out = st.At.Sub(stopped)
			}
		}
		return out != 0
	})
	if out < repairGrace-time.Second {
		t.Errorf("agent02 logged out %v after the stop; want after %v (less a beat)", out, repairGrace)
	}
	switch {
	case away != 0 && away < repairLostAfter-time.Second:
		t.Errorf("agent02 not ready %v after the stop; want after %v (less a beat)", away, repairLostAfter)
	case away == 0:
		// Logged out without the not-ready step: only right when the
		// leader could not act between the node's loss and the grace (the
		// stop moved what its watches read from), and said why.
		why := s.lead.logsBetween(stopped, stopped.Add(out), "cluster: node watch paused: this node's own beats are late",
			"cluster: console entry of a lost node not read", "cluster: agents whose console was on a lost node not read from routing")
		if len(why) == 0 {
			t.Errorf("agent02 logged out %v after the stop without being not ready first, and the leader logged nothing that kept it from acting", out)
		}
		t.Logf("agent02 went straight to logged out %v after the stop: the leader could not act before (%s)", out, strings.Join(why, "; "))
	}
	if s.agent(t, "agent02").LoggedIn {
		t.Error("agent02 still logged in")
	}
	s.checkCallbacks(t, stopped)
	testpeers.WaitFor(t, repairDetach+5*time.Second, "the second chat ended", func() bool { return !s.live(t, s.contact) })
	ended := time.Since(stopped)
	if ended < repairDetach-time.Second {
		t.Errorf("second chat ended %v after the stop, before the %v detach grace", ended, repairDetach)
	}
	t.Logf("after n%d stopped: agent02 not ready at %v, logged out at %v; the chat never resumed ended at %v",
		s.node.n, away.Round(time.Millisecond), out.Round(time.Millisecond), ended.Round(time.Millisecond))
	if !s.live(t, resumed) {
		t.Errorf("the resumed chat %d ended too", resumed)
	}
	testpeers.WaitFor(t, 10*time.Second, "the second chat's record ended node-lost", func() bool {
		c, err := s.lead.st.Contact(t.Context(), uint64(s.contact))
		return err == nil && c.EndReason == router.EndNodeLost.String()
	})
	var lines []struct {
		Text string `json:"text"`
	}
	if err := json.Unmarshal(s.con.mustCall("transcript", map[string]any{"contact": uint64(s.contact)}), &lines); err != nil {
		t.Fatal(err)
	}
	kept := false
	for _, l := range lines {
		kept = kept || l.Text == s.text
	}
	if !kept {
		t.Errorf("second chat's transcript after its end: %+v, want the citizen's message", lines)
	}
	vid := server.NodeName(uint16(s.node.n))
	testpeers.WaitFor(t, 10*time.Second, "the lost node's entries removed", func() bool {
		return s.lead.consoles.Where("agent02") == "" && len(s.lead.chatCluster.OwnedBy(vid)) == 0
	})

	// agent02 signs in again on another node and is routed (the node's
	// Raft groups may still be electing: the console retries).
	con2 := other.fsSignIn(t, "agent02")
	busyRetry(t, con2, "state", map[string]any{"state": "ready"})
	testpeers.WaitFor(t, 5*time.Second, "agent02 ready in routing", func() bool {
		v := s.agent(t, "agent02")
		return v.LoggedIn && v.State == router.Ready
	})
}

// busyRetry calls cmd until it is answered, while the answer is "busy" or
// "timeout": on a loaded machine the cluster's leader key or stream may be
// electing for a few seconds, and a console's agent tries again.
func busyRetry(t *testing.T, con *fsConsole, cmd string, args any) json.RawMessage {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		m := con.call(cmd, args)
		if m.T == "reply" {
			return m.Data
		}
		if (m.Code != "busy" && m.Code != "timeout") || time.Now().After(deadline) {
			t.Fatalf("%s %v: %s (%s)", cmd, args, m.Error, m.Code)
		}
		t.Logf("%s: %s (%s), trying again", cmd, m.Error, m.Code)
		// A pause between tries, as an agent's would be: without it the
		// console's rate limit refuses the next one.
		select {
		case <-time.After(250 * time.Millisecond):
		case <-t.Context().Done():
			t.Fatalf("%s: %v", cmd, t.Context().Err())
		}
	}
}

// logsBetween returns the messages among msgs that the node logged between
// from and to, with their times.
func (c *clusterNode) logsBetween(from, to time.Time, msgs ...string) []string {
	var out []string
	for _, msg := range msgs {
		for _, r := range c.logRecords(msg) {
			at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(r["time"]))
			if err == nil && !at.Before(from) && !at.After(to) {
				out = append(out, fmt.Sprintf("%s at %v", msg, at.Sub(from).Round(time.Millisecond)))
			}
		}
	}
	return out
}
