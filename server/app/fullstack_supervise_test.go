package app

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"onecall/internal/testpeers"
	"onecall/router"
	"onecall/store"
)

// Supervisor voice tools against the real App and real peers: the citizen
// is SIPp for signalling with the test's own RTP endpoint as its media
// (it speaks toneSupCitizen and records what it hears); agent01 and the
// supervisors are baresip phones, each speaking its own tone. Goertzel over
// what every party received, phase by phase, tells who hears whom.

const (
	toneSupCitizen = 400
	toneSupAgent   = 1300 // not 700 (toneAgent1): the hold music is strong there
	toneSup        = 1100
	toneSup2       = 1500
)

// rtpCitizen is the citizen's media: one UDP socket on 127.0.0.1 that
// sends a PCMA tone every 20 ms to where onecall's RTP comes from, and
// decodes what it receives.
type rtpCitizen struct {
	conn *net.UDPConn
	mu   sync.Mutex
	got  []int16
	from *net.UDPAddr
}

func startRTPCitizen(t *testing.T, hz int) *rtpCitizen {
	t.Helper()
	var conn *net.UDPConn
	for range 50 {
		p := testpeers.FreeUDPPort(t, true)
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p})
		if err == nil {
			conn = c
			break
		}
	}
	if conn == nil {
		t.Fatal("no RTP port for the citizen")
	}
	r := &rtpCitizen{conn: conn}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // receive
		defer wg.Done()
		buf := make([]byte, 1500)
		for {
			n, from, err := conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			if n <= 12 || buf[1]&0x7f != 8 { // PCMA only (not DTMF, not RTCP)
				continue
			}
			cc := int(buf[0] & 0x0f)
			payload := buf[12+4*cc : n]
			r.mu.Lock()
			r.from = from
			for _, b := range payload {
				r.got = append(r.got, alawDecode(b))
			}
			r.mu.Unlock()
		}
	}()
	go func() { // send: a tone, paced by a ticker, once onecall's port is known
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		pkt := make([]byte, 12+160)
		pkt[0], pkt[1] = 0x80, 8
		binary.BigEndian.PutUint32(pkt[8:], 0x5151aa01)
		var seq uint16
		var ts uint32
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			r.mu.Lock()
			to := r.from
			r.mu.Unlock()
			if to == nil {
				continue
			}
			for i := range 160 {
				v := 8000 * math.Sin(2*math.Pi*float64(hz)*float64(ts+uint32(i))/8000)
				pkt[12+i] = alawEncode(int16(v))
			}
			binary.BigEndian.PutUint16(pkt[2:], seq)
			binary.BigEndian.PutUint32(pkt[4:], ts)
			seq++
			ts += 160
			_, _ = conn.WriteToUDP(pkt, to)
		}
	}()
	t.Cleanup(func() { close(done); conn.Close(); wg.Wait() })
	return r
}

func (r *rtpCitizen) port() int { return r.conn.LocalAddr().(*net.UDPAddr).Port }

func (r *rtpCitizen) heard() []int16 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int16(nil), r.got...)
}

// alawEncode and alawDecode are G.711 A-law (ITU-T G.711).
func alawEncode(s int16) byte {
	sign := byte(0x80)
	v := int(s)
	if v < 0 {
		sign = 0
		v = -v - 1
	}
	v >>= 3 // 13-bit magnitude
	var b byte
	switch {
	case v < 32:
		b = byte(v >> 1)
	default:
		seg := 1
		for x := v >> 5; x > 1 && seg < 7; x >>= 1 {
			seg++
		}
		b = byte(seg<<4) | byte((v>>seg)&0x0f)
	}
	return (b | sign) ^ 0x55
}

func alawDecode(a byte) int16 {
	a ^= 0x55
	t := int(a&0x0f) << 4
	seg := int(a&0x70) >> 4
	switch seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t += 0x108
		t <<= seg - 1
	}
	if a&0x80 == 0 {
		t = -t
	}
	return int16(t)
}

// fsCitizenRTP is the data of testdata/citizen_rtp.xml.
type fsCitizenRTP struct {
	From    string
	RTPPort int
	HoldFor int // ms before the citizen's BYE (when WaitBye is 0)
	WaitBye int // ms
}

