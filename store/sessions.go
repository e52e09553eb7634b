package store

import (
	"context"
	"time"
)

// ConsoleSession is one console sign-in as stored: the token's SHA-256 (hex),
// never the token.
type ConsoleSession struct {
	TokenHash string    `db:"token_hash"`
	User      string    `db:"username"`
	Display   string    `db:"display"`
	Role      string    `db:"role"`
	CSRF      string    `db:"csrf"`
	Expires   time.Time `db:"-"`
}

type sessionRow struct {
	ConsoleSession
	ExpiresMS int64 `db:"expires_at"`
}

// SaveSession stores (or replaces) a sign-in and forgets expired ones;
// durable before it returns.
func (s *Store) SaveSession(ctx context.Context, cs ConsoleSession) error {
	return s.exec(ctx, func(t *wtx) error {
		if _, err := t.exec(`DELETE FROM console_sessions WHERE expires_at < ?`, t.now.UnixMilli()); err != nil {
			return err
		}
		_, err := t.exec(`INSERT INTO console_sessions (token_hash, username, display, role, csrf, expires_at)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT(token_hash) DO UPDATE SET expires_at = excluded.expires_at`,
			cs.TokenHash, cs.User, cs.Display, cs.Role, cs.CSRF, cs.Expires.UnixMilli())
		return err
	})
}

// SessionByHash returns a stored sign-in that has not expired at now
// (ErrNotFound otherwise).
func (s *Store) SessionByHash(ctx context.Context, hash string, now time.Time) (ConsoleSession, error) {
	var r sessionRow
	if err := s.r.GetContext(ctx, &r, `SELECT token_hash, username, display, role, csrf, expires_at
		FROM console_sessions WHERE token_hash = ? AND expires_at >= ?`, hash, now.UnixMilli()); err != nil {
		return ConsoleSession{}, readErr("session", err)
	}
	r.Expires = time.UnixMilli(r.ExpiresMS)
	return r.ConsoleSession, nil
}

// DeleteSession forgets one sign-in (sign-out); durable.
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	return s.exec(ctx, func(t *wtx) error {
		_, err := t.exec(`DELETE FROM console_sessions WHERE token_hash = ?`, hash)
		return err
	})
}

// DeleteUserSessions forgets every sign-in of user (disabled account,
// password reset); durable.
func (s *Store) DeleteUserSessions(ctx context.Context, user string) error {
	return s.exec(ctx, func(t *wtx) error {
		_, err := t.exec(`DELETE FROM console_sessions WHERE username = ?`, user)
		return err
	})
}
