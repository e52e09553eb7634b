package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestContactUpsertPartialFields(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := ctxT(t)
		must(t, s.Durable(ctx, ContactUpsert{ID: 7, Channel: "voice", Hotline: "110", Queue: "police", Citizen: "01012345678",
			State: "waiting", Arrived: t0, Attrs: map[string]string{"lang": "ko"}}))
		must(t, s.Durable(ctx, ContactUpsert{ID: 7, Agent: "kim", State: "talking", Answered: t0.Add(12 * time.Second), Wait: 12 * time.Second,
			Attrs: map[string]string{"topic": "fines"}}))
		must(t, s.Durable(ctx, ContactWrapUp{Contact: 7, Disposition: "info", Notes: "asked about fines", WrapUp: 30 * time.Second}))
		must(t, s.Durable(ctx, Satisfaction{Contact: 7, Score: 5}))
		c, err := s.Contact(ctx, 7)
		must(t, err)
		if c.Channel != "voice" || c.Hotline != "110" || c.Queue != "police" || c.Agent != "kim" || c.State != "talking" ||
			!c.Arrived.Equal(t0) || !c.Answered.Equal(t0.Add(12*time.Second)) || c.Wait != 12*time.Second ||
			c.Attrs["lang"] != "ko" || c.Attrs["topic"] != "fines" || c.Disposition != "info" || c.Notes != "asked about fines" || c.WrapUp != 30*time.Second ||
			c.Satisfaction != 5 || !c.Ended.IsZero() {
			t.Fatalf("contact = %+v", c)
		}
		if _, err := s.Contact(ctx, 8); !errors.Is(err, ErrNotFound) {
			t.Fatalf("missing contact: %v", err)
		}
		if id, err := s.MaxContactID(ctx); err != nil || id != 7 {
			t.Fatalf("MaxContactID = %d, %v", id, err)
		}
		if err := s.Durable(ctx, Satisfaction{Contact: 7, Score: 9}); err == nil || errors.Is(err, ErrNotDurable) {
			t.Fatalf("bad score should be refused as a value error: %v", err)
		}
		if err := s.Durable(ctx, ContactWrapUp{Contact: 99, Disposition: "x"}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("wrap-up unknown contact: %v", err)
		}
		// A refused record does not poison its batch neighbours.
		must(t, s.Durable(ctx, ContactUpsert{ID: 8, Channel: "chat", Citizen: "web:abc", ResumeHash: "h8", Arrived: t0}))
		c8, err := s.ContactByResumeHash(ctx, "h8")
		must(t, err)
		if c8.ID != 8 {
			t.Fatalf("by resume hash: %+v", c8)
		}
		if st := s.Stats(); st.Rejected != 2 || st.Committed != 5 || st.DurableFailed != 2 {
			t.Fatalf("stats %+v", st)
		}
	})
}

func TestContactsByCitizenAndEvents(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := ctxT(t)
		for i := uint64(1); i <= 3; i++ {
			must(t, s.Enqueue(ContactUpsert{ID: i, Channel: "voice", Citizen: "01099998888", Arrived: t0.Add(time.Duration(i) * time.Minute)}))
			must(t, s.Enqueue(ContactEvent{Contact: i, At: t0, State: "waiting", Queue: "q1"}))
			must(t, s.Enqueue(ContactEvent{Contact: i, At: t0.Add(time.Second), State: "offered", Queue: "q1", Agent: "lee"}))
		}
		must(t, s.Durable(ctx, ContactUpsert{ID: 4, Citizen: "other", Arrived: t0}))
		cs, err := s.ContactsByCitizen(ctx, "01099998888", 2)
		must(t, err)
		if len(cs) != 2 || cs[0].ID != 3 || cs[1].ID != 2 {
			t.Fatalf("by citizen: %+v", cs)
		}
		ev, err := s.ContactEvents(ctx, 2)
		must(t, err)
		if len(ev) != 2 || ev[0].State != "waiting" || ev[1].Agent != "lee" || !ev[1].At.Equal(t0.Add(time.Second)) {
			t.Fatalf("events: %+v", ev)
		}
	})
}

