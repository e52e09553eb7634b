package store

import (
	"context"
	"time"
)

// EndReasonStale is the end reason EndStale writes: the router's
// String() form of router.EndStuck (a state that outlived its bound),
// so reports count such contacts with the reconciler's.
const EndReasonStale = "stuck"

// StaleLive returns up to limit contacts stored as live (waiting, offered or
// talking; not ended, not a booked callback) that arrived before
// arrivedBefore, oldest first. On a cluster, the leader ends those routing
// does not hold (EndStale): a chat whose node died while it was being
// started was stored as waiting, and its end (or its refusal) was lost
// with the node, so nothing else would ever close it.
func (s *Store) StaleLive(ctx context.Context, arrivedBefore time.Time, limit int) ([]uint64, error) {
	var ids []int64
	if err := s.r.SelectContext(ctx, &ids, `SELECT id FROM contacts WHERE ended_at IS NULL
		AND state IN ('waiting', 'offered', 'talking') AND arrived_at < ? ORDER BY arrived_at, id LIMIT ?`,
		arrivedBefore.UnixMilli(), limit); err != nil {
		return nil, readErr("stale contacts", err)
	}
	out := make([]uint64, len(ids))
	for i, id := range ids {
		out[i] = uint64(id)
	}
	return out, nil
}

// EndStale ends contact id at at with EndReasonStale and an "ended"
// contact event, durably, if it is still stored as live; it reports
// whether it did.
func (s *Store) EndStale(ctx context.Context, id uint64, at time.Time) (bool, error) {
	ended := false
	err := s.exec(ctx, func(t *wtx) error {
		ms := at.UnixMilli()
		n, err := t.exec(`UPDATE contacts SET ended_at = ?, end_reason = ?, state = ? WHERE id = ? AND ended_at IS NULL
			AND state IN ('waiting', 'offered', 'talking')`, ms, EndReasonStale, StateEnded, int64(id))
		if err != nil || n == 0 {
			return err
		}
		ended = true
		_, err = t.exec(`INSERT INTO contact_events (contact_id, at, state, queue, agent, reason)
			SELECT id, CAST(? AS BIGINT), CAST(? AS TEXT), queue, agent, CAST(? AS TEXT) FROM contacts WHERE id = ?`,
			ms, StateEnded, "stored as live, unknown to routing", int64(id))
		return err
	})
	return ended, err
}
