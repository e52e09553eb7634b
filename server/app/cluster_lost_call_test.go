package app

import (
	"testing"
	"time"

	"onecall/internal/testpeers"
	"onecall/router"
	"onecall/store"
)

// A call waiting in line on a node that dies (three real Apps on
// PostgreSQL; the node's embedded NATS server is shut down under it, so it
// neither beats nor reaches routing while its SIP call is up): the leader
// declares the node lost after node_lost_after, the contact ends
// node-lost, and the leader writes the call's record: its Call-ID and
// citizen, hangup cause node-lost, no legs.
func TestClusterNodeLostCallRecord(t *testing.T) {
	nodes := startClusterWith(t, "  node_lost_after: 3s\n", nil)
	lead := leaderOf(t, nodes, 20*time.Second)
	var victim *clusterNode
	for _, c := range nodes {
		if c != lead {
			victim = c
			break
		}
	}
	const citizen = "01012348888"
	fsStartSipp(t, victim.sipUDP(), fsHotline, fsCitizen{From: citizen, Audio: true, WaitBye: 40000})
	var id router.ContactID
	testpeers.WaitFor(t, 20*time.Second, "the call waiting on the leader's replica", func() bool {
		_ = lead.Front().Query(t.Context(), func(e *router.Engine) {
			for _, v := range e.LiveContacts(router.Voice) {
				if int(v.ID.Node()) == victim.n && v.State == router.Waiting {
					id = v.ID
				}
			}
		})
		return id != 0
	})
	// And the call's node heard back: killed between the engine's apply
	// and the reply to its arrival, the node refuses the call itself
	// (busy) and its own record wins.
	victim.waitingSeen(t, id)
	killed := time.Now()
	victim.node.Close() // as a kill -9 does to the cluster: no beat, no end event
	t.Logf("n%d's NATS server shut down under call %d; n%d leads", victim.n, id, lead.n)

	var rec store.CallRecord
	testpeers.WaitFor(t, 20*time.Second, "the call's node-lost record written by the leader", func() bool {
		recs, err := lead.st.CallRecords(t.Context(), 50)
		if err != nil {
			return false
		}
		for _, r := range recs {
			if r.Contact == uint64(id) {
				rec = r
				return true
			}
		}
		return false
	})
	t.Logf("call record %s after the kill: %+v", time.Since(killed).Round(time.Millisecond), rec)
	if rec.HangupCause != store.CauseNodeLost || rec.CallID == "" || rec.From != citizen || rec.To != fsHotline ||
		len(rec.Legs) != 0 || !rec.Answered.IsZero() || rec.Ended.Before(rec.Started) || rec.Ended.Before(killed) {
		t.Fatalf("call record %+v, want node-lost with the call's Call-ID, from %s, unanswered, no legs", rec, citizen)
	}
	c, err := lead.st.Contact(t.Context(), uint64(id))
	if err != nil || c.EndReason != router.EndNodeLost.String() {
		t.Fatalf("contact %+v %v, want ended node-lost", c, err)
	}
	recs, err := lead.st.CallRecords(t.Context(), 50)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range recs {
		if r.Contact == uint64(id) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d call records for contact %d, want 1", n, id)
	}
}
