package servetest

import (
	"context"
	"database/sql"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"onecall/internal/pgtest"
	"onecall/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// NotClosed names each contact without an end with its stored history, on
// the acceptance test's PostgreSQL schema.
func TestNotClosedWithHistory(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Shared(t).Database(t)
	st, err := store.OpenPostgres(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	at := time.Now().Add(-time.Minute)
	for _, r := range []store.Record{
		store.ContactUpsert{ID: 1, Channel: "chat", State: "talking", Agent: "agent01", Arrived: at},
		store.ContactEvent{Contact: 1, At: at, State: "waiting", Queue: "q"},
		store.ContactEvent{Contact: 1, At: at.Add(time.Second), State: "talking", Queue: "q", Agent: "agent01"},
		store.ContactUpsert{ID: 2, Channel: "chat", State: "ended", Arrived: at, Ended: at.Add(time.Second), EndReason: "completed"},
	} {
		if err := st.Durable(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	open, err := NotClosed(db, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 1 || !strings.HasPrefix(open[0], "contact 1: talking (agent agent01); history: ") ||
		!strings.Contains(open[0], " waiting ") || !strings.Contains(open[0], " talking agent01") {
		t.Fatalf("NotClosed = %q, want contact 1 talking with its two events", open)
	}
}
