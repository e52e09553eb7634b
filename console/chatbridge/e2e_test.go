package chatbridge_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"onecall/chat"
	"onecall/console"
	"onecall/console/chatbridge"
	"onecall/internal/testpeers"
	"onecall/router"
	"onecall/server"
	"onecall/store"
)

func e2eConfig() router.Config {
	return router.Config{
		Queues: []router.QueueDef{
			{ID: "labor", Skills: []router.SkillReq{{Skill: "labor", Min: 1}}, SLTarget: 0.8, SLThreshold: 20 * time.Second,
				OfferChat: 60 * time.Second, WrapUpChat: 120 * time.Second, ChatWhileBusy: true},
		},
		Hotlines: []router.HotlineDef{{Number: "1350", DefaultQueue: "labor", Schedule: router.Schedule{Always: true}}},
		Agents: []router.AgentDef{
			{ID: "agent01", Skills: map[string]int{"labor": 4}, Voice: 1, Chat: 3},
			{ID: "agent02", Skills: map[string]int{"labor": 3}, Voice: 1, Chat: 3},
		},
	}
}

// TestBrowserEndToEnd drives the real console and the real chat page in
// headless Chromium: sign in, Ready, offer, accept, messages both ways,
// transfer, end, wrap-up, and the supervisor's wallboard following along.
func TestBrowserEndToEnd(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "e2e.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := console.SeedUsers(ctx, st, []console.SeedUser{
		{Username: "agent01", DisplayName: "김상담", Role: "agent", Password: "demo", Skills: map[string]int{"labor": 4}, VoiceCap: 1, ChatCap: 3},
		{Username: "agent02", DisplayName: "이상담", Role: "agent", Password: "demo", Skills: map[string]int{"labor": 3}, VoiceCap: 1, ChatCap: 3},
		{Username: "super01", DisplayName: "박감독", Role: "supervisor", Password: "demo"},
	}, "onecall"); err != nil {
		t.Fatal(err)
	}
	eng, err := router.New(e2eConfig())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	hub := server.NewHub(eng, server.WithLogger(log))
	cs, err := chat.New(hub, st, chat.Options{Logger: log, Hotlines: []chat.Hotline{{Number: "1350", NameKO: "고용노동부", NameEN: "Labor",
		Topics: []chat.Topic{{ID: "wage", NameKO: "임금체불", NameEN: "Unpaid wages", Queue: "labor"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	svc, err := console.New(hub, st, console.Options{Chat: chatbridge.New(cs), Logger: log,
		Dispositions:    map[string][]string{"1350": {"wage-claim-explained", "referred"}},
		CannedResponses: map[string][]console.Label{"1350": {{Ko: "안녕하세요. 고용노동부 상담사입니다.", En: "Hello, this is the Ministry of Employment and Labor."}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	hub.AddSink(cs.Sink())
	hub.AddSink(svc.Sink())
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go hub.Run(runCtx)
	mux := http.NewServeMux()
	mux.Handle("/chat", cs)
	mux.Handle("/chat/", cs)
	mux.Handle("/ws/chat", cs)
	mux.Handle("/", svc)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	browser := testpeers.Chromium(t, chromedp.WindowSize(1400, 900))
	tab := func(string) context.Context { return testpeers.Tab(t, browser, 3*time.Minute) }
	run := func(c context.Context, what string, acts ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		testpeers.Run(t, c, what, acts...)
	}
	shot := func(c context.Context, name string) {
		t.Helper()
		testpeers.Screenshot(t, c, name)
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
			chromedp.WaitVisible(chromedp.CSS(`#conn.online`)))
	}
	waitText := func(c context.Context, sel, want string) {
		t.Helper()
		run(c, "wait for "+want+" in "+sel, chromedp.Poll[chromedp.Void](`(document.querySelector(`+jsString(sel)+`)||{}).textContent && document.querySelector(`+jsString(sel)+`).textContent.includes(`+jsString(want)+`)`, chromedp.WithPollingTimeout(20*time.Second)))
	}

	sup := tab("super")
	signIn(sup, "super01", "#super")
	a1 := tab("agent01")
	signIn(a1, "agent01", "#agent")
	run(a1, "agent01 ready", chromedp.Click(chromedp.ID("btnready")), chromedp.WaitVisible(chromedp.CSS("#mystate.ready")))
	waitText(sup, "#agents tr[data-agent=agent01]", "상담 가능")

	// The citizen starts a chat on the real chat page.
	cit := tab("citizen")
	run(cit, "citizen starts a chat",
		chromedp.Navigate(srv.URL+"/chat/1350?lang=ko"),
		chromedp.WaitVisible(chromedp.ID("start-btn")),
		chromedp.SendKeys(chromedp.ID("name"), "홍길동"),
		chromedp.Click(chromedp.ID("start-btn")))

	// Offer pops up on the agent console; accept.
	run(a1, "offer shown", chromedp.WaitVisible(chromedp.CSS("#offer[open]")))
	waitText(a1, "#offer", "labor")
	shot(a1, "e2e-agent-offer.png")
	run(a1, "accept", chromedp.Click(chromedp.CSS("#offer .accept")), chromedp.WaitVisible(chromedp.CSS("#pane .contact")))

	// Citizen -> agent, with markup that must stay text.
	run(cit, "citizen writes", chromedp.WaitVisible(chromedp.ID("conv")),
		chromedp.SendKeys(chromedp.ID("text"), "<img src=x onerror=alert(1)>월급을 못 받았어요"),
		chromedp.Click(chromedp.ID("send-btn")))
	waitText(a1, "#pane .log", "월급을 못 받았어요")
	imgs, err := chromedp.Run(a1, chromedp.Evaluate[int](`document.querySelectorAll('#pane .log img').length`))
	if err != nil || imgs != 0 {
		t.Fatal("chat text rendered as HTML")
	}
	// Agent -> citizen.
	run(a1, "agent replies", chromedp.SendKeys(chromedp.CSS("#pane .text"), "체불 임금 진정 절차를 안내해 드리겠습니다."),
		chromedp.Click(chromedp.CSS("#pane .send")))
	waitText(cit, "#log", "진정 절차를")
	waitText(a1, "#pane .log", "진정 절차를")
	shot(a1, "e2e-agent-chat.png")

	// Supervisor: drill into the queue and see the live chat; wallboard shows agent01 busy.
	waitText(sup, "#agents tr[data-agent=agent01]", "상담 중")
	run(sup, "drill into labor", chromedp.Click(chromedp.CSS(`.tile[data-queue=labor]`)))
	waitText(sup, "#waiting", "채팅")
	shot(sup, "e2e-supervisor-wallboard.png")

	// Transfer to agent02 with a note.
	a2 := tab("agent02")
	signIn(a2, "agent02", "#agent")
	run(a2, "agent02 ready", chromedp.Click(chromedp.ID("btnready")), chromedp.WaitVisible(chromedp.CSS("#mystate.ready")))
	run(a1, "transfer", chromedp.SendKeys(chromedp.CSS("#pane .xtarget"), "agent02"),
		chromedp.Click(chromedp.CSS(`#pane .xpick li[data-kind="agent"][data-id="agent02"]`)),
		chromedp.SendKeys(chromedp.CSS("#pane .xnote"), "임금 진정 상담 중"),
		chromedp.Click(chromedp.CSS("#pane .transfer")))
	run(a2, "agent02 offered", chromedp.WaitVisible(chromedp.CSS("#offer[open]")), chromedp.Click(chromedp.CSS("#offer .accept")),
		chromedp.WaitVisible(chromedp.CSS("#pane .contact")))
	waitText(a2, "#pane .log", "월급을 못 받았어요") // transcript follows the transfer
	run(a1, "agent01 lost the chat", chromedp.WaitVisible(chromedp.ID("empty")))
	run(a2, "agent02 writes", chromedp.SendKeys(chromedp.CSS("#pane .text"), "이어서 도와드리겠습니다."), chromedp.Click(chromedp.CSS("#pane .send")))
	waitText(cit, "#log", "이어서 도와드리겠습니다")

	// agent02 ends the chat, wraps up with a disposition and goes to lunch.
	run(a2, "end chat", chromedp.Click(chromedp.CSS("#pane .end")), chromedp.WaitVisible(chromedp.CSS("#wraplist .wrap")))
	waitText(sup, "#agents tr[data-agent=agent02]", "후처리")
	shot(a2, "e2e-agent-wrapup.png")
	run(a2, "wrap up",
		chromedp.SetValue(chromedp.CSS("#wraplist .disp"), "referred"),
		chromedp.SendKeys(chromedp.CSS("#wraplist .notes"), "근로감독관 진정 안내"),
		chromedp.SetValue(chromedp.CSS("#wraplist .then"), "lunch"),
		chromedp.Click(chromedp.CSS("#wraplist button")))
	waitText(a2, "#mystate", "식사")
	waitText(sup, "#agents tr[data-agent=agent02]", "식사")
	waitText(sup, ".tile[data-queue=labor]", "labor")
	shot(sup, "e2e-supervisor-after.png")

	// The disposition is stored on the contact (the chat service created
	// the contact row; ids start at 1).
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := st.Contact(ctx, 1)
		if err == nil && c.Disposition == "referred" && c.Notes == "근로감독관 진정 안내" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("wrap-up not stored: %+v %v", c, err)
		}
		<-time.After(20 * time.Millisecond) // polling with a deadline
	}
}

func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	return "'" + r.Replace(s) + "'"
}
