package cluster

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
)

// CommandIDHeader carries a command's id on its NATS message.
const CommandIDHeader = "Onecall-Cmd-Id"

// CommandSubject is the subject of the commands for node id.
func CommandSubject(id string) string { return "onecall.node." + id + ".cmd" }

// Commands sends opaque commands to a node's subject and receives this
// node's. Send is at most once (core NATS, and a subscription takes a
// moment to be known across routes); Deliver waits for the receiver to
// have handled the command. A new leader re-issues the commands its
// predecessor may not have carried out, and receivers drop the ids they
// have seen (the routing engine's commands go out by entry sequence
// instead: server.ClusterFront, deduped by server.Dedupe).
type Commands struct {
	nc   *nats.Conn
	node string
}

// Send publishes a command with its id to node's subject.
func (c *Commands) Send(node, id string, data []byte) error {
	m, err := c.msg(node, id, data)
	if err != nil {
		return err
	}
	return c.nc.PublishMsg(m)
}

// Deliver sends a command and waits until the receiver's handler returned.
// It fails with nats.ErrNoResponders when no node id subscribes (yet: the
// subscription may still be spreading across routes) and with a timeout
// when ctx ends first; the caller retries with the same id.
func (c *Commands) Deliver(ctx context.Context, node, id string, data []byte) error {
	m, err := c.msg(node, id, data)
	if err != nil {
		return err
	}
	if _, err := c.nc.RequestMsgWithContext(ctx, m); err != nil {
		return fmt.Errorf("cluster: deliver %s to %s: %w", id, node, err)
	}
	return nil
}

func (c *Commands) msg(node, id string, data []byte) (*nats.Msg, error) {
	if !nodeIDPattern.MatchString(node) {
		return nil, fmt.Errorf("cluster: command to node %q: bad node id", node)
	}
	if id == "" {
		return nil, errors.New("cluster: command without id")
	}
	m := &nats.Msg{Subject: CommandSubject(node), Header: nats.Header{}, Data: data}
	m.Header.Set(CommandIDHeader, id)
	return m, nil
}

// Flush waits until the server has the commands sent so far.
func (c *Commands) Flush() error { return c.nc.Flush() }

// Subscribe calls fn for each command sent to this node, on one goroutine,
// in the order they arrive, and acknowledges a Deliver when fn returns.
// Call the returned function to stop.
func (c *Commands) Subscribe(fn func(id string, data []byte)) (func() error, error) {
	sub, err := c.nc.Subscribe(CommandSubject(c.node), func(m *nats.Msg) {
		fn(m.Header.Get(CommandIDHeader), m.Data)
		if m.Reply != "" {
			_ = m.Respond(nil)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: subscribe commands: %w", err)
	}
	if err := c.nc.Flush(); err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("cluster: subscribe commands: %w", err)
	}
	return sub.Unsubscribe, nil
}
