package chatbridge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"

	"onecall/console"
	"onecall/internal/testpeers"
	"onecall/router"
)

// superConn is a supervisor's console connection on the wire (the
// wallboard's page is not what these tests are about).
type superConn struct {
	r  *rig
	ws *websocket.Conn
	id int64
}

func (r *rig) supervisor() *superConn {
	r.t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	b, _ := json.Marshal(map[string]string{"username": "super01", "password": "demo"})
	resp, err := hc.Post(r.srv.URL+"/api/login", "application/json", bytes.NewReader(b))
	if err != nil {
		r.t.Fatal(err)
	}
	var sess struct{ CSRF string }
	err = json.NewDecoder(resp.Body).Decode(&sess)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		r.t.Fatalf("supervisor login: %d %v", resp.StatusCode, err)
	}
	hdr := http.Header{}
	hdr.Set("Origin", r.srv.URL)
	d := websocket.Dialer{Jar: jar, HandshakeTimeout: 5 * time.Second}
	ws, _, err := d.Dial("ws"+strings.TrimPrefix(r.srv.URL, "http")+"/ws/console?csrf="+sess.CSRF, hdr)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { ws.Close() })
	return &superConn{r: r, ws: ws}
}

// call sends cmd and returns the reply's data (an error reply fails).
func (s *superConn) call(cmd string, args any) json.RawMessage {
	s.r.t.Helper()
	s.id++
	if err := s.ws.WriteJSON(map[string]any{"id": s.id, "cmd": cmd, "args": args}); err != nil {
		s.r.t.Fatal(err)
	}
	s.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var m struct {
			T, Error string
			ID       int64
			Data     json.RawMessage
		}
		if err := s.ws.ReadJSON(&m); err != nil {
			s.r.t.Fatalf("%s: %v", cmd, err)
		}
		if m.ID != s.id || (m.T != "reply" && m.T != "error") {
			continue
		}
		if m.T == "error" {
			s.r.t.Fatalf("%s: %s", cmd, m.Error)
		}
		return m.Data
	}
}

// agentState reads an agent's state as supervisors see it.
func (s *superConn) agentState(agent string) console.AgentView {
	s.r.t.Helper()
	var list []console.AgentView
	if err := json.Unmarshal(s.call("agents", nil), &list); err != nil {
		s.r.t.Fatal(err)
	}
	for _, a := range list {
		if a.ID == agent {
			return a
		}
	}
	return console.AgentView{ID: agent, State: "offline"}
}

// endChat ends the selected chat from the agent's pane.
func (r *rig) endChat(a context.Context, id int) {
	r.t.Helper()
	r.run(a, "end "+itoa(id), chromedp.Click(chromedp.CSS(`#tabs .tab[data-contact="`+itoa(id)+`"]`)),
		chromedp.Click(chromedp.CSS(`#pane .contact[data-contact="`+itoa(id)+`"] .end`)),
		chromedp.WaitVisible(chromedp.CSS(`#wraplist .wrap[data-contact="`+itoa(id)+`"]`)))
}

