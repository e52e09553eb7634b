package app

import (
	"log/slog"

	"onecall/router"
	"onecall/sip"
	"onecall/store"
)

// storeSink turns routing commands into store records: every contact state
// change (with the decision's reason) into contact_events and the contacts
// row, every agent state change into agent_state_log. It runs on the hub
// goroutine and never waits on disk: Enqueue only. A full write queue is
// counted by the store and logged here once per burst.
type storeSink struct {
	st        *store.Store
	log       *slog.Logger
	overloads int
}

func newStoreSink(st *store.Store, log *slog.Logger) *storeSink {
	return &storeSink{st: st, log: log.With("component", "store-sink")}
}

func (s *storeSink) Deliver(cmds []router.Command) {
	for _, c := range cmds {
		for _, rec := range records(c) {
			if err := s.st.Enqueue(rec); err != nil {
				s.overloads++
				if s.overloads == 1 || s.overloads%1000 == 0 {
					s.log.Warn("store write queue refused a record", "err", err, "refused", s.overloads)
				}
			}
		}
	}
}

// records maps one command to the rows it persists.
func records(c router.Command) []store.Record {
	switch c := c.(type) {
	case router.ContactStateChanged:
		id := uint64(c.Contact)
		up := store.ContactUpsert{ID: id, State: c.State.String(), Queue: c.Queue, Agent: string(c.Agent)}
		switch c.State {
		case router.Waiting:
			if c.Channel != 0 {
				up.Channel = c.Channel.String()
			}
			up.Hotline, up.Citizen = c.Number, c.Citizen
			if !c.Arrived.IsZero() {
				up.Arrived = c.Arrived
			}
		case router.Offered:
			up.Offered = c.At
		case router.Talking:
			up.Answered = c.At
		case router.Ended, router.CallbackBooked:
		}
		return []store.Record{
			store.ContactEvent{Contact: id, At: c.At, State: c.State.String(), Queue: c.Queue, Agent: string(c.Agent), Reason: c.Reason},
			up,
		}
	case router.ContactClosed:
		recs := []store.Record{store.ContactUpsert{
			ID: uint64(c.Contact), State: router.Ended.String(), Ended: c.At, EndReason: c.Reason.String(), Agent: string(c.Agent),
		}}
		if c.Reason == router.EndNodeLost && c.Channel == router.Voice {
			recs = append(recs, lostCallRecord(c))
		}
		return recs
	case router.Transferred:
		// The transfer in the contact's history: who, from which queue,
		// to where, and the note (Reason).
		return []store.Record{store.ContactEvent{Contact: uint64(c.Contact), At: c.At, State: store.EventTransferred,
			Queue: c.FromQueue, Agent: string(c.By), Reason: c.Reason}}
	case router.ConsultChanged:
		// Each consult step in the contact's history: who consulted, and
		// the target and outcome in the reason.
		state := c.Step.String()
		if c.Language != "" {
			state = interpreterState(c)
		}
		return []store.Record{store.ContactEvent{Contact: uint64(c.Contact), At: c.At, State: state,
			Queue: c.Queue, Agent: string(c.By), Reason: c.Reason}}
	case router.AgentStateChanged:
		return []store.Record{store.AgentStateLog{Agent: string(c.Agent), State: c.State.String(), Reason: c.Reason, At: c.At}}
	default:
		return nil
	}
}

// lostCallRecord is the call record of a voice contact that routing ended
// node-lost: the node that held its dialogs and media, which writes a
// call's record at its end, died with it, so the store sink of the node
// whose engine commands are stored (the cluster's leader) writes it. The
// Call-ID is the one the call's node gave routing at arrival (attrs
// "call_id"); a callback being placed was dialled by its node after its
// arrival, so its attempt's Call-ID is not known (empty) and its record
// reads, like the node's own, from the line to the citizen.
func lostCallRecord(c router.ContactClosed) store.LostCallRecord {
	rec := store.LostCallRecord{CallID: c.Attrs[sip.AttrCallID], Contact: uint64(c.Contact), From: c.Citizen, To: c.Number,
		Started: c.Arrived, Ended: c.At}
	if c.Callback {
		rec.CallID, rec.From, rec.To = "", c.Number, c.Citizen
	}
	if rec.Started.IsZero() {
		rec.Started = c.At
	}
	return rec
}

// interpreterState names the step of an interpretation request in the
// contact's history, in the words of the interpreter at an outside number
// (interpreter_joined, interpreter_left, interpreter_failed) and its own.
func interpreterState(c router.ConsultChanged) string {
	switch c.Step {
	case router.ConsultStarted:
		return "interpreter_ringing"
	case router.ConsultWaiting:
		return "interpreter_waiting"
	case router.ConsultAnswered:
		return "interpreter_joined"
	case router.ConsultFailed:
		if c.Agent == "" {
			return "interpreter_request_failed"
		}
		return "interpreter_failed"
	case router.ConsultCancelled:
		return "interpreter_withdrawn"
	case router.ConsultLeft:
		return "interpreter_left"
	default:
	}
	return "interpreter_" + c.Step.String()
}
