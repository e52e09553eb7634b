package console

import (
	"context"
	"errors"
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

// wrapUp records the disposition and notes of a contact the agent finished,
// then ends wrap-up (router.WrapUpDone) and sets the next state.
func (s *Service) wrapUp(ctx context.Context, agent router.AgentID, a contactArgs) error {
	id := router.ContactID(a.Contact)
	s.mu.Lock()
	var item *wrapItem
	for i, w := range s.wrap[agent] {
		if w.Contact == id {
			item = &s.wrap[agent][i]
		}
	}
	var wi wrapItem
	if item != nil {
		wi = *item
	}
	s.mu.Unlock()
	if item == nil {
		return fmt.Errorf("contact %d is not in your wrap-up", id)
	}
	if a.Disposition == "" {
		return errors.New("pick a disposition")
	}
	if !s.validDisposition(wi.Number, a.Disposition) {
		return fmt.Errorf("unknown disposition %q for hotline %s", clip(a.Disposition, 40), wi.Number)
	}
	if len([]rune(a.Notes)) > 4000 {
		return errors.New("notes longer than 4000 characters")
	}
	if err := s.st.Enqueue(store.ContactWrapUp{Contact: uint64(id), Disposition: a.Disposition, Notes: a.Notes}); err != nil {
		return err
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
	s.mu.Unlock()
	if remaining > 0 {
		return nil // more contacts to wrap up first
	}
	// WrapUpDone is refused when the agent is not in wrap-up (already
	// ended by its timer); that is fine.
	_, _ = s.hub.Do(ctx, router.WrapUpDone{Agent: agent})
	switch a.Then {
	case "", "none":
		return nil
	case "ready":
		return s.requestState(ctx, agent, "ready", "", false, "")
	default:
		return s.requestState(ctx, agent, "not_ready", a.Then, false, "")
	}
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
