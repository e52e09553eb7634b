package kamailio

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"onecall/internal/testpeers"
)

// The tests here run real processes on 127.0.0.1: the onecall binary
// (built once per run), Kamailio in the foreground and SIPp peers.

var onecallBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "onecall-kam-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	onecallBin = filepath.Join(dir, "onecall")
	build := exec.Command("go", "build", "-o", onecallBin, "onecall/cmd/onecall")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build onecall:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// repoConfigs is the repository's configs directory (hotlines, queues,
// skills, demo roster).
func repoConfigs(t testing.TB) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "configs"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// lineLog keeps a process's output lines with the time each arrived.
type lineLog struct {
	mu    sync.Mutex
	lines []logLine
}

type logLine struct {
	at   time.Time
	text string
}

func (l *lineLog) consume(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l.mu.Lock()
		l.lines = append(l.lines, logLine{time.Now(), sc.Text()})
		l.mu.Unlock()
	}
}

// first returns the first line containing s at or after since.
func (l *lineLog) first(s string, since time.Time) (logLine, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, x := range l.lines {
		if !x.at.Before(since) && strings.Contains(x.text, s) {
			return x, true
		}
	}
	return logLine{}, false
}

func (l *lineLog) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, x := range l.lines {
		if strings.Contains(x.text, s) {
			n++
		}
	}
	return n
}

func (l *lineLog) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	from := max(0, len(l.lines)-n)
	var b strings.Builder
	for _, x := range l.lines[from:] {
		b.WriteString(x.text)
		b.WriteByte('\n')
	}
	return b.String()
}

// proc is a started process in its own process group, killed (the whole
// group) at cleanup.
type proc struct {
	cmd  *exec.Cmd
	log  lineLog
	done chan struct{}
	err  error
}

// Unless it has a stdin (a guard that watches it), it also gets SIGKILL
// when the test process dies.
func startProc(t testing.TB, dir string, stdin io.Reader, name string, args ...string) *proc {
	t.Helper()
	p := &proc{done: make(chan struct{})}
	p.cmd = exec.Command(name, args...)
	p.cmd.Dir = dir
	p.cmd.Stdin = stdin
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if stdin == nil {
		p.cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	pr, pw := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = pw, pw
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go p.log.consume(pr)
	go func() {
		p.err = p.cmd.Wait()
		pw.Close()
		close(p.done)
	}()
	t.Cleanup(p.kill)
	return p
}

// kill sends SIGKILL to the process group and waits for the leader.
func (p *proc) kill() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// node is one `onecall serve` process.
type node struct {
	name      string
	sip, http int
	p         *proc
}

func (n *node) addr() string { return "127.0.0.1:" + strconv.Itoa(n.sip) }

// nodeOptions are the per-node config differences.
type nodeOptions struct {
	// MaxCPS is limits.max_calls_per_second ("" = default): a tiny value
	// makes a node answer 503 to nearly every INVITE.
	MaxCPS string
	// Drain is serve's --drain (default 1 s).
	Drain time.Duration
}

// startNode writes a config for node i and starts it with the demo roster,
// retrying with other ports if one was taken meanwhile.
func startNode(t *testing.T, i int, o nodeOptions) *node {
	t.Helper()
	for attempt := 0; ; attempt++ {
		n, err := tryStartNode(t, i, o)
		if err == nil {
			return n
		}
		if attempt == 2 {
			t.Fatalf("node %d: %v", i, err)
		}
		t.Logf("node %d: %v; retrying on other ports", i, err)
	}
}

func tryStartNode(t *testing.T, i int, o nodeOptions) (*node, error) {
	dir := t.TempDir()
	n := &node{name: fmt.Sprintf("node%d", i), sip: testpeers.FreeSIPPort(t), http: testpeers.FreeTCPPort(t)}
	rtp := testpeers.FreeRTPPorts(t)
	conf := repoConfigs(t)
	limits := "  max_calls: 50\n  max_calls_per_second: " + cmp.Or(o.MaxCPS, "20") + "\n"
	yaml := fmt.Sprintf(`listen:
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
%ssip:
  proxies: ["127.0.0.1/32"]
  rtp_port_min: %d
  rtp_port_max: %d
  register_min: 60s
files:
  hotlines: %s
  queues: %s
  skills: %s
  demo_roster: %s
`, n.http, n.sip, n.sip, filepath.Join(dir, "data"), limits, rtp, rtp+799,
		filepath.Join(conf, "hotlines.yaml"), filepath.Join(conf, "queues.yaml"),
		filepath.Join(conf, "skills.yaml"), filepath.Join(conf, "demo-roster.yaml"))
	cfg := filepath.Join(dir, "onecall.yaml")
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	drain := cmp.Or(o.Drain, time.Second)
	n.p = startProc(t, dir, nil, onecallBin, "serve", "--config", cfg, "--demo", "--drain", drain.String())
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if n.p.exited() {
			return nil, fmt.Errorf("exited: %v\n%s", n.p.err, n.p.log.tail(30))
		}
		if _, ok := n.p.log.first("onecall listening", time.Time{}); ok && n.ready() {
			return n, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	n.p.kill()
	return nil, fmt.Errorf("not ready within 60 s:\n%s", n.p.log.tail(30))
}

// activeCalls reads onecall_sip_active_calls from the node's /metrics
// (-1 when it cannot).
func (n *node) activeCalls() int {
	c := http.Client{Timeout: time.Second}
	res, err := c.Get("http://127.0.0.1:" + strconv.Itoa(n.http) + "/metrics")
	if err != nil {
		return -1
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "onecall_sip_active_calls "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return -1
			}
			return int(f)
		}
	}
	return -1
}

