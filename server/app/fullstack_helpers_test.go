package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"onecall/router"
	"onecall/store"
)

// Helpers for the full-stack voice tests: the real App (router, store, SIP
// service, registrar, shipped configs with the demo roster) against real
// peers, baresip as the agent's phone and SIPp as the citizen. Everything
// listens on 127.0.0.1 and every wait is bounded by a deadline.

// fsBuffer is a bytes.Buffer safe for a writer goroutine and the test.
type fsBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *fsBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *fsBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fsApp is one running App with its JSON log kept for assertions.
type fsApp struct {
	*App
	logs *fsBuffer
}

// fsStart starts the real App on dataDir with the shipped configs in demo
// mode; Shutdown runs at cleanup (a second Shutdown is a no-op).
func fsStart(t *testing.T, dataDir string) *fsApp {
	t.Helper()
	logs := &fsBuffer{}
	a, err := New(t.Context(), Options{
		ConfigPath:   "../../configs",
		DataDir:      dataDir,
		HTTPAddr:     "127.0.0.1:0",
		SIPAddr:      "127.0.0.1:0",
		Demo:         true,
		Logger:       slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
		DrainTimeout: time.Second,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := a.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	fa := &fsApp{App: a, logs: logs}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := a.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if t.Failed() {
			fa.dumpLog(t)
		}
	})
	return fa
}

func (a *fsApp) dumpLog(t *testing.T) {
	t.Helper()
	s := a.logs.String()
	if len(s) > 12000 {
		s = s[len(s)-12000:]
	}
	t.Logf("onecall log (tail):\n%s", s)
}

// logRecords returns the JSON log records whose msg is msg.
func (a *fsApp) logRecords(msg string) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(a.logs.String()))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

func (a *fsApp) sipUDP() string {
	udp, _ := a.SIPAddrs()
	return udp
}

// agent returns the routing view of an agent (ok false if unknown).
func (a *fsApp) agent(t *testing.T, id router.AgentID) (router.AgentView, bool) {
	t.Helper()
	var v router.AgentView
	var ok bool
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := a.Hub().Query(ctx, func(e *router.Engine) { v, ok = e.Agent(id) }); err != nil {
		t.Fatalf("hub query agent %s: %v", id, err)
	}
	return v, ok
}

// contact returns the routing view of a contact (ok false once forgotten).
func (a *fsApp) contact(t *testing.T, id router.ContactID) (router.ContactView, bool) {
	t.Helper()
	var v router.ContactView
	var ok bool
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := a.Hub().Query(ctx, func(e *router.Engine) { v, ok = e.Contact(id) }); err != nil {
		t.Fatalf("hub query contact %d: %v", id, err)
	}
	return v, ok
}

// callRecordTo polls the store for the CDR of a call to number.
func (a *fsApp) callRecordTo(t *testing.T, d time.Duration, number string) store.CallRecord {
	t.Helper()
	var rec store.CallRecord
	fsWait(t, d, "call record to "+number+" in the store", func() bool {
		recs, err := a.Store().CallRecords(t.Context(), 20)
		if err != nil {
			t.Fatalf("CallRecords: %v", err)
		}
		for _, r := range recs {
			if r.To == number {
				rec = r
				return true
			}
		}
		return false
	})
	return rec
}

// endedContact polls the store until the contact row is ended.
func fsEndedContact(t *testing.T, st *store.Store, d time.Duration, id uint64) store.Contact {
	t.Helper()
	var c store.Contact
	deadline := time.Now().Add(d)
	for {
		var err error
		c, err = st.Contact(t.Context(), id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Contact(%d): %v", id, err)
		}
		if err == nil && c.State == router.Ended.String() && c.EndReason != "" {
			checkContactTimes(t, c)
			return c
		}
		if time.Now().After(deadline) {
			evs, _ := st.ContactEvents(t.Context(), id)
			t.Fatalf("contact %d not ended in the store within %s: row %+v (err %v); history %+v", id, d, c, err, evs)
		}
		<-time.After(50 * time.Millisecond)
	}
}

// checkContactTimes reports (without stopping the test) an ended contact
// row whose timestamps are missing or out of order.
func checkContactTimes(t *testing.T, c store.Contact) {
	t.Helper()
	if c.Arrived.IsZero() || c.Ended.IsZero() {
		t.Errorf("contact %d row: arrived %v ended %v; want both set (see .agents/fullstack-findings.md F1, F2)",
			c.ID, c.Arrived, c.Ended)
		return
	}
	if c.Ended.Before(c.Arrived) {
		t.Errorf("contact %d row: ended %v before arrived %v", c.ID, c.Ended, c.Arrived)
	}
}

// fsWait polls cond every 50 ms until it holds or d passes.
func fsWait(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("timed out after %s waiting for %s", d, what)
		case <-tick.C:
		}
	}
}

// fsFreeUDP returns a UDP port free on 127.0.0.1 right now (even if asked).
func fsFreeUDP(t *testing.T, even bool) int {
	t.Helper()
	for i := 0; i < 50; i++ {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := c.LocalAddr().(*net.UDPAddr).Port
		c.Close()
		if !even || p%2 == 0 {
			return p
		}
	}
	t.Fatal("no free UDP port")
	return 0
}

