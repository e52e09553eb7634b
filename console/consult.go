package console

import (
	"context"
	"errors"

	"onecall/router"
)

// Consult (warm) transfer from the console: "consult" puts the citizen on
// hold and rings the target (an agent, the agent routing picks in a queue,
// or an outside number); "consult_cancel", "consult_complete" and
// "conference" end it (docs/console-protocol.md). Routing reports every
// step (router.ConsultChanged): the consulting agent, the consulted agent
// and supervisors get a "consult" event, the consulted agent's carrying
// the contact (who, the IVR choices, the transfers so far) and the note.

// ConsultControl is the optional part of CallControl for consult
// transfers; the SIP service adapter implements it.
type ConsultControl interface {
	Consult(ctx context.Context, contact router.ContactID, to router.TransferTarget, by router.AgentID, note string) error
	ConsultEnd(ctx context.Context, contact router.ContactID, step router.ConsultStep) error
}

// Errors a ConsultControl returns (besides the transfer errors).
var (
	ErrConsultActive  = errors.New("the call is already in a consult")
	ErrNoConsult      = errors.New("the call has no consult")
	ErrConsultRinging = errors.New("the consulted party has not answered yet")
	ErrNoConference   = errors.New("conference is not available")
)

// ConsultView is a contact's running consult (ContactView.Consult).
type ConsultView struct {
	Step     string `json:"step"` // consult | consult_answered | conference
	By       string `json:"by"`
	Agent    string `json:"agent,omitempty"`
	Queue    string `json:"queue,omitempty"`
	Number   string `json:"number,omitempty"`
	Note     string `json:"note,omitempty"`
	Deadline int64  `json:"deadline,omitempty"` // unix ms, while ringing (or waiting, for an interpreter)
	Since    int64  `json:"since"`
	// Language is set for an interpreter from an interpreter queue
	// (step consult: it rings; interpret_waiting: no interpreter free
	// yet; consult_answered: the three-way call).
	Language string `json:"language,omitempty"`
}

// consultEvent is the "consult" event.
type consultEvent struct {
	Contact  uint64       `json:"contact"`
	Step     string       `json:"step"`
	By       string       `json:"by"`
	Agent    string       `json:"agent,omitempty"`
	Queue    string       `json:"queue,omitempty"`
	Number   string       `json:"number,omitempty"`
	Note     string       `json:"note,omitempty"`
	Reason   string       `json:"reason"`
	Deadline int64        `json:"deadline,omitempty"`
	At       int64        `json:"at"`
	View     *ContactView `json:"view,omitempty"`     // the contact, for the consulted agent
	Language string       `json:"language,omitempty"` // an interpretation request for this language
}

func (s *Service) consultControl() (ConsultControl, error) {
	if s.opts.Calls == nil {
		return nil, coded("calls_unavailable")
	}
	cc, ok := s.opts.Calls.(ConsultControl)
	if !ok {
		return nil, coded("consult_unavailable")
	}
	return cc, nil
}

// contactOf returns a copy of the live contact id if user is its agent
// (contact_not_yours otherwise): the console's checks before a call
// control.
func (s *Service) contactOf(user router.AgentID, id router.ContactID) (ContactView, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.m.contacts[id]
	if v == nil || v.Agent != string(user) {
		return ContactView{}, coded("contact_not_yours", uint64(id))
	}
	return *v, nil
}

// consult starts a consult of the agent's talking voice call.
func (s *Service) consult(ctx context.Context, user router.AgentID, a contactArgs) error {
	id := router.ContactID(a.Contact)
	v, err := s.contactOf(user, id)
	if err != nil {
		return err
	}
	if v.State != "talking" || v.Channel != "voice" {
		return coded("consult_not_talking")
	}
	to, err := s.checkTarget(user, a)
	if err != nil {
		return err
	}
	cc, err := s.consultControl()
	if err != nil {
		return err
	}
	return consultError(cc.Consult(ctx, id, to, user, a.Note), to)
}

// consultEnd is consult_cancel, consult_complete and conference.
func (s *Service) consultEnd(ctx context.Context, user router.AgentID, a contactArgs, step router.ConsultStep) error {
	id := router.ContactID(a.Contact)
	v, err := s.contactOf(user, id)
	if err != nil {
		return err
	}
	if v.Consult == nil {
		return coded("consult_none")
	}
	cc, err := s.consultControl()
	if err != nil {
		return err
	}
	return consultError(cc.ConsultEnd(ctx, id, step), router.TransferTarget{})
}

func consultError(err error, to router.TransferTarget) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrConsultActive):
		return coded("consult_active")
	case errors.Is(err, ErrNoConsult):
		return coded("consult_none")
	case errors.Is(err, ErrConsultRinging):
		return coded("consult_ringing")
	case errors.Is(err, ErrNoConference):
		return coded("consult_no_conference")
	case errors.Is(err, router.ErrNoAgentFree):
		return coded("consult_no_agent_free")
	}
	return transferError(err, to)
}

// consultChangedLocked folds a consult step into the mirror and tells the
// consulting agent, the consulted agent and supervisors. s.mu held.
func (s *Service) consultChangedLocked(c router.ConsultChanged) {
	v := s.m.contacts[c.Contact]
	ev := consultEvent{Contact: uint64(c.Contact), Step: c.Step.String(), By: string(c.By), Agent: string(c.Agent),
		Queue: c.Queue, Number: c.Number, Note: c.Note, Reason: c.Reason, At: unixMS(c.At), Language: c.Language}
	if !c.Deadline.IsZero() {
		ev.Deadline = unixMS(c.Deadline)
	}
	if v != nil {
		switch c.Step {
		case router.ConsultStarted, router.ConsultAnswered, router.ConsultConference, router.ConsultWaiting:
			cv := ConsultView{Step: ev.Step, By: ev.By, Agent: ev.Agent, Queue: ev.Queue, Number: ev.Number,
				Note: ev.Note, Deadline: ev.Deadline, Since: ev.At, Language: c.Language}
			v.Consult = &cv
			if c.Step == router.ConsultStarted && c.Language == "" { // an interpreter's ring holds nobody
				v.Held = ev.At
			}
		default:
			v.Consult = nil
			if c.Language == "" {
				v.Held = 0
			}
		}
		if c.Agent != "" {
			view := *v
			ev.View = &view
		}
	}
	targets := s.agentTargets(c.By)
	if c.Agent != "" {
		if a := s.conns[string(c.Agent)]; a != nil && a.sess.Role == RoleAgent {
			targets = append(targets, a)
		}
	}
	s.emitLocked("consult", ev, targets)
	if v != nil {
		s.emitLocked("contact_state", *v, s.agentTargets(router.AgentID(v.Agent)))
	}
}
