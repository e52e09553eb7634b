package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"onecall/internal/pgtest"
	"onecall/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// A cluster node's configuration (store.driver postgres): onecall report
// and onecall user read and write the PostgreSQL database it names.
func TestReportAndUserOnPostgres(t *testing.T) {
	dsn := pgtest.Shared(t).Database(t)
	shipped, err := filepath.Abs("../../configs")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "onecall.yaml")
	yaml := "data_dir: data\nstore:\n  driver: postgres\n  dsn: " + dsn + "\nfiles:\n" +
		"  hotlines: " + filepath.Join(shipped, "hotlines.yaml") + "\n" +
		"  queues: " + filepath.Join(shipped, "queues.yaml") + "\n" +
		"  skills: " + filepath.Join(shipped, "skills.yaml") + "\n" +
		"  demo_roster: \"\"\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	st, err := store.OpenPostgres(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	kst := time.FixedZone("KST", 9*3600)
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, kst)
	for id := uint64(1); id <= 3; id++ {
		arr := at.Add(time.Duration(id) * time.Minute)
		rec := store.ContactUpsert{ID: id, Channel: "voice", Hotline: "110", Queue: "pg-queue", Agent: "kim", State: "ended",
			Arrived: arr, Answered: arr.Add(10 * time.Second), Ended: arr.Add(2 * time.Minute), EndReason: "completed"}
		if id == 3 {
			rec.Answered, rec.Agent, rec.EndReason = time.Time{}, "", "abandoned"
		}
		if err := st.Durable(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"report", "--config", cfg, "--from", "2026-12-07", "--by", "queue", "--every", "1d", "--format", "csv"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "2026-12-07T00:00:00+09:00,pg-queue,3,2,1,") {
		t.Fatalf("report from PostgreSQL:\n%s", out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "onecall.db")); !os.IsNotExist(err) {
		t.Fatalf("a SQLite file was made beside a postgres config: %v", err)
	}

	out.Reset()
	errOut.Reset()
	if code := run(t.Context(), []string{"user", "--config", cfg, "add", "pgadmin", "--role", "admin", "--password", "correct horse battery"}, &out, &errOut); code != 0 {
		t.Fatalf("user add: exit %d: %s %s", code, out.String(), errOut.String())
	}
	st, err = store.OpenPostgres(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if u, err := st.UserByName(ctx, "pgadmin"); err != nil || u.Role != store.RoleAdmin {
		t.Fatalf("user in PostgreSQL: %+v %v", u, err)
	}
}