func fsStartCitizenRTP(t *testing.T, a *fsApp, c fsCitizenRTP) *testpeers.SIPp {
	t.Helper()
	return testpeers.StartSIPp(t, testpeers.SIPpOptions{Scenario: filepath.Join("testdata", "citizen_rtp.xml"), Data: c,
		Remote: a.sipUDP(), Service: fsHotline, Timeout: 150 * time.Second})
}

// latestHeard is what a phone decoded on its latest call (the newest
// sndfile "dec" dump).
func latestHeard(p *testpeers.Baresip) []int16 {
	var best string
	var at time.Time
	for _, f := range p.Dumps() {
		fi, err := os.Stat(f)
		if err != nil || !strings.Contains(filepath.Base(f), "dec") {
			continue
		}
		if best == "" || fi.ModTime().After(at) || (fi.ModTime().Equal(at) && f > best) {
			best, at = f, fi.ModTime()
		}
	}
	if best == "" {
		return nil
	}
	s, _, _ := testpeers.ReadWAV(best)
	return s
}

func decDumps(p *testpeers.Baresip) int {
	n := 0
	for _, f := range p.Dumps() {
		if strings.Contains(filepath.Base(f), "dec") {
			n++
		}
	}
	return n
}

// party is one party's received audio for the phase checks.
type party struct {
	name  string
	heard func() []int16
	from  int // samples at the phase's start
}

// hearing checks one phase: after a settling half second, each party's
// next 3 s of received audio must hold each wanted tone (share >= 0.15;
// two mixed tones share about 0.5 each) and none of the others
// (share < 0.05).
func hearing(t *testing.T, phase string, parties []*party, want map[string][]int, not map[string][]int) {
	t.Helper()
	for _, p := range parties {
		p.from = len(p.heard()) + 4000
	}
	const span = 3 * 8000
	testpeers.WaitFor(t, 20*time.Second, phase+": 3.5 s of audio at every party", func() bool {
		for _, p := range parties {
			if len(p.heard()) < p.from+span {
				return false
			}
		}
		return true
	})
	var report []string
	bad := false
	for _, p := range parties {
		seg := p.heard()[p.from : p.from+span]
		line := p.name + ":"
		for _, hz := range want[p.name] {
			sh := testpeers.ToneShare(seg, 8000, hz)
			line += " " + strconv.Itoa(hz) + "Hz=" + strconv.FormatFloat(sh, 'f', 2, 64)
			if sh < 0.15 {
				bad = true
				line += "(want)"
			}
		}
		for _, hz := range not[p.name] {
			sh := testpeers.ToneShare(seg, 8000, hz)
			line += " " + strconv.Itoa(hz) + "Hz=" + strconv.FormatFloat(sh, 'f', 2, 64)
			if sh >= 0.05 {
				bad = true
				line += "(must not)"
			}
		}
		report = append(report, line)
	}
	t.Logf("%s: %s", phase, strings.Join(report, "; "))
	if bad {
		t.Fatalf("%s: wrong hearing: %s", phase, strings.Join(report, "; "))
	}
}

// fsHTTP signs user in over HTTP only and returns a client and CSRF token.
func fsHTTP(t *testing.T, a *fsApp, user string) (*http.Client, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 60 * time.Second}
	body, _ := json.Marshal(map[string]string{"username": user, "password": "demo"})
	resp, err := hc.Post("http://"+a.HTTPAddr()+"/api/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s struct{ CSRF string }
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil || resp.StatusCode != 200 {
		t.Fatalf("login %s: %d %v", user, resp.StatusCode, err)
	}
	return hc, s.CSRF
}

func fsPost(t *testing.T, a *fsApp, hc *http.Client, csrf, path string, body any) (int, string) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, "http://"+a.HTTPAddr()+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", csrf)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	_, _ = out.ReadFrom(resp.Body)
	return resp.StatusCode, out.String()
}

