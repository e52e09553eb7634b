package router

import (
	"fmt"
	"time"
)

// ClosedChatMemory is how long the engine remembers a closed chat's id
// (ClosedChat): as long as a citizen's resume token opens an ended chat
// (the chat service's default ResumeTTL). In a cluster a chat whose node
// died is resumed by its citizen on another node, which reads the chat's
// stored record; the record says live until the end the engine decided is
// written, so that node must be able to ask the engine whether the chat
// ended, and the engine must refuse the chat's id if it is entered again:
// a chat is closed exactly once.
const ClosedChatMemory = 30 * time.Minute

type closedRec struct {
	id     ContactID
	reason EndReason
	at     time.Time
}

// rememberClosed notes that chat c closed for r, and forgets the closes
// older than ClosedChatMemory (oldest first: closes come in time order).
func (e *Engine) rememberClosed(c *contact, r EndReason) {
	if c.ch != Chat {
		return
	}
	n := 0
	for n < len(e.closed) && !e.closed[n].at.Add(ClosedChatMemory).After(e.now) {
		if i, ok := e.closedIdx[e.closed[n].id]; ok && i == e.closedBase+n {
			delete(e.closedIdx, e.closed[n].id)
		}
		n++
	}
	if n > 0 {
		e.closed = e.closed[n:]
		e.closedBase += n
		if cap(e.closed) > 2*len(e.closed)+64 { // give back the dropped front
			e.closed = append([]closedRec(nil), e.closed...)
		}
	}
	if e.closedIdx == nil {
		e.closedIdx = map[ContactID]int{}
	}
	e.closedIdx[c.id] = e.closedBase + len(e.closed)
	e.closed = append(e.closed, closedRec{id: c.id, reason: r, at: e.now})
}

// ClosedChat reports whether chat id was closed within ClosedChatMemory,
// why and when.
func (e *Engine) ClosedChat(id ContactID) (EndReason, time.Time, bool) {
	i, ok := e.closedIdx[id]
	if !ok {
		return EndUnknown, time.Time{}, false
	}
	r := e.closed[i-e.closedBase]
	if !r.at.Add(ClosedChatMemory).After(e.now) {
		return EndUnknown, time.Time{}, false
	}
	return r.reason, r.at, true
}

// refuseClosedChat is arrive's check: a chat is never entered again under
// the id of one closed within ClosedChatMemory.
func (e *Engine) refuseClosedChat(ev ContactArrived) error {
	if ev.Channel != Chat {
		return nil
	}
	if r, at, ok := e.ClosedChat(ev.Contact); ok {
		return fmt.Errorf("%w: chat %d ended %s at %s", ErrClosed, ev.Contact, r, at.Format(time.RFC3339))
	}
	return nil
}
