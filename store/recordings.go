package store

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"sort"
	"time"
)

// Recording is the recording of one call of a contact.
type Recording struct {
	Contact  uint64
	CallID   string
	Path     string
	Bytes    int64
	Duration time.Duration
	Started  time.Time
}

// Recording returns the latest call recording of the contact whose file
// has not been purged (ErrNotFound).
func (s *Store) Recording(ctx context.Context, contact uint64) (Recording, error) {
	var r struct {
		CallID  string        `db:"call_id"`
		Path    string        `db:"recording_path"`
		Bytes   int64         `db:"recording_bytes"`
		MS      int64         `db:"recording_ms"`
		Started sql.NullInt64 `db:"started_at"`
	}
	if err := s.r.GetContext(ctx, &r, `SELECT call_id, recording_path, recording_bytes, recording_ms, started_at
		FROM call_records WHERE contact_id = ? AND recording_path <> '' ORDER BY id DESC LIMIT 1`, int64(contact)); err != nil {
		return Recording{}, readErr("recording", err)
	}
	return Recording{Contact: contact, CallID: r.CallID, Path: r.Path, Bytes: r.Bytes,
		Duration: time.Duration(r.MS) * time.Millisecond, Started: fromMS(r.Started)}, nil
}

// PurgeRecordings deletes the recordings of the contacts of each line of
// perLine that ended before its cutoff (a line's recording retention,
// shorter than its retention of the other personal data, which Purge
// applies): the files are removed and their paths cleared; size and
// duration stay for reports. It returns how many recordings went.
func (s *Store) PurgeRecordings(ctx context.Context, perLine map[string]time.Time) (int64, error) {
	if len(perLine) == 0 {
		return 0, nil
	}
	lines := make([]string, 0, len(perLine))
	for l := range perLine {
		lines = append(lines, l)
	}
	sort.Strings(lines)
	var paths []string
	var n int64
	err := s.exec(ctx, func(t *wtx) error {
		paths, n = paths[:0], 0
		for _, l := range lines {
			const old = `recording_path <> '' AND contact_id IN (SELECT c.id FROM contacts c
				WHERE c.hotline = ? AND c.ended_at IS NOT NULL AND c.ended_at < ?)`
			cut := perLine[l].UnixMilli()
			var ps []string
			if err := t.tx.Select(&ps, `SELECT recording_path FROM call_records WHERE `+old, l, cut); err != nil {
				return err
			}
			k, err := t.exec(`UPDATE call_records SET recording_path = '' WHERE `+old, l, cut)
			if err != nil {
				return err
			}
			paths = append(paths, ps...)
			n += k
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, p := range paths {
		if rerr := os.Remove(p); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			s.cfg.logger.Warn("store: purge: remove recording", "path", p, "err", rerr)
		}
	}
	return n, nil
}
