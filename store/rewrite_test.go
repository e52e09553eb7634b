package store

import (
	"testing"
	"time"
)

// A cluster's new leader writes again the records of the entries its
// predecessor may not have stored (server.Replica re-issues them to the
// store sink): the history rows written a second time, in order with the
// rest, add nothing, and the contact's row ends as written once.
func TestRecordsWrittenAgainAddNothing(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db testDB) {
		s := db.open(t)
		t0 := time.UnixMilli(1_800_000_000_000).UTC()
		batch := []Record{
			ContactUpsert{ID: 7, State: "waiting", Channel: "voice", Hotline: "110", Queue: "gen-110", Arrived: t0},
			ContactEvent{Contact: 7, At: t0, State: "waiting", Queue: "gen-110"},
			AgentStateLog{Agent: "agent01", State: "ready", At: t0},
			ContactEvent{Contact: 7, At: t0.Add(time.Second), State: EventTransferred, Queue: "gen-110", Agent: "agent01", Reason: "to queue"},
			AgentStateLog{Agent: "agent01", State: "busy", At: t0.Add(time.Second)},
			ContactEvent{Contact: 7, At: t0.Add(2 * time.Second), State: "ended", Queue: "gen-110", Reason: "citizen-bye"},
			ContactUpsert{ID: 7, State: "ended", Ended: t0.Add(2 * time.Second), EndReason: "citizen-bye"},
			AgentStateLog{Agent: "agent01", State: "ready", At: t0.Add(2 * time.Second)},
		}
		for _, rec := range batch {
			must(t, s.Enqueue(rec))
		}
		// The last three written again, then all of them.
		for _, rec := range append(batch[5:], batch...) {
			must(t, s.Enqueue(rec))
		}
		must(t, s.Durable(ctxT(t), Barrier{}))

		evs, err := s.ContactEvents(ctxT(t), 7)
		must(t, err)
		if len(evs) != 3 {
			t.Fatalf("contact events %+v, want waiting, transferred, ended once each", evs)
		}
		c, err := s.Contact(ctxT(t), 7)
		must(t, err)
		if c.State != "ended" || c.EndReason != "citizen-bye" {
			t.Fatalf("contact %+v, want ended citizen-bye", c)
		}
		raw := db.raw(t)
		var transfers int
		must(t, raw.QueryRow(`SELECT transfers FROM contacts WHERE id = 7`).Scan(&transfers))
		if transfers != 1 {
			t.Fatalf("contacts.transfers = %d, want 1", transfers)
		}
		var rows, open int
		must(t, raw.QueryRow(`SELECT COUNT(*), COUNT(*) - COUNT(ended_at) FROM agent_state_log WHERE agent = 'agent01'`).Scan(&rows, &open))
		if rows != 3 || open != 1 {
			t.Fatalf("agent_state_log: %d rows (%d open), want ready, busy, ready with the last open", rows, open)
		}
	})
}

// A chat taken over by another node while its old node's last write was in
// flight: the new node's message at the same seq is refused (its sender
// is not acknowledged), not folded into the stored one as a receipt; the
// same message written again still only fills in its receipt times.
func TestChatMessageAtAStoredSeqRefused(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db testDB) {
		s := db.open(t)
		t0 := time.UnixMilli(1_800_000_000_000).UTC()
		old := ChatMessage{Contact: 9, Seq: 18, SenderKind: SenderCitizen, SenderID: "web:a", Text: "message 17", Sent: t0}
		must(t, s.Durable(ctxT(t), old))
		next := old
		next.Text, next.Sent = "message 18", t0.Add(time.Second)
		if err := s.Durable(ctxT(t), next); err == nil {
			t.Fatal("a second message at seq 18 was stored")
		}
		again := old
		again.Delivered = t0.Add(2 * time.Second)
		must(t, s.Durable(ctxT(t), again))
		msgs, err := s.ChatMessages(ctxT(t), 9, 0)
		must(t, err)
		if len(msgs) != 1 || msgs[0].Text != "message 17" || msgs[0].Delivered.IsZero() {
			t.Fatalf("messages %+v, want message 17 delivered", msgs)
		}
	})
}

