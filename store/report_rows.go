package store

import (
	"context"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// ReportContact is what the historical reports read of one contact: no
// citizen, no notes, no transcript (reports carry no personal data).
type ReportContact struct {
	Channel, Hotline, Queue, Agent string
	Arrived, Answered, Ended       time.Time
	EndReason, Disposition         string
	Wait, Handle                   time.Duration
	// Transfers counts the transfers in the contact's history (its
	// EventTransferred events).
	Transfers int
	// Callback is the status of the callback the contact booked
	// (CallbackBooked ... CallbackCancelled), "" if none; CallbackAttempts
	// is the calls placed for it so far.
	Callback         string
	CallbackAttempts int
}

// maxReportSpan bounds one report query (a quarter of contacts at the
// national volume is about 45 million rows; a longer span is refused).
const maxReportSpan = 93 * 24 * time.Hour

// ErrReportSpan means the asked period is empty or too long.
var ErrReportSpan = errors.New("store: report period must be positive and at most 93 days")

// ReportContacts streams the contacts that arrived in [from, to) to fn, in
// no particular order (the reports add them up; a sort of a day's rows
// costs PostgreSQL more than the scan), from the read-only pool. fn's
// error stops the scan.
func (s *Store) ReportContacts(ctx context.Context, from, to time.Time, fn func(ReportContact) error) error {
	if !to.After(from) || to.Sub(from) > maxReportSpan {
		return ErrReportSpan
	}
	if s.dialect == postgresDialect {
		return s.reportContactsPG(ctx, from, to, fn)
	}
	return s.reportContactsSQLite(ctx, from, to, fn)
}

// reportQuerySQLite is ReportContacts' query on SQLite: the covering index
// contacts_report serves it without touching the table; the callback, if
// the contact booked one, is one lookup by its key.
const reportQuerySQLite = `SELECT c.channel, c.hotline, c.queue, c.agent, COALESCE(c.arrived_at, 0),
	COALESCE(c.answered_at, 0), COALESCE(c.ended_at, 0), c.end_reason, c.disposition, c.wait_ms, c.handle_ms,
	c.transfers, COALESCE(b.status, ''), COALESCE(b.attempts, 0)
	FROM contacts c INDEXED BY contacts_report LEFT JOIN callbacks b ON b.contact_id = c.id
	WHERE c.arrived_at >= ? AND c.arrived_at < ?`

// reportContactsSQLite is ReportContacts on SQLite: go-sqlite3's rows on a
// connection of the read pool, each row's values taken as the driver gives
// them (int64, string) without database/sql's conversions and locking,
// its few distinct strings interned (one copy per line, queue, agent, code
// in the rows handed on).
func (s *Store) reportContactsSQLite(ctx context.Context, from, to time.Time, fn func(ReportContact) error) error {
	conn, err := s.r.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c, ok := dc.(driver.QueryerContext)
		if !ok {
			return fmt.Errorf("store: report on a %T connection", dc)
		}
		rows, err := c.QueryContext(ctx, reportQuerySQLite,
			[]driver.NamedValue{{Ordinal: 1, Value: from.UnixMilli()}, {Ordinal: 2, Value: to.UnixMilli()}})
		if err != nil {
			return err
		}
		defer func() { _ = rows.Close() }()
		if n := len(rows.Columns()); n != 14 {
			return fmt.Errorf("store: report query returned %d columns", n)
		}
		strs := map[string]string{}
		var verr error
		str := func(v driver.Value) string {
			var b string
			switch v := v.(type) {
			case string:
				b = v
			case []byte:
				b = string(v)
			case nil:
			default:
				verr = fmt.Errorf("store: report column: %T for a string", v)
			}
			if i, ok := strs[b]; ok {
				return i
			}
			strs[b] = b
			return b
		}
		num := func(v driver.Value) int64 {
			switch v := v.(type) {
			case int64:
				return v
			case nil:
				return 0
			}
			verr = fmt.Errorf("store: report column: %T for an integer", v)
			return 0
		}
		v := make([]driver.Value, 14)
		for {
			if err := rows.Next(v); err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
			rc := ReportContact{Channel: str(v[0]), Hotline: str(v[1]), Queue: str(v[2]), Agent: str(v[3]),
				Arrived: msTime(num(v[4])), Answered: msTime(num(v[5])), Ended: msTime(num(v[6])),
				EndReason: str(v[7]), Disposition: str(v[8]),
				Wait:      time.Duration(num(v[9])) * time.Millisecond,
				Handle:    time.Duration(num(v[10])) * time.Millisecond,
				Transfers: int(num(v[11])), Callback: str(v[12]), CallbackAttempts: int(num(v[13]))}
			if verr != nil {
				return verr
			}
			if err := fn(rc); err != nil {
				return err
			}
		}
	})
}

