package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// KeepRaftLeadersOff hands the Raft leadership of every JetStream stream
// this node's embedded server leads (the event log, the leader key's and
// the other buckets) to another node, now and every shedEvery, until ctx
// ends. The onecall leader runs it while it leads: a kill -9 of the leader
// then costs one election (the leader key's TTL), not that one and the
// log stream's own Raft election stacked on it (the new leader cannot
// append its takeover barrier until the log has a Raft leader again:
// 3.2-3.5 s more in acceptance runs 35 and 42). A node whose NATS is
// external, or not clustered, has nothing to hand over.
//
// JetStream's meta leadership (the cluster's stream and consumer
// assignments) is handed over too, through the embedded server's system
// user: while the metadata has no leader no consumer can be created, so a
// kill of a leader that was also the meta leader left the new leader's
// readers and watches waiting for that election as well (acceptance run
// 61).
func (n *Node) KeepRaftLeadersOff(ctx context.Context) {
	if n.srv == nil || !n.srv.JetStreamIsClustered() {
		return
	}
	t := time.NewTimer(shedFirst)
	defer t.Stop()
	var names []string
	var sys *nats.Conn
	defer func() {
		if sys != nil {
			sys.Close()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if names == nil {
			names = n.streamNames(ctx)
		}
		for _, moved := range n.shedRaftLeaders(names) {
			n.log.Info("cluster: handed the stream's Raft leadership to another node (the onecall leader leads no JetStream stream)", "stream", moved)
		}
		if n.srv.JetStreamIsLeader() {
			var err error
			if sys == nil {
				sys, err = n.systemConn()
			}
			if err == nil {
				err = metaStepDown(sys, "")
			}
			if err != nil {
				n.log.Warn("cluster: JetStream's meta leadership not handed over", "err", err)
			} else {
				n.log.Info("cluster: handed JetStream's meta leadership to another node")
			}
		}
		t.Reset(shedEvery)
	}
}

// systemConn connects to the embedded server as its system user.
func (n *Node) systemConn() (*nats.Conn, error) {
	return nats.Connect("", nats.InProcessServer(n.srv), nats.Name("onecall-"+n.cfg.NodeID+"-system"),
		nats.UserInfo(systemUser, derive(n.cfg.Secret, "system")), nats.MaxReconnects(-1))
}

// metaStepDown asks JetStream's meta leader to hand its leadership to
// preferred ("": a peer Raft picks) over nc, a system user's connection.
func metaStepDown(nc *nats.Conn, preferred string) error {
	var req []byte
	if preferred != "" {
		req = fmt.Appendf(nil, `{"placement":{"preferred":%q}}`, preferred)
	}
	msg, err := nc.Request(server.JSApiLeaderStepDown, req, 2*time.Second)
	if err != nil {
		return err
	}
	var resp server.JSApiLeaderStepDownResponse
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return fmt.Errorf("meta step-down reply %q: %w", msg.Data, err)
	}
	if resp.Error != nil {
		return resp.Error
	}
	if !resp.Success {
		return fmt.Errorf("meta step-down refused: %s", msg.Data)
	}
	return nil
}

// shedFirst leaves a new leader's takeover barrier its append before the
// log's leadership moves; shedEvery catches leaderships that came back
// (after a node rejoined, say).
const (
	shedFirst = time.Second
	shedEvery = 5 * time.Second
)

// streamNames lists the account's streams (nil if JetStream does not
// answer: the next round asks again).
func (n *Node) streamNames(ctx context.Context) []string {
	lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var names []string
	l := n.js.StreamNames(lctx)
	for name := range l.Name() {
		names = append(names, name)
	}
	if l.Err() != nil {
		return nil
	}
	return names
}

// shedRaftLeaders steps down each of names this server leads and returns
// those.
func (n *Node) shedRaftLeaders(names []string) []string {
	acc := n.srv.GlobalAccount().Name
	var moved []string
	for _, name := range names {
		if !n.srv.JetStreamIsStreamLeader(acc, name) {
			continue
		}
		if err := n.srv.JetStreamStepdownStream(acc, name); err != nil {
			n.log.Warn("cluster: stream's Raft leadership not handed over", "stream", name, "err", err)
			continue
		}
		moved = append(moved, name)
	}
	return moved
}
