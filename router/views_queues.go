package router

// QueueSnapshots returns every queue's live statistics, in configuration
// order, without the agent list of Snapshot (cheap enough for a scrape).
func (e *Engine) QueueSnapshots() []QueueSnapshot {
	out := make([]QueueSnapshot, 0, len(e.queueList))
	for _, q := range e.queueList {
		out = append(out, e.queueSnapshot(q))
	}
	return out
}
