package router

import (
	"time"

	"onecall/agents"
)

// AgentState is the routing state of an agent: the agent model's own type,
// so the two packages cannot drift apart.
type AgentState = agents.State

const (
	Offline  = agents.Offline
	Ready    = agents.Ready
	NotReady = agents.NotReady
	Reserved = agents.Reserved // offer pending
	Busy     = agents.Busy
	WrapUp   = agents.WrapUp
)

// ContactState is the routing state of a contact.
type ContactState uint8

const (
	Waiting ContactState = iota + 1
	Offered
	Talking // connected to an agent
	Ended   // final
	CallbackBooked
)

// EndReason says why a contact ended. Enumerated; never free text.
type EndReason uint8

const (
	EndUnknown           EndReason = iota
	EndCompleted                   // agent and citizen finished normally
	EndAbandoned                   // citizen left while waiting/offered
	EndRefusedQueueFull            // queue full and no overflow/callback
	EndRefusedClosed               // hotline closed
	EndCallback                    // converted to a booked callback
	EndMaxWait                     // waited past the queue's max wait with nowhere to go
	EndAgentLost                   // agent's phone/console vanished mid-contact
	EndStuck                       // reconciler ended a state that outlived its bound
	EndSystemRestart               // process died during the contact
	EndTransferredOut              // transferred outside routing
	EndNoQueue                     // no queue could serve it
	EndCallbackRetry               // a placed callback did not reach the citizen; another attempt is scheduled
	EndCallbackUnreached           // a placed callback did not reach the citizen in its last attempt
	EndCallbackMerged              // the citizen called in again while the callback was pending
	EndNodeLost                    // the cluster node that held the call's media died (NodeLost)
)

// Strategy chooses among eligible agents.
type Strategy uint8

const (
	LongestIdle Strategy = iota
	MostSkilled
	LeastOccupied
	RoundRobin
)

// Config is the router's view of configuration. server/ maps configs.* to it.
type Config struct {
	Queues   []QueueDef
	Hotlines []HotlineDef
	Agents   []AgentDef
	// MissedOfferNotReady puts an agent who lets an offer time out or
	// rejects it into not-ready("missed offer"). Default true.
	MissedOfferNotReady bool
	// PreferredAgentWindow: a citizen who had a contact within this window is
	// first offered to the same agent; PreferredAgentWait is how long the
	// contact waits for that agent to become ready.
	PreferredAgentWindow time.Duration
	PreferredAgentWait   time.Duration
	// Bounds for transient states (reconciler).
	MaxTalk    time.Duration // default 4h
	MaxWrapUp  time.Duration // default 30m
	MaxWaiting time.Duration // default 24h
	// DefaultAHT is the handle time assumed for estimates before a queue
	// has recent data. Default 3m.
	DefaultAHT time.Duration
	// StatsEvery is the minimum interval between QueueStats deltas of one
	// queue. Default 1s.
	StatsEvery time.Duration
	// CallbackWait is how long a contact of a closed hotline with callback
	// treatment waits for CallbackRequested before it is closed
	// (EndRefusedClosed). Default 2m.
	CallbackWait time.Duration
}

// QueueDef is one queue.
type QueueDef struct {
	ID            string
	Skills        []SkillReq
	Priority      int
	Weight        int // for agents serving several queues; default 1
	Strategy      Strategy
	SLTarget      float64       // e.g. 0.8
	SLThreshold   time.Duration // e.g. 20s
	MaxWaiting    int
	MaxWait       time.Duration // max estimated wait before overflow/callback/refuse
	OnFull        FullAction
	FullTarget    string // queue id for FullOverflow
	Escalation    []EscalationStep
	Overflow      []OverflowTarget // borrow these queues' agents (guarded)
	WrapUpVoice   time.Duration
	WrapUpChat    time.Duration
	OfferVoice    time.Duration // default 15s
	OfferChat     time.Duration // default 30s
	AnnounceEvery time.Duration // minimum interval between announces, default 30s
	// HidePosition, HideWait: announcements leave out the place in line or
	// the estimated wait (queues.yaml announce.position/.estimated_wait).
	HidePosition, HideWait bool
	AgingPerMinute         int  // priority points gained per minute waited
	ChatWhileBusy          bool // chat contacts may go to agents busy with other chats
	// Interprets makes this an interpreter queue for that language: an
	// agent's interpretation request (ConsultRequested.Language) rings its
	// agents (interpret.go). InterpretWait bounds how long such a request
	// waits for a free interpreter (default DefaultInterpretWait).
	// omitempty: encodings of ordinary queues stay as before (codec.go).
	Interprets    string        `json:",omitempty"`
	InterpretWait time.Duration `json:",omitempty"`
}

// FullAction is what happens to a contact that arrives to a full queue.
type FullAction uint8

const (
	FullRefuse FullAction = iota
	FullOverflow
	FullCallback
)

// EscalationStep applies once a contact has waited After.
type EscalationStep struct {
	After         time.Duration
	Relax         []SkillReq // lowered minimums, replacing matching skills
	AddQueue      string     // also offer to this queue's agents
	OfferCallback bool
}

// OverflowTarget lets a queue borrow another queue's agents while that
// queue meets its own service level (Guarded) or always.
type OverflowTarget struct {
	Queue   string
	After   time.Duration
	Guarded bool
}

// HotlineDef is one number as routing sees it.
type HotlineDef struct {
	Number       string
	DefaultQueue string
	Schedule     Schedule
	Closed       ClosedTreatment
	ClosedTarget string // queue for ClosedOverflow
}

// ClosedTreatment is what a closed hotline does with a contact.
type ClosedTreatment uint8

const (
	ClosedRefuse ClosedTreatment = iota
	ClosedCallback
	ClosedOverflow
)

// Schedule is weekly opening hours in the hotline's local time (KST).
// Always means 24/7. Holidays lists dates (YYYY-MM-DD) treated per
// HolidayOpen.
type Schedule struct {
	Always      bool
	Weekly      [7][]Span // index time.Weekday
	Holidays    map[string]bool
	HolidayOpen []Span // hours on public holidays; nil = closed
	Location    *time.Location
}

// Span is an opening interval in minutes since local midnight [From, To).
type Span struct{ From, To int }

// AgentDef is an agent's static definition.
type AgentDef struct {
	ID       AgentID
	Skills   map[string]int
	Voice    int      // voice capacity: 0 = default 1, negative = none
	Chat     int      // chat capacity: 0 = default 3, negative = none
	Queues   []string // explicit queue memberships; nil = every queue whose skills they meet
	Disabled bool
}

// QueueSnapshot is a queue's live statistics.
type QueueSnapshot struct {
	Queue         string
	Waiting       int
	LongestWait   time.Duration
	SLToday       float64 // fraction answered within threshold, of answered+abandoned after threshold
	SL15m         float64
	SL60m         float64
	ASA           time.Duration // average speed of answer today
	Offered       int
	Answered      int
	Abandoned     int
	AgentsByState map[AgentState]int
	EstimatedWait time.Duration
	// SLTodayN and SL15mN count the contacts SLToday and SL15m are computed
	// over (answered plus abandoned after the threshold); 0 means no data:
	// the SL of 1 then is "nothing missed", not a measured 100 %.
	SLTodayN int
	SL15mN   int
	// Callbacks counts the booked callbacks waiting in the queue for an
	// agent (placed agent first; ContactArrived.Callback).
	Callbacks int
}
