package servetest

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"onecall/deploy/kamailio"
	"onecall/internal/testpeers"
)

// Proxy is one Kamailio process.
type Proxy struct {
	Port int
	P    *Proc
	stop io.Closer // closing it makes the guard shell kill the group
}

// Addr is Kamailio's SIP address.
func (k *Proxy) Addr() string { return "127.0.0.1:" + strconv.Itoa(k.Port) }

// Stop kills Kamailio's process group.
func (k *Proxy) Stop() {
	k.stop.Close()
	k.P.Kill()
}

// StartKamailio renders the configuration for the nodes and runs Kamailio
// in the foreground (-DD -E) with its own runtime dir and pid file, on a
// free port (re-picked if Kamailio cannot bind it).
//
// Kamailio's worker processes outlive a SIGKILLed main process, so it runs
// under a guard shell that leads the process group: when the test closes
// the guard's stdin, or dies (the kernel closes the pipe), the guard kills
// the whole group.
func StartKamailio(t testing.TB, c kamailio.Config) *Proxy {
	t.Helper()
	if _, err := exec.LookPath("kamailio"); err != nil {
		t.Fatalf("kamailio not installed (.ci/install-deps installs it): %v", err)
	}
	for attempt := 0; ; attempt++ {
		dir := t.TempDir()
		k := &Proxy{Port: testpeers.FreeSIPPort(t)}
		c.Listen = k.Addr()
		cfg, err := kamailio.WriteFiles(dir, c)
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
		k.P = StartProc(t, dir, pr, "sh", "-c", guard, "guard", cfg, run)
		pr.Close()
		k.stop = pw
		t.Cleanup(func() { pw.Close() })
		ok := false
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) && !k.P.Exited() {
			if _, bad := k.P.Log.First("ERROR", time.Time{}); bad {
				break
			}
			if _, up := k.P.Log.First("SO_RCVBUF is finally", time.Time{}); up && SIPAnswers(k.Addr(), testpeers.FreeUDPPort(t, false)) {
				ok = true
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if ok {
			return k
		}
		pw.Close()
		k.P.Kill()
		if attempt == 2 {
			t.Fatalf("kamailio did not start:\n%s", k.P.Log.Tail(40))
		}
		t.Logf("kamailio did not start (retrying on another port):\n%s", k.P.Log.Tail(10))
	}
}

// SIPAnswers sends one OPTIONS to addr with SIPp from port and reports
// whether a 200 came back.
func SIPAnswers(addr string, port int) bool {
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