// A call whose cluster node died: the leader writes its stand-in record
// (LostCallRecord). Written again (a new leader re-writing its
// predecessor's last records) it adds nothing; a record the call's own node
// stored first wins; one the node stores later (it was cut off, not dead)
// replaces the stand-in; the node's own record written twice is one row.
// One row per call in every order.
func TestLostCallRecordOnePerCall(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db testDB) {
		s := db.open(t)
		t0 := time.UnixMilli(1_800_000_000_000).UTC()
		const node3 = uint64(3) << 44
		lost := func(id uint64, callID string) LostCallRecord {
			return LostCallRecord{CallID: callID, Contact: id, From: "01012345678", To: "110", Started: t0, Ended: t0.Add(9 * time.Second)}
		}
		own := func(id uint64, callID string) CallRecord {
			return CallRecord{CallID: callID, Contact: id, From: "01012345678", To: "110", Codec: "PCMU", Started: t0,
				Answered: t0.Add(2 * time.Second), Ended: t0.Add(5 * time.Second), HangupCause: "citizen-bye",
				Legs: []CallLeg{{Role: "citizen", URI: "sip:01012345678", CallID: callID, Started: t0}}}
		}
		// A: lost, answered at t0+3s (the contact's row says so), written twice.
		a := node3 | 1
		must(t, s.Enqueue(ContactUpsert{ID: a, Channel: "voice", State: "talking", Arrived: t0, Answered: t0.Add(3 * time.Second)}))
		must(t, s.Enqueue(lost(a, "call-a")))
		must(t, s.Enqueue(lost(a, "call-a")))
		// B: its node stored its own record (twice: a Durable write that
		// ran out of time is queued again), then the leader's stand-in.
		b := node3 | 2
		must(t, s.Enqueue(own(b, "call-b")))
		must(t, s.Enqueue(own(b, "call-b")))
		must(t, s.Enqueue(lost(b, "call-b")))
		// C: the stand-in first, then the cut-off node's own record.
		c := node3 | 3
		must(t, s.Enqueue(lost(c, "call-c")))
		must(t, s.Enqueue(own(c, "call-c")))
		// D: never answered, written again after C's own record.
		d := node3 | 4
		must(t, s.Enqueue(lost(d, "call-d")))
		must(t, s.Enqueue(lost(d, "call-d")))
		must(t, s.Durable(ctxT(t), Barrier{}))

		recs, err := s.CallRecords(ctxT(t), 100)
		must(t, err)
		byCall := map[string][]CallRecord{}
		for _, r := range recs {
			byCall[r.CallID] = append(byCall[r.CallID], r)
		}
		if len(recs) != 4 || len(byCall) != 4 {
			t.Fatalf("%d call records %+v, want one for each of 4 calls", len(recs), recs)
		}
		if r := byCall["call-a"][0]; r.Contact != a || r.HangupCause != CauseNodeLost || r.From != "01012345678" || r.To != "110" ||
			!r.Started.Equal(t0) || !r.Answered.Equal(t0.Add(3*time.Second)) || !r.Ended.Equal(t0.Add(9*time.Second)) ||
			len(r.Legs) != 0 || r.RTP != (RTPStats{}) || r.Codec != "" {
			t.Fatalf("lost call record %+v", r)
		}
		for _, id := range []string{"call-b", "call-c"} {
			if r := byCall[id][0]; r.HangupCause != "citizen-bye" || len(r.Legs) != 1 {
				t.Fatalf("%s: %+v, want the node's own record", id, r)
			}
		}
		if r := byCall["call-d"][0]; r.HangupCause != CauseNodeLost || !r.Answered.IsZero() {
			t.Fatalf("never answered lost call %+v", r)
		}
	})
}
