package router

import "time"

// Offer reserves Agent for Contact. The transport rings the phone (voice) or
// pops the offer in the console (chat and voice), and answers with
// OfferAccepted or OfferRejected. The engine times it out itself.
type Offer struct {
	Contact  ContactID
	Agent    AgentID
	Channel  Channel
	Queue    string
	Number   string
	Deadline time.Time
	Reason   string // explained decision, e.g. "agent17: labor 4, ko 5; idle 312 s, longest idle of 9 eligible"
	// Why is the same decision as structured steps with parameters, for
	// the console to explain in the agent's language.
	Why      []Why
	Waited   time.Duration
	Language string
	Citizen  string
	Attrs    map[string]string
}

// OfferWithdrawn cancels an outstanding offer (timeout, abandon, logout).
type OfferWithdrawn struct {
	Contact ContactID
	Agent   AgentID
	Reason  string
}

// Connected: the offer was accepted; the transport connects citizen and agent
// (bridge the call, open the chat).
type Connected struct {
	Contact ContactID
	Agent   AgentID
	Channel Channel
	Queue   string
}

// Announce tells a waiting contact its place and estimated wait. Sent on
// arrival and whenever either changes meaningfully.
type Announce struct {
	Contact       ContactID
	Channel       Channel
	Position      int // 1-based
	EstimatedWait time.Duration
	// NoAgent: no agent of the queue is working (signed in and not
	// paused), so the estimate means nothing: transports say so and offer
	// a callback or a message instead of a wait.
	NoAgent bool
	// HidePosition, HideWait: the queue's announce settings say to leave
	// the place or the estimate out.
	HidePosition, HideWait bool
}

// Overflowed: the contact now waits in another queue (escalation, queue
// full, guarded overflow, closed hotline).
type Overflowed struct {
	Contact   ContactID
	FromQueue string
	ToQueue   string
	Reason    string
}

// CallbackOffered: the transport should offer a callback / leave-a-message
// to the waiting citizen (escalation step, long wait, closed hotline).
type CallbackOffered struct {
	Contact ContactID
	Reason  string
	// Closed: the offer is because the hotline is closed (the transport
	// says so with the line's hours first).
	Closed bool
}

// ContactClosed: the contact's life in routing is over; the transport must
// end it (hang up, close chat) if still live. Sent exactly once per contact.
type ContactClosed struct {
	Contact ContactID
	Channel Channel
	Reason  EndReason
	Agent   AgentID // last agent, if any
	At      time.Time
	// The contact as it arrived, for a record written by a node that did
	// not handle it (the cluster's leader writes the call record of a call
	// lost with its node). Callback: a booked callback being placed.
	Number   string            `json:",omitempty"`
	Citizen  string            `json:",omitempty"`
	Arrived  time.Time         `json:",omitzero"`
	Attrs    map[string]string `json:",omitempty"`
	Callback bool              `json:",omitempty"`
}

// AgentStateChanged reports every agent state transition.
type AgentStateChanged struct {
	Agent  AgentID
	State  AgentState
	Reason string // not-ready reason or why the state changed
	Next   AgentState
	At     time.Time
	Active int // active contacts
	// WrapUntil is when the wrap-up ends (State == WrapUp), zero otherwise.
	WrapUntil time.Time
}

// ContactStateChanged reports every contact state transition, for the store
// (contact_events) and supervisors.
type ContactStateChanged struct {
	Contact ContactID
	State   ContactState
	Queue   string
	Agent   AgentID
	Reason  string
	At      time.Time
	// Set on the first Waiting transition of a contact (its arrival), so
	// the store can write the whole contact row: zero otherwise.
	Channel Channel
	Number  string
	Citizen string
	Arrived time.Time
}

// Transferred reports a transfer before the contact's next state: From is
// the agent that held it (talking, or offered) and owes a wrap-up for it
// when Talked; the transport and the console carry By, Note and the
// targets to the next agent's offer.
type Transferred struct {
	Contact   ContactID
	Channel   Channel
	From      AgentID // agent that held the contact, "" if it was waiting
	Talked    bool    // From was talking with the citizen (owes a wrap-up)
	By        AgentID
	FromQueue string
	ToQueue   string // "" with ToAgent set: the current queue
	ToAgent   AgentID
	ToNumber  string // transfer out of routing
	Note      string
	Reason    string
	At        time.Time
}

// QueueStats is a changed queue statistics snapshot (delta stream for
// wallboards; only queues that changed since the last Tick).
type QueueStats struct {
	Stats QueueSnapshot
}

func (Offer) command()               {}
func (OfferWithdrawn) command()      {}
func (Connected) command()           {}
func (Announce) command()            {}
func (Overflowed) command()          {}
func (CallbackOffered) command()     {}
func (ContactClosed) command()       {}
func (AgentStateChanged) command()   {}
func (ContactStateChanged) command() {}
func (QueueStats) command()          {}
func (Transferred) command()         {}
