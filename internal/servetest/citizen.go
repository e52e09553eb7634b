package servetest

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"onecall/internal/testpeers"
)

// Scenario is the path of one of this package's SIPp scenarios
// (testdata/<name>), text/templates for testpeers.RenderScenario.
func Scenario(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "testdata", name)
}

// CallResult is one citizen call through the proxy.
type CallResult struct {
	Node  int           // SIP port of the node that answered (its Contact)
	Took  time.Duration // the SIPp run: setup, hold, BYE
	Err   error
	Trace string
}

var contactPort = regexp.MustCompile(`(?i)\ncontact:\s*<?sips?:(?:[^@>;\s]*@)?[^:>;\s]+:(\d+)`)

// CitizenCall places one call to number through the proxy with SIPp
// (testdata/citizen.xml) and reports which node answered it.
func CitizenCall(t testing.TB, k *Proxy, number string, holdMS int) CallResult {
	t.Helper()
	dir := t.TempDir()
	sf := testpeers.RenderScenario(t, dir, Scenario("citizen.xml"),
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
			"-timeout", "20s", "-timeout_error", "-trace_msg", "-message_file", msgs, k.Addr()}
		cmd := exec.Command("sipp", args...)
		cmd.Dir = dir
		out, err = cmd.CombinedOutput()
		if err == nil || try == 4 || !bytes.Contains(out, []byte("Address already in use")) {
			break
		}
		_ = os.Remove(msgs)
	}
	r := CallResult{Took: time.Since(start), Err: err}
	b, _ := os.ReadFile(msgs)
	r.Trace = string(b)
	if err != nil {
		r.Trace += "\n" + string(out)
	}
	if i := strings.Index(r.Trace, "SIP/2.0 200 OK"); i >= 0 {
		if m := contactPort.FindStringSubmatch(r.Trace[i:]); m != nil {
			r.Node, _ = strconv.Atoi(m[1])
		}
	}
	if err == nil && r.Node == 0 {
		r.Err = errors.New("no Contact port in the 200 OK")
	}
	return r
}

// CallsAnswered places n calls to 110 at once and fails the test unless
// all were answered by a node in want.
func CallsAnswered(t testing.TB, k *Proxy, n int, want ...*Node) []CallResult {
	t.Helper()
	res := make([]CallResult, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i] = CitizenCall(t, k, "110", 300)
		}()
	}
	wg.Wait()
	for i, r := range res {
		okNode := false
		for _, w := range want {
			okNode = okNode || r.Node == w.SIP
		}
		if r.Err != nil || !okNode {
			t.Fatalf("call %d: err %v, answered by port %d (want one of %v)\n%s\nkamailio:\n%s", i, r.Err, r.Node,
				NodePorts(want), r.Trace, k.P.Log.Tail(30))
		}
	}
	return res
}

// NodePorts lists the nodes' SIP ports.
func NodePorts(ns []*Node) []int {
	var out []int
	for _, n := range ns {
		out = append(out, n.SIP)
	}
	return out
}