// Defect 5: a wrap-up form per contact, told apart by who it was, with
// labelled dispositions, the transcript kept visible and a countdown from
// the queue's wrap-up time; a queue with disposition_required keeps the
// agent from Ready until the form is saved, even after the timer; a
// confirmed wrap-up is in the store when the reply arrives.
func TestAgentViewWrapUpPerContact(t *testing.T) {
	r := newRig(t, func(c *router.Config) {
		c.Queues[0].WrapUpChat = 8 * time.Second // labor
		c.Queues[1].WrapUpChat = 4 * time.Second // gen-110
	}, func(o *console.Options) {
		o.DispositionRequired = map[string]bool{"gen-110": true}
	})
	a := r.agentReady("agent01")
	cit1, id1 := r.acceptChat(a, "1350", "홍길동")
	cit2, id2 := r.acceptChat(a, "110", "Jane Doe")
	r.run(cit1, "citizen 1 writes", chromedp.SendKeys(chromedp.ID("text"), "월급을 못 받았어요"), chromedp.Click(chromedp.ID("send-btn")))
	r.run(cit2, "citizen 2 writes", chromedp.SendKeys(chromedp.ID("text"), "여권 재발급 문의"), chromedp.Click(chromedp.ID("send-btn")))
	r.waitText(a, `#tabs .tab[data-contact="`+itoa(id1)+`"]`, "1")
	r.endChat(a, id1)
	r.endChat(a, id2)
	f1 := `#wraplist .wrap[data-contact="` + itoa(id1) + `"]`
	f2 := `#wraplist .wrap[data-contact="` + itoa(id2) + `"]`
	r.waitText(a, f1, "홍길동")
	r.waitText(a, f1, "고용노동 상담")
	r.waitText(a, f2, "Jane Doe")
	r.waitText(a, f2, "정부민원 일반")
	// The transcript stays visible in the form.
	r.waitText(a, f1+" .wraplog", "월급을 못 받았어요")
	r.waitText(a, f2+" .wraplog", "여권 재발급 문의")
	// Dispositions are labelled (config label, then the UI's own).
	opts := eval[string](r, a, `[...document.querySelectorAll('`+f1+` .disp option')].map((o) => o.textContent).join('|')`)
	for _, want := range []string{"해결", "정보 안내", "다시 연락 필요"} {
		if !strings.Contains(opts, want) {
			t.Fatalf("disposition options %q lack %q", opts, want)
		}
	}
	if strings.Contains(opts, "resolved") || strings.Contains(opts, "callback-needed") {
		t.Fatalf("raw disposition codes shown: %q", opts)
	}
	// The wrap-up countdown comes from the queue's wrap-up time (8 s for
	// labor, where the agent's wrap-up began), not a fixed 15 s.
	r.poll(a, "wrap-up countdown", `/후처리 자동 종료까지 0:0[0-8]/.test(document.querySelector('`+f1+` .wraptimer').textContent)`)
	r.screenshot(a, "agent-wrapup.png")
	testpeers.AxeSerious(t, a, "agent wrap-up forms (ko)")
	// The timer ends; gen-110 requires a disposition: not Ready.
	r.waitText(a, "#mystate", "처리 결과 미저장")
	r.run(a, "try Ready", chromedp.Click(chromedp.ID("btnready")))
	r.waitText(a, ".toast", "처리 결과를 먼저 저장하세요")
	if cls := eval[string](r, a, `document.querySelector('#mystate').className`); strings.Contains(cls, "ready") && !strings.Contains(cls, "not_ready") {
		t.Fatalf("agent Ready with a required disposition unsaved (%s)", cls)
	}
	// Save the labor form: stored before the reply.
	r.run(a, "labor disposition", chromedp.SetValue(chromedp.CSS(f1+" .disp"), "callback-needed"),
		chromedp.SendKeys(chromedp.CSS(f1+" .notes"), "내일 다시 연락"),
		chromedp.Click(chromedp.CSS(f1+" button")), chromedp.WaitNotPresent(chromedp.CSS(f1)))
	c, err := r.st.Contact(context.Background(), uint64(id1))
	if err != nil || c.Disposition != "callback-needed" || c.Notes != "내일 다시 연락" {
		t.Fatalf("right after the reply the store has %+v (%v)", c, err)
	}
	if s := eval[string](r, a, `document.querySelector('#mystate').textContent`); !strings.Contains(s, "처리 결과 미저장") {
		t.Fatalf("agent left the hold with a required form still open: %q", s)
	}
	r.run(a, "required disposition", chromedp.SetValue(chromedp.CSS(f2+" .disp"), "resolved"),
		chromedp.Click(chromedp.CSS(f2+" button")), chromedp.WaitNotPresent(chromedp.CSS(f2)))
	r.run(a, "Ready after saving", chromedp.WaitVisible(chromedp.CSS("#mystate.ready")))
}

// Defect 6: a supervisor's "not ready" on a busy agent holds through the
// agent's wrap-up "then ready", and the agent is told.
func TestAgentViewForcedNotReadyHolds(t *testing.T) {
	r := newRig(t, nil, nil)
	a := r.agentReady("agent01")
	_, id := r.acceptChat(a, "1350", "홍길동")
	sup := r.supervisor()
	sup.call("force_state", map[string]any{"agent": "agent01", "state": "not_ready", "reason": "supervisor"})
	r.waitText(a, ".toast", "감독자 super01님이 상담 불가로 전환했습니다")
	r.waitText(a, "#mystate", "super01")
	r.endChat(a, id)
	f := `#wraplist .wrap[data-contact="` + itoa(id) + `"]`
	if v := eval[string](r, a, `document.querySelector('`+f+` .then').value`); v != "ready" {
		t.Fatalf("wrap-up then = %q, want the default ready", v)
	}
	r.run(a, "wrap up, then ready", chromedp.SetValue(chromedp.CSS(f+" .disp"), "resolved"),
		chromedp.Click(chromedp.CSS(f+" button")), chromedp.WaitNotPresent(chromedp.CSS(f)))
	r.waitText(a, "body", "감독자 super01님이 지정한 상담 불가 상태가 유지됩니다")
	r.waitText(a, "#mystate", "상담 불가")
	if st := sup.agentState("agent01"); st.State != "not_ready" || st.ForcedBy != "super01" {
		t.Fatalf("after the wrap-up the agent is %+v, want not_ready forced by super01", st)
	}
	// The agent's own explicit Ready still works (and lifts the hold).
	r.run(a, "agent chooses Ready", chromedp.Click(chromedp.ID("btnready")), chromedp.WaitVisible(chromedp.CSS("#mystate.ready")))
}

