package servetest

import (
	"bufio"
	"cmp"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"onecall/internal/testpeers"
)

var build struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// Bin returns the onecall binary, built once per test binary (without the
// race detector: it is a peer here, not the code under -race). Main
// removes it.
func Bin(t testing.TB) string {
	t.Helper()
	build.once.Do(func() {
		build.dir, build.err = os.MkdirTemp("", "onecall-bin-")
		if build.err != nil {
			return
		}
		build.bin = filepath.Join(build.dir, "onecall")
		cmd := exec.Command("go", "build", "-o", build.bin, "onecall/cmd/onecall")
		out, err := cmd.CombinedOutput()
		if err != nil {
			build.err = fmt.Errorf("build onecall: %v\n%s", err, out)
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.bin
}

// Main runs the tests and removes the binary Bin built; use it from
// TestMain: os.Exit(servetest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	RemoveBin()
	return code
}

// RemoveBin removes the binary Bin built (for a TestMain that runs the
// tests through another Main, such as pgtest.Main).
func RemoveBin() {
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
}

// RepoConfigs is the repository's configs directory (hotlines, queues,
// skills, demo roster).
func RepoConfigs(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "configs")
}

// Node is one `onecall serve` process with its config and data directory;
// Restart starts it again on the same ports and data.
type Node struct {
	Name      string
	Index     int
	SIP, HTTP int
	P         *Proc
	prev      []*Proc // the node's earlier processes (killed, restarted)
	dir, cfg  string
	drain     time.Duration
}

// Addr is the node's SIP address.
func (n *Node) Addr() string { return "127.0.0.1:" + strconv.Itoa(n.SIP) }

// Base is the node's HTTP base URL.
func (n *Node) Base() string { return "http://127.0.0.1:" + strconv.Itoa(n.HTTP) }

// ClusterOptions put a node in cluster mode (the cluster: section).
type ClusterOptions struct {
	Node       int // node number, 1..server.MaxNode
	Secret     string
	RoutePort  int
	ClientPort int
	Routes     []string      // the peers' route addresses
	LeaderTTL  time.Duration // 0: the default
}

// NodeOptions are the per-node config differences.
type NodeOptions struct {
	// MaxCPS is limits.max_calls_per_second ("" = 20): a tiny value makes
	// a node answer 503 to nearly every INVITE.
	MaxCPS string
	// MaxCalls is limits.max_calls (0 = 50).
	MaxCalls int
	// Drain is serve's --drain (default 1 s).
	Drain time.Duration
	// StoreDSN, when set, uses PostgreSQL (store.driver: postgres).
	StoreDSN string
	// Cluster, when set, runs the node in cluster mode.
	Cluster *ClusterOptions
	// AgentNetworks is sip.agent_networks (REGISTERs relayed by the proxy
	// from these phone addresses).
	AgentNetworks []string
	// Roster is files.demo_roster ("" = the repository's demo roster; see
	// RosterWith).
	Roster string
}

// StartNode writes a config for node i, starts it with the demo roster and
// waits until it is ready, retrying with other ports if one was taken
// meanwhile.
func StartNode(t testing.TB, i int, o NodeOptions) *Node {
	t.Helper()
	for attempt := 0; ; attempt++ {
		n := LaunchNode(t, i, o)
		err := n.WaitReady(60 * time.Second)
		if err == nil {
			return n
		}
		n.P.Kill()
		if attempt == 2 {
			t.Fatalf("%s: %v", n.Name, err)
		}
		t.Logf("%s: %v; retrying on other ports", n.Name, err)
	}
}

// LaunchNode writes a config for node i on free ports and starts it
// without waiting (cluster nodes wait for each other's quorum at start).
func LaunchNode(t testing.TB, i int, o NodeOptions) *Node {
	t.Helper()
	dir := t.TempDir()
	n := &Node{Name: fmt.Sprintf("node%d", i), Index: i, SIP: testpeers.FreeSIPPort(t), HTTP: testpeers.FreeTCPPort(t),
		dir: dir, cfg: filepath.Join(dir, "onecall.yaml"), drain: cmp.Or(o.Drain, time.Second)}
	rtp := testpeers.FreeRTPPorts(t)
	conf := RepoConfigs(t)
	var b strings.Builder
	fmt.Fprintf(&b, `listen:
  http: "127.0.0.1:%d"
  sip_udp: "127.0.0.1:%d"
  sip_tcp: "127.0.0.1:%d"
data_dir: %s
trunks:
  - name: kamailio
    allow: ["127.0.0.1"]
log:
  level: info
  format: text
limits:
  max_calls: %d
  max_calls_per_second: %s
  connections_per_source: 10000
  rate:
    chat_starts_per_minute: 100000
    http_per_second: 100000
    logins_per_minute: 100000
sip:
  proxies: ["127.0.0.1/32"]
  rtp_port_min: %d
  rtp_port_max: %d
  register_min: 60s
`, n.HTTP, n.SIP, n.SIP, filepath.Join(dir, "data"), cmp.Or(o.MaxCalls, 50), cmp.Or(o.MaxCPS, "20"), rtp, rtp+799)
	if len(o.AgentNetworks) > 0 {
		fmt.Fprintf(&b, "  agent_networks: [%s]\n", quoteList(o.AgentNetworks))
	}
	fmt.Fprintf(&b, `files:
  hotlines: %s
  queues: %s
  skills: %s
  demo_roster: %s
`, filepath.Join(conf, "hotlines.yaml"), filepath.Join(conf, "queues.yaml"),
		filepath.Join(conf, "skills.yaml"), cmp.Or(o.Roster, filepath.Join(conf, "demo-roster.yaml")))
	if o.StoreDSN != "" {
		fmt.Fprintf(&b, "store:\n  driver: postgres\n  dsn: %q\n", o.StoreDSN)
	}
	if c := o.Cluster; c != nil {
		fmt.Fprintf(&b, "cluster:\n  enabled: true\n  node: %d\n  host: 127.0.0.1\n  route_port: %d\n  client_port: %d\n  secret: %q\n",
			c.Node, c.RoutePort, c.ClientPort, c.Secret)
		if len(c.Routes) > 0 {
			fmt.Fprintf(&b, "  routes: [%s]\n", quoteList(c.Routes))
		}
		if c.LeaderTTL > 0 {
			fmt.Fprintf(&b, "  leader_ttl: %s\n", c.LeaderTTL)
		}
	}
	if err := os.WriteFile(n.cfg, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	n.start(t)
	return n
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = strconv.Quote(x)
	}
	return strings.Join(q, ", ")
}

func (n *Node) start(t testing.TB) {
	if n.P != nil {
		n.prev = append(n.prev, n.P)
	}
	n.P = StartProc(t, n.dir, nil, Bin(t), "serve", "--config", n.cfg, "--demo", "--drain", n.drain.String())
}

// Restart starts the node again (after Kill) on the same ports, config
// and data, without waiting.
func (n *Node) Restart(t testing.TB) {
	t.Helper()
	if !n.P.Exited() {
		t.Fatalf("%s: restart while it runs", n.Name)
	}
	n.start(t)
}

// Kill kills the node with SIGKILL and waits for it to exit.
func (n *Node) Kill() { n.P.Kill() }

// Config returns the node's config file's text.
func (n *Node) Config(t testing.TB) string {
	b, err := os.ReadFile(n.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// WaitReady waits until the node logged "onecall listening" and answers
// /readyz 200; it fails early if the process exits.
func (n *Node) WaitReady(d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if n.P.Exited() {
			return fmt.Errorf("exited: %v\n%s", n.P.Err(), n.P.Log.Tail(30))
		}
		if _, ok := n.P.Log.First("onecall listening", time.Time{}); ok && n.Ready() {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("not ready within %s:\n%s", d, n.P.Log.Tail(30))
}

// Ready reports whether /readyz answers 200.
func (n *Node) Ready() bool {
	c := http.Client{Timeout: time.Second}
	res, err := c.Get(n.Base() + "/readyz")
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// Metric reads one unlabelled metric from the node's /metrics (-1 when it
// cannot).
func (n *Node) Metric(name string) float64 {
	c := http.Client{Timeout: time.Second}
	res, err := c.Get(n.Base() + "/metrics")
	if err != nil {
		return -1
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return -1
			}
			return f
		}
	}
	return -1
}

// ActiveCalls reads onecall_sip_active_calls (-1 when it cannot).
func (n *Node) ActiveCalls() int { return int(n.Metric("onecall_sip_active_calls")) }