func TestChatMessagesIdempotentAndReceipts(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := ctxT(t)
		for seq := int64(1); seq <= 5; seq++ {
			must(t, s.Durable(ctx, ChatMessage{Contact: 3, Seq: seq, SenderKind: SenderCitizen, SenderID: "web:1", Text: "안녕하세요", Sent: t0}))
		}
		// The same message again (a write retried): no duplicate, text
		// unchanged (another message at a stored seq is refused:
		// TestChatMessageAtAStoredSeqRefused).
		must(t, s.Durable(ctx, ChatMessage{Contact: 3, Seq: 2, SenderKind: SenderCitizen, SenderID: "web:1", Text: "안녕하세요", Sent: t0}))
		must(t, s.Durable(ctx, ChatReceipt{Contact: 3, UpToSeq: 3, Delivered: t0.Add(time.Second)}))
		msgs, err := s.ChatMessages(ctx, 3, 1)
		must(t, err)
		if len(msgs) != 4 || msgs[0].Seq != 2 || msgs[0].Text != "안녕하세요" {
			t.Fatalf("messages: %+v", msgs)
		}
		if !msgs[1].Delivered.Equal(t0.Add(time.Second)) || !msgs[2].Delivered.IsZero() {
			t.Fatalf("receipts: %+v", msgs)
		}
		last, err := s.LastChatSeq(ctx, 3)
		if err != nil || last != 5 {
			t.Fatalf("LastChatSeq = %d, %v", last, err)
		}
		if err := s.Durable(ctx, ChatMessage{Contact: 3, Seq: 6, SenderKind: "robot", Sent: t0}); err == nil {
			t.Fatal("bad sender kind accepted")
		}
	})
}

func TestCallRecordsRegistrationsDispositions(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := ctxT(t)
		must(t, s.Durable(ctx, CallRecord{CallID: "abc@host", Contact: 1, From: "sip:01012345678@trunk", To: "sip:110@onecall",
			Legs: []CallLeg{{Role: "citizen", URI: "sip:01012345678@trunk", Started: t0}}, Codec: "PCMU", Started: t0,
			Answered: t0.Add(3 * time.Second), Ended: t0.Add(time.Minute), HangupCause: "normal", RTP: RTPStats{PacketsSent: 3000, PacketsLost: 2}}))
		crs, err := s.CallRecords(ctx, 10)
		must(t, err)
		if len(crs) != 1 || crs[0].CallID != "abc@host" || len(crs[0].Legs) != 1 || crs[0].RTP.PacketsSent != 3000 ||
			!crs[0].Ended.Equal(t0.Add(time.Minute)) {
			t.Fatalf("cdr: %+v", crs)
		}
		must(t, s.Durable(ctx, Registration{User: "kim", ContactURI: "sip:kim@10.0.0.5:5060", SourceAddr: "10.0.0.5:5060", Expires: t0.Add(time.Hour)}))
		must(t, s.Durable(ctx, Registration{User: "kim", ContactURI: "sip:kim@10.0.0.5:5060", SourceAddr: "10.0.0.6:5060", Expires: t0.Add(2 * time.Hour)}))
		must(t, s.Durable(ctx, Registration{User: "lee", ContactURI: "sip:lee@10.0.0.7", Expires: t0.Add(time.Hour)}))
		regs, err := s.Registrations(ctx)
		must(t, err)
		if len(regs) != 2 || regs[0].SourceAddr != "10.0.0.6:5060" || !regs[0].Expires.Equal(t0.Add(2*time.Hour)) {
			t.Fatalf("registrations: %+v", regs)
		}
		must(t, s.Durable(ctx, RegistrationDelete{User: "kim"}))
		regs, _ = s.Registrations(ctx)
		if len(regs) != 1 || regs[0].User != "lee" {
			t.Fatalf("after delete: %+v", regs)
		}
		must(t, s.Durable(ctx, Disposition{Hotline: "110", Code: "info", Label: "안내"}))
		must(t, s.Durable(ctx, Disposition{Hotline: "110", Code: "info", Label: "Information"}))
		ds, err := s.Dispositions(ctx, "110")
		must(t, err)
		if len(ds) != 1 || ds[0].Label != "Information" {
			t.Fatalf("dispositions: %+v", ds)
		}
	})
}

