package console

import (
	"context"
	"errors"

	"onecall/router"
)

// Interpreting is the three-way call for interpretation (issue 11). The
// console's CallControl may implement it; without it the commands answer
// calls_unavailable. Interpret dials an outside number the line's
// transfer_numbers allow and joins it as a third party (each hears the
// other two); it returns ErrNoOutside, ErrNumberNotAllowed,
// ErrOutsideFailed or ErrCallGone like Transfer, and ErrThreeWay when an
// interpreter is already on. DropInterpreter takes the interpreter out
// (ErrNoInterpreter when there is none).
type Interpreting interface {
	Interpret(ctx context.Context, contact router.ContactID, number string, by router.AgentID) error
	DropInterpreter(ctx context.Context, contact router.ContactID, by router.AgentID) error
}

var (
	// ErrThreeWay: an interpreter is on the call (drop it first).
	ErrThreeWay = errors.New("an interpreter is on the call")
	// ErrNoInterpreter: there is no interpreter on the call.
	ErrNoInterpreter = errors.New("no interpreter on the call")
)

// interpret handles "interpret" and "interpret_drop": the agent's own
// talking voice call only.
func (s *Service) interpret(ctx context.Context, cmd string, user router.AgentID, a contactArgs) (any, error) {
	id := router.ContactID(a.Contact)
	v, err := s.contactOf(user, id)
	if err != nil {
		return nil, err
	}
	if v.Channel != "voice" {
		return nil, coded("interpret_not_voice")
	}
	if v.State != "talking" {
		return nil, coded("transfer_not_talking")
	}
	ic, ok := s.opts.Calls.(Interpreting)
	if !ok || s.opts.Calls == nil {
		return nil, coded("calls_unavailable")
	}
	if cmd == "interpret" && a.Language != "" {
		return nil, s.interpretLanguage(ctx, id, user, a)
	}
	if cmd == "interpret_drop" {
		if err := interpretError(ic.DropInterpreter(ctx, id, user), ""); err != nil {
			return nil, err
		}
		s.setInterpreter(id, "")
		return nil, nil
	}
	num, ok := phoneNumber(a.Number)
	if !ok {
		return nil, coded("interpret_bad_number", clip(a.Number, 30))
	}
	// The reply waits for the interpreter to answer or not (outbound
	// ring_timeout), as a transfer out does.
	ctx, cancel := context.WithTimeout(s.ctx, outsideWait)
	defer cancel()
	if err := interpretError(ic.Interpret(ctx, id, num, user), num); err != nil {
		return nil, err
	}
	s.setInterpreter(id, num)
	return nil, nil
}

func interpretError(err error, num string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNoOutside):
		return coded("interpret_no_outside")
	case errors.Is(err, ErrNumberNotAllowed):
		return coded("interpret_not_allowed", num)
	case errors.Is(err, ErrOutsideFailed):
		return coded("interpret_failed")
	case errors.Is(err, ErrThreeWay):
		return coded("interpret_already")
	case errors.Is(err, ErrNoInterpreter):
		return coded("interpret_none")
	case errors.Is(err, ErrCallGone):
		return coded("transfer_call_gone")
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return coded("transfer_busy")
	}
	return err
}

// SetInterpreter shows (number) or clears ("") the interpreter of a voice
// contact in the console; the SIP service calls it when the interpreter
// leaves by itself.
func (s *Service) SetInterpreter(id router.ContactID, number string) { s.setInterpreter(id, number) }

func (s *Service) setInterpreter(id router.ContactID, number string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.m.contacts[id]
	if v == nil || v.Interpreter == number {
		return
	}
	v.Interpreter = number
	s.emitLocked("contact_state", *v, s.agentTargets(router.AgentID(v.Agent)))
}

// InterpreterQueue is the optional part of CallControl for an interpreter
// from an interpreter queue (queues.yaml interprets): RequestInterpreter
// asks routing for an interpreter of lang; the request rings the best
// free interpreter or waits for one (the "consult" events with a
// language tell each step); interpret_drop withdraws it or drops the
// interpreter.
type InterpreterQueue interface {
	RequestInterpreter(ctx context.Context, contact router.ContactID, lang string, by router.AgentID, note string) error
}

// interpretLanguage is "interpret" with a language: an interpreter from
// the language's interpreter queue.
func (s *Service) interpretLanguage(ctx context.Context, id router.ContactID, user router.AgentID, a contactArgs) error {
	known := false
	for _, q := range s.opts.Queues {
		known = known || (q.Interprets != "" && q.Interprets == a.Language)
	}
	if !known {
		return coded("interpret_no_language", clip(a.Language, 20))
	}
	iq, ok := s.opts.Calls.(InterpreterQueue)
	if !ok {
		return coded("calls_unavailable")
	}
	err := iq.RequestInterpreter(ctx, id, a.Language, user, a.Note)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, router.ErrUnknownQueue):
		return coded("interpret_no_language", clip(a.Language, 20))
	case errors.Is(err, ErrConsultActive):
		return coded("consult_active")
	case errors.Is(err, router.ErrInvalidState):
		return coded("consult_active")
	}
	return interpretError(err, "")
}

// interpreterLanguages lists the languages of the interpreter queues with
// their free interpreters (transfer_targets: the interpreter picker).
func (s *Service) interpreterLanguages(views map[string]QueueView) []targetLanguage {
	out := []targetLanguage{}
	for _, q := range s.opts.Queues {
		if q.Interprets == "" {
			continue
		}
		v := views[q.ID]
		out = append(out, targetLanguage{Language: q.Interprets, NameKo: q.InterpretsKo, NameEn: q.InterpretsEn,
			Queue: q.ID, Available: v.Agents["ready"]})
	}
	return out
}

// targetLanguage is one language of the interpreter picker.
type targetLanguage struct {
	Language  string `json:"language"`
	NameKo    string `json:"name_ko,omitempty"`
	NameEn    string `json:"name_en,omitempty"`
	Queue     string `json:"queue"`
	Available int    `json:"available"` // interpreters ready now
}
