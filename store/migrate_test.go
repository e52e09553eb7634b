package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestMigrateFromEmpty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	s := openTest(t, path)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, path, "?mode=ro")
	var v int
	if err := db.QueryRow(`SELECT max(version) FROM schema_version`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != SchemaVersion() || v < 1 {
		t.Fatalf("schema version %d, binary knows %d", v, SchemaVersion())
	}
	for _, tbl := range []string{"users", "contacts", "contact_events", "chat_messages", "call_records",
		"agent_state_log", "callbacks", "dispositions", "registrations"} {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type='table' AND name=?`, tbl).Scan(&n); err != nil || n != 1 {
			t.Errorf("table %s: n=%d err=%v", tbl, n, err)
		}
	}
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode %q err=%v", mode, err)
	}
	db.Close()
	// Reopening applies nothing and keeps one row per version.
	s2 := openTest(t, path)
	s2.Close()
	db = rawDB(t, path, "?mode=ro")
	var rows int
	if err := db.QueryRow(`SELECT count(*) FROM schema_version`).Scan(&rows); err != nil || rows != SchemaVersion() {
		t.Fatalf("schema_version rows %d err=%v", rows, err)
	}
}

func TestRefuseNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "n.db")
	s := openTest(t, path)
	s.Close()
	db := rawDB(t, path, "")
	if _, err := db.Exec(`INSERT INTO schema_version (version, name, applied_at) VALUES (?, 'future.sql', 0)`, SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err := Open(context.Background(), path)
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("Open on newer schema: %v, want ErrSchemaTooNew", err)
	}
	if !strings.Contains(err.Error(), "version") {
		t.Errorf("error should name the versions: %v", err)
	}
}

func TestMigrationsContiguous(t *testing.T) {
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 {
		t.Fatal("no embedded migrations")
	}
}
