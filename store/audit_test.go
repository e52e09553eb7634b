package store

import (
	"context"
	"strings"
	"testing"
	"time"
)

// The audit trail is durable, filterable and append-only: the database
// itself refuses UPDATE and DELETE of an entry.
func TestAuditAppendOnly(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t0 := time.UnixMilli(1_800_000_000_000)
		for i, a := range []string{"sign_in", "move", "sign_in"} {
			if err := s.AppendAudit(ctx, AuditEntry{At: t0.Add(time.Duration(i) * time.Second), Actor: "admin", Action: a, Target: "x", Source: "127.0.0.1"}); err != nil {
				t.Fatal(err)
			}
		}
		es, err := s.Audit(ctx, AuditQuery{Action: "sign_in"})
		if err != nil || len(es) != 2 || !es[0].At.Equal(t0.Add(2*time.Second)) || es[0].ID <= es[1].ID {
			t.Fatalf("audit: %+v %v", es, err)
		}
		if es, _ := s.Audit(ctx, AuditQuery{From: t0.Add(time.Second), To: t0.Add(2 * time.Second)}); len(es) != 1 || es[0].Action != "move" {
			t.Fatalf("time window: %+v", es)
		}
		for _, q := range []string{`UPDATE audit_log SET actor = 'mallory'`, `DELETE FROM audit_log`} {
			err := s.exec(ctx, func(t *wtx) error { _, err := t.exec(q); return err })
			if err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Fatalf("%s: %v", q, err)
			}
		}
		if es, _ := s.Audit(ctx, AuditQuery{}); len(es) != 3 || es[0].Actor != "admin" {
			t.Fatalf("entries changed: %+v", es)
		}
	})
}