func TestUsers(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := ctxT(t)
		u := User{Username: "kim", DisplayName: "김상담", Role: RoleAgent, PasswordHash: "$2a$...", SIPHA1MD5: "md5",
			Skills: map[string]int{"labor": 4, "ko": 5}, VoiceCap: 1, ChatCap: 3}
		must(t, s.UpsertUser(ctx, u))
		if err := s.UpsertUser(ctx, User{Username: "x", Role: "root"}); err == nil {
			t.Fatal("bad role accepted")
		}
		got, err := s.UserByName(ctx, "kim")
		must(t, err)
		if got.DisplayName != "김상담" || got.Skills["labor"] != 4 || got.ChatCap != 3 || got.Disabled {
			t.Fatalf("user: %+v", got)
		}
		now := t0
		for i := 1; i <= 2; i++ {
			locked, err := s.RecordLoginFailure(ctx, "kim", now, 3, 15*time.Minute)
			if err != nil || locked {
				t.Fatalf("failure %d: locked=%v err=%v", i, locked, err)
			}
		}
		locked, err := s.RecordLoginFailure(ctx, "kim", now, 3, 15*time.Minute)
		if err != nil || !locked {
			t.Fatalf("third failure: locked=%v err=%v", locked, err)
		}
		got, _ = s.UserByName(ctx, "kim")
		if !got.LockedUntil.Equal(now.Add(15 * time.Minute)) {
			t.Fatalf("locked until %v", got.LockedUntil)
		}
		if locked, _ := s.RecordLoginFailure(ctx, "kim", now.Add(time.Minute), 3, 15*time.Minute); !locked {
			t.Fatal("still locked expected")
		}
		must(t, s.ResetLoginFailures(ctx, "kim"))
		got, _ = s.UserByName(ctx, "kim")
		if got.FailedLogins != 0 || !got.LockedUntil.IsZero() {
			t.Fatalf("after reset: %+v", got)
		}
		if _, err := s.RecordLoginFailure(ctx, "nobody", now, 3, time.Minute); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown user: %v", err)
		}
		must(t, s.SetUserDisabled(ctx, "kim", true))
		if err := s.SetUserDisabled(ctx, "nobody", true); !errors.Is(err, ErrNotFound) {
			t.Fatalf("disable unknown: %v", err)
		}
		// Upsert keeps created_at and updates the profile.
		u.DisplayName = "Kim"
		must(t, s.UpsertUser(ctx, u))
		must(t, s.UpsertUser(ctx, User{Username: "park", Role: RoleSupervisor}))
		us, err := s.ListUsers(ctx)
		must(t, err)
		if len(us) != 2 || us[0].Username != "kim" || us[0].DisplayName != "Kim" || us[0].Disabled || us[1].Role != RoleSupervisor {
			t.Fatalf("users: %+v", us)
		}
		// A batch is one transaction: a bad user rejects all of it.
		if err := s.UpsertUsers(ctx, []User{{Username: "lee", Role: RoleAgent}, {Username: "x", Role: "root"}}); err == nil {
			t.Fatal("bad role accepted in a batch")
		}
		if _, err := s.UserByName(ctx, "lee"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("lee after a rejected batch: %v", err)
		}
		must(t, s.UpsertUsers(ctx, []User{{Username: "lee", Role: RoleAgent}, {Username: "choi", Role: RoleSupervisor, VoiceCap: 2}}))
		if got, err := s.UserByName(ctx, "choi"); err != nil || got.Role != RoleSupervisor || got.VoiceCap != 2 {
			t.Fatalf("choi after the batch: %+v %v", got, err)
		}
	})
}

func TestEnqueueOverloadedNeverBlocks(t *testing.T) {
	path := t.TempDir() + "/o.db"
	s := openTest(t, path, WithQueueSize(4), WithBusyTimeout(time.Millisecond), WithBackoff(time.Hour, time.Hour), WithMaxPending(4))
	// Hold the write lock so the writer cannot drain.
	db := rawDB(t, path, "?_busy_timeout=0")
	conn, err := db.Conn(context.Background())
	must(t, err)
	defer conn.Close()
	_, err = conn.ExecContext(context.Background(), "BEGIN IMMEDIATE")
	must(t, err)
	overloaded := false
	for i := 0; i < 100 && !overloaded; i++ {
		err := s.Enqueue(ContactEvent{Contact: 1, At: t0, State: "waiting"})
		switch {
		case errors.Is(err, ErrOverloaded):
			overloaded = true
		case err != nil:
			t.Fatal(err)
		}
	}
	if !overloaded {
		t.Fatal("queue never reported overload")
	}
	if s.Stats().Overloaded == 0 {
		t.Fatal("overload not counted")
	}
	conn.ExecContext(context.Background(), "ROLLBACK")
}

func TestCloseFlushesAndRefuses(t *testing.T) {
	forEachDialect(t, testCloseFlushesAndRefuses)
}

