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
