package app

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"

	"onecall/internal/testpeers"
	"onecall/router"
)

// earlyDial is a consult the phone places without waiting for the answer:
// ringing gets the 180 (its To tag names the early dialog), done the
// outcome.
type earlyDial struct {
	ringing chan *sip.Response
	done    chan error
	invite  chan *sip.Request
}

// dialEarly calls user at onecall (a consult from the phone) and returns
// at once; the phone answers the 407 with its own credentials.
func (p *uaPhone) dialEarly(user string, d time.Duration) *earlyDial {
	host, port := splitAddr(p.t, p.server)
	e := &earlyDial{ringing: make(chan *sip.Response, 1), done: make(chan error, 1), invite: make(chan *sip.Request, 1)}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		dlg, err := p.dg.NewDialog(sip.Uri{Scheme: "sip", User: user, Host: host, Port: port}, diago.NewDialogOptions{})
		if err != nil {
			e.done <- err
			return
		}
		_, err = dlg.Invite(ctx, diago.InviteClientOptions{Username: p.user, Password: "demo",
			OnResponse: func(res *sip.Response) error {
				if res.StatusCode == sip.StatusRinging {
					select {
					case e.ringing <- res:
						e.invite <- dlg.InviteRequest
					default:
					}
				}
				return nil
			}})
		e.done <- err
	}()
	return e
}

