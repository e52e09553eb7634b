package testpeers

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BaresipOptions configures a baresip (baresip-core) agent phone.
type BaresipOptions struct {
	// User is the account's user part (agent01).
	User string
	// More are further accounts in the same process (same registrar and
	// password), e.g. twenty agents' phones in one baresip.
	More []string
	// Registrar is host:port of the registrar to REGISTER with (digest,
	// Password, every 600 s); "" registers nowhere (account at 127.0.0.1,
	// regint=0).
	Registrar string
	// Password is the account's digest password (auth_pass); "" = none.
	Password string
	// Speech is a WAV the phone "speaks" through aufile once a call is up
	// (it hangs up when the file ends); what it hears and sends is dumped
	// with sndfile into Dir. "" = no audio devices (audio none).
	Speech string
	// Quit, if > 0, makes baresip quit after that long (-t).
	Quit time.Duration
	// Control loads ctrl_tcp (and menu, which provides the commands) on a
	// free port of 127.0.0.1: see (*Baresip).Control.
	Control bool
	// Args are extra command-line flags (e.g. "-s" for a SIP trace).
	Args []string
	// Manual makes the phone ring instead of auto-answering: Control
	// "accept" answers, "hangup" rejects (486).
	Manual bool
}

// Baresip is a headless baresip phone that auto-answers (PCMA, PCMU).
// Its process is killed at cleanup; on failure its output is logged.
type Baresip struct {
	Dir  string // config, accounts and the sndfile dumps
	Port int    // its SIP port on 127.0.0.1 (UDP and TCP; TLS on Port+1)
	// CtrlPort is the ctrl_tcp port (with Control), else 0.
	CtrlPort int
	out      Buffer
	cmd      *exec.Cmd
	done     chan struct{} // closed when the process has exited
}

// baresipReady is how long baresip may take to load and print ready.
const baresipReady = 15 * time.Second

// StartBaresip writes the phone's config and account, starts baresip -4
// and waits until it says it is ready.
func StartBaresip(t testing.TB, o BaresipOptions) *Baresip {
	t.Helper()
	p := &Baresip{Dir: t.TempDir(), Port: FreeSIPPort(t), done: make(chan struct{})}
	// net_interface 127.0.0.1: the SDP names 127.0.0.1, the address baresip sends
	// from (onecall accepts media only from the SDP address).
	cfg := "sip_listen 127.0.0.1:" + strconv.Itoa(p.Port) + "\nnet_interface 127.0.0.1\n"
	if o.Speech != "" {
		cfg += "audio_source aufile," + o.Speech + "\n" +
			"audio_player aubridge,onecall-test\naudio_alert aubridge,onecall-test\n"
	} else {
		cfg += "audio_player none\naudio_source none\naudio_alert none\n"
	}
	cfg += "module_path /usr/lib/baresip/modules\nmodule g711.so\n"
	if o.Speech != "" {
		cfg += "module aufile.so\nmodule aubridge.so\nmodule sndfile.so\nsnd_path " + p.Dir + "\n"
	}
	if o.Control {
		p.CtrlPort = FreeTCPPort(t)
		cfg += "module_app menu.so\nmodule_app ctrl_tcp.so\nctrl_tcp_listen 127.0.0.1:" + strconv.Itoa(p.CtrlPort) + "\n"
	}
	cfg += "module_app account.so\n"
	host, regint := "127.0.0.1", "0"
	if o.Registrar != "" {
		host, regint = o.Registrar, "600"
	}
	mode := "auto"
	if o.Manual {
		mode = "manual"
	}
	acct := ""
	for _, user := range append([]string{o.User}, o.More...) {
		acct += "<sip:" + user + "@" + host + ";transport=udp>"
		if o.Password != "" {
			acct += ";auth_pass=" + o.Password
		}
		acct += ";regint=" + regint + ";answermode=" + mode + ";audio_codecs=PCMA,PCMU\n"
	}
	if len(o.More) > 0 {
		cfg += "call_max_calls " + strconv.Itoa(4*(1+len(o.More))) + "\n"
	}
	for name, body := range map[string]string{"config": cfg, "accounts": acct, "contacts": ""} {
		if err := os.WriteFile(filepath.Join(p.Dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	path, err := exec.LookPath("baresip")
	if err != nil {
		t.Fatalf("baresip not installed (.ci/install-deps installs baresip-core): %v", err)
	}
	args := []string{"-f", p.Dir, "-4"}
	if o.Quit > 0 {
		args = append(args, "-t", strconv.Itoa(int(o.Quit.Seconds())))
	}
	p.cmd = exec.Command(path, append(args, o.Args...)...)
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("baresip output:\n%s", p.out.String())
		}
	})
	WaitFor(t, baresipReady, "baresip ready", func() bool {
		return strings.Contains(p.out.String(), "baresip is ready")
	})
	return p
}

// Registered counts the users among users whose REGISTER was answered 200 OK
// ("user@host: ... 200 OK ... binding").
func (p *Baresip) Registered(users ...string) int {
	ok := map[string]bool{}
	for _, line := range strings.Split(p.out.String(), "\n") {
		if !strings.Contains(line, "200 OK") || !strings.Contains(line, "binding") {
			continue
		}
		for _, u := range users {
			if strings.Contains(line, u+"@") {
				ok[u] = true
			}
		}
	}
	return len(ok)
}

// URI is the phone's contact URI for user.
func (p *Baresip) URI(user string) string {
	return "sip:" + user + "@127.0.0.1:" + strconv.Itoa(p.Port)
}

// Output is what baresip printed so far.
func (p *Baresip) Output() string { return p.out.String() }

// Dumps lists the sndfile WAV dumps (needs Speech).
func (p *Baresip) Dumps() []string {
	dumps, _ := filepath.Glob(filepath.Join(p.Dir, "*.wav"))
	return dumps
}

// DecodedBytes is how much audio the phone decoded (heard), per sndfile.
func (p *Baresip) DecodedBytes() int64 {
	var n int64
	for _, f := range p.Dumps() {
		if fi, err := os.Stat(f); err == nil && strings.Contains(filepath.Base(f), "dec") {
			n += fi.Size()
		}
	}
	return n
}

// Kill kills the phone at once (no BYE, no de-REGISTER, no more RTP): a
// phone that vanished. It waits for the process to exit.
func (p *Baresip) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}
