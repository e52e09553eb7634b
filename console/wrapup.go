package console

import (
	"context"
	"fmt"

	"onecall/router"
	"onecall/store"
)

// HistoryItem is one earlier contact of a citizen.
type HistoryItem struct {
	ID          uint64 `json:"id"`
	Channel     string `json:"channel"`
	Hotline     string `json:"hotline"`
	Queue       string `json:"queue"`
	Agent       string `json:"agent"`
	Arrived     int64  `json:"arrived"`
	EndReason   string `json:"end_reason"`
	Disposition string `json:"disposition"`
	Notes       string `json:"notes"`
}

func historyItem(c store.Contact) HistoryItem {
	return HistoryItem{ID: c.ID, Channel: c.Channel, Hotline: c.Hotline, Queue: c.Queue, Agent: c.Agent,
		Arrived: unixMS(c.Arrived), EndReason: c.EndReason, Disposition: c.Disposition, Notes: c.Notes}
}

// citizenOf returns the unmasked citizen of a contact the agent holds now.
func (s *Service) citizenOf(agent router.AgentID, id router.ContactID) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.m.contacts[id]
	if c == nil || c.Agent != string(agent) {
		return "", false
	}
	return c.citizenRaw, true
}

// history lists the earlier contacts of the citizen behind one of the
// agent's current contacts (offered or talking).
func (s *Service) history(ctx context.Context, agent router.AgentID, id router.ContactID) (any, error) {
	cit, ok := s.citizenOf(agent, id)
	if !ok {
		return nil, fmt.Errorf("contact %d is not yours", id)
	}
	out := []HistoryItem{}
	if cit == "" {
		return out, nil
	}
	cs, err := s.st.ContactsByCitizen(ctx, cit, 20)
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		if c.ID != uint64(id) {
			out = append(out, historyItem(c))
		}
	}
	return out, nil
}

// mayRead: an agent reads transcripts of their current or wrap-up contacts
// and of earlier contacts of the same citizen.
func (s *Service) mayRead(ctx context.Context, agent router.AgentID, id router.ContactID) bool {
	s.mu.Lock()
	if c := s.m.contacts[id]; c != nil && c.Agent == string(agent) {
		s.mu.Unlock()
		return true
	}
	for _, w := range s.wrap[agent] {
		if w.Contact == id {
			s.mu.Unlock()
			return true
		}
	}
	var cits []string
	for _, c := range s.m.contacts {
		if c.Agent == string(agent) && c.citizenRaw != "" {
			cits = append(cits, c.citizenRaw)
		}
	}
	s.mu.Unlock()
	if len(cits) == 0 {
		return false
	}
	rec, err := s.st.Contact(ctx, uint64(id))
	if err != nil {
		return false
	}
	for _, c := range cits {
		if rec.Citizen == c {
			return true
		}
	}
	return false
}

// wrapReply answers a confirmed wrap-up: what state the agent is headed
// for, and who holds them there when a supervisor does.
type wrapReply struct {
	Stored   bool   `json:"stored"`         // the disposition is committed
	Pending  int    `json:"pending"`        // contacts still awaiting a disposition
	Then     string `json:"then,omitempty"` // the state requested next ("" = none yet)
	ForcedBy string `json:"forced_by,omitempty"`
}

