package agents

import (
	"strconv"
	"time"
)

// State is an agent's routing state; router.AgentState is this type.
type State uint8

const (
	Offline State = iota
	Ready
	NotReady
	Reserved
	Busy
	WrapUp
)

// NumStates is the number of states, for per-state counters.
const NumStates = 6

func (s State) String() string {
	switch s {
	case Offline:
		return "offline"
	case Ready:
		return "ready"
	case NotReady:
		return "not-ready"
	case Reserved:
		return "reserved"
	case Busy:
		return "busy"
	case WrapUp:
		return "wrap-up"
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// Channel is a contact medium; router.Channel is this type.
type Channel uint8

const (
	Voice Channel = 1
	Chat  Channel = 2
)

func (c Channel) String() string {
	switch c {
	case Voice:
		return "voice"
	case Chat:
		return "chat"
	}
	return "channel(" + strconv.Itoa(int(c)) + ")"
}

// DefaultChatCapacity is the chat capacity of an agent definition that does
// not set one.
const DefaultChatCapacity = 3

// Capacity is how many contacts per channel an agent can hold at once.
type Capacity struct{ Voice, Chat int }

// Load counts contacts per channel (active or offered).
type Load struct{ Voice, Chat int }

// Total is Voice + Chat.
func (l Load) Total() int { return l.Voice + l.Chat }

// Add returns l with n added on ch.
func (l Load) Add(ch Channel, n int) Load {
	if ch == Voice {
		l.Voice += n
	} else {
		l.Chat += n
	}
	return l
}

// CanTake reports whether one more contact on ch fits: below the channel's
// capacity, and (cross-channel rule) a call blocks chats and a chat blocks
// calls.
func (c Capacity) CanTake(l Load, ch Channel) bool {
	switch ch {
	case Voice:
		return c.Voice > 0 && l.Voice < c.Voice && l.Chat == 0
	case Chat:
		return c.Chat > 0 && l.Chat < c.Chat && l.Voice == 0
	}
	return false
}

// Req is one required skill with a minimum proficiency.
type Req struct {
	Skill string
	Min   int
}

// Skills maps a skill to a proficiency 1..5.
type Skills map[string]int

// Meets reports whether every req is met at or above its minimum.
func (s Skills) Meets(reqs []Req) bool {
	for _, r := range reqs {
		if s[r.Skill] < r.Min || s[r.Skill] <= 0 {
			return false
		}
	}
	return true
}

// Score is the sum of proficiencies on the required skills (most-skilled
// strategy).
func (s Skills) Score(reqs []Req) int {
	n := 0
	for _, r := range reqs {
		n += s[r.Skill]
	}
	return n
}

// Agent is the routing state of one agent. The router mutates the fields
// directly and calls Derive after each change.
type Agent struct {
	ID     string
	Skills Skills
	Cap    Capacity

	LoggedIn bool
	// Base is Ready or NotReady: what the agent wants when idle.
	Base   State
	Reason string // not-ready reason
	// Next, when HasNext, replaces Base once the agent is idle (no contacts,
	// no wrap-up).
	Next       State
	NextReason string
	HasNext    bool

	Active    Load // connected contacts
	Offers    Load // pending offers
	InWrap    bool
	WrapUntil time.Time
	WrapDur   time.Duration // longest wrap-up owed for contacts of this busy period

	State     State // derived, see Derive
	Since     time.Time
	IdleSince time.Time // when the agent last became free (longest-idle)

	Handled    int
	HandleTime time.Duration
}

// Derive computes the display state from the fields.
func (a *Agent) Derive() State {
	switch {
	case a.Active.Total() > 0:
		return Busy
	case a.Offers.Total() > 0:
		return Reserved
	case a.InWrap:
		return WrapUp
	case !a.LoggedIn:
		return Offline
	}
	return a.Base
}

// Used is active plus offered contacts.
func (a *Agent) Used() Load {
	return Load{Voice: a.Active.Voice + a.Offers.Voice, Chat: a.Active.Chat + a.Offers.Chat}
}

// Available reports whether the agent may get a new offer on ch. busyOK
// allows chat offers while the agent already holds chats (queue option
// chat-while-busy).
func (a *Agent) Available(ch Channel, busyOK bool) bool {
	if !a.LoggedIn || a.Base != Ready || a.InWrap {
		return false
	}
	u := a.Used()
	if u.Total() > 0 && !(busyOK && ch == Chat) {
		return false
	}
	return a.Cap.CanTake(u, ch)
}

// Idle reports whether the agent holds nothing: no contacts, offers or wrap-up.
func (a *Agent) Idle() bool {
	return a.Active.Total() == 0 && a.Offers.Total() == 0 && !a.InWrap
}

// ApplyNext moves a pending next state into Base when the agent is idle.
// It reports whether it did.
func (a *Agent) ApplyNext() bool {
	if !a.HasNext || !a.Idle() {
		return false
	}
	a.HasNext = false
	if a.Next == Offline {
		a.LoggedIn = false
		a.Base = NotReady
		a.Reason = "logged out"
		return true
	}
	a.Base, a.Reason = a.Next, a.NextReason
	return true
}

// AHT is the average handle time, zero when nothing was handled.
func (a *Agent) AHT() time.Duration {
	if a.Handled == 0 {
		return 0
	}
	return a.HandleTime / time.Duration(a.Handled)
}
