package servetest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"onecall/internal/testpeers"
)

// CitizenLoad is one SIPp process placing citizens' calls through the
// proxy at a steady rate (testdata/citizen.xml), with its statistics file.
type CitizenLoad struct {
	P     *Proc
	dir   string
	stats string
}

// StartCitizenLoad places total calls to number at rate calls/s through k,
// each held holdMS after the answer; SIPp writes its statistics every
// second (-trace_stat). Each call comes from its own citizen's number
// (0105555 and SIPp's call number): with one number for all, every call
// would be the same citizen's, and routing would pin each to the agent who
// last talked to that citizen (the preferred agent, waiting up to
// routing.preferred_agent_wait) instead of offering it to any ready agent.
func StartCitizenLoad(t testing.TB, k *Proxy, number string, rate float64, total, holdMS int) *CitizenLoad {
	t.Helper()
	dir := t.TempDir()
	sf := testpeers.RenderScenario(t, dir, Scenario("citizen.xml"),
		map[string]any{"From": "0105555[call_number]", "HoldFor": holdMS})
	l := &CitizenLoad{dir: dir, stats: filepath.Join(dir, "stats.csv")}
	args := []string{"-sf", sf, "-i", "127.0.0.1", "-p", strconv.Itoa(testpeers.FreeUDPPort(t, false)),
		"-mp", strconv.Itoa(testpeers.FreeRTPPorts(t)), "-nostdin", "-s", number,
		"-r", strconv.FormatFloat(rate, 'f', -1, 64), "-m", strconv.Itoa(total), "-l", strconv.Itoa(total),
		"-recv_timeout", "60s", "-trace_stat", "-stf", l.stats, "-fd", "1", "-trace_err", k.Addr()}
	l.P = StartProc(t, dir, nil, "sipp", args...)
	return l
}

// Stats are SIPp's cumulative counters.
type Stats struct {
	Created, Successful, Failed int
	Errors                      string // the error log's last lines
	// Failures are the non-zero cumulative Failed* counters by kind,
	// e.g. "FailedCallRejected(C)=3".
	Failures []string
}

// Stats reads the last line of SIPp's statistics file.
func (l *CitizenLoad) Stats() (Stats, error) {
	b, err := os.ReadFile(l.stats)
	if err != nil {
		return Stats{}, err
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) < 2 {
		return Stats{}, fmt.Errorf("sipp statistics: %d lines", len(lines))
	}
	head := strings.Split(lines[0], ";")
	last := strings.Split(lines[len(lines)-1], ";")
	col := func(name string) int {
		for i, h := range head {
			if h == name && i < len(last) {
				v, _ := strconv.Atoi(last[i])
				return v
			}
		}
		return -1
	}
	s := Stats{Created: col("TotalCallCreated"), Successful: col("SuccessfulCall(C)"), Failed: col("FailedCall(C)")}
	for _, h := range head {
		if strings.HasPrefix(h, "Failed") && strings.HasSuffix(h, "(C)") && h != "FailedCall(C)" {
			if v := col(h); v > 0 {
				s.Failures = append(s.Failures, fmt.Sprintf("%s=%d", h, v))
			}
		}
	}
	if errs, _ := filepath.Glob(filepath.Join(l.dir, "*_errors.log")); len(errs) > 0 {
		e, _ := os.ReadFile(errs[0])
		es := strings.Split(strings.TrimSpace(string(e)), "\n")
		s.Errors = strings.Join(es[max(0, len(es)-10):], "\n")
	}
	return s, nil
}

// Wait waits up to d for SIPp to place and finish all its calls.
func (l *CitizenLoad) Wait(d time.Duration) error {
	select {
	case <-l.P.Done():
		return nil
	case <-time.After(d):
		return fmt.Errorf("sipp still running after %s:\n%s", d, l.P.Log.Tail(10))
	}
}

// Dir is SIPp's working directory (scenario, statistics, error log).
func (l *CitizenLoad) Dir() string { return l.dir }

// SIPp's error log lines that fail a call (its lines may run together):
// an unexpected reply at a scenario index, a retransmission timeout, a
// BYE from the other side, no reply within -recv_timeout at an index.
var (
	sippUnexpected = regexp.MustCompile(`Call-I[Dd] '([^']+)': while expecting '[^']*' \(index (\d+)\), received 'SIP/2\.0 (\d{3})`)
	sippRetrans    = regexp.MustCompile(`retransmission timeout for Call-I[Dd] '([^']+)'`)
	sippBye        = regexp.MustCompile(`unexpected BYE for call: (\d+-\d+@127\.0\.0\.1)`)
	sippRecvTime   = regexp.MustCompile(`Call-I[Dd]: (\d+-\d+@127\.0\.0\.1), receive timeout on message [^:\s]*:(\d+)`)
)

// citizenAnsweredIndex is the index of the 200 in testdata/citizen.xml:
// a failure at or before it is a refused call.
const citizenAnsweredIndex = 4

// CallFailure is why SIPp failed one call.
type CallFailure struct {
	Why string // e.g. "503 at index 2", "retransmission timeout"
	// BeforeAnswer: the call failed before it was answered (refused).
	BeforeAnswer bool
}

// Calls returns the Call-IDs of the calls SIPp placed (SIPp numbers its
// calls: "<n>-<pid>@127.0.0.1") and, of those, the failed ones, read from
// its error log.
func (l *CitizenLoad) Calls(created int) (ids []string, failed map[string]CallFailure) {
	for n := 1; n <= created; n++ {
		ids = append(ids, fmt.Sprintf("%d-%d@127.0.0.1", n, l.P.Cmd.Process.Pid))
	}
	failed = map[string]CallFailure{}
	errs, _ := filepath.Glob(filepath.Join(l.dir, "*_errors.log"))
	for _, f := range errs {
		b, _ := os.ReadFile(f)
		callFailures(string(b), failed)
	}
	return ids, failed
}

// callFailures adds to failed the calls SIPp's error log text fails (the
// first failure of each call).
func callFailures(text string, failed map[string]CallFailure) {
	add := func(id string, f CallFailure) {
		if _, ok := failed[id]; !ok {
			failed[id] = f
		}
	}
	for _, m := range sippUnexpected.FindAllStringSubmatch(text, -1) {
		i, _ := strconv.Atoi(m[2])
		add(m[1], CallFailure{Why: m[3] + " at index " + m[2], BeforeAnswer: i <= citizenAnsweredIndex})
	}
	for _, m := range sippRetrans.FindAllStringSubmatch(text, -1) {
		add(m[1], CallFailure{Why: "retransmission timeout"})
	}
	for _, m := range sippBye.FindAllStringSubmatch(text, -1) {
		add(m[1], CallFailure{Why: "BYE from the node"})
	}
	for _, m := range sippRecvTime.FindAllStringSubmatch(text, -1) {
		i, _ := strconv.Atoi(m[2])
		add(m[1], CallFailure{Why: "receive timeout at index " + m[2], BeforeAnswer: i <= citizenAnsweredIndex})
	}
}
