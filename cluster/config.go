package cluster

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"
)

// Config describes one node. The zero values of the optional fields are
// replaced by the defaults documented on each field.
type Config struct {
	// NodeID names the node in the cluster (server name, command subject).
	// Letters, digits, '-' and '_' only.
	NodeID string
	// DataDir is the node's data directory; JetStream stores under
	// DataDir/nats. Required for the embedded server.
	DataDir string
	// Secret is the cluster secret. Routes and clients authenticate with
	// credentials derived from it; a node with another secret is refused.
	Secret string
	// ClusterName is the NATS cluster name (default "onecall").
	ClusterName string
	// Host is the address the embedded server listens on (default 127.0.0.1).
	Host string
	// RoutePort is the port peers route to; 0 picks a free port.
	RoutePort int
	// Routes are the peers' route addresses ("host:port"). Empty means a
	// single node: no routes, and the stream and buckets are R1.
	Routes []string
	// ClientPort is the embedded server's client port (for tools and
	// nodes without their own server); 0 picks a free port. Clients
	// authenticate as user "onecall" with a password derived from the
	// secret. The node itself talks to its server in process.
	ClientPort int
	// ExternalURL, when set, connects to an external NATS cluster instead of
	// starting an embedded server. Credentials go in the URL.
	ExternalURL string
	// Replicas of the stream and buckets (default 3 with routes or an
	// external cluster, 1 for a single node).
	Replicas int
	// SchemaVersion is the version of the event encoding and store schema
	// this node speaks; a node refuses to join peers that speak another.
	SchemaVersion int
	// LeaderTTL is the life of the leader key without renewal (default 2s).
	// The leader's local lease is 3/4 of it, renewed every 1/4.
	LeaderTTL time.Duration
	// NodeBeat is how often the node renews its registration in the nodes
	// bucket (default 1s, at most 5s): its heartbeat. Node.WatchBeats
	// reports the renewals; the leader declares a node lost when they stop.
	NodeBeat time.Duration
	// ReadyTimeout bounds the wait for JetStream (quorum) at Start (default 30s).
	ReadyTimeout time.Duration
	// Logger receives the node's and the embedded server's log lines.
	Logger *slog.Logger
}

var nodeIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Errors returned by Start and the primitives.
var (
	ErrWrongSecret    = errors.New("cluster: peers refused this node's routes: wrong cluster secret")
	ErrSchemaMismatch = errors.New("cluster: incompatible schema version")
	ErrNotLeader      = errors.New("cluster: not the leader")
	ErrBehind         = errors.New("cluster: log has entries this node has not read (wrong last sequence)")
	ErrGap            = errors.New("cluster: log entries missing (purged): load a snapshot")
	ErrNoSnapshot     = errors.New("cluster: no snapshot")
)

func (c *Config) withDefaults() Config {
	out := *c
	if out.ClusterName == "" {
		out.ClusterName = "onecall"
	}
	if out.Host == "" {
		out.Host = "127.0.0.1"
	}
	if out.Replicas == 0 {
		out.Replicas = 1
		if len(out.Routes) > 0 || out.ExternalURL != "" {
			out.Replicas = 3
		}
	}
	if out.LeaderTTL == 0 {
		out.LeaderTTL = 2 * time.Second
	}
	if out.NodeBeat == 0 {
		out.NodeBeat = time.Second
	}
	if out.ReadyTimeout == 0 {
		out.ReadyTimeout = 30 * time.Second
	}
	if out.Logger == nil {
		out.Logger = slog.New(slog.DiscardHandler)
	}
	return out
}

func (c *Config) validate() error {
	var errs []error
	if !nodeIDPattern.MatchString(c.NodeID) {
		errs = append(errs, fmt.Errorf("cluster: node id %q: want 1-64 of [A-Za-z0-9_-]", c.NodeID))
	}
	if c.ExternalURL == "" {
		if c.DataDir == "" {
			errs = append(errs, errors.New("cluster: data dir is required for the embedded server"))
		}
		if c.Secret == "" {
			errs = append(errs, errors.New("cluster: secret is required"))
		}
	}
	if c.Replicas != 1 && c.Replicas != 3 && c.Replicas != 5 {
		errs = append(errs, fmt.Errorf("cluster: replicas %d: want 1, 3 or 5", c.Replicas))
	}
	if c.LeaderTTL < 500*time.Millisecond {
		errs = append(errs, fmt.Errorf("cluster: leader ttl %v: want at least 500ms", c.LeaderTTL))
	}
	if c.NodeBeat < 100*time.Millisecond || c.NodeBeat > 5*time.Second {
		errs = append(errs, fmt.Errorf("cluster: node beat %v: want 100ms-5s", c.NodeBeat))
	}
	return errors.Join(errs...)
}
