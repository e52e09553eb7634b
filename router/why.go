package router

import (
	"strconv"
	"strings"
	"time"

	"onecall/agents"
)

// WhyCode names one step of a routing decision. The console renders the
// steps in the agent's language; Offer.Reason keeps the English text for
// logs and the store.
type WhyCode string

// The routing decision steps. Fields of Why that a code does not name are
// zero.
const (
	WhySkillMatch       WhyCode = "skill_match"       // Skill, Level: the agent's level in a required skill
	WhyLongestIdle      WhyCode = "longest_idle"      // Secs idle, Of ready agents
	WhyMostSkilled      WhyCode = "most_skilled"      // Value: skill score, Of ready agents
	WhyLeastOccupied    WhyCode = "least_occupied"    // Value: active contacts, Of ready agents
	WhyRoundRobin       WhyCode = "round_robin"       // Of ready agents
	WhyOverflow         WhyCode = "overflow"          // Queue: the escalation/overflow queue whose agent takes it
	WhyGuardedOverflow  WhyCode = "guarded_overflow"  // Queue: guarded overflow queue (meets its SL target)
	WhyPreferredAgent   WhyCode = "preferred_agent"   // Agent, Secs since the citizen last talked to them
	WhyTransferredAgent WhyCode = "transferred_agent" // Agent: who transferred it to this agent ("" unknown)
	WhyAgentReady       WhyCode = "agent_ready"       // the agent it waited for became free
	WhyQueueHead        WhyCode = "queue_head"        // Queue, Value: priority, Secs waited, Of queue heads compared
)

// Why is one structured step of a routing decision (Offer.Why).
type Why struct {
	Code  WhyCode
	Skill string
	Level int
	Queue string
	Agent AgentID
	Secs  int64
	Value int
	Of    int
}

// String renders w deterministically for golden tests and logs:
// code(key=value ...), zero fields left out.
func (w Why) String() string {
	var b strings.Builder
	b.WriteString(string(w.Code))
	sep := byte('(')
	add := func(k, v string) {
		b.WriteByte(sep)
		sep = ' '
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(v)
	}
	if w.Skill != "" {
		add("skill", w.Skill)
		add("level", strconv.Itoa(w.Level))
	}
	if w.Queue != "" {
		add("queue", w.Queue)
	}
	if w.Agent != "" {
		add("agent", string(w.Agent))
	}
	if w.Secs != 0 {
		add("secs", strconv.FormatInt(w.Secs, 10))
	}
	if w.Value != 0 {
		add("value", strconv.Itoa(w.Value))
	}
	if w.Of != 0 {
		add("of", strconv.Itoa(w.Of))
	}
	if sep == ' ' {
		b.WriteByte(')')
	}
	return b.String()
}

// appendSkillWhy appends one skill_match step per requirement.
func appendSkillWhy(w []Why, a *agent, reqs []agents.Req) []Why {
	for _, r := range reqs {
		w = append(w, Why{Code: WhySkillMatch, Skill: r.Skill, Level: a.Skills[r.Skill]})
	}
	return w
}

// whole seconds of d, as secs() prints them.
func secsOf(d time.Duration) int64 { return int64(d / time.Second) }
