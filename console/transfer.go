package console

import (
	"context"
	"errors"
	"sort"
	"strings"
	"time"

	"onecall/router"
)

// TransferView is one transfer of a contact, as consoles see it: the
// receiving agent's offer carries the contact's transfers (ContactView.
// Transfers), so the citizen never tells the story twice.
type TransferView struct {
	From      string `json:"from,omitempty"` // agent that held the contact
	By        string `json:"by,omitempty"`   // who transferred it
	FromQueue string `json:"from_queue"`
	ToQueue   string `json:"to_queue,omitempty"`
	ToAgent   string `json:"to_agent,omitempty"`
	ToNumber  string `json:"to_number,omitempty"`
	Note      string `json:"note,omitempty"`
	At        int64  `json:"at"` // unix ms
}

// maxTransfersShown bounds ContactView.Transfers (the latest are kept).
const maxTransfersShown = 8

// maxNote bounds a transfer note (runes).
const maxNote = 500

// parseTarget reads the transfer arguments: target "queue:ID", "agent:ID"
// or "number:N" (a bare value is a number when it dials like one, else a
// queue), or the fields queue, agent and
// number. Exactly one target is allowed.
func parseTarget(a contactArgs) (router.TransferTarget, error) {
	var t router.TransferTarget
	n := 0
	if a.Target != "" {
		kind, v, found := strings.Cut(a.Target, ":")
		if !found {
			// A bare value: a number if it dials like one, else a queue.
			kind, v = "queue", a.Target
			if _, ok := phoneNumber(a.Target); ok {
				kind = "number"
			}
		}
		switch kind {
		case "queue":
			t.Queue = v
		case "agent":
			t.Agent = router.AgentID(v)
		case "number", "tel":
			t.Number = v
		default:
			return t, coded("transfer_bad_target", clip(a.Target, 60))
		}
		if v == "" {
			return t, coded("transfer_bad_target", clip(a.Target, 60))
		}
		n++
	}
	for _, f := range []struct {
		v   string
		set func(string)
	}{
		{a.Queue, func(v string) { t.Queue = v }},
		{a.Agent, func(v string) { t.Agent = router.AgentID(v) }},
		{a.Number, func(v string) { t.Number = v }},
	} {
		if f.v != "" {
			f.set(f.v)
			n++
		}
	}
	if n != 1 {
		return router.TransferTarget{}, coded("transfer_no_target")
	}
	if len(t.Queue) > 64 || len(t.Agent) > 64 {
		return router.TransferTarget{}, coded("transfer_bad_target", clip(t.String(), 60))
	}
	if t.Number != "" {
		num, ok := phoneNumber(t.Number)
		if !ok {
			return router.TransferTarget{}, coded("transfer_bad_number", clip(t.Number, 30))
		}
		t.Number = num
	}
	return t, nil
}

// phoneNumber normalises a dialable number: digits with an optional
// leading +, separators (space - . ( )) dropped, 3 to 20 digits.
func phoneNumber(s string) (string, bool) {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case strings.ContainsRune(" -.()", r):
		default:
			return "", false
		}
	}
	out := b.String()
	d := len(strings.TrimPrefix(out, "+"))
	return out, d >= 3 && d <= 20
}

// checkTarget parses a's target (transfer and consult alike) and refuses
// the agent itself, an overlong note and an unknown queue.
func (s *Service) checkTarget(user router.AgentID, a contactArgs) (router.TransferTarget, error) {
	to, err := parseTarget(a)
	if err != nil {
		return to, err
	}
	if to.Agent == user {
		return to, coded("transfer_self")
	}
	if len([]rune(a.Note)) > maxNote {
		return to, coded("transfer_note_too_long")
	}
	if to.Queue != "" && !s.knownQueue(to.Queue) {
		return to, coded("transfer_unknown_queue", to.Queue)
	}
	return to, nil
}

// transfer is the one transfer path of the console: a voice call moves
// through the SIP service (the agent leg ends, the citizen hears queue
// media, routing offers it on), a chat through routing; both carry By and
// the note. The transferring agent goes to wrap-up for the contact
// (router.Transferred, Deliver).
func (s *Service) transfer(ctx context.Context, user router.AgentID, a contactArgs) error {
	id := router.ContactID(a.Contact)
	v, err := s.contactOf(user, id)
	if err != nil {
		return err
	}
	if v.State != "talking" {
		return coded("transfer_not_talking")
	}
	to, err := s.checkTarget(user, a)
	if err != nil {
		return err
	}
	if v.Channel == "voice" {
		if s.opts.Calls == nil {
			return coded("calls_unavailable")
		}
		if to.Number != "" {
			// The reply waits for the outside number to answer or not
			// (outbound ring_timeout, 30 s by default), within the
			// connection's 60 s read deadline.
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(s.ctx, outsideWait)
			defer cancel()
		}
		return transferError(s.opts.Calls.Transfer(ctx, id, to, user, a.Note), to)
	}
	if to.Number != "" {
		return coded("transfer_chat_number")
	}
	return transferError(s.do(ctx, router.ContactTransferred{Contact: id, ToQueue: to.Queue, ToAgent: to.Agent,
		Note: a.Note, By: user}), to)
}

