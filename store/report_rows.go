package store

import (
	"context"
	"database/sql"
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
}

// maxReportSpan bounds one report query (a quarter of contacts at the
// national volume is about 45 million rows; a longer span is refused).
const maxReportSpan = 93 * 24 * time.Hour

// ErrReportSpan means the asked period is empty or too long.
var ErrReportSpan = errors.New("store: report period must be positive and at most 93 days")

// ReportContacts streams the contacts that arrived in [from, to) to fn, in
// arrival order, from the read-only pool. fn's error stops the scan.
func (s *Store) ReportContacts(ctx context.Context, from, to time.Time, fn func(ReportContact) error) error {
	if !to.After(from) || to.Sub(from) > maxReportSpan {
		return ErrReportSpan
	}
	// The covering index contacts_report serves this in arrival order
	// without touching the table.
	rows, err := s.r.QueryContext(ctx, `SELECT channel, hotline, queue, agent, arrived_at, answered_at, ended_at,
		end_reason, disposition, wait_ms, handle_ms, transfers
		FROM contacts INDEXED BY contacts_report WHERE arrived_at >= ? AND arrived_at < ? ORDER BY arrived_at`,
		from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var rc ReportContact
		var arr, ans, end sql.NullInt64
		var wait, handle int64
		if err := rows.Scan(&rc.Channel, &rc.Hotline, &rc.Queue, &rc.Agent, &arr, &ans, &end,
			&rc.EndReason, &rc.Disposition, &wait, &handle, &rc.Transfers); err != nil {
			return err
		}
		rc.Arrived, rc.Answered, rc.Ended = fromMS(arr), fromMS(ans), fromMS(end)
		rc.Wait, rc.Handle = time.Duration(wait)*time.Millisecond, time.Duration(handle)*time.Millisecond
		if err := fn(rc); err != nil {
			return err
		}
	}
	return rows.Err()
}
