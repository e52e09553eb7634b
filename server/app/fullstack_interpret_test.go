package app

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"onecall/internal/testpeers"
	"onecall/router"
)

// Tones of the three parties of a three-way call (Hz): distinct, and no
// one's low harmonics fall in another's Goertzel bins.
const (
	toneCitizenI = 450
	toneInterp   = 1100
)

// fsParty is one phone of the three-way test with its own tone. Its
// window of what it heard in the current step starts at from (samples) in
// its newest call's dump (a dump not in old).
type fsParty struct {
	name string
	p    *testpeers.Baresip
	hz   int
	from int
	old  map[string]bool
}

// dump is what the phone decoded in its current call (sndfile "dec").
func (f *fsParty) dump(t *testing.T) []int16 {
	var best []int16
	for _, path := range f.p.Dumps() {
		if !strings.Contains(filepath.Base(path), "dec") || f.old[path] {
			continue
		}
		if s, _, err := testpeers.ReadWAV(path); err == nil && len(s) > len(best) {
			best = s
		}
	}
	return best
}

// mark starts a new window at what the phone has heard so far, plus skip
// (audio still in flight from the step before).
func (f *fsParty) mark(t *testing.T, skip time.Duration) {
	f.from = len(f.dump(t)) + int(skip.Seconds()*8000)
}

// newCall starts a window at skip into the phone's next call.
func (f *fsParty) newCall(skip time.Duration) {
	f.old = map[string]bool{}
	for _, path := range f.p.Dumps() {
		f.old[path] = true
	}
	f.from = int(skip.Seconds() * 8000)
}

// window is what the phone heard since mark.
func (f *fsParty) window(t *testing.T) []int16 {
	s := f.dump(t)
	if len(s) <= f.from {
		return nil
	}
	return s[f.from:]
}

// silent waits until the phone's dump has not grown for half a second: its
// call is over.
func (f *fsParty) silent(t *testing.T, what string) {
	t.Helper()
	n, since := -1, time.Now()
	testpeers.WaitFor(t, 10*time.Second, what, func() bool {
		if m := len(f.dump(t)); m != n {
			n, since = m, time.Now()
		}
		return time.Since(since) >= 500*time.Millisecond
	})
}

// hearsOnly reports whether, in the window, the phone heard each of want
// for at least d and none of not (own tone included) above 5 % of the
// energy.
func (f *fsParty) hearsOnly(t *testing.T, d time.Duration, want []*fsParty, not []*fsParty) (bool, string) {
	s := f.window(t)
	ok := len(s) > 0
	msg := f.name + " heard " + (time.Duration(len(s)) * time.Second / 8000).String() + ":"
	for _, o := range want {
		sh := testpeers.ToneShare(s, 8000, o.hz)
		if float64(len(s))*sh < d.Seconds()*8000 {
			ok = false
		}
		msg += " " + o.name + " " + ftoa(sh)
	}
	for _, o := range not {
		sh := testpeers.ToneShare(s, 8000, o.hz)
		if sh > 0.05 {
			ok = false
		}
		msg += " (not " + o.name + ") " + ftoa(sh)
	}
	return ok, msg
}

// waitHearing waits until every party hears exactly whom it should.
func waitHearing(t *testing.T, step string, d time.Duration, checks ...func() (bool, string)) {
	t.Helper()
	var last []string
	testpeers.WaitFor(t, 20*time.Second, step, func() bool {
		last = last[:0]
		all := true
		for _, c := range checks {
			ok, msg := c()
			all = all && ok
			last = append(last, msg)
		}
		return all
	})
	t.Logf("%s: %s", step, strings.Join(last, "; "))
}

// TestFullStackInterpreter: a three-way call for interpretation on real
// phones. A citizen (baresip, 450 Hz) calls 110 and talks with agent01
// (baresip, 700 Hz); from the console agent01 brings in the interpreter at
// 1345, dialled through the outbound trunk (baresip answering as 1345,
// 1100 Hz). Every party then hears the other two and never itself
// (Goertzel over each phone's decoded audio). Agent01 drops the
// interpreter: the interpreter's call ends and citizen and agent hear only
// each other. Agent01 brings the interpreter in again, and the citizen
// hangs up during the three-way: the agent's and the interpreter's legs
// end, agent01 goes to wrap-up, and the call record and the contact
// history tell every step.
// fsInterp is the three-way test's stage: the app with a trunk to the
// interpreter's phone (baresip answering as 1345), agent01's phone and
// console, and a citizen's phone talking with agent01.
type fsInterp struct {
	a       *fsApp
	c1      *fsConsole
	C, A, I *fsParty
	id      uint64
}

