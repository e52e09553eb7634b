package router

import "onecall/agents"

// This file is the contract between the routing core and everything around
// it. Transports (sip, chat, console) and server/ depend on these types; keep
// them stable and additive.

// ContactID identifies a contact (one call or one chat) for its whole life,
// across transfers, requeues and restarts. server/ allocates them.
type ContactID uint64

// AgentID is the agent's username.
type AgentID string

// Channel is the medium of a contact (the agent model's own type).
type Channel = agents.Channel

const (
	Voice = agents.Voice
	Chat  = agents.Chat
)

// SkillReq is one required skill ("labor", "ko", ...) with a minimum
// proficiency 1..5.
type SkillReq struct {
	Skill string
	Min   int
}

// Event is an input to Engine.Apply. Every event is a plain value.
type Event interface{ event() }

// Command is an output of Engine.Apply, carried out by server/ and the
// transports. Every command is a plain value.
type Command interface{ command() }
