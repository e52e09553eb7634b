package store

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"time"
)

// Words written by Recover; they are the router's String() forms
// (router.EndSystemRestart, router.Ended, router.CallbackBooked), so rows
// written by the server's store sink and by Recover agree.
const (
	EndReasonSystemRestart = "system-restart"
	StateEnded             = "ended"
	StateCallbackBooked    = "callback-booked"
)

// Recovery is what a restarted server must put back.
type Recovery struct {
	// Chats are open chat contacts (not ended, not converted to a
	// callback), oldest arrival first; the
	// server re-enters them in their queue at their original place.
	Chats []Contact
	// Callbacks are booked callbacks, oldest original arrival first
	// (callbacks caught mid-dial are returned to booked).
	Callbacks []Callback
	// ClosedVoice are voice contacts that were in progress and are now
	// ended with EndReasonSystemRestart.
	ClosedVoice []uint64
	// ClosedAgentStates counts agent state rows closed: every agent comes
	// back logged out.
	ClosedAgentStates int64
}

// Recover runs once at start, before any new traffic: it ends in-progress
// voice contacts (end reason "system-restart", with a contact event), closes
// open agent state rows and returns open chats and booked callbacks.
func (s *Store) Recover(ctx context.Context, now time.Time) (Recovery, error) {
	var rec Recovery
	err := s.exec(ctx, func(t *wtx) error {
		rec = Recovery{}
		at := now.UnixMilli()
		var ids []int64
		if err := t.tx.Select(&ids, `SELECT id FROM contacts WHERE ended_at IS NULL AND state <> 'ended' AND channel <> 'chat' ORDER BY id`); err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := t.exec(`UPDATE contacts SET ended_at = ?, end_reason = ?, state = ?,
					handle_ms = CASE WHEN answered_at IS NOT NULL AND ? > answered_at THEN ? - answered_at ELSE handle_ms END
				WHERE id = ?`, at, EndReasonSystemRestart, StateEnded, at, at, id); err != nil {
				return err
			}
			if _, err := t.exec(`INSERT INTO contact_events (contact_id, at, state, queue, agent, reason)
				SELECT id, ?, ?, queue, agent, ? FROM contacts WHERE id = ?`, at, StateEnded, EndReasonSystemRestart, id); err != nil {
				return err
			}
			rec.ClosedVoice = append(rec.ClosedVoice, uint64(id))
		}
		n, err := t.exec(`UPDATE agent_state_log SET ended_at = ? WHERE ended_at IS NULL`, at)
		if err != nil {
			return err
		}
		rec.ClosedAgentStates = n
		if _, err := t.exec(`UPDATE callbacks SET status = 'booked', updated_at = ? WHERE status = 'dialing'`, at); err != nil {
			return err
		}
		var chats []contactRow
		if err := t.tx.Select(&chats, `SELECT `+contactCols+` FROM contacts WHERE ended_at IS NULL AND state <> 'ended' AND channel = 'chat'
			AND state <> ? ORDER BY arrived_at, id`, StateCallbackBooked); err != nil {
			return err
		}
		rec.Chats = contactsFrom(chats)
		var cbs []callbackRow
		if err := t.tx.Select(&cbs, `SELECT `+callbackCols+` FROM callbacks WHERE status = 'booked' ORDER BY arrived_at, contact_id`); err != nil {
			return err
		}
		for _, r := range cbs {
			rec.Callbacks = append(rec.Callbacks, r.callback())
		}
		return nil
	})
	if err != nil {
		return Recovery{}, err
	}
	s.cfg.logger.Info("store: recovered", "chats", len(rec.Chats), "callbacks", len(rec.Callbacks),
		"closed_voice", len(rec.ClosedVoice), "closed_agent_states", rec.ClosedAgentStates)
	return rec, nil
}

// Purge removes the personal content of contacts that ended before
// olderThan: chat message texts become NULL (reads show Purged) and
// recording files are deleted and their paths cleared. It returns the number
// of chat messages purged. Contact rows, timings and codes are kept.
func (s *Store) Purge(ctx context.Context, olderThan time.Time) (n int64, err error) {
	var paths []string
	err = s.exec(ctx, func(t *wtx) error {
		cut := olderThan.UnixMilli()
		paths = paths[:0]
		const old = `SELECT id FROM contacts WHERE ended_at IS NOT NULL AND ended_at < ?`
		var err error
		if n, err = t.exec(`UPDATE chat_messages SET text = NULL WHERE text IS NOT NULL AND contact_id IN (`+old+`)`, cut); err != nil {
			return err
		}
		if err := t.tx.Select(&paths, `SELECT recording_path FROM call_records WHERE recording_path <> ''
			AND contact_id IN (`+old+`)`, cut); err != nil {
			return err
		}
		if _, err := t.exec(`UPDATE call_records SET recording_path = '' WHERE recording_path <> '' AND contact_id IN (`+old+`)`, cut); err != nil {
			return err
		}
		_, err = t.exec(`UPDATE contacts SET purged_at = ? WHERE purged_at IS NULL AND ended_at IS NOT NULL AND ended_at < ?`,
			t.now.UnixMilli(), cut)
		return err
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
