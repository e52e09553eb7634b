package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"onecall/router"
)

func TestRecoverWordsMatchRouter(t *testing.T) {
	if EndReasonSystemRestart != router.EndSystemRestart.String() || StateEnded != router.Ended.String() ||
		StateCallbackBooked != router.CallbackBooked.String() {
		t.Fatalf("store words %q %q %q differ from router's %q %q %q", EndReasonSystemRestart, StateEnded, StateCallbackBooked,
			router.EndSystemRestart, router.Ended, router.CallbackBooked)
	}
}

func TestRecover(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		s, err := open(ctx, db.d, db.source)
		must(t, err)
		// Two open chats (arrived out of id order), one ended chat, one voice
		// call in talk, one voice waiting, one ended voice call, a booked and a
		// mid-dial callback, a done callback, agents logged in.
		recs := []Record{
			ContactUpsert{ID: 1, Channel: "chat", Hotline: "1350", Queue: "labor", Citizen: "web:a", State: "waiting", Arrived: t0.Add(2 * time.Minute), Attrs: map[string]string{"lang": "en"}},
			ContactUpsert{ID: 2, Channel: "chat", Hotline: "1345", Queue: "immig", Citizen: "web:b", State: "talking", Agent: "kim", Arrived: t0.Add(time.Minute)},
			ContactUpsert{ID: 3, Channel: "chat", Hotline: "1345", Queue: "immig", Citizen: "web:c", State: "ended", Arrived: t0, Ended: t0.Add(time.Minute), EndReason: "completed"},
			ContactUpsert{ID: 4, Channel: "voice", Hotline: "110", Queue: "police", Citizen: "01011112222", State: "talking", Agent: "lee", Arrived: t0, Answered: t0.Add(10 * time.Second)},
			ContactUpsert{ID: 5, Channel: "voice", Hotline: "110", Queue: "police", Citizen: "01033334444", State: "waiting", Arrived: t0.Add(time.Second)},
			ContactUpsert{ID: 9, Channel: "chat", Hotline: "1350", Queue: "labor", State: router.CallbackBooked.String(), Arrived: t0},
			ContactUpsert{ID: 6, Channel: "voice", Hotline: "110", Queue: "police", State: "ended", Arrived: t0, Ended: t0.Add(time.Minute), EndReason: "completed"},
			Callback{Contact: 10, CitizenNumber: "01055556666", Hotline: "1350", Queue: "labor", Arrived: t0.Add(-time.Hour), Booked: t0},
			Callback{Contact: 11, CitizenNumber: "01077778888", Hotline: "1350", Queue: "labor", Arrived: t0.Add(-2 * time.Hour), Booked: t0, Status: CallbackDialing, Attempts: 1},
			Callback{Contact: 12, CitizenNumber: "01099990000", Hotline: "1350", Queue: "labor", Arrived: t0.Add(-3 * time.Hour), Booked: t0, Status: CallbackDone},
			AgentStateLog{Agent: "kim", State: "ready", At: t0},
			AgentStateLog{Agent: "kim", State: "busy", At: t0.Add(time.Minute)},
			AgentStateLog{Agent: "lee", State: "ready", At: t0},
		}
		for _, r := range recs {
			must(t, s.Enqueue(r))
		}
		must(t, s.Close())

		s = db.open(t)
		now := t0.Add(time.Hour)
		rec, err := s.Recover(ctx, now)
		must(t, err)
		if len(rec.Chats) != 2 || rec.Chats[0].ID != 2 || rec.Chats[1].ID != 1 {
			t.Fatalf("chats: %+v", rec.Chats)
		}
		c1 := rec.Chats[1]
		if !c1.Arrived.Equal(t0.Add(2*time.Minute)) || c1.Queue != "labor" || c1.Hotline != "1350" || c1.Citizen != "web:a" || c1.Attrs["lang"] != "en" {
			t.Fatalf("chat 1: %+v", c1)
		}
		if len(rec.Callbacks) != 2 || rec.Callbacks[0].Contact != 11 || rec.Callbacks[1].Contact != 10 ||
			!rec.Callbacks[0].Arrived.Equal(t0.Add(-2*time.Hour)) || rec.Callbacks[0].Status != CallbackBooked || rec.Callbacks[0].Attempts != 1 {
			t.Fatalf("callbacks: %+v", rec.Callbacks)
		}
		if len(rec.ClosedVoice) != 2 || rec.ClosedVoice[0] != 4 || rec.ClosedVoice[1] != 5 {
			t.Fatalf("closed voice: %v", rec.ClosedVoice)
		}
		if rec.ClosedAgentStates != 2 {
			t.Fatalf("closed agent states: %d", rec.ClosedAgentStates)
		}
		c4, err := s.Contact(ctx, 4)
		must(t, err)
		if c4.EndReason != EndReasonSystemRestart || !c4.Ended.Equal(now) || c4.State != router.Ended.String() || c4.Handle != now.Sub(t0.Add(10*time.Second)) {
			t.Fatalf("voice 4: %+v", c4)
		}
		c6, _ := s.Contact(ctx, 6)
		if c6.EndReason != "completed" {
			t.Fatalf("ended voice touched: %+v", c6)
		}
		ev, err := s.ContactEvents(ctx, 4)
		must(t, err)
		if len(ev) != 1 || ev[0].Reason != EndReasonSystemRestart || ev[0].Agent != "lee" {
			t.Fatalf("voice 4 events: %+v", ev)
		}
		// Idempotent: a second Recover finds nothing more to close.
		rec2, err := s.Recover(ctx, now.Add(time.Minute))
		must(t, err)
		if len(rec2.ClosedVoice) != 0 || rec2.ClosedAgentStates != 0 || len(rec2.Chats) != 2 {
			t.Fatalf("second recover: %+v", rec2)
		}
	})
}