// fsSupervisorPhone starts a registered baresip for a supervisor and waits
// for its binding.
func fsSupervisorPhone(t *testing.T, a *fsApp, user string, hz int) *testpeers.Baresip {
	t.Helper()
	p := fsTonePhone(t, a, user, hz)
	testpeers.WaitFor(t, 15*time.Second, user+"'s phone registered", func() bool {
		_, ok := a.registrar.Lookup(user)
		return ok
	})
	return p
}

// fsMonitorEvent waits for the supervisor console's monitor event on id
// with mode ("" = ended) and returns its reason.
func fsMonitorEvent(c *fsConsole, id uint64, by, mode string) string {
	var ev struct {
		Contact  uint64
		By, Mode string
		Reason   string
		Previous string
		Agent    string
		At       int64
	}
	json.Unmarshal(c.event("monitor", func(d json.RawMessage) bool {
		var e struct {
			Contact  uint64
			By, Mode string
		}
		json.Unmarshal(d, &e)
		return e.Contact == id && e.By == by && e.Mode == mode
	}), &ev)
	return ev.Reason
}

// TestFullStackSupervisorListenWhisperBarge: a supervisor listens to a
// live call through their own phone, then whispers, then barges in, on one
// phone call (no new INVITE), then stops; each party's received audio
// shows who heard whom in each mode. An agent is refused the tools (console
// and HTTP). Every step is in the contact's history, the audit trail and
// the call record. Then the supervisor listens again and the phone
// vanishes (killed): the call goes on and the leg is cleaned up.
func TestFullStackSupervisorListenWhisperBarge(t *testing.T) {
	a := fsStartAt(t, fsConfig(t, "", "no_rtp_timeout: 30s", "no_rtp_timeout: 5s"), t.TempDir())
	pa := fsTonePhone(t, a, "agent01", toneSupAgent)
	ps := fsSupervisorPhone(t, a, "super01", toneSup)
	testpeers.WaitFor(t, 15*time.Second, "agent01 ready", func() bool {
		v, ok := a.agent(t, "agent01")
		return ok && v.State == router.Ready
	})
	c1, sc := a.fsSignIn(t, "agent01"), a.fsSignIn(t, "super01")
	cit := startRTPCitizen(t, toneSupCitizen)
	sipp := fsStartCitizenRTP(t, a, fsCitizenRTP{From: "01077778888", RTPPort: cit.port(), WaitBye: 140000})
	id := c1.connected()
	testpeers.WaitFor(t, 15*time.Second, "agent01 hears the citizen", func() bool {
		s := latestHeard(pa)
		return len(s) > 16000 && testpeers.ToneShare(s[len(s)-8000:], 8000, toneSupCitizen) > 0.5
	})

	// An agent is refused, over the console and over HTTP.
	if m := c1.call("follow", map[string]any{"contact": id, "mode": "listen"}); m.T != "error" || m.Code != "forbidden" {
		t.Fatalf("agent01's follow of a call: %+v; want forbidden", m)
	}
	ahc, acsrf := fsHTTP(t, a, "agent01")
	if code, body := fsPost(t, a, ahc, acsrf, "/api/contacts/"+strconv.FormatUint(id, 10)+"/monitor", map[string]string{"mode": "barge"}); code != http.StatusForbidden {
		t.Fatalf("agent01's POST monitor: %d %s; want 403", code, body)
	}

	parties := []*party{
		{name: "citizen", heard: cit.heard},
		{name: "agent", heard: func() []int16 { return latestHeard(pa) }},
		{name: "supervisor", heard: func() []int16 { return latestHeard(ps) }},
	}
	others := []int{toneSupCitizen, toneSupAgent, toneSup}
	notOwn := func(own ...int) []int {
		var out []int
		for _, hz := range others {
			keep := true
			for _, o := range own {
				keep = keep && o != hz
			}
			if keep {
				out = append(out, hz)
			}
		}
		return out
	}

	t.Log("listen")
	var rep struct {
		Contact uint64
		Mode    string
	}
	json.Unmarshal(sc.mustCall("follow", map[string]any{"contact": id, "mode": "listen"}), &rep)
	if rep.Contact != id || rep.Mode != "listen" {
		t.Fatalf("follow reply %+v", rep)
	}
	fsMonitorEvent(sc, id, "super01", "listen")
	hearing(t, "listen", parties, map[string][]int{
		"citizen": {toneSupAgent}, "agent": {toneSupCitizen}, "supervisor": {toneSupCitizen, toneSupAgent},
	}, map[string][]int{
		"citizen": notOwn(toneSupAgent), "agent": notOwn(toneSupCitizen), "supervisor": notOwn(toneSupCitizen, toneSupAgent),
	})

	t.Log("whisper")
	sc.mustCall("follow", map[string]any{"contact": id, "mode": "whisper"})
	fsMonitorEvent(sc, id, "super01", "whisper")
	hearing(t, "whisper", parties, map[string][]int{
		"citizen": {toneSupAgent}, "agent": {toneSupCitizen, toneSup}, "supervisor": {toneSupCitizen, toneSupAgent},
	}, map[string][]int{
		"citizen": notOwn(toneSupAgent), "agent": notOwn(toneSupCitizen, toneSup), "supervisor": notOwn(toneSupCitizen, toneSupAgent),
	})

	t.Log("barge")
	sc.mustCall("follow", map[string]any{"contact": id, "mode": "barge"})
	fsMonitorEvent(sc, id, "super01", "barge")
	hearing(t, "barge", parties, map[string][]int{
		"citizen": {toneSupAgent, toneSup}, "agent": {toneSupCitizen, toneSup}, "supervisor": {toneSupCitizen, toneSupAgent},
	}, map[string][]int{
		"citizen": notOwn(toneSupAgent, toneSup), "agent": notOwn(toneSupCitizen, toneSup), "supervisor": notOwn(toneSupCitizen, toneSupAgent),
	})

	// Hold during a barge: the citizen hears only the hold music, nobody
	// hears the citizen; agent and supervisor still hear each other.
	t.Log("hold")
	c1.mustCall("hold", map[string]any{"contact": id})
	hearing(t, "held in barge", parties, map[string][]int{
		"agent": {toneSup}, "supervisor": {toneSupAgent},
	}, map[string][]int{
		"citizen": {toneSupAgent, toneSup, toneSupCitizen}, "agent": notOwn(toneSup), "supervisor": notOwn(toneSupAgent),
	})
	c1.mustCall("resume", map[string]any{"contact": id})
	hearing(t, "barge after resume", parties, map[string][]int{
		"citizen": {toneSupAgent, toneSup}, "agent": {toneSupCitizen, toneSup}, "supervisor": {toneSupCitizen, toneSupAgent},
	}, map[string][]int{
		"citizen": notOwn(toneSupAgent, toneSup), "agent": notOwn(toneSupCitizen, toneSup), "supervisor": notOwn(toneSupCitizen, toneSupAgent),
	})

	// The agent mutes during the barge: the citizen hears only the
	// supervisor; the supervisor still hears the agent.
	c1.mustCall("mute", map[string]any{"contact": id})
	hearing(t, "muted agent in barge", parties, map[string][]int{
		"citizen": {toneSup}, "agent": {toneSupCitizen, toneSup}, "supervisor": {toneSupCitizen, toneSupAgent},
	}, map[string][]int{
		"citizen": {toneSupAgent, toneSupCitizen}, "agent": notOwn(toneSupCitizen, toneSup), "supervisor": notOwn(toneSupCitizen, toneSupAgent),
	})
	c1.mustCall("unmute", map[string]any{"contact": id})

	t.Log("back to listen")
	sc.mustCall("follow", map[string]any{"contact": id, "mode": "listen"})
	fsMonitorEvent(sc, id, "super01", "listen")
	hearing(t, "listen again", parties, map[string][]int{
		"citizen": {toneSupAgent}, "agent": {toneSupCitizen}, "supervisor": {toneSupCitizen, toneSupAgent},
	}, map[string][]int{
		"citizen": notOwn(toneSupAgent), "agent": notOwn(toneSupCitizen), "supervisor": notOwn(toneSupCitizen, toneSupAgent),
	})
	// One phone call for every mode: one INVITE, one call on the phone.
	if n := len(a.logRecords("supervisor joined")); n != 1 || decDumps(ps) != 1 {
		t.Fatalf("supervisor joined %d times, phone had %d calls; want one call for every mode", n, decDumps(ps))
	}

	t.Log("stop")
	sc.mustCall("unfollow", map[string]any{"contact": id})
	if r := fsMonitorEvent(sc, id, "super01", ""); r != "console" {
		t.Fatalf("monitor end reason %q, want console", r)
	}
	hearing(t, "after stop", parties[:2], map[string][]int{
		"citizen": {toneSupAgent}, "agent": {toneSupCitizen},
	}, map[string][]int{
		"citizen": notOwn(toneSupAgent), "agent": notOwn(toneSupCitizen),
	})

	// History, audit trail, and a switch before start refused cleanly.
	testpeers.WaitFor(t, 5*time.Second, "every step in the contact's history", func() bool {
		var evs []struct{ State, Agent, Reason string }
		json.Unmarshal(sc.mustCall("contact_history", map[string]any{"contact": id}), &evs)
		var got []string
		for _, e := range evs {
			if strings.HasPrefix(e.State, "supervisor_") && e.Agent == "super01" {
				got = append(got, e.State+"/"+e.Reason)
			}
		}
		return strings.Join(got, ",") == "supervisor_listen/,supervisor_whisper/from listen,supervisor_barge/from whisper,"+
			"supervisor_listen/from barge,supervisor_left/console"
	})
	actx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	audit, err := a.Store().Audit(actx, store.AuditQuery{Actor: "super01", Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	var acts []string
	for i := len(audit) - 1; i >= 0; i-- {
		if audit[i].Target == "contact:"+strconv.FormatUint(id, 10) {
			acts = append(acts, audit[i].Action)
		}
	}
	if strings.Join(acts, ",") != "listen,whisper,barge,listen,listen_end" {
		t.Fatalf("audit actions of super01 on the contact: %v", acts)
	}
	if agentAudit, _ := a.Store().Audit(actx, store.AuditQuery{Actor: "agent01", Action: "barge"}); len(agentAudit) != 0 {
		t.Fatalf("agent01's refused barge is in the audit trail as done: %+v", agentAudit)
	}

	// The phone vanishes during a listen: the leg is cleaned up, the call
	// goes on.
	t.Log("listen, then the supervisor's phone is killed")
	sc.mustCall("follow", map[string]any{"contact": id, "mode": "listen"})
	fsMonitorEvent(sc, id, "super01", "listen")
	ps.Kill()
	if r := fsMonitorEvent(sc, id, "super01", ""); r != "phone-silent" {
		t.Fatalf("monitor end reason %q, want phone-silent", r)
	}
	hearing(t, "after the phone vanished", parties[:2], map[string][]int{
		"citizen": {toneSupAgent}, "agent": {toneSupCitizen},
	}, map[string][]int{
		"citizen": notOwn(toneSupAgent), "agent": notOwn(toneSupCitizen),
	})
	if v, ok := a.contact(t, router.ContactID(id)); !ok || v.State != router.Talking {
		t.Fatalf("contact after the supervisor's phone vanished: %+v %v", v, ok)
	}
	c1.mustCall("hangup", map[string]any{"contact": id})
	if err := sipp.Wait(t, 20*time.Second); err != nil {
		t.Fatalf("citizen: %v", err)
	}
	rec := a.callRecordTo(t, 5*time.Second, fsHotline)
	var sup []store.CallLeg
	for _, l := range rec.Legs {
		if l.Role == "supervisor" {
			sup = append(sup, l)
		}
	}
	if len(sup) != 2 || sup[0].By != "super01" || len(sup[0].Steps) != 4 || sup[0].Cause != "console" ||
		sup[1].Cause != "phone-silent" || sup[0].Ended.IsZero() || sup[0].RTP.PacketsSent == 0 {
		t.Fatalf("supervisor legs in the call record: %+v", sup)
	}
	var modes []string
	for _, s := range sup[0].Steps {
		modes = append(modes, s.Mode)
	}
	if strings.Join(modes, ",") != "listen,whisper,barge,listen" {
		t.Fatalf("first supervisor leg's steps %v", modes)
	}
}

// TestFullStackSupervisorCitizenHangsUp: a supervisor without a registered
// phone gets a clear error; a listening supervisor's leg ends with the
// call when the citizen hangs up.
func TestFullStackSupervisorCitizenHangsUp(t *testing.T) {
	a := fsStart(t, t.TempDir())
	fsTonePhone(t, a, "agent01", toneSupAgent)
	testpeers.WaitFor(t, 15*time.Second, "agent01 ready", func() bool {
		v, ok := a.agent(t, "agent01")
		return ok && v.State == router.Ready
	})
	c1, sc := a.fsSignIn(t, "agent01"), a.fsSignIn(t, "super02")
	cit := startRTPCitizen(t, toneSupCitizen)
	sipp := fsStartCitizenRTP(t, a, fsCitizenRTP{From: "01033334444", RTPPort: cit.port(), HoldFor: 20000})
	id := c1.connected()
	if m := sc.call("follow", map[string]any{"contact": id, "mode": "listen"}); m.Code != "monitor_no_phone" || m.Text["ko"] == "" {
		t.Fatalf("follow without a registered phone: %+v", m)
	}
	t.Log("no phone refused; starting super02's phone")
	ps := fsSupervisorPhone(t, a, "super02", toneSup2)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("super02's phone:\n%s", ps.Output())
		}
	})
	sc.mustCall("follow", map[string]any{"contact": id, "mode": "listen"})
	fsMonitorEvent(sc, id, "super02", "listen")
	testpeers.WaitFor(t, 10*time.Second, "super02 hears the call", func() bool {
		s := latestHeard(ps)
		return len(s) > 8000 && testpeers.ToneShare(s[len(s)-8000:], 8000, toneSupCitizen) > 0.15
	})
	// The same switch over HTTP.
	shc, scsrf := fsHTTP(t, a, "super02")
	if code, body := fsPost(t, a, shc, scsrf, "/api/contacts/"+strconv.FormatUint(id, 10)+"/monitor", map[string]string{"mode": "whisper"}); code != http.StatusOK || !strings.Contains(body, `"whisper"`) {
		t.Fatalf("super02's POST monitor whisper: %d %s", code, body)
	}
	fsMonitorEvent(sc, id, "super02", "whisper")
	if code, body := fsPost(t, a, shc, scsrf, "/api/contacts/"+strconv.FormatUint(id, 10)+"/monitor", map[string]string{"mode": "shout"}); code != http.StatusBadRequest {
		t.Fatalf("POST monitor with a bad mode: %d %s", code, body)
	}
	t.Log("waiting for the citizen to hang up")
	testpeers.WaitFor(t, 40*time.Second, "super02's leg ended in the contact's history", func() bool {
		evs, _ := a.Store().ContactEvents(t.Context(), id)
		for _, e := range evs {
			if e.State == "supervisor_left" && e.Agent == "super02" {
				return true
			}
		}
		return false
	})
	if r := fsMonitorEvent(sc, id, "super02", ""); r != "call-ended" {
		t.Fatalf("monitor end reason %q when the citizen hung up", r)
	}
	if err := sipp.Wait(t, 30*time.Second); err != nil {
		t.Fatalf("citizen: %v", err)
	}
	testpeers.WaitFor(t, 10*time.Second, "super02's phone got our BYE", func() bool {
		return strings.Contains(ps.Output(), "terminated (duration")
	})
	c := fsEndedContact(t, a.Store(), 5*time.Second, id)
	evs, _ := a.Store().ContactEvents(t.Context(), c.ID)
	left := false
	for _, e := range evs {
		left = left || (e.State == "supervisor_left" && e.Agent == "super02" && e.Reason == "call-ended")
	}
	if !left {
		t.Fatalf("history lacks super02 leaving with the call: %+v", evs)
	}
	au, err := a.Store().Audit(t.Context(), store.AuditQuery{Actor: "super02", Action: "whisper", Limit: 5})
	if err != nil || len(au) != 1 || !strings.Contains(au[0].Detail, `"http"`) {
		t.Fatalf("super02's HTTP whisper in the audit trail: %+v %v", au, err)
	}
}
