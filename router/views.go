package router

import "time"

// AgentView is the read model of one agent for server/ and the console.
type AgentView struct {
	ID       AgentID
	State    AgentState
	Reason   string // not-ready reason or why the state changed
	Since    time.Time
	Next     AgentState // state applied after the current contacts; Offline (zero) = none
	HasNext  bool
	Active   []ContactID // contacts talking with the agent, ascending
	Offered  []ContactID // contacts offered to the agent, ascending
	Handled  int
	AHT      time.Duration // average handle time (talk + wrap-up) today
	Queues   []string
	LoggedIn bool
}

// ContactView is the read model of one contact.
type ContactView struct {
	ID       ContactID
	State    ContactState
	Channel  Channel
	Queue    string
	Agent    AgentID // offered-to or talking-with agent
	Arrived  time.Time
	Waited   time.Duration
	Position int // 1-based in its queue; 0 when not waiting
	Priority int // effective priority now (queue + contact + aging)
	Reason   string
	Citizen  string
}

// Snapshot is a full read model: every queue and every agent, in id order.
type Snapshot struct {
	At     time.Time
	Queues []QueueSnapshot
	Agents []AgentView
}
