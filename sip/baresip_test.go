package sip

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"onecall/router"
)

// baresipPhone is a headless baresip (baresip-core) agent phone that
// auto-answers, "speaks" a WAV through aufile and dumps what it heard and
// sent with sndfile.
type baresipPhone struct {
	dir  string
	port int
	cmd  *exec.Cmd
	out  syncBuffer
	done chan error
}

// syncBuffer is a bytes.Buffer safe for the process writer and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startBaresip(t *testing.T, user, speech string) *baresipPhone {
	t.Helper()
	p := &baresipPhone{dir: t.TempDir(), port: freeSIPPort(t), done: make(chan error, 1)}
	cfg := fmt.Sprintf(`sip_listen 127.0.0.1:%d
audio_source aufile,%s
audio_player aubridge,onecall-test
audio_alert aubridge,onecall-test
module_path /usr/lib/baresip/modules
module g711.so
module aufile.so
module aubridge.so
module sndfile.so
module account.so
snd_path %s
`, p.port, speech, p.dir)
	if err := os.WriteFile(filepath.Join(p.dir, "config"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	acc := fmt.Sprintf("<sip:%s@127.0.0.1;transport=udp>;regint=0;answermode=auto;audio_codecs=PCMA,PCMU\n", user)
	if err := os.WriteFile(filepath.Join(p.dir, "accounts"), []byte(acc), 0o644); err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command("baresip", "-f", p.dir, "-t", "60")
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
	// Ready when it listens.
	waitFor(t, 10*time.Second, "baresip listening", func() bool {
		return strings.Contains(p.out.String(), "baresip is ready")
	})
	return p
}

func (p *baresipPhone) uri(user string) string {
	return fmt.Sprintf("sip:%s@127.0.0.1:%d", user, p.port)
}

// TestBaresipAgentPhone: a real softphone as the agent: it auto-answers our
// offer INVITE, speaks a prompt WAV and hangs up when it ends (agent BYE);
// the citizen (SIPp) gets our BYE; sndfile shows the phone decoded our
// bridged audio.
func TestBaresipAgentPhone(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, []router.AgentID{"agent01"}, nil)
	phone := startBaresip(t, "agent01", "/work/main/sip/prompts/en_afterhours.wav")
	env.loc.set("agent01", phone.uri("agent01"))
	c := startSipp(t, "citizen.xml", citizenParams{From: "01011112222", Audio: true, WaitBye: 40000}, env.udp, "110")
	if err := c.wait(t, 50*time.Second); err != nil {
		t.Fatalf("citizen: %v", err)
	}
	env.hub.waitEvent(t, 5*time.Second, "accept agent01", isEv(func(e router.OfferAccepted) bool { return e.Agent == "agent01" }))
	env.hub.waitEvent(t, 5*time.Second, "ContactEnded", isEv[router.ContactEnded](nil))
	rec := env.store.wait(t, 5*time.Second)
	t.Logf("record: %+v", rec)
	if rec.AgentRx < minAudio || rec.AgentTx < minAudio || rec.RxPackets < minAudio {
		t.Fatalf("two-way audio missing: %+v", rec)
	}
	dumps, _ := filepath.Glob(filepath.Join(phone.dir, "*.wav"))
	var decoded int64
	for _, f := range dumps {
		if fi, err := os.Stat(f); err == nil && bytes.Contains([]byte(filepath.Base(f)), []byte("dec")) {
			decoded += fi.Size()
		}
	}
	if decoded < 8000 { // > 0.5 s of 16-bit 8 kHz audio heard by the phone
		t.Fatalf("phone decoded %d bytes of audio; dumps %v", decoded, dumps)
	}
}

// freeSIPPort finds p with UDP p, TCP p and TCP p+1 (baresip's TLS) free.
func freeSIPPort(t *testing.T) int {
	t.Helper()
	for i := 0; i < 100; i++ {
		p := freePort(t, false)
		ok := true
		var ls []net.Listener
		for _, port := range []int{p, p + 1} {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
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
