package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// LoadedContact is one finished contact for LoadContacts: what the
// contact's row holds at its end (no history, chat messages or call
// records).
type LoadedContact struct {
	ID                                             uint64
	Channel, Hotline, Queue, Citizen, Agent, State string
	Arrived, Answered, Ended                       time.Time
	EndReason, Disposition                         string
	// Wait and Handle are derived as the writer derives them at a
	// contact's end (ContactUpsert) when both are zero and Ended is set.
	Wait, Handle time.Duration
	Transfers    int
	// Callback is the callback the contact booked, if any; its Contact
	// is taken from ID.
	Callback *Callback
}

// loadChunk is the rows of one multi-row INSERT on SQLite (17 values a
// row, below SQLite's 32,766 variables).
const loadChunk = 500

// LoadContacts writes finished contacts in bulk, in one transaction of the
// writer, and returns once they are committed: COPY on PostgreSQL,
// multi-row INSERTs on SQLite. It is for loading days of history (the
// report benchmarks, an import), tens of thousands of rows a call; the
// contacts must be new (an id already stored refuses the whole call).
func (s *Store) LoadContacts(ctx context.Context, cs []LoadedContact) error {
	if len(cs) == 0 {
		return nil
	}
	return s.exec(ctx, func(t *wtx) error {
		if err := t.flush(); err != nil {
			return err
		}
		contacts := make([][]any, 0, len(cs))
		var callbacks [][]any
		for _, c := range cs {
			if c.ID == 0 {
				return reject("load contact without id")
			}
			contacts = append(contacts, loadedRow(c))
			if cb := c.Callback; cb != nil {
				status := cb.Status
				if status == "" {
					status = CallbackBooked
				}
				callbacks = append(callbacks, []any{int64(c.ID), cb.CitizenNumber, cb.Hotline, cb.Queue,
					cb.Arrived.UnixMilli(), cb.Booked.UnixMilli(), status, int64(cb.Attempts), "{}", t.now.UnixMilli()})
			}
		}
		if err := t.load("contacts", loadedColumns, contacts); err != nil {
			return err
		}
		return t.load("callbacks", []string{"contact_id", "citizen_number", "hotline", "queue", "arrived_at",
			"booked_at", "status", "attempts", "attrs", "updated_at"}, callbacks)
	})
}

var loadedColumns = []string{"id", "channel", "hotline", "queue", "citizen", "agent", "state", "arrived_at",
	"answered_at", "ended_at", "end_reason", "wait_ms", "handle_ms", "disposition", "transfers"}

// loadedRow is c's values in loadedColumns' order, its wait and handle
// derived from the stored milliseconds like ContactUpsert's.
func loadedRow(c LoadedContact) []any {
	msOrNil := func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return t.UnixMilli()
	}
	wait, handle := c.Wait.Milliseconds(), c.Handle.Milliseconds()
	if wait == 0 && handle == 0 && !c.Ended.IsZero() && !c.Arrived.IsZero() {
		arr, end := c.Arrived.UnixMilli(), c.Ended.UnixMilli()
		if c.Answered.IsZero() {
			wait = max(end-arr, 0)
		} else {
			ans := c.Answered.UnixMilli()
			wait, handle = max(ans-arr, 0), max(end-ans, 0)
		}
	} else if wait == 0 && handle == 0 && !c.Ended.IsZero() && !c.Answered.IsZero() {
		handle = max(c.Ended.UnixMilli()-c.Answered.UnixMilli(), 0)
	}
	return []any{int64(c.ID), c.Channel, c.Hotline, c.Queue, c.Citizen, c.Agent, c.State,
		msOrNil(c.Arrived), msOrNil(c.Answered), msOrNil(c.Ended), c.EndReason, wait, handle, c.Disposition,
		int64(c.Transfers)}
}

// load inserts rows into table: COPY FROM STDIN on the writer's PostgreSQL
// connection (inside its transaction), multi-row INSERTs on SQLite.
func (t *wtx) load(table string, cols []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	if t.d == postgresDialect {
		return t.conn.Raw(func(dc any) error {
			c, ok := dc.(*stdlib.Conn)
			if !ok {
				return fmt.Errorf("store: copy on a %T connection", dc)
			}
			n, err := c.Conn().CopyFrom(context.Background(), pgx.Identifier{table}, cols, pgx.CopyFromRows(rows))
			if err == nil && n != int64(len(rows)) {
				err = fmt.Errorf("store: copy into %s: %d of %d rows", table, n, len(rows))
			}
			return err
		})
	}
	one := "(?" + strings.Repeat(", ?", len(cols)-1) + ")"
	for len(rows) > 0 {
		n := min(len(rows), loadChunk)
		q := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES " +
			one + strings.Repeat(", "+one, n-1)
		args := make([]any, 0, n*len(cols))
		for _, r := range rows[:n] {
			args = append(args, r...)
		}
		if _, err := t.exec(q, args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}
