package store

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"sort"
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
				SELECT id, CAST(? AS BIGINT), CAST(? AS TEXT), queue, agent, CAST(? AS TEXT) FROM contacts WHERE id = ?`, at, StateEnded, EndReasonSystemRestart, id); err != nil {
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

// PurgeResult is what one Purge changed, per kind of personal data. Each
// figure counts rows whose personal content was actually removed, so a
// second purge with the same cutoff returns zeros.
type PurgeResult struct {
	Contacts     int64 `json:"contacts"`      // citizen, notes, attrs, resume_hash cleared; purged_at set
	ChatMessages int64 `json:"chat_messages"` // text set to NULL
	Events       int64 `json:"events"`        // contact_events.reason cleared (transfer notes)
	Callbacks    int64 `json:"callbacks"`     // citizen_number and attrs cleared
	CallRecords  int64 `json:"call_records"`  // from_uri, to_uri, legs cleared
	Recordings   int64 `json:"recordings"`    // recording files deleted, paths cleared
}

// Total is the sum of all figures.
func (r PurgeResult) Total() int64 {
	return r.Contacts + r.ChatMessages + r.Events + r.Callbacks + r.CallRecords + r.Recordings
}

// Purge removes every personal field of the contacts that ended before
// olderThan (PIPA retention): the citizen's number or chat identity, notes,
// attributes (names, phone) and resume hash of the contact; the text of its
// chat messages (set to NULL: reads show Purged); the reasons of its events
// (a transfer reason carries the agent's note and a dialled number: it
// becomes just "transferred", so reports still count transfers; other
// reasons become empty); the number and attributes of its callback (only
// once the callback is finished: a booked or dialling callback keeps its
// contact whole); the from/to URIs and legs of its call records, and of
// call records with no contact that ended before olderThan; recording
// files are deleted and their paths cleared. Contact rows, timings, queues,
// agents, end reasons, dispositions and satisfaction are kept for reports.
// purged_at is set on each purged contact.
func (s *Store) Purge(ctx context.Context, olderThan time.Time) (PurgeResult, error) {
	return s.PurgeLines(ctx, olderThan, nil)
}

// PurgeLines is Purge with a cutoff per line: a contact whose hotline is a
// key of perLine is purged when it ended before that cutoff, every other
// contact (and call records with no contact) before olderThan.
func (s *Store) PurgeLines(ctx context.Context, olderThan time.Time, perLine map[string]time.Time) (PurgeResult, error) {
	var paths []string
	var res PurgeResult
	err := s.exec(ctx, func(t *wtx) error {
		cut := olderThan.UnixMilli()
		paths = paths[:0]
		res = PurgeResult{}
		cutExpr, cutArgs := "?", []any{cut}
		if len(perLine) > 0 {
			lines := make([]string, 0, len(perLine))
			for l := range perLine {
				lines = append(lines, l)
			}
			sort.Strings(lines)
			cutExpr, cutArgs = "CASE c.hotline", nil
			for _, l := range lines {
				cutExpr += " WHEN ? THEN CAST(? AS BIGINT)"
				cutArgs = append(cutArgs, l, perLine[l].UnixMilli())
			}
			cutExpr += " ELSE CAST(? AS BIGINT) END"
			cutArgs = append(cutArgs, cut)
		}
		old := `SELECT c.id FROM contacts c WHERE c.ended_at IS NOT NULL AND c.ended_at < ` + cutExpr + `
			AND NOT EXISTS (SELECT 1 FROM callbacks b WHERE b.contact_id = c.id AND b.status IN ('booked','dialing'))`
		args := func(more ...any) []any { return append(append([]any{}, cutArgs...), more...) }
		var err error
		if res.ChatMessages, err = t.exec(`UPDATE chat_messages SET text = NULL WHERE text IS NOT NULL AND contact_id IN (`+old+`)`, args()...); err != nil {
			return err
		}
		if res.Events, err = t.exec(`UPDATE contact_events
			SET reason = CASE WHEN reason LIKE 'transferred%' THEN 'transferred' ELSE '' END
			WHERE reason <> '' AND reason <> 'transferred' AND contact_id IN (`+old+`)`, args()...); err != nil {
			return err
		}
		if res.Callbacks, err = t.exec(`UPDATE callbacks SET citizen_number = '', attrs = '{}'
			WHERE (citizen_number <> '' OR attrs <> '{}') AND contact_id IN (`+old+`)`, args()...); err != nil {
			return err
		}
		oldCR := `(contact_id IN (` + old + `) OR (contact_id = 0 AND COALESCE(ended_at, started_at) < ?))`
		if err := t.tx.Select(&paths, `SELECT recording_path FROM call_records WHERE recording_path <> '' AND `+oldCR, args(cut)...); err != nil {
			return err
		}
		if res.Recordings, err = t.exec(`UPDATE call_records SET recording_path = '' WHERE recording_path <> '' AND `+oldCR, args(cut)...); err != nil {
			return err
		}
		if res.CallRecords, err = t.exec(`UPDATE call_records SET from_uri = '', to_uri = '', legs = '[]'
			WHERE (from_uri <> '' OR to_uri <> '' OR legs <> '[]') AND `+oldCR, args(cut)...); err != nil {
			return err
		}
		res.Contacts, err = t.exec(`UPDATE contacts SET citizen = '', notes = '', attrs = '{}', resume_hash = '',
				purged_at = COALESCE(purged_at, ?)
			WHERE (purged_at IS NULL OR citizen <> '' OR notes <> '' OR attrs <> '{}' OR resume_hash <> '')
			AND id IN (`+old+`)`, append([]any{t.now.UnixMilli()}, args()...)...)
		return err
	})
	if err != nil {
		return PurgeResult{}, err
	}
	for _, p := range paths {
		if rerr := os.Remove(p); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			s.cfg.logger.Warn("store: purge: remove recording", "path", p, "err", rerr)
		}
	}
	s.cfg.logger.Info("store: purged", "before", olderThan, "contacts", res.Contacts, "chat_messages", res.ChatMessages,
		"events", res.Events, "callbacks", res.Callbacks, "call_records", res.CallRecords, "recordings", res.Recordings)
	return res, nil
}