// early waits for the 180 and returns the Replaces tags of the early
// dialog: Call-ID, onecall's tag (to-tag) and the phone's (from-tag).
func (e *earlyDial) early(t *testing.T) (callID, toTag, fromTag string) {
	t.Helper()
	select {
	case res := <-e.ringing:
		req := <-e.invite
		callID = res.CallID().Value()
		toTag, _ = res.To().Params.Get("tag")
		fromTag, _ = req.From().Params.Get("tag")
		if toTag == "" || fromTag == "" {
			t.Fatalf("early dialog without tags: to %q from %q", toTag, fromTag)
		}
		return
	case err := <-e.done:
		t.Fatalf("the phone's consult ended before ringing: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatal("the phone's consult got no 180")
	}
	return
}

// TestFullStackPhoneSemiAttendedTransfer: agent01's phone (test UA) holds
// the citizen and calls agent02, whose phone rings without answering; the
// phone then REFERs in the citizen dialog with Replaces naming its consult
// INVITE still ringing (semi-attended transfer). A first time agent02's
// phone declines: NOTIFY 603, agent02 free, the citizen still held on
// agent01's phone. A wrong Replaces while it rings: NOTIFY 481, nothing
// changes. The second time: 202, the phone's INVITE gets 487, agent02
// still rings; when it answers the transfer completes: NOTIFY 200, BYE in
// the citizen dialog, the citizen hears agent02 only, agent01 in wrap-up,
// the consult steps in the history with the semi-attended reason.
func TestFullStackPhoneSemiAttendedTransfer(t *testing.T) {
	a := fsStart(t, t.TempDir())
	p1 := startUAPhone(t, a, "agent01", toneConsult1)
	p2 := startUAPhoneOpts(t, a, "agent02", toneAgent2, true)
	testpeers.WaitFor(t, 15*time.Second, "agent01 and agent02 ready after their phones registered", func() bool {
		return agentState(t, a, "agent01") == router.Ready && agentState(t, a, "agent02") == router.Ready
	})
	c1, c2 := a.fsSignIn(t, "agent01"), a.fsSignIn(t, "agent02")
	c2.mustCall("state", map[string]any{"state": "not_ready", "reason": "break"})
	tone := testpeers.ToneWAV(t, t.TempDir(), toneCitizen, 150*time.Second)
	cit := testpeers.StartBaresip(t, testpeers.BaresipOptions{User: "01055556666", Speech: tone, Control: true,
		Quit: 170 * time.Second})
	cit.Control(t, "dial", "sip:"+fsHotline+"@"+a.sipUDP())
	d1 := p1.offered(20 * time.Second)
	var v struct {
		ID uint64 `json:"id"`
	}
	json.Unmarshal(c1.event("connected", nil), &v)
	id := v.ID
	c2.mustCall("state", map[string]any{"state": "ready"})
	// The phone holds the citizen (what the citizen hears on hold is
	// TestFullStackPhoneAttendedTransfer's); the console shows the hold as
	// its own.
	hctx, hcancel := context.WithTimeout(context.Background(), 5*time.Second)
	if err := d1.Hold(hctx); err != nil {
		t.Fatalf("agent01's phone: hold: %v", err)
	}
	hcancel()
	c1.event("contact_state", func(d json.RawMessage) bool {
		var cv struct {
			ID   uint64 `json:"id"`
			Held int64  `json:"held"`
		}
		return json.Unmarshal(d, &cv) == nil && cv.ID == id && cv.Held > 0
	})
	target := "sip:agent02@" + a.sipUDP()
	ringAgent02 := func() (*earlyDial, *diago.DialogServerSession) {
		t.Helper()
		e := p1.dialEarly("agent02", 30*time.Second)
		select {
		case ring := <-p2.rung:
			return e, ring
		case <-time.After(15 * time.Second):
			t.Fatal("agent02's phone was not rung for the phone's consult")
		}
		return nil, nil
	}
	referAsync := func(referTo string) chan int {
		got := make(chan int, 1)
		go func() {
			code, err := refer(t, d1, referTo)
			if err != nil {
				t.Logf("REFER: %v", err)
			}
			got <- code
		}()
		return got
	}
	notified := func(got chan int, what string) int {
		t.Helper()
		select {
		case code := <-got:
			return code
		case <-time.After(15 * time.Second):
			t.Fatalf("%s: no final NOTIFY", what)
		}
		return 0
	}

	// 1. The target declines after the semi-attended REFER.
	e, ring := ringAgent02()
	cid, to, from := e.early(t)
	consultStep(t, c1, id, "consult")
	got := referAsync(replaces(target, cid, to, from))
	if err := <-e.done; refusal(err) != 487 {
		t.Fatalf("the phone's consult INVITE after its semi-attended REFER: %v, want 487", err)
	}
	if ring.Context().Err() != nil {
		t.Fatal("agent02's phone stopped ringing when the phone transferred")
	}
	_ = ring.Respond(603, "Decline", nil)
	if code := notified(got, "semi-attended transfer declined"); code != 603 {
		t.Fatalf("semi-attended transfer the target declined: NOTIFY %d, want 603", code)
	}
	consultStep(t, c1, id, "consult_failed")
	testpeers.WaitFor(t, 5*time.Second, "agent02 free, agent01 busy with the held citizen", func() bool {
		return agentState(t, a, "agent02") == router.Ready && agentState(t, a, "agent01") == router.Busy
	})
	if d1.Context().Err() != nil {
		t.Fatal("agent01's citizen dialog ended after the failed semi-attended transfer")
	}
	hearsNone(t, "the citizen still held after the declined transfer", mark(t, cit), 500*time.Millisecond, toneConsult1, toneAgent2)

	// 2. A wrong Replaces while the target rings, then the right one.
	e, ring = ringAgent02()
	cid, to, from = e.early(t)
	if code := notified(referAsync(replaces(target, cid, to, "not-the-phones-tag")), "wrong Replaces"); code != 481 {
		t.Fatalf("REFER with a Replaces naming no dialog while the target rings: NOTIFY %d, want 481", code)
	}
	if ring.Context().Err() != nil {
		t.Fatal("agent02's phone stopped ringing after the wrong REFER")
	}
	got = referAsync(replaces(target, cid, to, from))
	if err := <-e.done; refusal(err) != 487 {
		t.Fatalf("the phone's consult INVITE after its semi-attended REFER: %v, want 487", err)
	}
	med, err := ring.Answer(diago.AnswerOptions{})
	if err != nil {
		t.Fatalf("agent02 answers: %v", err)
	}
	go p2.speak(med)
	if code := notified(got, "semi-attended transfer"); code != 200 {
		t.Fatalf("semi-attended transfer answered: NOTIFY %d, want 200", code)
	}
	select {
	case <-d1.Context().Done():
	case <-time.After(10 * time.Second):
		t.Fatal("agent01's citizen dialog got no BYE after the semi-attended transfer")
	}
	if ev := consultStep(t, c1, id, "consult_completed"); !strings.Contains(ev.Reason, "semi-attended") {
		t.Fatalf("the completed consult's reason: %q", ev.Reason)
	}
	testpeers.WaitFor(t, 5*time.Second, "agent01 in wrap-up, agent02 busy with the contact", func() bool {
		v1, _ := a.agent(t, "agent01")
		v2, _ := a.agent(t, "agent02")
		return v1.State == router.WrapUp && len(v1.Active) == 0 && v2.State == router.Busy && len(v2.Active) == 1
	})
	hearsOnly(t, "the citizen after the semi-attended transfer", mark(t, cit), time.Second, toneAgent2, toneConsult1)
	testpeers.WaitFor(t, 5*time.Second, "the phone's hold and the semi-attended transfer in the contact's history", func() bool {
		var evs []struct{ State, Agent, Reason string }
		json.Unmarshal(c2.mustCall("contact_history", map[string]any{"contact": id}), &evs)
		hold, done := false, false
		for _, e := range evs {
			hold = hold || e.State == "hold" && e.Agent == "agent01" && e.Reason == "phone"
			done = done || e.State == "consult_completed" && e.Agent == "agent01" && strings.Contains(e.Reason, "semi-attended")
		}
		return hold && done
	})
	c2.mustCall("hangup", map[string]any{"contact": id})
	rec := a.callRecordTo(t, 10*time.Second, fsHotline)
	var legs []string
	for _, l := range rec.Legs {
		legs = append(legs, l.Role+" "+l.URI)
		if l.Ended.IsZero() {
			t.Errorf("leg %s %s not ended", l.Role, l.URI)
		}
	}
	// Two rings of agent02: the declined one never answered (no leg), the
	// second is the consult leg that took the citizen.
	if len(rec.Legs) != 3 || rec.Legs[1].Role != "agent" || rec.Legs[2].Role != "consult" ||
		!strings.Contains(rec.Legs[2].URI, "agent02") {
		t.Fatalf("call record legs %v; want citizen, agent01, agent02 (consult)", legs)
	}
	if st := rec.Legs[1].Steps; len(st) != 1 || st[0].Mode != "hold" {
		t.Fatalf("agent01's leg steps %+v, want the phone's hold", st)
	}
	if c := fsEndedContact(t, a.Store(), 10*time.Second, id); c.Agent != "agent02" {
		t.Fatalf("contact ended with agent %q, want agent02", c.Agent)
	}
	testpeers.WaitFor(t, 10*time.Second, "no call left", func() bool { return a.sip.Active() == 0 })
}
