package store

import (
	"context"
	"errors"
	"time"
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
	// The covering index contacts_report serves this without touching
	// the table; the callback, if the contact booked
	// one, is one lookup by its key.
	indexed := " INDEXED BY contacts_report"
	if s.dialect == postgresDialect {
		indexed = "" // the planner picks the covering index itself
	}
	rows, err := s.r.QueryContext(ctx, `SELECT c.channel, c.hotline, c.queue, c.agent, COALESCE(c.arrived_at, 0),
		COALESCE(c.answered_at, 0), COALESCE(c.ended_at, 0), c.end_reason, c.disposition, c.wait_ms, c.handle_ms,
		c.transfers, COALESCE(b.status, ''), COALESCE(b.attempts, 0)
		FROM contacts c`+indexed+` LEFT JOIN callbacks b ON b.contact_id = c.id
		WHERE c.arrived_at >= ? AND c.arrived_at < ?`,
		from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return err
	}
	defer rows.Close()
	ms := func(n int64) time.Time {
		if n == 0 {
			return time.Time{}
		}
		return time.UnixMilli(n).UTC()
	}
	for rows.Next() {
		var rc ReportContact
		var arr, ans, end, wait, handle int64
		if err := rows.Scan(&rc.Channel, &rc.Hotline, &rc.Queue, &rc.Agent, &arr, &ans, &end,
			&rc.EndReason, &rc.Disposition, &wait, &handle, &rc.Transfers, &rc.Callback, &rc.CallbackAttempts); err != nil {
			return err
		}
		rc.Arrived, rc.Answered, rc.Ended = ms(arr), ms(ans), ms(end)
		rc.Wait, rc.Handle = time.Duration(wait)*time.Millisecond, time.Duration(handle)*time.Millisecond
		if err := fn(rc); err != nil {
			return err
		}
	}
	return rows.Err()
}
