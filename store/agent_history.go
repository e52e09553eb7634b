package store

import (
	"context"
	"errors"
	"sort"
	"time"
)

// AgentStateBin is the number of agents in each state ("ready", "busy",
// "not_ready", ...) at the end of one interval, or at the end of the asked
// period for the last, unfinished one. Offline agents are not counted.
type AgentStateBin struct {
	Start  time.Time
	Counts map[string]int
}

// maxAgentStateSpan bounds one read of agent states (the wallboard asks for
// today; two days leave room for a day that crosses a time change).
const maxAgentStateSpan = 48 * time.Hour

// ErrAgentStateSpan means the asked period or interval is not usable.
var ErrAgentStateSpan = errors.New("store: agent state period must be positive and at most 48 hours, in intervals of at least a minute")

// AgentStateBins counts agents by state at the end of each interval of
// length every in [from, to) (intervals aligned on every since the Unix
// epoch, the same bins as the wallboard's live chart), from
// agent_state_log. One pass over the rows open during the period: those
// ended after from (the agent_state_log_day index) and those still open.
func (s *Store) AgentStateBins(ctx context.Context, from, to time.Time, every time.Duration) ([]AgentStateBin, error) {
	if !to.After(from) || to.Sub(from) > maxAgentStateSpan || every < time.Minute {
		return nil, ErrAgentStateSpan
	}
	step := every.Milliseconds()
	first := from.UnixMilli() / step * step // start of the first bin
	n := int((to.UnixMilli()-1-first)/step) + 1
	// Sample k is taken at the end of bin k, the last one at to; a row
	// [start, end) counts at the samples it covers (end 0: still open).
	samples := make([]int64, n)
	for k := range samples {
		samples[k] = min(first+int64(k+1)*step, to.UnixMilli())
	}
	// diff[state][k]: rows that start covering sample k minus those that
	// stop; a prefix sum gives the counts.
	diff := map[string][]int{}
	add := func(state string, start, end int64) {
		k0 := sort.Search(n, func(k int) bool { return samples[k] >= start })
		k1 := n
		if end != 0 {
			k1 = sort.Search(n, func(k int) bool { return samples[k] >= end })
		}
		if k0 >= k1 {
			return
		}
		d := diff[state]
		if d == nil {
			d = make([]int, n+1)
			diff[state] = d
		}
		d[k0]++
		d[k1]--
	}
	indexed := " INDEXED BY agent_state_log_day"
	if s.dialect == postgresDialect {
		indexed = "" // the planner picks the index itself
	}
	rows, err := s.r.QueryContext(ctx, `SELECT state, started_at, COALESCE(ended_at, 0) FROM agent_state_log`+indexed+`
		WHERE (ended_at > ? OR ended_at IS NULL) AND started_at <= ? AND state != 'offline'`, first, to.UnixMilli())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var state string
		var start, end int64
		if err := rows.Scan(&state, &start, &end); err != nil {
			return nil, err
		}
		add(state, start, end)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]AgentStateBin, n)
	for k := range out {
		out[k] = AgentStateBin{Start: time.UnixMilli(first + int64(k)*step).UTC(), Counts: map[string]int{}}
	}
	for state, d := range diff {
		c := 0
		for k := 0; k < n; k++ {
			c += d[k]
			if c > 0 {
				out[k].Counts[state] = c
			}
		}
	}
	return out, nil
}
