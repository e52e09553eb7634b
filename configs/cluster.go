package configs

import (
	"net"
	"net/url"
	"regexp"
	"time"
)

// Cluster makes the server one node of a cluster (docs/cluster.md): an
// embedded NATS server (or an external NATS cluster) carries the
// replicated routing log, the leader key and the snapshots. Off by default:
// a single node needs none of it.
type Cluster struct {
	Enabled bool `yaml:"enabled"`
	// Node is this node's number, 1..MaxClusterNode, unique in the cluster.
	// Its NATS id is "n<node>"; its contact ids carry the number.
	Node int `yaml:"node"`
	// Host is the address the embedded NATS server listens on (default
	// 127.0.0.1; a peer's routes must reach it).
	Host string `yaml:"host"`
	// RoutePort is the port peers route to (default 6222; 0 picks a free
	// port, which only a single-node cluster can use).
	RoutePort int `yaml:"route_port"`
	// ClientPort is the embedded server's client port for tools (default
	// 4222; 0 picks a free port).
	ClientPort int `yaml:"client_port"`
	// Routes are the peers' route addresses, "host:port" (empty: a
	// one-node cluster).
	Routes []string `yaml:"routes"`
	// Secret authenticates routes and clients; nodes with different
	// secrets refuse each other. Required, at least 16 characters.
	Secret string `yaml:"secret"`
	// DataDir holds JetStream's files (under DataDir/nats); default the
	// server's data_dir. Relative to the config file's directory.
	DataDir string `yaml:"data_dir"`
	// ExternalURL connects to an external NATS cluster instead of starting
	// an embedded server (credentials in the URL).
	ExternalURL string `yaml:"external_url"`
	// Replicas of the event stream and buckets: 1, 3 or 5 (default 3 with
	// routes or an external cluster, else 1).
	Replicas int `yaml:"replicas"`
	// LeaderTTL is the life of the leader key without renewal (default 2s).
	LeaderTTL Duration `yaml:"leader_ttl"`
	// NodeLostAfter is how long a node's heartbeat (one a second) may stay
	// silent before the leader declares it lost and ends the calls whose
	// media was on it, reason node-lost (default 5s).
	NodeLostAfter Duration `yaml:"node_lost_after"`
}

// MaxClusterNode is the highest node number (server.MaxNode: contact ids
// carry the node number below 2^53).
const MaxClusterNode = 511

// ClusterDataDir is the cluster's data directory: cluster.data_dir
// resolved against the config directory, or the server's data_dir.
func (b *Bundle) ClusterDataDir(dataDir string) string {
	if d := b.Server.Cluster.DataDir; d != "" {
		return b.Path(d)
	}
	return dataDir
}

var secretSpace = regexp.MustCompile(`\s`)

func (c Cluster) validate(r reporter, st Store) {
	if !c.Enabled {
		return
	}
	at := func(key string) func(string, ...any) { return r.at("cluster", key) }
	if c.Node < 1 || c.Node > MaxClusterNode {
		at("node")("cluster.node %d: want 1-%d, unique in the cluster", c.Node, MaxClusterNode)
	}
	if st.Driver != StorePostgres {
		r.at("store", "driver")("cluster.enabled needs store.driver postgres: every node keeps its records in one shared database (SQLite is one node's file)")
	}
	if c.ExternalURL != "" {
		u, err := url.Parse(c.ExternalURL)
		if err != nil || (u.Scheme != "nats" && u.Scheme != "tls") || u.Host == "" {
			at("external_url")("cluster.external_url %q: want nats://[user:pass@]host:port", c.ExternalURL)
		}
		if len(c.Routes) > 0 {
			at("routes")("cluster.routes are for the embedded NATS server; leave them out with cluster.external_url")
		}
	} else {
		switch {
		case c.Secret == "":
			at("secret")("cluster.secret is required: it authenticates the nodes' routes and clients")
		case len(c.Secret) < 16 || secretSpace.MatchString(c.Secret):
			at("secret")("cluster.secret must be at least 16 characters without spaces")
		}
		if c.Host != "" && net.ParseIP(c.Host) == nil {
			at("host")("cluster.host %q: want an IP address", c.Host)
		}
		for _, p := range []struct {
			key  string
			port int
		}{{"route_port", c.RoutePort}, {"client_port", c.ClientPort}} {
			if p.port < 0 || p.port > 65535 {
				at(p.key)("cluster.%s %d: want 0-65535", p.key, p.port)
			}
		}
		if c.RoutePort != 0 && c.RoutePort == c.ClientPort {
			at("client_port")("cluster.client_port and cluster.route_port must differ")
		}
		if c.RoutePort == 0 && len(c.Routes) > 0 {
			at("route_port")("cluster.route_port 0 (a free port) cannot be routed to by peers; set the port the routes name")
		}
		seen := map[string]bool{}
		for i, rt := range c.Routes {
			host, port, err := net.SplitHostPort(rt)
			if err != nil || host == "" || port == "" {
				r.at("cluster", "routes", i)("cluster.routes[%d] %q: want host:port", i, rt)
				continue
			}
			if seen[rt] {
				r.at("cluster", "routes", i)("cluster.routes[%d] %q is listed twice", i, rt)
			}
			seen[rt] = true
		}
	}
	switch c.Replicas {
	case 0, 1, 3, 5:
	default:
		at("replicas")("cluster.replicas %d: want 1, 3 or 5 (0: 3 with routes, else 1)", c.Replicas)
	}
	replicas := c.Replicas
	if replicas == 0 {
		replicas = 1
		if len(c.Routes) > 0 || c.ExternalURL != "" {
			replicas = 3
		}
	}
	if c.ExternalURL == "" && len(c.Routes)+1 < replicas {
		at("replicas")("cluster.replicas %d needs %d nodes; cluster.routes names %d peers", replicas, replicas, len(c.Routes))
	}
	if d := c.LeaderTTL.D(); d < 500*time.Millisecond || d > time.Minute {
		at("leader_ttl")("cluster.leader_ttl %v: want 500ms-1m", d)
	}
	if d := c.NodeLostAfter.D(); d < 3*time.Second || d > time.Minute {
		at("node_lost_after")("cluster.node_lost_after %v: want 3s-1m (three heartbeats at least)", d)
	}
}
