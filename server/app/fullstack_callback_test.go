package app

import (
	"context"
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"onecall/internal/testpeers"
	"onecall/router"
	"onecall/store"
)

// sipCitizen is the data of sip/testdata/citizen.xml.
type sipCitizen struct {
	From        string
	LateOffer   bool
	NoAck       bool
	Expect      int
	DTMFAfter   int
	Digit       string
	Digit2      string
	Digit2After int
	InfoDigit   string
	Audio       bool
	Reinvite    int
	HoldFor     int
	WaitBye     int
	MediaPort   int // >0: the SDP's audio port (0: SIPp's own)
}

// startCarrier starts SIPp as the trunk's carrier (sip/testdata/carrier.xml)
// with data, for at most timeout; args are further SIPp arguments.
func startCarrier(t *testing.T, data sipCarrier, timeout time.Duration, args ...string) *testpeers.SIPp {
	t.Helper()
	return testpeers.StartSIPp(t, testpeers.SIPpOptions{Scenario: "../../sip/testdata/carrier.xml", Data: data,
		Timeout: timeout, Args: args})
}

// sipCarrier is the data of sip/testdata/carrier.xml.
type sipCarrier struct {
	Mode      string
	Code      int
	Challenge int
	User      string
	Pass      string
	Nonce     string
	To        string
	From      string
	Speak     bool
	PT        string
	RingFor   int
	HoldFor   int
	WaitBye   int
}

func (p sipCarrier) Refs() string {
	var r []string
	if p.To != "" {
		r = append(r, "ruri")
	}
	if p.From != "" {
		r = append(r, "from")
	}
	if p.Challenge != 0 {
		r = append(r, "authhdr")
	}
	return strings.Join(r, ",")
}

// configWithTrunk copies the shipped configs into a temp dir and gives
// them one outbound trunk at carrier with digest credentials.
func configWithTrunk(t *testing.T, carrier string, attempts int, backoff string) string {
	t.Helper()
	dir := fsConfig(t, "", "  trunks: []\n", "  trunks:\n    - name: carrier\n      address: \""+carrier+
		"\"\n      username: onecall\n      password_file: carrier.pass\n",
		"    attempts: 3 ", "    attempts: "+strconv.Itoa(attempts)+" ",
		"    backoff: 5m ", "    backoff: "+backoff+" ")
	if err := os.WriteFile(filepath.Join(dir, "carrier.pass"), []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// toneWAV writes a 16-bit 8 kHz mono WAV of a sine at hz.
func toneWAV(t *testing.T, hz int, secs float64) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tone.wav")
	out, err := exec.Command("sox", "-n", "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", p,
		"synth", strconv.FormatFloat(secs, 'f', 2, 64), "sine", strconv.Itoa(hz), "gain", "-6").CombinedOutput()
	if err != nil {
		t.Fatalf("sox: %v %s", err, out)
	}
	return p
}

// toneLevel is the share of 20 ms blocks of a 16-bit PCM WAV (its data
// chunk) that are loud and where hz carries more than share of the power
// (Goertzel): 0..1.
func toneLevel(t *testing.T, path string, hz, share float64) float64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(b[:min(len(b), 512)]), "data")
	if i < 0 {
		t.Fatalf("%s: no data chunk", path)
	}
	pcm := b[i+8:]
	n := len(pcm) / 2
	if n < 800 {
		return 0
	}
	// Blocks of 20 ms; the share of blocks where hz dominates.
	const block = 160
	k := 2 * math.Cos(2*math.Pi*hz/8000)
	hits, blocks := 0, 0
	for s := 0; s+block <= n; s += block {
		var q1, q2, energy float64
		for j := 0; j < block; j++ {
			x := float64(int16(binary.LittleEndian.Uint16(pcm[2*(s+j):])))
			energy += x * x
			q0 := k*q1 - q2 + x
			q2, q1 = q1, q0
		}
		p := q1*q1 + q2*q2 - k*q1*q2
		blocks++
		if energy > 1e5 && p/(energy*block/2) > share {
			hits++
		}
	}
	return float64(hits) / float64(blocks)
}

// TestFullStackCallbackPlacedAfterRestart: a citizen (SIPp) calls 110
// while no agent is signed in, presses 1, hears the booking and is hung
// up. onecall restarts. agent01's phone (baresip) registers; the callback
// is offered to it like any contact and auto-answered; onecall then dials
// the citizen through the outbound trunk (SIPp as the carrier: digest
// challenge verified, national number, the line's caller ID), the agent
// hearing ringback meanwhile; the citizen answers and echoes what it
// hears. Two-way audio is proven by tones: the agent's phone hears its own
// 1 kHz tone back through the citizen and the 440/480 Hz ringback before.
// The callback row ends done after one attempt, the contact completed.
func TestFullStackCallbackPlacedAfterRestart(t *testing.T) {
	carrier := startCarrier(t, sipCarrier{Mode: "answer", Challenge: 401, User: "onecall", Pass: "s3cret", Nonce: "a1b2c3",
		To: "01011112222", From: "110", RingFor: 1500, WaitBye: 90000}, 120*time.Second, "-rtp_echo")
	cfgDir := configWithTrunk(t, "127.0.0.1:"+strconv.Itoa(carrier.Port), 3, "10s")
	dataDir := t.TempDir()

	a := fsStartAt(t, cfgDir, dataDir)
	cb := bookByVoice(t, a, "01011112222")
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	if err := a.Shutdown(sctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	cancel()

	b := fsStartAt(t, cfgDir, dataDir)
	testpeers.WaitFor(t, 5*time.Second, "callback waiting in gen-110 after the restart", func() bool {
		v, ok := b.contact(t, router.ContactID(cb.Contact))
		return ok && v.State == router.Waiting
	})
	tone := toneWAV(t, 1000, 5)
	phone := testpeers.StartBaresip(t, testpeers.BaresipOptions{User: "agent01", Registrar: b.sipUDP(),
		Password: "demo", Speech: tone, Quit: 120 * time.Second})
	if err := carrier.Wait(t, 60*time.Second); err != nil {
		t.Fatalf("carrier (challenge, number, caller ID, answer, our BYE): %v", err)
	}
	var done []store.Callback
	testpeers.WaitFor(t, 10*time.Second, "callback done", func() bool {
		done, _ = b.Store().Callbacks(t.Context(), store.CallbackDone)
		return len(done) == 1
	})
	if done[0].Attempts != 1 || done[0].Contact != cb.Contact {
		t.Fatalf("done %+v", done[0])
	}
	c := fsEndedContact(t, b.Store(), 10*time.Second, cb.Contact)
	if c.EndReason != router.EndCompleted.String() {
		t.Fatalf("contact ended %q", c.EndReason)
	}
	var dec string
	for _, f := range phone.Dumps() {
		if strings.Contains(filepath.Base(f), "dec") {
			dec = f
		}
	}
	if dec == "" {
		t.Fatalf("no decoded dump: %v", phone.Dumps())
	}
	echo, ring := toneLevel(t, dec, 1000, 0.5), toneLevel(t, dec, 440, 0.25)
	t.Logf("agent heard: 1 kHz echo in %.0f%% of 20 ms blocks, ringback in %.0f%%", 100*echo, 100*ring)
	if echo < 0.2 {
		t.Fatalf("the agent did not hear its tone back through the citizen (%.2f)", echo)
	}
	if ring < 0.02 {
		t.Fatalf("the agent heard no ringback (%.2f)", ring)
	}
}
