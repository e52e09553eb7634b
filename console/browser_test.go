package console

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"onecall/internal/testpeers"
	"onecall/router"
	"onecall/store"
)

// scriptHub stands in for the hub so a test can play the router's part
// exactly: it records what the console submits and the test answers with
// the commands the engine would emit, through the real Sink path.
type scriptHub struct {
	ch chan router.Event
}

func (h *scriptHub) Submit(ev router.Event) error { h.ch <- ev; return nil }
func (h *scriptHub) Do(ctx context.Context, ev router.Event) ([]router.Command, error) {
	h.ch <- ev
	return nil, nil
}
func (h *scriptHub) Now() time.Time { return time.Now() }

func (h *scriptHub) expect(t *testing.T, what string, pred func(router.Event) bool) router.Event {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case ev := <-h.ch:
			if pred(ev) {
				return ev
			}
		case <-deadline:
			t.Fatalf("console never sent %s", what)
		}
	}
}

// TestBrowserConsoleScripted drives the agent console and the supervisor
// wallboard in headless Chromium with routing played by the test.
func TestBrowserConsoleScripted(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "ui.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := SeedUsers(ctx, st, []SeedUser{
		{Username: "agent01", DisplayName: "김민지", Role: RoleAgent, Password: "demo", VoiceCap: 1, ChatCap: 3},
		{Username: "super01", DisplayName: "박서준", Role: RoleSupervisor, Password: "demo"},
		{Username: "admin", Role: RoleAdmin, Password: "demo"},
	}, "onecall"); err != nil {
		t.Fatal(err)
	}
	// The contacts the test plays exist in the store, as the store sink
	// would have written them: a wrap-up is stored durably on its row.
	for _, id := range []uint64{101, 102, 103} {
		if err := st.Durable(ctx, store.ContactUpsert{ID: id, Channel: "chat", Hotline: "1350", Queue: "labor", Arrived: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	h := &scriptHub{ch: make(chan router.Event, 1024)}
	fc, calls := newFakeChat(), &fakeCalls{}
	svc, err := newService(h, st, Options{Chat: fc, Calls: calls, MaskNumbers: true,
		Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
		Dispositions:    map[string][]string{"*": {"resolved", "referred", "callback-needed"}},
		CannedResponses: map[string][]Label{"1350": {{Ko: "안녕하세요. 고용노동부 상담사입니다.", En: "Hello, this is the labor ministry."}, {Ko: "잠시만 기다려 주세요.", En: "One moment, please."}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	srv := httptest.NewServer(svc)
	defer srv.Close()
	deliver := func(cmds ...router.Command) { svc.Deliver(cmds) }
	now := time.Now()
	agentState := func(s router.AgentState, reason string, active int) router.AgentStateChanged {
		return router.AgentStateChanged{Agent: "agent01", State: s, Reason: reason, At: time.Now(), Active: active}
	}
	stats := func(q string, waiting, offered, answered int, sl float64) router.QueueStats {
		return router.QueueStats{Stats: router.QueueSnapshot{Queue: q, Waiting: waiting, LongestWait: time.Duration(waiting) * 17 * time.Second,
			SLToday: sl, SL15m: sl - 0.05, ASA: 14 * time.Second, Offered: offered, Answered: answered, Abandoned: offered - answered - waiting,
			AgentsByState: map[router.AgentState]int{router.Ready: 3, router.Busy: 7, router.NotReady: 2}}}
	}
	// Background agents for the wallboard.
	for i := 2; i <= 6; i++ {
		deliver(router.AgentStateChanged{Agent: router.AgentID(fmt.Sprintf("agent%02d", i)), State: router.AgentState(1 + i%5), Reason: "", At: now.Add(-time.Duration(i) * time.Minute)})
	}
	deliver(stats("labor", 4, 120, 110, 0.86), stats("general", 1, 300, 290, 0.92), stats("immigration-en", 9, 80, 60, 0.61))

	browser := testpeers.Chromium(t, chromedp.WindowSize(1400, 900))
	tab := func() context.Context { return testpeers.Tab(t, browser, 90*time.Second) }
	run := func(c context.Context, what string, acts ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		testpeers.Run(t, c, what, acts...)
	}
	waitText := func(c context.Context, sel, want string) {
		t.Helper()
		js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.textContent.includes(%q); })()`, sel, want)
		if _, err := chromedp.Run(c, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
			var got string
			got, _ = chromedp.Run(c, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q)||{}).textContent||''`, sel)))
			t.Fatalf("waiting for %q in %s: %v (have %q)", want, sel, err, got)
		}
	}
	shot := func(c context.Context, name string) {
		t.Helper()
		testpeers.Screenshot(t, c, name)
	}
	setVal := func(c context.Context, sel, v string) {
		t.Helper()
		js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.value = %q; e.dispatchEvent(new Event('change')); return e.value; })()`, sel, v)
		if got, err := chromedp.Run(c, chromedp.Evaluate[string](js)); err != nil || got != v {
			t.Fatalf("set %s = %q: got %q, %v", sel, v, got, err)
		}
	}
	signIn := func(c context.Context, user, view string) {
		t.Helper()
		run(c, user+" signs in",
			chromedp.Navigate(srv.URL+"/"),
			chromedp.WaitVisible(chromedp.ID("username")),
			chromedp.SendKeys(chromedp.ID("username"), user),
			chromedp.SendKeys(chromedp.ID("password"), "demo"),
			chromedp.Click(chromedp.ID("loginbtn")),
			chromedp.WaitVisible(chromedp.CSS(view)),
			chromedp.WaitVisible(chromedp.CSS("#conn.online")))
	}

	// Wrong password first: the form says so.
	a := tab()
	run(a, "bad sign-in", chromedp.Navigate(srv.URL+"/console"), chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "agent01"), chromedp.SendKeys(chromedp.ID("password"), "nope"),
		chromedp.Click(chromedp.ID("loginbtn")))
	waitText(a, "#loginerr", "비밀번호")
	setVal(a, "#password", "")

	sup := tab()
	signIn(sup, "super01", "#super")
	signIn(a, "agent01", "#agent")
	h.expect(t, "AgentLoggedIn", func(ev router.Event) bool { _, ok := ev.(router.AgentLoggedIn); return ok })
	deliver(agentState(router.NotReady, "login", 0))
	waitText(a, "#mystate", "상담 불가")
	run(a, "ready", chromedp.Click(chromedp.ID("btnready")))
	h.expect(t, "Ready request", func(ev router.Event) bool {
		r, ok := ev.(router.AgentStateRequested)
		return ok && r.State == router.Ready && r.Agent == "agent01" && r.By == ""
	})
	deliver(agentState(router.Ready, "", 0))
	waitText(a, "#mystate", "상담 가능")
	waitText(sup, "#agents tr[data-agent=agent01]", "상담 가능")

	// The connection drops (here: cut as too slow) and an offer is made while
	// the console is away: the browser reconnects and the snapshot shows it.
	svc.mu.Lock()
	old := svc.conns["agent01"]
	svc.mu.Unlock()
	old.kill(closeSlow, "test drop")
	deliver(router.Offer{Contact: 100, Agent: "agent01", Channel: router.Chat, Queue: "labor", Number: "1350",
		Deadline: time.Now().Add(30 * time.Second), Citizen: "chat:0001"})
	run(a, "offer after reconnect", chromedp.WaitVisible(chromedp.CSS("#offer[open]")), chromedp.WaitVisible(chromedp.CSS("#conn.online")))
	waitText(a, "#offer", "#100")
	svc.mu.Lock()
	reconnected := svc.conns["agent01"] != nil && svc.conns["agent01"] != old
	svc.mu.Unlock()
	if !reconnected {
		t.Fatal("browser did not reconnect")
	}
	deliver(router.OfferWithdrawn{Contact: 100, Agent: "agent01", Reason: "timeout"}, agentState(router.Ready, "", 0))
	run(a, "withdrawn", chromedp.WaitNotVisible(chromedp.CSS("#offer")))

	// A chat offer pops up with its details and a countdown.
	deliver(router.Offer{Contact: 101, Agent: "agent01", Channel: router.Chat, Queue: "labor", Number: "1350",
		Deadline: time.Now().Add(30 * time.Second), Waited: 42 * time.Second, Language: "ko", Citizen: "chat:7f3a",
		Reason: "agent01: labor 4; idle 312 s", Attrs: map[string]string{"topic": "임금체불", "name": "홍길동"}},
		agentState(router.Reserved, "", 0), stats("labor", 3, 121, 110, 0.86))
	run(a, "offer", chromedp.WaitVisible(chromedp.CSS("#offer[open]")))
	waitText(a, "#offer", "임금체불")
	waitText(a, "#offer", "labor")
	shot(a, "agent-offer.png")
	run(a, "accept", chromedp.Click(chromedp.CSS("#offer .accept")))
	h.expect(t, "OfferAccepted", func(ev router.Event) bool { o, ok := ev.(router.OfferAccepted); return ok && o.Contact == 101 })
	deliver(router.Connected{Contact: 101, Agent: "agent01", Channel: router.Chat, Queue: "labor"},
		router.ContactStateChanged{Contact: 101, State: router.Talking, Queue: "labor", Agent: "agent01", At: time.Now()},
		agentState(router.Busy, "", 1))
	run(a, "chat open", chromedp.WaitVisible(chromedp.CSS("#pane .contact")), chromedp.WaitNotVisible(chromedp.CSS("#offer")))

	// Messages both ways; markup stays text.
	fc.citizenSays(t, 101, "<img src=x onerror=alert(1)>월급을 3개월째 못 받았어요")
	waitText(a, "#pane .log", "월급을 3개월째")
	if n, err := chromedp.Run(a, chromedp.Evaluate[int](`document.querySelectorAll('#pane .log img').length`)); err != nil || n != 0 {
		t.Fatalf("chat text rendered as HTML (%d, %v)", n, err)
	}
	run(a, "reply", chromedp.SendKeys(chromedp.CSS("#pane .text"), "체불 임금 진정 절차를 안내해 드리겠습니다."), chromedp.Click(chromedp.CSS("#pane .send")))
	waitText(a, "#pane .log", "진정 절차를")
	fc.mu.Lock()
	sent := strings.Join(fc.sent, "|")
	fc.mu.Unlock()
	if !strings.Contains(sent, "진정 절차를") {
		t.Fatalf("chat service got %q", sent)
	}
	// A second chat arrives in another tab with an unread badge.
	deliver(router.Offer{Contact: 102, Agent: "agent01", Channel: router.Chat, Queue: "labor", Number: "1350",
		Deadline: time.Now().Add(30 * time.Second), Citizen: "chat:9b1c", Attrs: map[string]string{"topic": "퇴직금"}})
	run(a, "offer 2", chromedp.WaitVisible(chromedp.CSS("#offer[open]")), chromedp.Click(chromedp.CSS("#offer .accept")))
	h.expect(t, "OfferAccepted 102", func(ev router.Event) bool { o, ok := ev.(router.OfferAccepted); return ok && o.Contact == 102 })
	deliver(router.Connected{Contact: 102, Agent: "agent01", Channel: router.Chat, Queue: "labor"}, agentState(router.Busy, "", 2))
	run(a, "second tab", chromedp.WaitVisible(chromedp.CSS(`#tabs .tab[data-contact="102"]`)))
	run(a, "back to first", chromedp.Click(chromedp.CSS(`#tabs .tab[data-contact="101"]`)))
	fc.citizenSays(t, 102, "퇴직금 계산 문의드립니다")
	waitText(a, `#tabs .tab[data-contact="102"] .badge`, "1")
	shot(a, "agent-chat.png")

	// Supervisor: wallboard, drill-in, follow the chat.
	deliver(stats("labor", 2, 122, 112, 0.87))
	waitText(sup, "#agents tr[data-agent=agent01]", "상담 중")
	run(sup, "drill", chromedp.Click(chromedp.CSS(`.tile[data-queue=labor]`)))
	waitText(sup, "#waiting", "채팅")
	run(sup, "follow", chromedp.Click(chromedp.CSS(`#waiting tbody tr:first-child td:last-child button:last-child`)))
	run(sup, "follow pane", chromedp.WaitVisible(chromedp.ID("followpane")))
	waitText(sup, "#followlog", "월급을 3개월째")
	shot(sup, "supervisor-wallboard.png")

	// Transfer chat 101 to the general queue with a note.
	run(a, "transfer", chromedp.SendKeys(chromedp.CSS("#pane .xtarget"), "general"),
		chromedp.Click(chromedp.CSS(`#pane .xpick li[data-kind="queue"][data-id="general"]`)),
		chromedp.SendKeys(chromedp.CSS("#pane .xnote"), "일반 민원으로 이관"), chromedp.Click(chromedp.CSS("#pane .transfer")))
	tr := h.expect(t, "ContactTransferred", func(ev router.Event) bool { _, ok := ev.(router.ContactTransferred); return ok }).(router.ContactTransferred)
	if tr.Contact != 101 || tr.ToQueue != "general" || tr.Note != "일반 민원으로 이관" || tr.By != "agent01" {
		t.Fatalf("transfer %+v", tr)
	}
	deliver(router.ContactStateChanged{Contact: 101, State: router.Waiting, Queue: "general", At: time.Now()}, agentState(router.Busy, "", 1))
	run(a, "101 gone", chromedp.WaitNotPresent(chromedp.CSS(`#tabs .tab[data-contact="101"]`)))

	// End chat 102; wrap up with a disposition, then lunch.
	run(a, "end", chromedp.Click(chromedp.CSS("#pane .end")))
	for deadline := time.Now().Add(10 * time.Second); ; {
		fc.mu.Lock()
		n := len(fc.ended)
		fc.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("console never asked the chat service to end chat 102")
		}
		<-time.After(10 * time.Millisecond) // polling with a deadline
	}
	deliver(router.ContactClosed{Contact: 102, Channel: router.Chat, Reason: router.EndCompleted, Agent: "agent01"},
		agentState(router.WrapUp, "", 0))
	run(a, "wrap form", chromedp.WaitVisible(chromedp.CSS("#wraplist .wrap")))
	waitText(a, "#mystate", "후처리")
	setVal(a, "#wraplist .disp", "referred")
	setVal(a, "#wraplist .then", "lunch")
	run(a, "wrap notes", chromedp.SendKeys(chromedp.CSS("#wraplist .notes"), "퇴직금 계산기 안내"))
	shot(a, "agent-wrapup.png")
	run(a, "wrap submit", chromedp.Click(chromedp.CSS("#wraplist button")))
	h.expect(t, "WrapUpDone", func(ev router.Event) bool { _, ok := ev.(router.WrapUpDone); return ok })
	h.expect(t, "lunch", func(ev router.Event) bool {
		r, ok := ev.(router.AgentStateRequested)
		return ok && r.State == router.NotReady && r.Reason == "lunch"
	})
	deliver(agentState(router.NotReady, "lunch", 0))
	waitText(a, "#mystate", "식사")
	waitText(sup, "#agents tr[data-agent=agent01]", "식사")

	// Supervisor forces agent01 ready.
	run(sup, "force ready", chromedp.Click(chromedp.CSS(`#agents tr[data-agent=agent01] td:last-child button:first-child`)))
	fr := h.expect(t, "forced ready", func(ev router.Event) bool { r, ok := ev.(router.AgentStateRequested); return ok && r.By == "super01" }).(router.AgentStateRequested)
	if fr.Agent != "agent01" || fr.State != router.Ready {
		t.Fatalf("force %+v", fr)
	}
	// A voice call: masked number, IVR path, hold and a blind transfer.
	deliver(agentState(router.Ready, "", 0), router.Offer{Contact: 103, Agent: "agent01", Channel: router.Voice, Queue: "labor", Number: "1350",
		Deadline: time.Now().Add(15 * time.Second), Citizen: "010-2222-3333", Attrs: map[string]string{"ivr": "1 > 3 (임금)"}})
	run(a, "voice offer", chromedp.WaitVisible(chromedp.CSS("#offer[open]")))
	waitText(a, "#offer", "***-****-3333")
	if html, err := chromedp.Run(a, chromedp.Evaluate[string](`document.body.innerHTML`)); err != nil || strings.Contains(html, "2222") {
		t.Fatalf("unmasked number in the page (%v)", err)
	}
	run(a, "accept voice", chromedp.Click(chromedp.CSS("#offer .accept")))
	h.expect(t, "OfferAccepted 103", func(ev router.Event) bool { o, ok := ev.(router.OfferAccepted); return ok && o.Contact == 103 })
	deliver(router.Connected{Contact: 103, Agent: "agent01", Channel: router.Voice, Queue: "labor"}, agentState(router.Busy, "", 1))
	// Hold, then (once the held state has moved the controls, as a person
	// sees it) a blind transfer to a number.
	run(a, "call pane", chromedp.WaitVisible(chromedp.CSS("#pane .callctl")), chromedp.Click(chromedp.CSS("#pane .hold")),
		chromedp.WaitVisible(chromedp.CSS("#pane .resume")),
		chromedp.SendKeys(chromedp.CSS("#pane .xnum"), "0212345678"), chromedp.Click(chromedp.CSS("#pane .xfer")))
	waitText(a, "#pane .cattrs", "1 > 3 (임금)")
	// The held state shows with its timer; Resume replaces Hold.
	waitText(a, "#pane .heldstate", "보류 중 0:0")
	run(a, "resume shown", chromedp.WaitVisible(chromedp.CSS("#pane .resume")), chromedp.WaitNotVisible(chromedp.CSS("#pane .hold")))
	for deadline := time.Now().Add(10 * time.Second); ; {
		calls.mu.Lock()
		ops := strings.Join(calls.ops, ",")
		calls.mu.Unlock()
		if ops == "hold,transfer number:0212345678" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("call ops %q", ops)
		}
		<-time.After(10 * time.Millisecond) // polling with a deadline
	}
	shot(a, "agent-call.png")
	deliver(router.ContactClosed{Contact: 103, Channel: router.Voice, Reason: router.EndTransferredOut, Agent: "agent01"}, agentState(router.WrapUp, "", 0))
	run(a, "wrap 103", chromedp.WaitVisible(chromedp.CSS(`#wraplist .wrap[data-contact="103"]`)))
	setVal(a, `#wraplist .wrap[data-contact="103"] .disp`, "resolved")
	run(a, "wrap 103 save", chromedp.Click(chromedp.CSS(`#wraplist .wrap[data-contact="103"] button`)))
	h.expect(t, "WrapUpDone 103", func(ev router.Event) bool { _, ok := ev.(router.WrapUpDone); return ok })

	// English UI.
	run(sup, "english", chromedp.Click(chromedp.ID("lang")))
	waitText(sup, "#tiles", "Waiting")
	shot(sup, "supervisor-en.png")

	// A second tab for the same agent takes over; the first shows the banner.
	a2, cancelA2 := chromedp.NewContext(a) // same browser context: same cookie
	defer cancelA2()
	run(a2, "second tab", chromedp.Navigate(srv.URL+"/console"), chromedp.WaitVisible(chromedp.CSS("#agent")), chromedp.WaitVisible(chromedp.CSS("#conn.online")))
	run(a, "taken over", chromedp.WaitVisible(chromedp.ID("banner")))
	waitText(a, "#bannertext", "다른 창")

	// Admin: create an agent with skills, then disable it.
	ad := tab()
	signIn(ad, "admin", "#admin")
	run(ad, "new user", chromedp.SendKeys(chromedp.ID("nu-name"), "agent09"), chromedp.SendKeys(chromedp.ID("nu-pw"), "blue kettle 1987"),
		chromedp.SendKeys(chromedp.ID("nu-skills"), "labor=4,ko=5"), chromedp.Click(chromedp.CSS("#newuser button")))
	run(ad, "row", chromedp.WaitVisible(chromedp.CSS(`#users tr[data-user=agent09]`)))
	up := h.expect(t, "AgentUpserted", func(ev router.Event) bool { _, ok := ev.(router.AgentUpserted); return ok }).(router.AgentUpserted)
	if up.Agent.ID != "agent09" || up.Agent.Skills["ko"] != 5 {
		t.Fatalf("upsert %+v", up)
	}
	setVal(ad, "#users tr[data-user=agent09] input.cap", "0/5")
	// Click through JS in one call: the table re-renders on every update, so
	// a node found by one CDP call may be gone by the next.
	clickJS := func(c context.Context, what, sel string) {
		t.Helper()
		js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) return false; e.click(); return true })()`, sel)
		deadline := time.Now().Add(10 * time.Second)
		for {
			ok, err := chromedp.Run(c, chromedp.Evaluate[bool](js))
			if err == nil && ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s not clickable: %v", what, sel, err)
			}
			<-time.After(50 * time.Millisecond)
		}
	}
	clickJS(ad, "save capacity", `#users tr[data-user=agent09] td:last-child button:nth-child(1)`)
	up = h.expect(t, "AgentUpserted capacity", func(ev router.Event) bool {
		u, ok := ev.(router.AgentUpserted)
		return ok && u.Agent.Chat == 5
	}).(router.AgentUpserted)
	if up.Agent.Voice != -1 || up.Agent.Skills["labor"] != 4 {
		t.Fatalf("capacity upsert %+v", up)
	}
	clickJS(ad, "disable", `#users tr[data-user=agent09] td:last-child button:nth-child(2)`)
	waitText(ad, "#users tr[data-user=agent09]", "비활성")
	shot(ad, "admin-users.png")
	u, err := st.UserByName(ctx, "agent09")
	if err != nil || !u.Disabled || u.Skills["labor"] != 4 || !CheckPassword(u.PasswordHash, "blue kettle 1987") {
		t.Fatalf("stored user %+v %v", u, err)
	}
}
