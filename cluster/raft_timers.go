package cluster

import (
	"sync"
	"time"
	_ "unsafe" // go:linkname to nats-server's Raft timers
)

// nats-server keeps its Raft timers in package variables and offers no
// option for them: a follower waits 4-9 s without heartbeats before it
// campaigns, so a stream or bucket whose Raft leader was on a node killed
// with -9 takes no writes for up to 9 s, and no new onecall leader could be
// elected within the 5 s the cluster promises. The embedded servers of this
// process therefore run faster timers (heartbeat 250 ms, election after
// 1.5-3 s of silence, a leader without quorum steps down after 3 s). They
// are process-wide; Start sets them once, before the first server starts.
// An external NATS cluster keeps its own timers. A nats-server upgrade that
// renames these variables fails the build here, not silently.

//go:linkname raftHeartbeat github.com/nats-io/nats-server/v2/server.hbInterval
var raftHeartbeat time.Duration

//go:linkname raftMinElection github.com/nats-io/nats-server/v2/server.minElectionTimeout
var raftMinElection time.Duration

//go:linkname raftMaxElection github.com/nats-io/nats-server/v2/server.maxElectionTimeout
var raftMaxElection time.Duration

//go:linkname raftLostQuorum github.com/nats-io/nats-server/v2/server.lostQuorumInterval
var raftLostQuorum time.Duration

//go:linkname raftLostQuorumCheck github.com/nats-io/nats-server/v2/server.lostQuorumCheck
var raftLostQuorumCheck time.Duration

var raftTimersOnce sync.Once

func tuneRaftTimers() {
	raftTimersOnce.Do(func() {
		raftHeartbeat = 250 * time.Millisecond
		raftMinElection = 1500 * time.Millisecond
		raftMaxElection = 3 * time.Second
		raftLostQuorum = 3 * time.Second
		raftLostQuorumCheck = time.Second
	})
}
