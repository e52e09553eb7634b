package store

import (
	"context"
	"time"
)

// AuditEntry is one line of the audit trail: who did what to whom, when
// and from where. The table is append-only (triggers refuse UPDATE and
// DELETE).
type AuditEntry struct {
	ID     int64     `db:"id" json:"id"`
	At     time.Time `db:"-" json:"-"`
	Actor  string    `db:"actor" json:"actor"`
	Role   string    `db:"role" json:"role,omitempty"`
	Action string    `db:"action" json:"action"`
	Target string    `db:"target" json:"target,omitempty"`
	Detail string    `db:"detail" json:"detail,omitempty"` // JSON object or ""
	Source string    `db:"source" json:"source,omitempty"`
}

type auditRow struct {
	AuditEntry
	AtMS int64 `db:"at"`
}

// AppendAudit appends e (At defaults to the store's clock); durable before
// it returns.
func (s *Store) AppendAudit(ctx context.Context, e AuditEntry) error {
	return s.exec(ctx, func(t *wtx) error {
		at := e.At
		if at.IsZero() {
			at = t.now
		}
		_, err := t.exec(`INSERT INTO audit_log (at, actor, role, action, target, detail, source)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, at.UnixMilli(), e.Actor, e.Role, e.Action, e.Target, e.Detail, e.Source)
		return err
	})
}

// AuditQuery selects audit entries: From/To bound At (zero: open), Actor
// and Action filter when set; the newest Limit entries before BeforeID
// (0: from the newest), newest first.
type AuditQuery struct {
	From, To      time.Time
	Actor, Action string
	BeforeID      int64
	Limit         int
}

// Audit returns the entries matching q, newest first.
func (s *Store) Audit(ctx context.Context, q AuditQuery) ([]AuditEntry, error) {
	if q.Limit <= 0 || q.Limit > 100000 {
		q.Limit = 1000
	}
	query := `SELECT id, at, actor, role, action, target, detail, source FROM audit_log WHERE 1=1`
	var args []any
	if !q.From.IsZero() {
		query += ` AND at >= ?`
		args = append(args, q.From.UnixMilli())
	}
	if !q.To.IsZero() {
		query += ` AND at < ?`
		args = append(args, q.To.UnixMilli())
	}
	if q.Actor != "" {
		query += ` AND actor = ?`
		args = append(args, q.Actor)
	}
	if q.Action != "" {
		query += ` AND action = ?`
		args = append(args, q.Action)
	}
	if q.BeforeID > 0 {
		query += ` AND id < ?`
		args = append(args, q.BeforeID)
	}
	query += ` ORDER BY id DESC LIMIT ?`
	args = append(args, q.Limit)
	var rows []auditRow
	if err := s.r.SelectContext(ctx, &rows, query, args...); err != nil {
		return nil, readErr("audit", err)
	}
	out := make([]AuditEntry, len(rows))
	for i, r := range rows {
		out[i] = r.AuditEntry
		out[i].At = time.UnixMilli(r.AtMS)
	}
	return out, nil
}
