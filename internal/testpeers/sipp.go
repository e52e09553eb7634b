package testpeers

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"time"
)

// SIPpOptions configures one SIPp run (one call: -m 1).
type SIPpOptions struct {
	// Scenario is a text/template SIPp scenario file (e.g.
	// "testdata/citizen.xml"), rendered with Data into the run's dir.
	Scenario string
	Data     any
	// Remote is the host:port to call; "" runs SIPp as a server (UAS).
	Remote string
	// Service is the request-URI user (-s), e.g. the hotline; "" = none.
	Service string
	// Timeout is SIPp's own global timeout (-timeout, -timeout_error);
	// 0 means 40 s.
	Timeout time.Duration
	// Args are extra SIPp arguments (e.g. "-t", "t1").
	Args []string

	// port picks the SIP port of each try (nil: FreeUDPPort); tests of
	// this package hand out a taken one.
	port func(try int) int
}

// SIPp is a running SIPp process. Its dir has pcap/ linked to
// /usr/share/sip-tester (for play_pcap_audio) and the -trace_err and
// -trace_msg logs. The process is killed at cleanup.
type SIPp struct {
	Port int // its SIP port on 127.0.0.1
	dir  string
	out  Buffer
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	exit error         // its exit status, set before done is closed
}

// RenderScenario executes the template file scenario with data and writes
// the result into dir under the same base name; it returns that path.
func RenderScenario(t testing.TB, dir, scenario string, data any) string {
	t.Helper()
	tpl, err := template.ParseFiles(scenario)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := tpl.Execute(&b, data); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, filepath.Base(scenario))
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// StartSIPp renders the scenario and starts SIPp on free ports of
// 127.0.0.1 (media: FreeRTPPorts), tracing errors and messages.
func StartSIPp(t testing.TB, o SIPpOptions) *SIPp {
	t.Helper()
	dir := t.TempDir()
	if err := os.Symlink("/usr/share/sip-tester", filepath.Join(dir, "pcap")); err != nil {
		t.Fatal(err)
	}
	sf := RenderScenario(t, dir, o.Scenario, o.Data)
	path, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatalf("sipp not installed (.ci/install-deps installs sip-tester): %v", err)
	}
	timeout := o.Timeout
	if timeout == 0 {
		timeout = 40 * time.Second
	}
	tcp := false
	for i, a := range o.Args {
		tcp = tcp || a == "-t" && i+1 < len(o.Args) && strings.HasPrefix(o.Args[i+1], "t")
	}
	// The free ports are free when picked, not when SIPp binds them: a
	// socket of another test may take one between. SIPp then exits at
	// once; it starts again on other ports.
	for try := 1; ; try++ {
		s := &SIPp{dir: dir, done: make(chan struct{})}
		if o.port != nil {
			s.Port = o.port(try)
		} else {
			s.Port = FreeUDPPort(t, false)
		}
		args := []string{"-sf", sf, "-i", "127.0.0.1", "-p", strconv.Itoa(s.Port),
			"-mp", strconv.Itoa(FreeRTPPorts(t)), "-nostdin", "-m", "1",
			"-timeout", strconv.Itoa(int(timeout.Seconds())) + "s", "-timeout_error",
			"-trace_err", "-trace_msg", "-max_recv_loops", "1000"}
		if o.Service != "" {
			args = append(args, "-s", o.Service)
		}
		args = append(args, o.Args...)
		if o.Remote != "" {
			args = append(args, o.Remote)
		}
		s.cmd = exec.Command(path, args...)
		s.cmd.Dir = dir
		s.cmd.Stdout, s.cmd.Stderr = &s.out, &s.out
		if err := s.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { s.exit = s.cmd.Wait(); close(s.done) }()
		if !s.bound(tcp) && try < 5 {
			t.Logf("sipp could not bind its ports (try %d): %s", try, s.bindError())
			continue
		}
		t.Cleanup(func() {
			select {
			case <-s.done:
				// It ended by itself: a failed test says how.
				if t.Failed() && s.exit != nil {
					out := s.out.String()
					t.Logf("sipp on port %d ended: %v; its output ends:\n%s", s.Port, s.exit, out[max(0, len(out)-1500):])
				}
			default:
				_ = s.cmd.Process.Kill()
				<-s.done
			}
		})
		return s
	}
}

// bound waits (at most 10 s) until SIPp's SIP port is bound on 127.0.0.1
// and SIPp still runs a moment later; false when SIPp exited saying it
// could not bind a socket. Bound or not, a SIPp that exited for another
// reason, or that is slow, is left to the test (Wait reports it).
func (s *SIPp) bound(tcp bool) bool {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return s.bindError() == ""
		case <-time.After(10 * time.Millisecond): // poll
		}
		if listening(tcp, s.Port) {
			select {
			case <-s.done:
				continue // someone else's socket: the exit says
			case <-time.After(50 * time.Millisecond):
				return true
			}
		}
	}
	return true
}

// bindError is SIPp's line saying which socket it could not bind ("Unable
// to bind main socket", "... audio RTP socket"), "" if none.
func (s *SIPp) bindError() string {
	for line := range strings.Lines(s.out.String()) {
		if strings.Contains(line, "Unable to bind") {
			return strings.TrimSpace(line)
		}
	}
	return ""
}

// listening reports whether a socket is bound to 127.0.0.1:port (UDP or
// TCP), from /proc/net without binding it.
func listening(tcp bool, port int) bool {
	file := "/proc/net/udp"
	if tcp {
		file = "/proc/net/tcp" // listening, or connected from it
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return true // cannot tell: assume it is
	}
	local := fmt.Sprintf("0100007F:%04X", port)
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) > 3 && f[1] == local {
			return true
		}
	}
	return false
}

// Wait returns SIPp's exit error (nil: the scenario passed), dumping its
// traces if it failed; it fails the test if SIPp runs longer than d. It
// may be called again.
func (s *SIPp) Wait(t testing.TB, d time.Duration) error {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-s.done:
		err := s.exit
		if err != nil {
			s.Dump(t)
		}
		return err
	case <-timer.C:
		s.Dump(t)
		t.Fatalf("sipp did not finish within %s", d)
	}
	return nil
}

// MessageLog returns SIPp's -trace_msg log so far (every message sent and
// received, with its framing lines).
func (s *SIPp) MessageLog() string {
	msgs, _ := filepath.Glob(filepath.Join(s.dir, "*_messages.log"))
	var b bytes.Buffer
	for _, f := range msgs {
		data, _ := os.ReadFile(f)
		b.Write(data)
	}
	return b.String()
}

// Dump logs the tails of SIPp's error and message traces and its output.
func (s *SIPp) Dump(t testing.TB) {
	t.Helper()
	errs, _ := filepath.Glob(filepath.Join(s.dir, "*_errors.log"))
	msgs, _ := filepath.Glob(filepath.Join(s.dir, "*_messages.log"))
	for _, f := range append(errs, msgs...) {
		b, _ := os.ReadFile(f)
		if len(b) > 6000 {
			b = b[len(b)-6000:]
		}
		t.Logf("%s:\n%s", filepath.Base(f), b)
	}
	t.Logf("sipp output:\n%s", s.out.String())
}

// URI is SIPp's SIP URI for user (to reach a server-mode SIPp).
func (s *SIPp) URI(user string) string {
	return "sip:" + user + "@127.0.0.1:" + strconv.Itoa(s.Port)
}

// Kill ends SIPp at once (a caller whose phone dies: no BYE) and waits for
// the process to exit.
func (s *SIPp) Kill() {
	_ = s.cmd.Process.Kill()
	<-s.done
}
