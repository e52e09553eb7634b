package server

import (
	"context"
	"time"

	"onecall/router"
)

// Front is the routing engine as the transports (chat, SIP, console) and
// the app see it: *Hub on a single node, *ClusterFront on a node of a
// cluster. Submit and Do answer ErrBusy when the engine cannot take the
// event now (a full inbox; in a cluster also no leader reachable), which
// the edges turn into 503 or "busy".
type Front interface {
	// Submit hands ev to the engine without waiting for it to be applied.
	Submit(ev router.Event) error
	// Do hands ev to the engine and waits for its commands and error.
	Do(ctx context.Context, ev router.Event) ([]router.Command, error)
	// Query runs fn with exclusive access to the engine (this node's
	// copy in a cluster). fn must be quick and keep no references.
	Query(ctx context.Context, fn func(e *router.Engine)) error
	// NewContactID returns a fresh contact id (unique in the cluster).
	NewContactID() router.ContactID
	// Now is the clock events are stamped with.
	Now() time.Time
	// AddSink registers s for the commands concerning this node (every
	// command on a single node). Call before the engine runs.
	AddSink(s Sink)
}

var (
	_ Front = (*Hub)(nil)
	_ Front = (*ClusterFront)(nil)
)