func (s *Service) knownQueue(q string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m.queues[q]; ok {
		return true
	}
	_, ok := s.opts.Names.Queues[q]
	return ok
}

// outsideWait bounds a transfer to an outside number from the console.
const outsideWait = 45 * time.Second

// transferError maps the collaborators' errors to codes.
func transferError(err error, to router.TransferTarget) error {
	var ce *codedError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce):
		return err
	case errors.Is(err, ErrNoOutside):
		return coded("transfer_no_outside")
	case errors.Is(err, ErrNumberNotAllowed):
		return coded("transfer_number_not_allowed", to.Number)
	case errors.Is(err, ErrOutsideFailed):
		return coded("transfer_outside_failed")
	case errors.Is(err, ErrCallGone):
		return coded("transfer_call_gone")
	case errors.Is(err, ErrThreeWay):
		return coded("three_way_drop_first")
	case errors.Is(err, router.ErrUnknownQueue):
		return coded("transfer_unknown_queue", to.Queue)
	case errors.Is(err, router.ErrUnknownAgent):
		return coded("transfer_unknown_agent", string(to.Agent))
	case errors.Is(err, router.ErrUnknownContact), errors.Is(err, router.ErrInvalidState):
		return coded("transfer_call_gone")
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return coded("transfer_busy")
	}
	return err
}

// transferTargets is the reply of transfer_targets: what a transfer picker
// lists.
type transferTargets struct {
	Queues []targetQueue `json:"queues"`
	Agents []targetAgent `json:"agents"`
	// Outside reports whether number: targets are available.
	Outside bool `json:"outside"`
	// Interpreters lists the languages of the interpreter queues.
	Interpreters []targetLanguage `json:"interpreters"`
}

type targetQueue struct {
	ID        string `json:"id"`
	Name      Label  `json:"name"`
	Waiting   int    `json:"waiting"`
	Available int    `json:"available"` // agents ready for it now
	Staffed   int    `json:"staffed"`   // agents logged in to it
	EstWaitMS int64  `json:"est_wait_ms"`
}

type targetAgent struct {
	ID     string `json:"id"`
	State  string `json:"state"`
	Phone  bool   `json:"phone"`
	Online bool   `json:"online"`
}

// targets lists the queues (by name, with waiting and available counts) and
// the logged-in agents (with presence) a contact can be transferred to;
// self is left out. Queue counts come from the engine when the hub answers
// queries (fresh), else from the latest statistics.
func (s *Service) targets(ctx context.Context, self router.AgentID) transferTargets {
	s.mu.Lock()
	views := map[string]QueueView{}
	for id, q := range s.m.queues {
		views[id] = *q
	}
	agents := s.m.agentList()
	s.mu.Unlock()
	for id := range s.opts.Names.Queues {
		if _, ok := views[id]; !ok {
			views[id] = QueueView{Queue: id}
		}
	}
	if q, ok := s.hub.(querier); ok {
		_ = q.Query(ctx, func(e *router.Engine) {
			for id := range views {
				if snap, ok := e.QueueStats(id); ok {
					views[id] = *queueView(snap)
				}
			}
		})
	}
	out := transferTargets{Queues: make([]targetQueue, 0, len(views)), Agents: []targetAgent{}, Outside: s.opts.OutsideTransfers}
	for id, q := range views {
		t := targetQueue{ID: id, Name: s.opts.Names.Queues[id], Waiting: q.Waiting, EstWaitMS: q.EstWaitMS,
			Available: q.Agents["ready"]}
		for st, n := range q.Agents {
			if st != "offline" {
				t.Staffed += n
			}
		}
		out.Queues = append(out.Queues, t)
	}
	sort.Slice(out.Queues, func(i, j int) bool { return out.Queues[i].ID < out.Queues[j].ID })
	out.Interpreters = s.interpreterLanguages(views)
	for _, a := range agents {
		if a.ID == string(self) || a.State == "offline" {
			continue
		}
		out.Agents = append(out.Agents, targetAgent{ID: a.ID, State: a.State, Phone: a.Phone, Online: a.Online})
	}
	return out
}