// wrapUp records the disposition and notes of a contact the agent finished
// — committed to the store before the reply, so a crash right after the
// reply loses nothing and a read right after it sees the disposition —
// then, once no contact awaits a disposition, ends wrap-up
// (router.WrapUpDone) and sets the next state. A supervisor's forced
// not-ready is never overridden by the form's "then".
func (s *Service) wrapUp(ctx context.Context, agent router.AgentID, a contactArgs) (any, error) {
	id := router.ContactID(a.Contact)
	s.mu.Lock()
	var wi wrapItem
	found := false
	for _, w := range s.wrap[agent] {
		if w.Contact == id {
			wi, found = w, true
		}
	}
	s.mu.Unlock()
	if !found {
		return nil, codedf("not_in_wrap_up", "contact %d is not in your wrap-up", id)
	}
	if a.Disposition == "" {
		return nil, codedf("pick_disposition", "pick a disposition")
	}
	if !s.validDisposition(wi.Number, a.Disposition) {
		return nil, codedf("unknown_disposition", "unknown disposition %q for hotline %s", clip(a.Disposition, 40), wi.Number)
	}
	if len([]rune(a.Notes)) > 4000 {
		return nil, codedf("notes_too_long", "notes longer than 4000 characters")
	}
	var rec store.Record = store.ContactWrapUp{Contact: uint64(id), Disposition: a.Disposition, Notes: a.Notes}
	if wi.Transferred {
		// The contact lives on with another agent, who writes its final
		// disposition: this one goes into its history.
		rec = store.ContactEvent{Contact: uint64(id), At: s.now(), State: "wrap_up", Agent: string(agent),
			Reason: wrapReason(a.Disposition, a.Notes)}
	}
	if err := s.st.Durable(ctx, rec); err != nil {
		s.log.Warn("wrap-up not stored", "contact_id", id, "agent_id", agent, "err", err)
		return nil, codedf("not_stored", "the disposition could not be stored; try again")
	}
	s.mu.Lock()
	l := s.wrap[agent][:0]
	for _, w := range s.wrap[agent] {
		if w.Contact != id {
			l = append(l, w)
		}
	}
	s.wrap[agent] = l
	remaining := len(l)
	forced, isForced := s.forced[agent]
	s.mu.Unlock()
	rep := wrapReply{Stored: true, Pending: remaining}
	if remaining > 0 {
		return rep, nil // more contacts to wrap up first
	}
	// WrapUpDone is refused when the agent is not in wrap-up (already
	// ended by its timer); that is fine.
	_, _ = s.hub.Do(ctx, router.WrapUpDone{Agent: agent})
	if isForced {
		rep.Then, rep.ForcedBy = "not_ready", string(forced.By)
		return rep, nil
	}
	switch a.Then {
	case "", "none":
		return rep, nil
	case "ready":
		rep.Then = "ready"
		return rep, s.requestState(ctx, agent, "ready", "", false, "")
	default:
		rep.Then = "not_ready"
		return rep, s.requestState(ctx, agent, "not_ready", a.Then, false, "")
	}
}

// pendingRequired is the first contact of agent whose queue requires a
// disposition before Ready and that has none yet (0 = none). s.mu held.
func (s *Service) pendingRequiredLocked(agent router.AgentID) router.ContactID {
	for _, w := range s.wrap[agent] {
		if w.Required {
			return w.Contact
		}
	}
	return 0
}

// wrapReason is the history text of a transferring agent's disposition.
func wrapReason(disposition, notes string) string {
	if notes == "" {
		return disposition
	}
	return disposition + ": " + notes
}

func (s *Service) validDisposition(number, code string) bool {
	list := s.opts.Dispositions[number]
	if len(list) == 0 {
		list = s.opts.Dispositions["*"]
	}
	if len(list) == 0 {
		return len(code) <= 40
	}
	for _, d := range list {
		if d == code {
			return true
		}
	}
	return false
}

// EventView is one step of a contact's own history.
type EventView struct {
	At     int64  `json:"at"` // unix ms
	State  string `json:"state"`
	Queue  string `json:"queue,omitempty"`
	Agent  string `json:"agent,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// maxHistoryEvents bounds a contact_history reply (the latest are kept).
const maxHistoryEvents = 200

// contactHistory is the contact's own history (routing decisions,
// transfers with their notes, the dispositions of agents who transferred
// it): for the agent it is offered to, talking with or wrapping up, and for
// supervisors.
func (s *Service) contactHistory(ctx context.Context, sess *session, id router.ContactID) (any, error) {
	if sess.Role == RoleAgent && !s.holds(router.AgentID(sess.User), id) {
		return nil, coded("contact_not_yours", uint64(id))
	}
	evs, err := s.st.ContactEvents(ctx, uint64(id))
	if err != nil {
		return nil, err
	}
	if len(evs) > maxHistoryEvents {
		evs = evs[len(evs)-maxHistoryEvents:]
	}
	out := make([]EventView, 0, len(evs))
	for _, e := range evs {
		out = append(out, EventView{At: unixMS(e.At), State: e.State, Queue: e.Queue, Agent: e.Agent, Reason: e.Reason})
	}
	return out, nil
}

// holds reports whether the agent holds the contact now (offered, talking)
// or owes its wrap-up.
func (s *Service) holds(agent router.AgentID, id router.ContactID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.m.contacts[id]; c != nil && c.Agent == string(agent) {
		return true
	}
	for _, w := range s.wrap[agent] {
		if w.Contact == id {
			return true
		}
	}
	return false
}
