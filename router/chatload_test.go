package router

import (
	"fmt"
	"testing"
	"time"
)

// Regression (scripts/chatload): 1000 single-chat agents and 1000 chats,
// in both orders, with a 24 h MaxWait: every chat is offered. Before, chats
// that arrived while nobody was staffed were refused past position 480
// (estimate = position x 3 min / max(1, staffed)).
func TestThousandChatAgents(t *testing.T) {
	for _, first := range []bool{true, false} {
		reproChat(t, first)
	}
}

func reproChat(t *testing.T, agentsFirst bool) {
	cfg := Config{Queues: []QueueDef{{ID: "general", Skills: []SkillReq{{Skill: "ko", Min: 1}}, MaxWaiting: 3000, MaxWait: 24 * time.Hour}},
		Hotlines: []HotlineDef{{Number: "110", DefaultQueue: "general", Schedule: Schedule{Always: true}}}}
	for i := range 1000 {
		cfg.Agents = append(cfg.Agents, AgentDef{ID: AgentID(fmt.Sprintf("ag%04d", i)), Skills: map[string]int{"ko": 5}, Voice: 0, Chat: 1})
	}
	e, _ := New(cfg)
	now := defaultStart
	offers := 0
	login := func() {
		for i := range 1000 {
			cmds, _ := e.Apply(AgentLoggedIn{Agent: AgentID(fmt.Sprintf("ag%04d", i)), Ready: true}, now)
			for _, c := range cmds {
				if o, ok := c.(Offer); ok {
					offers++
					e.Apply(OfferAccepted{Contact: o.Contact, Agent: o.Agent}, now)
				}
			}
		}
	}
	if agentsFirst {
		login()
	}
	for i := range 1000 {
		now = now.Add(5 * time.Millisecond)
		cmds, _ := e.Apply(ContactArrived{Contact: ContactID(i + 1), Channel: Chat, Number: "110"}, now)
		for _, c := range cmds {
			if o, ok := c.(Offer); ok {
				offers++
				e.Apply(OfferAccepted{Contact: o.Contact, Agent: o.Agent}, now)
			}
		}
		for {
			dl, ok := e.NextDeadline()
			if !ok || dl.After(now) {
				break
			}
			cmds, _ := e.Apply(Tick{}, now)
			for _, c := range cmds {
				if o, ok := c.(Offer); ok {
					offers++
					e.Apply(OfferAccepted{Contact: o.Contact, Agent: o.Agent}, now)
				}
			}
		}
	}
	if !agentsFirst {
		login()
	}
	if offers != 1000 {
		t.Fatalf("agents first=%v: %d offers, want 1000", agentsFirst, offers)
	}
}