func fsInterpStart(t *testing.T) *fsInterp {
	t.Helper()
	interp := testpeers.StartBaresip(t, testpeers.BaresipOptions{User: "1345",
		Speech: testpeers.ToneWAV(t, t.TempDir(), toneInterp, 150*time.Second), Control: true, Quit: 170 * time.Second})
	a := fsStartAt(t, configTransferOut(t, "127.0.0.1:"+strconv.Itoa(interp.Port)), t.TempDir())
	p1 := fsTonePhone(t, a, "agent01", toneAgent1)
	waitReady(t, a, "agent01")
	c1 := a.fsSignIn(t, "agent01")
	cit := fsToneCitizen(t, a, toneCitizenI)
	id := c1.connected()

	C := &fsParty{name: "citizen", p: cit, hz: toneCitizenI}
	A := &fsParty{name: "agent", p: p1, hz: toneAgent1}
	I := &fsParty{name: "interpreter", p: interp, hz: toneInterp}
	// Two-way first: citizen and agent hear each other.
	A.mark(t, 0)
	waitHearing(t, "two-way before the interpreter", time.Second,
		func() (bool, string) { return A.hearsOnly(t, time.Second, []*fsParty{C}, []*fsParty{A, I}) })

	return &fsInterp{a: a, c1: c1, C: C, A: A, I: I, id: id}
}

// threeWay brings the interpreter in and waits until each party hears the
// other two and never itself.
func (f *fsInterp) threeWay(t *testing.T, step string) {
	t.Helper()
	C, A, I := f.C, f.A, f.I
	I.newCall(500 * time.Millisecond)
	f.c1.mustCall("interpret", map[string]any{"contact": f.id, "number": "1345"})
	C.mark(t, 500*time.Millisecond)
	A.mark(t, 500*time.Millisecond)
	waitHearing(t, step, 2*time.Second,
		func() (bool, string) { return C.hearsOnly(t, 2*time.Second, []*fsParty{A, I}, []*fsParty{C}) },
		func() (bool, string) { return A.hearsOnly(t, 2*time.Second, []*fsParty{C, I}, []*fsParty{A}) },
		func() (bool, string) { return I.hearsOnly(t, 2*time.Second, []*fsParty{C, A}, []*fsParty{I}) })
}

func TestFullStackInterpreter(t *testing.T) {
	f := fsInterpStart(t)
	a, c1, id, C, A, I, cit := f.a, f.c1, f.id, f.C, f.A, f.I, f.C.p
	f.threeWay(t, "three-way: each hears the other two, never itself")
	if m := c1.call("interpret", map[string]any{"contact": id, "number": "1345"}); m.Code != "interpret_already" {
		t.Fatalf("a second interpreter: %+v", m)
	}
	if m := c1.call("transfer", map[string]any{"contact": id, "target": "queue:gen-110"}); m.Code != "three_way_drop_first" {
		t.Fatalf("transfer during the three-way: %+v", m)
	}

	// Drop the interpreter: back to two parties.
	c1.mustCall("interpret_drop", map[string]any{"contact": id})
	C.mark(t, 500*time.Millisecond)
	A.mark(t, 500*time.Millisecond)
	waitHearing(t, "interpreter dropped: citizen and agent only", 2*time.Second,
		func() (bool, string) { return C.hearsOnly(t, 2*time.Second, []*fsParty{A}, []*fsParty{C, I}) },
		func() (bool, string) { return A.hearsOnly(t, 2*time.Second, []*fsParty{C}, []*fsParty{A, I}) })
	I.silent(t, "the dropped interpreter's call over (it hears nothing more)")
	if m := c1.call("interpret_drop", map[string]any{"contact": id}); m.Code != "interpret_none" {
		t.Fatalf("drop with no interpreter: %+v", m)
	}

	// Again, then the citizen hangs up during the three-way.
	f.threeWay(t, "three-way again")
	cit.Control(t, "hangup", "")
	waitWrapUp(t, a, "agent01", 15*time.Second)
	rec := a.callRecordTo(t, 15*time.Second, fsHotline)
	var roles []string
	for _, l := range rec.Legs {
		roles = append(roles, l.Role)
		if l.Ended.IsZero() || l.Ended.After(rec.Ended.Add(time.Second)) {
			t.Errorf("leg %s %s ended %v (call ended %v)", l.Role, l.URI, l.Ended, rec.Ended)
		}
		if l.Role == "interpreter" && (l.URI != "tel:1345" || l.RTP.PacketsReceived < 100 || l.RTP.PacketsSent < 100) {
			t.Errorf("interpreter leg %+v: want tel:1345 with audio both ways", l)
		}
	}
	if strings.Join(roles, ",") != "citizen,agent,interpreter,interpreter" {
		t.Fatalf("call record legs %v; want citizen, agent, interpreter twice", roles)
	}
	// The interpreter's and the agent's phones got our BYE.
	I.silent(t, "the interpreter's call over (it hears nothing more)")
	A.silent(t, "the agent's call over (it hears nothing more)")
	steps := interpHistory(t, f.a, f.id, 4)
	want := []string{"interpreter_joined agent01: number:1345", "interpreter_left agent01: number:1345 dropped",
		"interpreter_joined agent01: number:1345", "interpreter_left : number:1345 call-ended"}
	if strings.Join(steps, "|") != strings.Join(want, "|") {
		t.Fatalf("contact history:\n%s\nwant\n%s", strings.Join(steps, "\n"), strings.Join(want, "\n"))
	}
	if c := fsEndedContact(t, a.Store(), 10*time.Second, id); c.EndReason != router.EndCompleted.String() {
		t.Fatalf("contact ended %q", c.EndReason)
	}
}