func TestPurge(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		dir := t.TempDir()
		ctx := ctxT(t)
		recPath := filepath.Join(dir, "rec-1.wav")
		must(t, os.WriteFile(recPath, []byte("RIFF"), 0o600))
		must(t, s.Enqueue(ContactUpsert{ID: 1, Channel: "chat", Arrived: t0, Ended: t0.Add(time.Minute)}))
		must(t, s.Enqueue(ContactUpsert{ID: 2, Channel: "chat", Arrived: t0, Ended: t0.Add(48 * time.Hour)}))
		must(t, s.Enqueue(ContactUpsert{ID: 3, Channel: "chat", Arrived: t0}))
		must(t, s.Enqueue(ContactUpsert{ID: 4, Channel: "voice", Arrived: t0, Ended: t0.Add(time.Minute)}))
		must(t, s.Enqueue(CallRecord{CallID: "c4", Contact: 4, Started: t0, RecordingPath: recPath}))
		for c := uint64(1); c <= 3; c++ {
			for seq := int64(1); seq <= 3; seq++ {
				must(t, s.Enqueue(ChatMessage{Contact: c, Seq: seq, SenderKind: SenderAgent, Text: "secret", Sent: t0}))
			}
		}
		res, err := s.Purge(ctx, t0.Add(24*time.Hour))
		must(t, err)
		if n := res.ChatMessages; n != 3 {
			t.Fatalf("purged %d messages, want 3", n)
		}
		m1, _ := s.ChatMessages(ctx, 1, 0)
		m2, _ := s.ChatMessages(ctx, 2, 0)
		m3, _ := s.ChatMessages(ctx, 3, 0)
		if len(m1) != 3 || m1[0].Text != "" || !m1[0].Purged || m2[0].Text != "secret" || m3[0].Text != "secret" {
			t.Fatalf("after purge: %+v %+v %+v", m1, m2, m3)
		}
		if _, err := os.Stat(recPath); !os.IsNotExist(err) {
			t.Fatalf("recording not removed: %v", err)
		}
		crs, _ := s.CallRecords(ctx, 1)
		if crs[0].RecordingPath != "" {
			t.Fatalf("recording path kept: %+v", crs[0])
		}
		c1, _ := s.Contact(ctx, 1)
		if c1.Purged.IsZero() {
			t.Fatal("purged_at not set")
		}
		if res, err := s.Purge(ctx, t0.Add(24*time.Hour)); err != nil || res != (PurgeResult{}) {
			t.Fatalf("second purge: %+v %v", res, err)
		}
	})
}
