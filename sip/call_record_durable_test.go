package sip

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"onecall/router"
	"onecall/store"
)

// A call's record is committed before routing hears of the call's end: a
// node killed right after the end event cannot take the record with it.
// The fake hub reads the store when the ContactAbandoned arrives.
func TestCallRecordDurableBeforeEndEvent(t *testing.T) {
	t.Parallel()
	var db atomic.Pointer[store.Store]
	stored := make(chan bool, 1)
	env := newTestEnv(t, nil, func(_ *Options, h *fakeHub) {
		h.onEvent = func(ev router.Event) []router.Command {
			e, ok := ev.(router.ContactAbandoned)
			if !ok {
				return nil
			}
			recs, err := db.Load().CallRecords(context.Background(), 10)
			found := false
			for _, r := range recs {
				found = found || (err == nil && r.Contact == uint64(e.Contact))
			}
			stored <- found
			return nil
		}
	})
	db.Store(env.db)
	c := startSipp(t, "citizen.xml", citizenParams{From: "01011113333", HoldFor: 1500}, env.udp, "110")
	if err := c.wait(t, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	select {
	case ok := <-stored:
		if !ok {
			t.Fatal("the call's end reached routing before its record was in the store")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no ContactAbandoned")
	}
	if rec := env.onlyCDR(t); rec.HangupCause != causeCitizenBye {
		t.Fatalf("record %+v", rec)
	}
}

// A store that cannot commit does not hold a call's end for more than
// recordDurableWait, and the record is not lost: an outside process holds
// the SQLite write lock. Long busy timeout: the Durable wait runs out, the
// record is queued again, and once the lock goes it is written once. Short
// busy timeout: the store fails, gives up on the Durable record at once and
// keeps the one queued again for its retries.
func TestCallRecordWaitBounded(t *testing.T) {
	for _, tc := range []struct {
		name string
		busy time.Duration
		hold time.Duration
	}{
		{"slow store", 10 * time.Second, recordDurableWait + 500*time.Millisecond},
		{"failing store", 200 * time.Millisecond, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "onecall.db")
			db, err := store.Open(t.Context(), path, store.WithBusyTimeout(tc.busy), store.WithBackoff(50*time.Millisecond, 200*time.Millisecond),
				store.WithLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			raw, err := sql.Open("sqlite3", path)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			conn, err := raw.Conn(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
				t.Fatal(err)
			}
			locked := time.Now()
			s := &Service{opts: Options{Store: db}}
			t0 := time.Now().Truncate(time.Millisecond)
			start := time.Now()
			s.persistRecord(slog.New(slog.NewTextHandler(testWriter{t}, nil)), store.CallRecord{CallID: "c1", Contact: 7, From: "010",
				Started: t0, Ended: t0.Add(time.Second), HangupCause: causeCitizenBye})
			waited := time.Since(start)
			if waited > recordDurableWait+300*time.Millisecond {
				t.Fatalf("the call's end waited %v for its record, bound %v", waited, recordDurableWait)
			}
			t.Logf("the call's end waited %v", waited)
			time.Sleep(time.Until(locked.Add(tc.hold)))
			if _, err := conn.ExecContext(t.Context(), "ROLLBACK"); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 10*time.Second, "the record written once", func() bool {
				if err := db.Durable(t.Context(), store.Barrier{}); err != nil {
					return false
				}
				recs, err := db.CallRecords(t.Context(), 10)
				if err != nil || len(recs) > 1 {
					t.Fatalf("records %+v %v, want one", recs, err)
				}
				return len(recs) == 1
			})
		})
	}
}
