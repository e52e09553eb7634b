package store

import (
	"context"
	"testing"
	"time"
)

// Two writers on one PostgreSQL (the nodes of a cluster) that lock the
// same contacts' rows in opposite orders deadlock; the database rolls one
// transaction back. When that is the store's batch, the store runs it
// again at once: its Durable succeeds, storage stays healthy, and the
// conflict is counted.
func TestDeadlockedBatchRunsAgain(t *testing.T) {
	db := newTestDB(t, postgresDialect)
	s := db.open(t, WithBatch(100, 300*time.Millisecond))
	t0 := time.UnixMilli(1_800_000_000_000).UTC()
	must(t, s.Durable(ctxT(t), ContactUpsert{ID: 1, State: "waiting", Channel: "voice", Arrived: t0}))
	must(t, s.Durable(ctxT(t), ContactUpsert{ID: 2, State: "waiting", Channel: "voice", Arrived: t0}))

	ctx := ctxT(t)
	raw := db.raw(t)
	other, err := raw.Conn(ctx)
	must(t, err)
	defer other.Close()
	// The other writer waits long before it checks for a deadlock, so
	// the store's transaction is the one the database rolls back.
	_, err = other.ExecContext(ctx, `SET deadlock_timeout = '20s'`)
	must(t, err)
	_, err = other.ExecContext(ctx, `BEGIN`)
	must(t, err)
	_, err = other.ExecContext(ctx, `UPDATE contacts SET queue = 'other' WHERE id = 2`)
	must(t, err)

	// One batch: contact 1, then contact 2 (held by the other writer).
	must(t, s.Enqueue(ContactUpsert{ID: 1, State: "offered", Offered: t0.Add(time.Second)}))
	done := make(chan error, 1)
	go func() { done <- s.Durable(ctx, ContactUpsert{ID: 2, State: "offered", Offered: t0.Add(time.Second)}) }()
	eventually(t, 10*time.Second, "the store's batch waiting for contact 2", func() bool {
		var n int
		err := raw.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'
			AND datname = current_database()`).Scan(&n)
		return err == nil && n > 0
	})
	// The other writer now wants contact 1, which the batch holds.
	uctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	_, err = other.ExecContext(uctx, `UPDATE contacts SET queue = 'other' WHERE id = 1`)
	must(t, err)
	_, err = other.ExecContext(ctx, `COMMIT`)
	must(t, err)

	if err := <-done; err != nil {
		t.Fatalf("Durable after a deadlock: %v", err)
	}
	if st := s.Stats(); st.Conflicts == 0 || st.Failures != 0 {
		t.Fatalf("stats %+v, want a conflict and no storage fault", st)
	}
	if h := s.Health(); !h.OK {
		t.Fatalf("health %+v after a deadlock", h)
	}
	c, err := s.Contact(ctx, 2)
	must(t, err)
	if c.State != "offered" || c.Queue != "other" {
		t.Fatalf("contact 2 %+v, want offered in queue other", c)
	}
}
