package console

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"onecall/store"
)

// AgentHistory is the part of the store the wallboard's "agents by state
// over the day" chart reads at page load (*store.Store has it). A store
// without it serves 404 and the chart starts from the live bins.
type AgentHistory interface {
	AgentStateBins(ctx context.Context, from, to time.Time, every time.Duration) ([]store.AgentStateBin, error)
}

// agentStatesEvery is the chart's interval, the same 15 minutes as the
// live bins (console/mirror.go).
const agentStatesEvery = 15 * time.Minute

type agentStatesBin struct {
	Start  int64          `json:"start"` // ms since the epoch
	Agents map[string]int `json:"agents"`
}

// apiAgentStates serves GET /api/wallboard/agent-states?from=<ms>: agents by
// state at the end of each 15 minutes from from (the page's midnight) to
// now, from the store's agent state log.
func (s *Service) apiAgentStates(w http.ResponseWriter, r *http.Request, sess *session) {
	h, ok := s.st.(AgentHistory)
	if !ok {
		fail(w, http.StatusNotFound, "no agent history in this store")
		return
	}
	now := s.now()
	from := now.Add(-24 * time.Hour)
	if v := r.URL.Query().Get("from"); v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			fail(w, http.StatusBadRequest, "from: milliseconds since the epoch")
			return
		}
		from = time.UnixMilli(ms)
	}
	bins, err := h.AgentStateBins(r.Context(), from, now, agentStatesEvery)
	if errors.Is(err, store.ErrAgentStateSpan) {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	if err != nil {
		fail(w, http.StatusServiceUnavailable, "agent history unavailable")
		return
	}
	out := make([]agentStatesBin, len(bins))
	for i, b := range bins {
		out[i] = agentStatesBin{Start: b.Start.UnixMilli(), Agents: b.Counts}
	}
	writeJSON(w, http.StatusOK, map[string]any{"every_ms": agentStatesEvery.Milliseconds(), "bins": out})
}