func (n *node) ready() bool {
	c := http.Client{Timeout: time.Second}
	res, err := c.Get("http://127.0.0.1:" + strconv.Itoa(n.http) + "/readyz")
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// proxy is one Kamailio process.
type proxy struct {
	port int
	p    *proc
	stop io.Closer // closing it makes the guard shell kill the group
}

func (k *proxy) addr() string { return "127.0.0.1:" + strconv.Itoa(k.port) }

// startKamailio renders the configuration for the nodes and runs Kamailio
// in the foreground (-DD -E) with its own runtime dir and pid file, on a
// free port (re-picked if Kamailio cannot bind it).
//
// Kamailio's worker processes outlive a SIGKILLed main process, so it runs
// under a guard shell that leads the process group: when the test closes
// the guard's stdin, or dies (the kernel closes the pipe), the guard kills
// the whole group.
func startKamailio(t *testing.T, c Config) *proxy {
	t.Helper()
	if _, err := exec.LookPath("kamailio"); err != nil {
		t.Fatalf("kamailio not installed (.ci/install-deps installs it): %v", err)
	}
	for attempt := 0; ; attempt++ {
		dir := t.TempDir()
		k := &proxy{port: testpeers.FreeSIPPort(t)}
		c.Listen = k.addr()
		cfg, err := WriteFiles(dir, c)
		if err != nil {
			t.Fatal(err)
		}
		run := filepath.Join(dir, "run")
		if err := os.Mkdir(run, 0o755); err != nil {
			t.Fatal(err)
		}
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		guard := `kamailio -DD -E -f "$1" -Y "$2" -P "$2/kamailio.pid" -m 64 -M 8 </dev/null &
read _ignored
kill -KILL 0`
		k.p = startProc(t, dir, pr, "sh", "-c", guard, "guard", cfg, run)
		pr.Close()
		k.stop = pw
		t.Cleanup(func() { pw.Close() })
		ok := false
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) && !k.p.exited() {
			if _, bad := k.p.log.first("ERROR", time.Time{}); bad {
				break
			}
			if _, up := k.p.log.first("SO_RCVBUF is finally", time.Time{}); up && sipAnswers(k.addr(), testpeers.FreeUDPPort(t, false)) {
				ok = true
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if ok {
			return k
		}
		pw.Close()
		k.p.kill()
		if attempt == 2 {
			t.Fatalf("kamailio did not start:\n%s", k.p.log.tail(40))
		}
		t.Logf("kamailio did not start (retrying on another port):\n%s", k.p.log.tail(10))
	}
}

// sipAnswers sends one OPTIONS to addr with SIPp and reports whether a 200
// came back.
func sipAnswers(addr string, port int) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dir, err := os.MkdirTemp("", "kam-ping-")
	if err != nil {
		return false
	}
	defer os.RemoveAll(dir)
	sf := filepath.Join(dir, "ping.xml")
	if err := os.WriteFile(sf, []byte(pingScenario), 0o644); err != nil {
		return false
	}
	cmd := exec.CommandContext(ctx, "sipp", "-sf", sf, "-i", "127.0.0.1", "-p", strconv.Itoa(port), "-m", "1", "-nostdin",
		"-timeout", "4s", "-timeout_error", addr)
	cmd.Dir = dir
	return cmd.Run() == nil
}

const pingScenario = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="ping">
  <send retrans="200">
    <![CDATA[

      OPTIONS sip:[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:ping@[local_ip]:[local_port]>;tag=[pid]ping[call_number]
      To: <sip:[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 OPTIONS
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
</scenario>
`

// callResult is one citizen call through the proxy.
type callResult struct {
	node  int           // SIP port of the node that answered (its Contact)
	took  time.Duration // the SIPp run: setup, hold, BYE
	err   error
	trace string
}

var contactPort = regexp.MustCompile(`(?i)\ncontact:\s*<?sips?:(?:[^@>;\s]*@)?[^:>;\s]+:(\d+)`)

// citizenCall places one call to number through the proxy with SIPp and
// reports which node answered it.
func citizenCall(t *testing.T, k *proxy, number string, holdMS int) callResult {
	t.Helper()
	dir := t.TempDir()
	sf := testpeers.RenderScenario(t, dir, filepath.Join("testdata", "citizen.xml"),
		map[string]any{"From": "01012345678", "HoldFor": holdMS})
	msgs := filepath.Join(dir, "messages.log")
	start := time.Now()
	var out []byte
	var err error
	// The free ports are picked, then released for SIPp to bind: another
	// process (tests of other packages run in parallel) can take one in
	// between. SIPp then stops before sending anything; try other ports.
	for try := 0; ; try++ {
		args := []string{"-sf", sf, "-i", "127.0.0.1", "-p", strconv.Itoa(testpeers.FreeUDPPort(t, false)),
			"-mp", strconv.Itoa(testpeers.FreeRTPPorts(t)), "-nostdin", "-m", "1", "-s", number,
			"-timeout", "20s", "-timeout_error", "-trace_msg", "-message_file", msgs, k.addr()}
		cmd := exec.Command("sipp", args...)
		cmd.Dir = dir
		out, err = cmd.CombinedOutput()
		if err == nil || try == 4 || !bytes.Contains(out, []byte("Address already in use")) {
			break
		}
		_ = os.Remove(msgs)
	}
	r := callResult{took: time.Since(start), err: err}
	b, _ := os.ReadFile(msgs)
	r.trace = string(b)
	if err != nil {
		r.trace += "\n" + string(out)
	}
	if i := strings.Index(r.trace, "SIP/2.0 200 OK"); i >= 0 {
		if m := contactPort.FindStringSubmatch(r.trace[i:]); m != nil {
			r.node, _ = strconv.Atoi(m[1])
		}
	}
	if err == nil && r.node == 0 {
		r.err = errors.New("no Contact port in the 200 OK")
	}
	return r
}

// callsAnswered places n calls at once and fails the test unless all were
// answered by a node in want.
func callsAnswered(t *testing.T, k *proxy, n int, want ...*node) []callResult {
	t.Helper()
	res := make([]callResult, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i] = citizenCall(t, k, "110", 300)
		}()
	}
	wg.Wait()
	for i, r := range res {
		okNode := false
		for _, w := range want {
			okNode = okNode || r.node == w.sip
		}
		if r.err != nil || !okNode {
			t.Fatalf("call %d: err %v, answered by port %d (want one of %v)\n%s\nkamailio:\n%s", i, r.err, r.node,
				nodePorts(want), r.trace, k.p.log.tail(30))
		}
	}
	return res
}

func nodePorts(ns []*node) []int {
	var out []int
	for _, n := range ns {
		out = append(out, n.sip)
	}
	return out
}

// console is an agent's console connection to one node.
type console struct {
	ws   *websocket.Conn
	snap map[string]any
	id   int
}

// openConsole signs user in on node n and opens the console WebSocket;
// the snapshot is kept.
func openConsole(t *testing.T, n *node, user, password string) *console {
	t.Helper()
	base := "http://127.0.0.1:" + strconv.Itoa(n.http)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	body, _ := json.Marshal(map[string]string{"username": user, "password": password})
	req, _ := http.NewRequest(http.MethodPost, base+"/api/login", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", base)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var login struct{ CSRF string }
	err = json.NewDecoder(res.Body).Decode(&login)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("login %s on %s: %d %v", user, n.name, res.StatusCode, err)
	}
	u, _ := url.Parse(base)
	h := http.Header{"Origin": {base}}
	for _, ck := range jar.Cookies(u) {
		h.Add("Cookie", ck.Name+"="+ck.Value)
	}
	ws, _, err := websocket.DefaultDialer.Dial("ws://127.0.0.1:"+strconv.Itoa(n.http)+"/ws/console?csrf="+url.QueryEscape(login.CSRF), h)
	if err != nil {
		t.Fatalf("console websocket on %s: %v", n.name, err)
	}
	t.Cleanup(func() { ws.Close() })
	k := &console{ws: ws}
	m := k.read(t)
	if m["t"] != "snapshot" {
		t.Fatalf("first console message %v", m)
	}
	k.snap, _ = m["data"].(map[string]any)
	return k
}

func (k *console) read(t *testing.T) map[string]any {
	t.Helper()
	_ = k.ws.SetReadDeadline(time.Now().Add(15 * time.Second))
	var m map[string]any
	if err := k.ws.ReadJSON(&m); err != nil {
		t.Fatalf("console read: %v", err)
	}
	return m
}

// phone reports the snapshot's "SIP phone registered" flag of the agent.
func (k *console) phone() bool {
	a, _ := k.snap["agent"].(map[string]any)
	p, _ := a["phone"].(bool)
	return p
}

// do sends a command and waits for its reply, skipping events.
func (k *console) do(t *testing.T, cmd string, args map[string]any) map[string]any {
	t.Helper()
	k.id++
	if err := k.ws.WriteJSON(map[string]any{"id": k.id, "cmd": cmd, "args": args}); err != nil {
		t.Fatal(err)
	}
	for {
		m := k.read(t)
		if id, _ := m["id"].(float64); int(id) == k.id {
			if m["t"] != "reply" {
				t.Fatalf("%s: %v", cmd, m)
			}
			return m
		}
	}
}
