package store

import (
	"errors"
	"testing"
	"time"
)

// Console sign-ins: stored by token hash, found again after a reopen until
// they expire, extended in place, removed one by one or per user.
func TestConsoleSessions(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db testDB) {
		s := db.open(t)
		ctx := ctxT(t)
		now := time.Now()
		a := ConsoleSession{TokenHash: "h-a", User: "agent01", Display: "A", Role: RoleAgent, CSRF: "c-a", Expires: now.Add(time.Hour)}
		b := ConsoleSession{TokenHash: "h-b", User: "agent01", Display: "A", Role: RoleAgent, CSRF: "c-b", Expires: now.Add(time.Hour)}
		c := ConsoleSession{TokenHash: "h-c", User: "super01", Display: "S", Role: RoleSupervisor, CSRF: "c-c", Expires: now.Add(time.Minute)}
		for _, cs := range []ConsoleSession{a, b, c} {
			must(t, s.SaveSession(ctx, cs))
		}
		must(t, s.Close())

		s = db.open(t)
		got, err := s.SessionByHash(ctx, "h-a", now)
		must(t, err)
		if got.User != "agent01" || got.Role != RoleAgent || got.CSRF != "c-a" || got.Expires.UnixMilli() != a.Expires.UnixMilli() {
			t.Fatalf("session after reopen = %+v", got)
		}
		if _, err := s.SessionByHash(ctx, "h-c", now.Add(2*time.Minute)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("expired session: %v", err)
		}
		// Extension: saving again moves the expiry only.
		a.Expires = now.Add(3 * time.Hour)
		a.CSRF = "ignored"
		must(t, s.SaveSession(ctx, a))
		if got, _ := s.SessionByHash(ctx, "h-a", now.Add(2*time.Hour)); got.CSRF != "c-a" || got.Expires.UnixMilli() != a.Expires.UnixMilli() {
			t.Fatalf("extended session = %+v", got)
		}
		must(t, s.DeleteSession(ctx, "h-a"))
		if _, err := s.SessionByHash(ctx, "h-a", now); !errors.Is(err, ErrNotFound) {
			t.Fatalf("deleted session: %v", err)
		}
		must(t, s.DeleteUserSessions(ctx, "agent01"))
		if _, err := s.SessionByHash(ctx, "h-b", now); !errors.Is(err, ErrNotFound) {
			t.Fatalf("session of a user signed out everywhere: %v", err)
		}
		if _, err := s.SessionByHash(ctx, "h-c", now); err != nil {
			t.Fatalf("another user's session: %v", err)
		}
	})
}
