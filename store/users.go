package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"
)

// User roles.
const (
	RoleAgent      = "agent"
	RoleSupervisor = "supervisor"
	RoleAdmin      = "admin"
)

// User is a console / SIP user.
type User struct {
	Username     string
	DisplayName  string
	Alias        string
	Role         string // RoleAgent | RoleSupervisor | RoleAdmin
	PasswordHash string
	SIPHA1MD5    string
	SIPHA1SHA256 string
	Disabled     bool
	Skills       map[string]int
	VoiceCap     int
	ChatCap      int
	FailedLogins int       // read only; see RecordLoginFailure
	LockedUntil  time.Time // read only; zero = not locked
	Created      time.Time // read only
	Updated      time.Time // read only
}

type userRow struct {
	Username     string        `db:"username"`
	DisplayName  string        `db:"display_name"`
	Alias        string        `db:"alias"`
	Role         string        `db:"role"`
	PasswordHash string        `db:"password_hash"`
	HA1MD5       string        `db:"sip_ha1_md5"`
	HA1SHA256    string        `db:"sip_ha1_sha256"`
	Disabled     bool          `db:"disabled"`
	Skills       string        `db:"skills"`
	VoiceCap     int           `db:"voice_cap"`
	ChatCap      int           `db:"chat_cap"`
	FailedLogins int           `db:"failed_logins"`
	LockedUntil  sql.NullInt64 `db:"locked_until"`
	Created      int64         `db:"created_at"`
	Updated      int64         `db:"updated_at"`
}

const userCols = `username, display_name, alias, role, password_hash, sip_ha1_md5, sip_ha1_sha256, disabled, skills,
	voice_cap, chat_cap, failed_logins, locked_until, created_at, updated_at`

func (r userRow) user() User {
	u := User{Username: r.Username, DisplayName: r.DisplayName, Alias: r.Alias, Role: r.Role,
		PasswordHash: r.PasswordHash, SIPHA1MD5: r.HA1MD5, SIPHA1SHA256: r.HA1SHA256, Disabled: r.Disabled,
		VoiceCap: r.VoiceCap, ChatCap: r.ChatCap, FailedLogins: r.FailedLogins, LockedUntil: fromMS(r.LockedUntil),
		Created: time.UnixMilli(r.Created).UTC(), Updated: time.UnixMilli(r.Updated).UTC()}
	_ = json.Unmarshal([]byte(r.Skills), &u.Skills)
	return u
}

// UpsertUser creates or replaces a user's profile and credentials (the
// login-failure counters and created_at are kept). Waits for the commit.
func (s *Store) UpsertUser(ctx context.Context, u User) error {
	return s.UpsertUsers(ctx, []User{u})
}

// UpsertUsers is UpsertUser for several users in one transaction (a
// roster seeded at start-up: one commit, not one per user); a bad user
// rejects them all.
func (s *Store) UpsertUsers(ctx context.Context, users []User) error {
	skills := make([]string, len(users))
	for i, u := range users {
		switch u.Role {
		case RoleAgent, RoleSupervisor, RoleAdmin:
		default:
			return reject("user %q: bad role %q", u.Username, u.Role)
		}
		if u.Username == "" {
			return reject("user without username")
		}
		if u.Skills == nil {
			u.Skills = map[string]int{}
		}
		var err error
		if skills[i], err = jsonText(u.Skills); err != nil {
			return err
		}
	}
	return s.exec(ctx, func(t *wtx) error {
		now := t.now.UnixMilli()
		for i, u := range users {
			_, err := t.exec(`INSERT INTO users (username, display_name, alias, role, password_hash, sip_ha1_md5, sip_ha1_sha256,
				disabled, skills, voice_cap, chat_cap, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (username) DO UPDATE SET display_name = excluded.display_name, alias = excluded.alias,
				role = excluded.role, password_hash = excluded.password_hash, sip_ha1_md5 = excluded.sip_ha1_md5,
				sip_ha1_sha256 = excluded.sip_ha1_sha256, disabled = excluded.disabled, skills = excluded.skills,
				voice_cap = excluded.voice_cap, chat_cap = excluded.chat_cap, updated_at = excluded.updated_at`,
				u.Username, u.DisplayName, u.Alias, u.Role, u.PasswordHash, u.SIPHA1MD5, u.SIPHA1SHA256, u.Disabled,
				skills[i], u.VoiceCap, u.ChatCap, now, now)
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// UserByName returns a user (ErrNotFound).
func (s *Store) UserByName(ctx context.Context, name string) (User, error) {
	var r userRow
	if err := s.r.GetContext(ctx, &r, `SELECT `+userCols+` FROM users WHERE username = ?`, name); err != nil {
		return User{}, readErr("user", err)
	}
	return r.user(), nil
}

// ListUsers returns all users ordered by username.
func (s *Store) ListUsers(ctx context.Context) ([]User, error) {
	var rows []userRow
	if err := s.r.SelectContext(ctx, &rows, `SELECT `+userCols+` FROM users ORDER BY username`); err != nil {
		return nil, readErr("users", err)
	}
	out := make([]User, len(rows))
	for i, r := range rows {
		out[i] = r.user()
	}
	return out, nil
}

// SetUserDisabled enables or disables a user (ErrNotFound).
func (s *Store) SetUserDisabled(ctx context.Context, name string, disabled bool) error {
	return s.exec(ctx, func(t *wtx) error {
		n, err := t.exec(`UPDATE users SET disabled = ?, updated_at = ? WHERE username = ?`, disabled, t.now.UnixMilli(), name)
		if err == nil && n == 0 {
			return ErrNotFound
		}
		return err
	})
}

// RecordLoginFailure counts a failed login. When the count reaches
// lockAfter the user is locked until now+lockFor (the count restarts) and
// locked is true. An already locked user stays locked. ErrNotFound for an
// unknown user.
func (s *Store) RecordLoginFailure(ctx context.Context, name string, now time.Time, lockAfter int, lockFor time.Duration) (locked bool, err error) {
	err = s.exec(ctx, func(t *wtx) error {
		var r struct {
			Failed int           `db:"failed_logins"`
			Until  sql.NullInt64 `db:"locked_until"`
		}
		if err := t.tx.Get(&r, `SELECT failed_logins, locked_until FROM users WHERE username = ?`+t.d.forUpdate(), name); err != nil {
			return readErr("user", err)
		}
		if r.Until.Valid && r.Until.Int64 > now.UnixMilli() {
			locked = true
			return nil
		}
		failed := r.Failed + 1
		var until any
		if lockAfter > 0 && failed >= lockAfter {
			locked = true
			until = now.Add(lockFor).UnixMilli()
			failed = 0
		}
		_, err := t.exec(`UPDATE users SET failed_logins = ?, locked_until = ?, updated_at = ? WHERE username = ?`,
			failed, until, t.now.UnixMilli(), name)
		return err
	})
	return locked, err
}

// ResetLoginFailures clears the failure count and any lock (ErrNotFound).
func (s *Store) ResetLoginFailures(ctx context.Context, name string) error {
	return s.exec(ctx, func(t *wtx) error {
		n, err := t.exec(`UPDATE users SET failed_logins = 0, locked_until = NULL, updated_at = ? WHERE username = ?`,
			t.now.UnixMilli(), name)
		if err == nil && n == 0 {
			return ErrNotFound
		}
		return err
	})
}
