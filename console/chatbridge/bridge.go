// Package chatbridge adapts *chat.Service to console.ChatAgent, so the
// console and chat packages do not import each other. It holds no state of
// its own; concurrency is that of the chat service.
package chatbridge

import (
	"context"

	"onecall/chat"
	"onecall/console"
	"onecall/router"
)

// Bridge wraps a chat service.
type Bridge struct{ S *chat.Service }

// New returns the console's view of s.
func New(s *chat.Service) *Bridge { return &Bridge{S: s} }

var _ console.ChatAgent = (*Bridge)(nil)

// AgentSend implements console.ChatAgent.
func (b *Bridge) AgentSend(ctx context.Context, c router.ContactID, a router.AgentID, text string) (int64, error) {
	return b.S.AgentSend(ctx, c, a, text)
}

// AgentTyping implements console.ChatAgent.
func (b *Bridge) AgentTyping(c router.ContactID, a router.AgentID) error {
	return b.S.AgentTyping(c, a)
}

// AgentRead implements console.ChatAgent.
func (b *Bridge) AgentRead(c router.ContactID, a router.AgentID, seq int64) error {
	return b.S.AgentRead(c, a, seq)
}

// EndByAgent implements console.ChatAgent.
func (b *Bridge) EndByAgent(ctx context.Context, c router.ContactID, a router.AgentID) error {
	return b.S.EndByAgent(ctx, c, a)
}

// Transcript implements console.ChatAgent.
func (b *Bridge) Transcript(ctx context.Context, c router.ContactID) ([]console.ChatLine, error) {
	msgs, err := b.S.Transcript(ctx, c)
	out := make([]console.ChatLine, len(msgs))
	for i, m := range msgs {
		out[i] = console.ChatLine{Seq: m.Seq, Sender: m.Sender, SenderID: m.SenderID, Text: m.Text, Sent: m.Sent}
	}
	return out, err
}

// Subscribe implements console.ChatAgent.
func (b *Bridge) Subscribe(c router.ContactID, fn func(console.ChatEvent)) func() {
	return b.S.Subscribe(c, func(ev chat.Event) {
		ce := console.ChatEvent{Contact: ev.Contact, Kind: ev.Kind.String(), Seq: ev.Seq, Sent: ev.At}
		if ev.Kind == chat.EventMessage {
			ce.Sender, ce.Text, ce.Sent = ev.Message.Sender, ev.Message.Text, ev.Message.Sent
		}
		fn(ce)
	})
}