// fsFreeSIPPort returns p with UDP p, TCP p and TCP p+1 (baresip's TLS)
// free on 127.0.0.1.
func fsFreeSIPPort(t *testing.T) int {
	t.Helper()
	for i := 0; i < 100; i++ {
		p := fsFreeUDP(t, false)
		var ls []net.Listener
		ok := true
		for _, port := range []int{p, p + 1} {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
			if err != nil {
				ok = false
				break
			}
			ls = append(ls, l)
		}
		for _, l := range ls {
			l.Close()
		}
		if ok {
			return p
		}
	}
	t.Fatal("no free SIP port")
	return 0
}

// fsPhone is a headless baresip agent phone: it registers with digest,
// auto-answers, "speaks" a WAV through aufile (and hangs up when it ends)
// and dumps what it heard and sent with sndfile.
type fsPhone struct {
	dir  string
	port int
	cmd  *exec.Cmd
	out  fsBuffer
	done chan error
}

func fsStartPhone(t *testing.T, registrar, user, password, speech string) *fsPhone {
	t.Helper()
	p := &fsPhone{dir: t.TempDir(), port: fsFreeSIPPort(t), done: make(chan error, 1)}
	cfg := fmt.Sprintf(`sip_listen 127.0.0.1:%d
audio_source aufile,%s
audio_player aubridge,onecall-fullstack
audio_alert aubridge,onecall-fullstack
module_path /usr/lib/baresip/modules
module g711.so
module aufile.so
module aubridge.so
module sndfile.so
module_app account.so
snd_path %s
`, p.port, speech, p.dir)
	acct := fmt.Sprintf("<sip:%s@%s;transport=udp>;auth_pass=%s;regint=600;answermode=auto;audio_codecs=PCMA,PCMU\n",
		user, registrar, password)
	for name, body := range map[string]string{"config": cfg, "accounts": acct, "contacts": ""} {
		if err := os.WriteFile(filepath.Join(p.dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	path, err := exec.LookPath("baresip")
	if err != nil {
		t.Fatalf("baresip not installed (.ci/install-deps installs baresip-core): %v", err)
	}
	p.cmd = exec.Command(path, "-f", p.dir, "-4", "-t", "120")
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("baresip output:\n%s", p.out.String())
		}
	})
	return p
}

// decodedBytes is how much audio the phone decoded (heard), per sndfile.
func (p *fsPhone) decodedBytes() int64 {
	dumps, _ := filepath.Glob(filepath.Join(p.dir, "*.wav"))
	var n int64
	for _, f := range dumps {
		if fi, err := os.Stat(f); err == nil && strings.Contains(filepath.Base(f), "dec") {
			n += fi.Size()
		}
	}
	return n
}

// fsCitizen is the scenario data of testdata/citizen.xml.
type fsCitizen struct {
	From    string
	Audio   bool // speak g711a.pcap after the ACK
	HoldFor int  // ms before the citizen's BYE (when WaitBye is 0)
	WaitBye int  // ms; > 0: wait for the server's BYE instead
}

// fsSipp is one SIPp citizen call.
type fsSipp struct {
	cmd  *exec.Cmd
	dir  string
	out  fsBuffer
	done chan error
}

func fsStartSipp(t *testing.T, remote, number string, c fsCitizen) *fsSipp {
	t.Helper()
	dir := t.TempDir()
	if err := os.Symlink("/usr/share/sip-tester", filepath.Join(dir, "pcap")); err != nil {
		t.Fatal(err)
	}
	tpl, err := template.ParseFiles(filepath.Join("testdata", "citizen.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := tpl.Execute(&b, c); err != nil {
		t.Fatal(err)
	}
	sf := filepath.Join(dir, "citizen.xml")
	if err := os.WriteFile(sf, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	path, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatalf("sipp not installed (.ci/install-deps installs sip-tester): %v", err)
	}
	s := &fsSipp{dir: dir, done: make(chan error, 1)}
	s.cmd = exec.Command(path, "-sf", sf, "-i", "127.0.0.1", "-p", strconv.Itoa(fsFreeUDP(t, false)),
		"-mp", strconv.Itoa(fsFreeUDP(t, true)), "-nostdin", "-m", "1", "-timeout", "45s", "-timeout_error",
		"-trace_err", "-trace_msg", "-max_recv_loops", "1000", "-s", number, remote)
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = &s.out, &s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		<-s.done
	})
	return s
}

// wait returns SIPp's exit error (nil: the scenario passed), dumping its
// traces on failure.
func (s *fsSipp) wait(t *testing.T, d time.Duration) error {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case err := <-s.done:
		s.done <- err
		if err != nil {
			s.dump(t)
		}
		return err
	case <-timer.C:
		s.dump(t)
		t.Fatalf("sipp did not finish within %s", d)
	}
	return nil
}

func (s *fsSipp) dump(t *testing.T) {
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

// fsNum reads a JSON number attribute of a log record.
func fsNum(m map[string]any, k string) float64 {
	f, _ := m[k].(float64)
	return f
}