// msTime is the time of a stored millisecond timestamp, zero for 0 (NULL).
func msTime(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.UnixMilli(n).UTC()
}

// reportQueryPG is ReportContacts' query on PostgreSQL: every integer as
// bigint, so each column decodes one way. The planner reads the covering
// index contacts_report (an index-only scan once the table is vacuumed)
// and hash-joins the day's callbacks.
const reportQueryPG = `SELECT c.channel, c.hotline, c.queue, c.agent, COALESCE(c.arrived_at, 0)::bigint,
	COALESCE(c.answered_at, 0)::bigint, COALESCE(c.ended_at, 0)::bigint, c.end_reason, c.disposition,
	c.wait_ms::bigint, c.handle_ms::bigint, c.transfers::bigint, COALESCE(b.status, ''), COALESCE(b.attempts, 0)::bigint
	FROM contacts c LEFT JOIN callbacks b ON b.contact_id = c.id
	WHERE c.arrived_at >= $1 AND c.arrived_at < $2`

// reportContactsPG is ReportContacts on PostgreSQL: pgx itself on a
// connection of the read pool, each row's raw values decoded in place and
// its few distinct strings (lines, queues, agents, codes) interned, so a
// day of 500,000 rows costs no allocation per row (database/sql's
// conversions and a string per column were most of the report's CPU).
func (s *Store) reportContactsPG(ctx context.Context, from, to time.Time, fn func(ReportContact) error) error {
	conn, err := s.r.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("store: report on a %T connection", dc)
		}
		rows, err := c.Conn().Query(ctx, reportQueryPG, from.UnixMilli(), to.UnixMilli())
		if err != nil {
			return err
		}
		defer rows.Close()
		fds := rows.FieldDescriptions()
		if len(fds) != 14 {
			return fmt.Errorf("store: report query returned %d columns", len(fds))
		}
		strs := map[string]string{}
		str := func(b []byte) string {
			if v, ok := strs[string(b)]; ok {
				return v
			}
			v := string(b)
			strs[v] = v
			return v
		}
		var ierr error
		num := func(i int, b []byte) int64 {
			if fds[i].Format == pgx.BinaryFormatCode {
				if len(b) != 8 {
					ierr = fmt.Errorf("store: report column %s: %d bytes for a bigint", fds[i].Name, len(b))
					return 0
				}
				return int64(binary.BigEndian.Uint64(b))
			}
			n, err := strconv.ParseInt(string(b), 10, 64)
			if err != nil {
				ierr = fmt.Errorf("store: report column %s: %w", fds[i].Name, err)
			}
			return n
		}
		for rows.Next() {
			v := rows.RawValues()
			rc := ReportContact{Channel: str(v[0]), Hotline: str(v[1]), Queue: str(v[2]), Agent: str(v[3]),
				Arrived: msTime(num(4, v[4])), Answered: msTime(num(5, v[5])), Ended: msTime(num(6, v[6])),
				EndReason: str(v[7]), Disposition: str(v[8]),
				Wait:      time.Duration(num(9, v[9])) * time.Millisecond,
				Handle:    time.Duration(num(10, v[10])) * time.Millisecond,
				Transfers: int(num(11, v[11])), Callback: str(v[12]), CallbackAttempts: int(num(13, v[13]))}
			if ierr != nil {
				return ierr
			}
			if err := fn(rc); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}