func testCloseFlushesAndRefuses(t *testing.T, db testDB) {
	s, err := open(context.Background(), db.d, db.source, WithBatch(1000, time.Hour))
	must(t, err)
	// 500 distinct events (one written again would add nothing).
	for i := 0; i < 500; i++ {
		must(t, s.Enqueue(ContactEvent{Contact: 1, At: t0.Add(time.Duration(i) * time.Millisecond), State: "waiting"}))
	}
	must(t, s.Close())
	if err := s.Enqueue(ContactEvent{Contact: 1}); !errors.Is(err, ErrClosed) {
		t.Fatalf("enqueue after close: %v", err)
	}
	s2 := db.open(t)
	ev, err := s2.ContactEvents(context.Background(), 1)
	must(t, err)
	if len(ev) != 500 {
		t.Fatalf("flushed %d events, want 500", len(ev))
	}
}

func TestMaskNumber(t *testing.T) {
	for in, want := range map[string]string{
		"01012345678":          "*******5678",
		"010-1234-5678":        "***-****-5678",
		"+82 10 1234 5678":     "+** ** **** 5678",
		"sip:0212345678@trunk": "sip:******5678@trunk",
		"1234":                 "****",
		"":                     "",
	} {
		if got := MaskNumber(in); got != want {
			t.Errorf("MaskNumber(%q) = %q, want %q", in, got, want)
		}
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestCloseGivesUpAfterTimeoutWhileFailing(t *testing.T) {
	path := t.TempDir() + "/g.db"
	s, err := Open(context.Background(), path, WithBusyTimeout(time.Millisecond),
		WithBackoff(time.Millisecond, 5*time.Millisecond), WithCloseTimeout(50*time.Millisecond))
	must(t, err)
	db := rawDB(t, path, "?_busy_timeout=0")
	conn, err := db.Conn(context.Background())
	must(t, err)
	defer conn.Close()
	_, err = conn.ExecContext(context.Background(), "BEGIN IMMEDIATE")
	must(t, err)
	for i := 0; i < 5; i++ {
		must(t, s.Enqueue(ContactEvent{Contact: 1, At: t0}))
	}
	start := time.Now()
	if err := s.Close(); err == nil {
		t.Fatal("Close reported success with records it could not write")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Close took %v", d)
	}
	if st := s.Stats(); st.Dropped != 5 || st.Committed != 0 {
		t.Fatalf("stats %+v", st)
	}
	if h := s.Health(); h.Pending != 0 {
		t.Fatalf("pending after close %d", h.Pending)
	}
}

// A record the database itself refuses (here a CHECK constraint) is
// answered with its error while the rest of its batch commits. On
// PostgreSQL the refusal aborts the transaction, so the writer redoes the
// batch with a savepoint per record.
func TestRefusedRecordKeepsItsBatch(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := ctxT(t)
		for i := int64(1); i <= 50; i++ {
			must(t, s.Enqueue(ChatMessage{Contact: 1, Seq: i, SenderKind: SenderCitizen, Text: "hi", Sent: t0}))
		}
		err := s.Durable(ctx, Callback{Contact: 9, CitizenNumber: "010", Arrived: t0, Booked: t0, Status: "lost"})
		if err == nil || errors.Is(err, ErrNotDurable) {
			t.Fatalf("bad callback status: %v, want a refusal", err)
		}
		for i := int64(51); i <= 100; i++ {
			must(t, s.Enqueue(ChatMessage{Contact: 1, Seq: i, SenderKind: SenderCitizen, Text: "hi", Sent: t0}))
		}
		must(t, s.Durable(ctx, ContactUpsert{ID: 1, Channel: "chat", Arrived: t0}))
		msgs, err := s.ChatMessages(ctx, 1, 0)
		must(t, err)
		if len(msgs) != 100 {
			t.Fatalf("%d messages kept, want 100", len(msgs))
		}
		if cbs, _ := s.Callbacks(ctx, "lost"); len(cbs) != 0 {
			t.Fatalf("refused callback stored: %+v", cbs)
		}
		if st := s.Stats(); st.Rejected != 1 || st.Committed != 101 || st.Failures != 0 {
			t.Fatalf("stats %+v", st)
		}
		if h := s.Health(); !h.OK {
			t.Fatalf("a refusal made storage unhealthy: %+v", h)
		}
	}, WithBatch(1024, 20*time.Millisecond))
}
