package router

import "time"

// ContactArrived enters a new contact (or a recovered one) into routing.
type ContactArrived struct {
	Contact  ContactID
	Channel  Channel
	Number   string     // hotline number dialled or chosen (after alias resolution)
	Queue    string     // target queue id; "" = the hotline's default queue
	Skills   []SkillReq // optional override of the queue's required skills (from IVR)
	Language string     // language chosen by the citizen, e.g. "ko", "en"
	Priority int        // extra priority on top of the queue's
	// Arrived is the original arrival time. Recovered chats and booked
	// callbacks keep their place in line by carrying it; zero means now.
	Arrived time.Time
	Citizen string            // phone number or chat identity, for preferred-agent routing
	Attrs   map[string]string // free attributes: IVR choices, name, ...
	// Callback marks a booked callback placed agent first (Voice): it
	// waits in Queue from Arrived whatever the line's hours and the
	// queue's limits, hears no announcements, is offered no callback and
	// is counted in QueueSnapshot.Callbacks.
	Callback bool
}

// ContactAbandoned: the citizen left (hung up, closed the chat) before or
// during an offer.
type ContactAbandoned struct {
	Contact ContactID
}

// ContactEnded: the conversation with the agent ended; the agent goes to
// wrap-up.
type ContactEnded struct {
	Contact ContactID
	Reason  EndReason
}

// ContactTransferred moves a contact (waiting or connected) to another queue
// or a named agent. Its history, attributes and original arrival time stay.
// With neither ToQueue nor ToAgent the contact leaves routing
// (EndTransferredOut), to ToNumber when the transport called one. The agent
// who transfers is never offered the contact again (unless it names them as
// ToAgent) and never becomes its preferred agent.
type ContactTransferred struct {
	Contact  ContactID
	ToQueue  string
	ToAgent  AgentID
	ToNumber string // outside number, for the record (transfer out)
	Note     string
	By       AgentID // who transferred, "" for the system
}

// ContactMoved is a supervisor action on a waiting contact: change its queue
// and/or its priority.
type ContactMoved struct {
	Contact  ContactID
	ToQueue  string // "" = keep
	Priority *int   // nil = keep
	By       AgentID
}

// CallbackRequested: the waiting citizen asked to be called back (virtual
// hold). The contact leaves the live queue as a booked callback.
type CallbackRequested struct {
	Contact ContactID
	Number  string
}

// AgentLoggedIn makes a known agent available (initially not-ready unless
// Ready is set).
type AgentLoggedIn struct {
	Agent AgentID
	Ready bool
}

// AgentLoggedOut logs an agent out; any pending offer is withdrawn. Active
// contacts keep running; the agent goes offline once they end.
type AgentLoggedOut struct {
	Agent AgentID
	By    AgentID // supervisor who forced it, "" for self
}

// AgentStateRequested asks for ready or not-ready(reason). With Next set it
// takes effect after the agent's current contacts and wrap-up.
type AgentStateRequested struct {
	Agent  AgentID
	State  AgentState // Ready or NotReady
	Reason string     // not-ready reason code
	Next   bool
	By     AgentID // supervisor who forced it, "" for self
}

// OfferAccepted: the agent accepted (console) or answered (phone).
type OfferAccepted struct {
	Contact ContactID
	Agent   AgentID
}

// OfferRejected: the agent declined (console) or the phone answered
// busy/decline/failed.
type OfferRejected struct {
	Contact ContactID
	Agent   AgentID
	Reason  string
}

// WrapUpDone: the agent finished wrap-up early (or with disposition).
type WrapUpDone struct {
	Agent AgentID
}

// Tick advances time: offer timeouts, wrap-up ends, escalation steps,
// announcements, the reconciler. server/ sends it at Engine.NextDeadline().
type Tick struct{}

// ConfigReloaded replaces queues, hotlines and agent definitions. Waiting
// contacts and live agents keep their state.
type ConfigReloaded struct {
	Config Config
}

// AgentUpserted adds or changes one agent definition (skills, capacity)
// without a full reload; admins use it.
type AgentUpserted struct {
	Agent AgentDef
}

func (ContactArrived) event()      {}
func (ContactAbandoned) event()    {}
func (ContactEnded) event()        {}
func (ContactTransferred) event()  {}
func (ContactMoved) event()        {}
func (CallbackRequested) event()   {}
func (AgentLoggedIn) event()       {}
func (AgentLoggedOut) event()      {}
func (AgentStateRequested) event() {}
func (OfferAccepted) event()       {}
func (OfferRejected) event()       {}
func (WrapUpDone) event()          {}
func (Tick) event()                {}
func (ConfigReloaded) event()      {}
func (AgentUpserted) event()       {}
