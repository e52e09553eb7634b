package servetest

import (
	"fmt"
	"os"
	"path/filepath"
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
// second (-trace_stat).
func StartCitizenLoad(t testing.TB, k *Proxy, number string, rate float64, total, holdMS int) *CitizenLoad {
	t.Helper()
	dir := t.TempDir()
	sf := testpeers.RenderScenario(t, dir, Scenario("citizen.xml"),
		map[string]any{"From": "01055550000", "HoldFor": holdMS})
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