// TestFullStackInterpreterLeaves: the interpreter hangs up during the
// three-way: citizen and agent talk on two-way (each hears only the
// other). The interpreter is brought in again and then the agent hangs up
// during the three-way: the call ends for everyone (the citizen's and the
// interpreter's phones get our BYE), agent01 goes to wrap-up, the contact
// ends completed, and the history tells both ends.
func TestFullStackInterpreterLeaves(t *testing.T) {
	f := fsInterpStart(t)
	C, A, I := f.C, f.A, f.I
	f.threeWay(t, "three-way")
	I.p.Control(t, "hangup", "")
	I.silent(t, "the interpreter's call over")
	C.mark(t, 500*time.Millisecond)
	A.mark(t, 500*time.Millisecond)
	waitHearing(t, "the interpreter left: citizen and agent only", 2*time.Second,
		func() (bool, string) { return C.hearsOnly(t, 2*time.Second, []*fsParty{A}, []*fsParty{C, I}) },
		func() (bool, string) { return A.hearsOnly(t, 2*time.Second, []*fsParty{C}, []*fsParty{A, I}) })
	if ag, _ := f.a.agent(t, "agent01"); ag.State != router.Busy || len(ag.Active) != 1 {
		t.Fatalf("agent01 after the interpreter left: %s %v", ag.State, ag.Active)
	}

	f.threeWay(t, "three-way again")
	A.p.Control(t, "hangup", "")
	waitWrapUp(t, f.a, "agent01", 15*time.Second)
	I.silent(t, "the interpreter's call over after the agent hung up")
	C.silent(t, "the citizen's call over after the agent hung up")
	rec := f.a.callRecordTo(t, 15*time.Second, fsHotline)
	for _, l := range rec.Legs {
		if l.Ended.IsZero() || l.Ended.After(rec.Ended.Add(time.Second)) {
			t.Errorf("leg %s %s ended %v (call ended %v)", l.Role, l.URI, l.Ended, rec.Ended)
		}
	}
	if rec.HangupCause != "agent-bye" {
		t.Errorf("hangup cause %q, want agent-bye", rec.HangupCause)
	}
	steps := interpHistory(t, f.a, f.id, 4)
	want := []string{"interpreter_joined agent01: number:1345", "interpreter_left : number:1345 interpreter-bye",
		"interpreter_joined agent01: number:1345", "interpreter_left : number:1345 call-ended"}
	if strings.Join(steps, "|") != strings.Join(want, "|") {
		t.Fatalf("contact history:\n%s\nwant\n%s", strings.Join(steps, "\n"), strings.Join(want, "\n"))
	}
	if c := fsEndedContact(t, f.a.Store(), 10*time.Second, f.id); c.EndReason != router.EndCompleted.String() {
		t.Fatalf("contact ended %q", c.EndReason)
	}
}
