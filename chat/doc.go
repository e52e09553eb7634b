// Package chat owns the citizen web chat: the WebSocket protocol
// (docs/chat-protocol.md, version 1) served at /ws/chat, the embedded chat
// page at /chat and /chat/{number}, the embeddable widget (/chat/widget.js),
// transcript download, satisfaction ratings, resume tokens, and the Go API the
// agent console calls (AgentSend, AgentTyping, AgentRead, EndByAgent,
// Transcript, Subscribe).
//
// Concurrency: a Service keeps one conv per live chat in a map guarded by
// Service.mu. Each conv has its own mutex, held while a sequence number is
// allocated, the message is committed with Store.Durable and handed to the
// live citizen connection and console subscribers; so per contact, messages
// are committed and delivered strictly in sequence order, and a resume (which
// attaches the new connection and replays the missed messages under the same
// mutex) never loses or repeats a message. Lock order: Service.mu before
// conv.mu; never the reverse.
//
// The hub calls Sink().Deliver on its own goroutine; Deliver only filters the
// chat commands into bounded queues, sharded by contact id, each drained
// by one service goroutine (per-contact order; contacts in parallel).
// Every citizen connection has one reader goroutine, a writer goroutine that
// exists only while frames are queued, a ping timer and a bounded send
// queue; a full queue cuts the connection (close code 4008) and the page
// resumes with its last seen sequence number. Routing changes go to the hub
// only through Submit/Do and never block it; a full hub inbox is answered
// with the "busy" error frame. Console subscribers
// get events through their own bounded queue and goroutine; on overflow they
// get an EventResync and should reload the Transcript.
package chat