// Defect 7: signing out logs the agent out of routing at once; no
// "Ready (away)" seat keeps taking offers.
func TestAgentViewSignOutLogsOutAtOnce(t *testing.T) {
	r := newRig(t, nil, func(o *console.Options) { o.LogoutGrace = time.Hour })
	a := r.agentReady("agent01")
	sup := r.supervisor()
	if st := sup.agentState("agent01"); st.State != "ready" {
		t.Fatalf("agent01 is %s before sign-out", st.State)
	}
	r.run(a, "sign out", chromedp.Click(chromedp.ID("signout")), chromedp.WaitVisible(chromedp.ID("login")))
	deadline := time.Now().Add(5 * time.Second)
	for sup.agentState("agent01").State != "offline" {
		if time.Now().After(deadline) {
			t.Fatalf("agent01 still %+v after sign-out", sup.agentState("agent01"))
		}
		time.Sleep(50 * time.Millisecond) // polling with a deadline
	}
	// A chat now waits instead of ringing at the empty seat.
	cit := r.tab()
	r.run(cit, "citizen starts a chat", chromedp.Navigate(r.srv.URL+"/chat/1350?lang=ko"), chromedp.WaitVisible(chromedp.ID("start-btn")),
		chromedp.SendKeys(chromedp.ID("name"), "홍길동"), chromedp.Click(chromedp.ID("start-btn")))
	var waiting []console.ContactView
	for deadline := time.Now().Add(5 * time.Second); ; {
		if err := json.Unmarshal(sup.call("waiting", map[string]string{"queue": "labor"}), &waiting); err != nil {
			t.Fatal(err)
		}
		if len(waiting) == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond) // polling with a deadline
	}
	if len(waiting) != 1 || waiting[0].State != "waiting" || waiting[0].Agent != "" {
		t.Fatalf("after sign-out the chat is %+v, want waiting for nobody", waiting)
	}
}

// Defect 8: on connect the snapshot comes first, and the console's own
// login (not ready) never lands after the agent's first "state ready".
// Twenty connects, each sending "state ready" the moment the socket
// opens, from Chromium's own WebSocket.
func TestAgentViewSnapshotFirstAndReadyWins(t *testing.T) {
	r := newRig(t, nil, nil)
	a := r.tab()
	r.signIn(a, "agent01")
	const js = `(async () => {
	  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws/console?csrf=' + encodeURIComponent(window.onecall.csrf);
	  const out = [];
	  for (let i = 0; i < 20; i++) {
	    // Out of routing first, so the connect has to log in again.
	    await new Promise((res, rej) => {
	      const ws = new WebSocket(url);
	      ws.onopen = () => ws.send(JSON.stringify({ id: 1, cmd: 'logout', args: {} }));
	      ws.onmessage = (m) => { const d = JSON.parse(m.data); if (d.t === 'event' && d.kind === 'agent_state' && d.data.state === 'offline') { ws.close(); res(); } };
	      ws.onerror = rej;
	    });
	    const r = await new Promise((res, rej) => {
	      const ws = new WebSocket(url);
	      const seen = []; let last = '';
	      ws.onopen = () => ws.send(JSON.stringify({ id: 1, cmd: 'state', args: { state: 'ready' } }));
	      ws.onmessage = (m) => {
	        const d = JSON.parse(m.data);
	        seen.push(d.t);
	        if (d.t === 'snapshot' && d.data.agent) last = d.data.agent.state;
	        if (d.t === 'event' && d.kind === 'agent_state') last = d.data.state;
	        if (d.t === 'reply' || d.t === 'error') setTimeout(() => { ws.close(); res({ first: seen[0], reply: d.t, err: d.error || '', last }); }, 300);
	      };
	      ws.onerror = rej;
	    });
	    out.push(r);
	  }
	  return JSON.stringify(out);
	})()`
	v, err := chromedp.Run(a, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	var runs []struct{ First, Reply, Err, Last string }
	if err := json.Unmarshal([]byte(v), &runs); err != nil || len(runs) != 20 {
		t.Fatalf("runs %s: %v", v, err)
	}
	for i, x := range runs {
		if x.First != "snapshot" || x.Reply != "reply" || x.Last != "ready" {
			t.Fatalf("connect %d: first message %q, reply %q %q, state after %q; want snapshot first and ready", i, x.First, x.Reply, x.Err, x.Last)
		}
	}
}
