package chat

import (
	"context"
	"errors"
	"time"

	"onecall/router"
)

// Sender kinds of a Message.
const (
	SenderCitizen = "citizen"
	SenderAgent   = "agent"
	SenderSystem  = "system"
)

// Message is one committed chat message.
type Message struct {
	Contact  router.ContactID
	Seq      int64 // 1, 2, 3 ... per contact
	Sender   string
	SenderID string // agent id for agent messages (never shown to citizens)
	Alias    string // what the citizen sees as the author (agents only)
	Text     string
	Sent     time.Time
}

// EventKind says what a citizen did, for console subscribers.
type EventKind uint8

const (
	EventMessage   EventKind = iota + 1 // Message holds the committed citizen (or system) message
	EventTyping                         // the citizen is typing
	EventRead                           // the citizen read up to Seq
	EventDelivered                      // the agent message Seq reached the citizen's page
	EventLeft                           // the citizen ended or left the chat
	EventDetached                       // the citizen's connection dropped (may resume)
	EventResumed                        // the citizen is back
	EventEnded                          // the chat is over (any side); no more events follow
	EventResync                         // events were dropped (slow subscriber): reload Transcript
)

func (k EventKind) String() string {
	switch k {
	case EventMessage:
		return "message"
	case EventTyping:
		return "typing"
	case EventRead:
		return "read"
	case EventDelivered:
		return "delivered"
	case EventLeft:
		return "left"
	case EventDetached:
		return "detached"
	case EventResumed:
		return "resumed"
	case EventEnded:
		return "ended"
	case EventResync:
		return "resync"
	}
	return "unknown"
}

// Event is what a console subscriber receives.
type Event struct {
	Kind    EventKind
	Contact router.ContactID
	Seq     int64
	Message Message // EventMessage only
	At      time.Time
}

// Errors of the Go API.
var (
	ErrUnknownChat = errors.New("chat: unknown or ended chat")
	ErrNotYours    = errors.New("chat: chat not connected to this agent")
	ErrTooLarge    = errors.New("chat: message too large")
	ErrEmpty       = errors.New("chat: empty message")
	ErrNotDurable  = errors.New("chat: message not stored")
)

// contactRec is the chat's view of a stored contact.
type contactRec struct {
	ID         router.ContactID
	Number     string
	Queue      string
	Topic      string
	Language   string
	Name       string
	Phone      string
	State      string // "waiting", "talking", "callback", "ended"
	EndReason  string
	Agent      router.AgentID
	Talked     bool // an agent took it at some point (from the store)
	Arrived    time.Time
	Ended      time.Time
	ResumeHash string
}

// backend is the persistence the chat core needs. storeBackend adapts the
// real store; tests may use the in-memory one.
type backend interface {
	saveMessage(ctx context.Context, m Message) error // durable
	messages(ctx context.Context, c router.ContactID, after int64) ([]Message, error)
	lastSeq(ctx context.Context, c router.ContactID) (int64, error)
	saveContact(ctx context.Context, c contactRec, durable bool) error
	contactByHash(ctx context.Context, hash string) (contactRec, error)
	contact(ctx context.Context, id router.ContactID) (contactRec, error)
	callback(ctx context.Context, c router.ContactID, number, phone, name string, at time.Time) error // durable
	rating(c router.ContactID, score int, comment string, at time.Time) error
	healthy() (bool, string)
	alias(ctx context.Context, a router.AgentID) string
}

// Hub is the part of server.Hub the chat uses; *server.Hub implements it.
// NewWithHub accepts any implementation (load scripts, tests).
type Hub interface {
	Submit(ev router.Event) error
	Do(ctx context.Context, ev router.Event) ([]router.Command, error)
	NewContactID() router.ContactID
	Now() time.Time
}

var errNotFound = errors.New("chat: not found")
