package chatbridge_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"onecall/chat"
	"onecall/console"
	"onecall/console/chatbridge"
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

// screenshotDir is /work/main/.screenshots (the repo root's, git-ignored).
func screenshotDir(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", ".screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
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
		CannedResponses: map[string][]string{"1350": {"안녕하세요. 고용노동부 상담사입니다."}}})
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

	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath("/usr/bin/chromium"), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 900))
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()
	if err := chromedp.Run(browser); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	tab := func(name string) context.Context {
		c, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
		t.Cleanup(cancel)
		c, cancel2 := context.WithTimeout(c, 90*time.Second)
		t.Cleanup(cancel2)
		return c
	}
	run := func(c context.Context, what string, acts ...chromedp.Action) {
		t.Helper()
		if err := chromedp.Run(c, acts...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	shot := func(c context.Context, name string) {
		t.Helper()
		var buf []byte
		run(c, "screenshot "+name, chromedp.FullScreenshot(&buf, 90))
		if err := os.WriteFile(filepath.Join(screenshotDir(t), name), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	signIn := func(c context.Context, user, view string) {
		t.Helper()
		run(c, user+" signs in",
			chromedp.Navigate(srv.URL+"/"),
			chromedp.WaitVisible("#username", chromedp.ByID),
			chromedp.SendKeys("#username", user, chromedp.ByID),
			chromedp.SendKeys("#password", "demo", chromedp.ByID),
			chromedp.Click("#loginbtn", chromedp.ByID),
			chromedp.WaitVisible(view, chromedp.ByID),
			chromedp.WaitVisible(`#conn.online`, chromedp.ByQuery))
	}
	waitText := func(c context.Context, sel, want string) {
		t.Helper()
		run(c, "wait for "+want+" in "+sel, chromedp.Poll(`(document.querySelector(`+jsString(sel)+`)||{}).textContent && document.querySelector(`+jsString(sel)+`).textContent.includes(`+jsString(want)+`)`, nil, chromedp.WithPollingTimeout(20*time.Second)))
	}

	sup := tab("super")
	signIn(sup, "super01", "#super")
	a1 := tab("agent01")
	signIn(a1, "agent01", "#agent")
	run(a1, "agent01 ready", chromedp.Click("#btnready", chromedp.ByID), chromedp.WaitVisible("#mystate.ready", chromedp.ByQuery))
	waitText(sup, "#agents tr[data-agent=agent01]", "상담 가능")

	// The citizen starts a chat on the real chat page.
	cit := tab("citizen")
	run(cit, "citizen starts a chat",
		chromedp.Navigate(srv.URL+"/chat/1350?lang=ko"),
		chromedp.WaitVisible("#start-btn", chromedp.ByID),
		chromedp.SendKeys("#name", "홍길동", chromedp.ByID),
		chromedp.Click("#start-btn", chromedp.ByID))

	// Offer pops up on the agent console; accept.
	run(a1, "offer shown", chromedp.WaitVisible("#offer[open]", chromedp.ByQuery))
	waitText(a1, "#offerinfo", "labor")
	shot(a1, "agent-offer.png")
	run(a1, "accept", chromedp.Click("#accept", chromedp.ByID), chromedp.WaitVisible("#pane .contact", chromedp.ByQuery))

	// Citizen -> agent, with markup that must stay text.
	run(cit, "citizen writes", chromedp.WaitVisible("#conv", chromedp.ByID),
		chromedp.SendKeys("#text", "<img src=x onerror=alert(1)>월급을 못 받았어요", chromedp.ByID),
		chromedp.Click("#send-btn", chromedp.ByID))
	waitText(a1, "#pane .log", "월급을 못 받았어요")
	var imgs int
	run(a1, "no injected markup", chromedp.Evaluate(`document.querySelectorAll('#pane .log img').length`, &imgs))
	if imgs != 0 {
		t.Fatal("chat text rendered as HTML")
	}
	// Agent -> citizen.
	run(a1, "agent replies", chromedp.SendKeys("#pane .text", "체불 임금 진정 절차를 안내해 드리겠습니다.", chromedp.ByQuery),
		chromedp.Click("#pane .send", chromedp.ByQuery))
	waitText(cit, "#log", "진정 절차를")
	waitText(a1, "#pane .log", "진정 절차를")
	shot(a1, "agent-chat.png")

	// Supervisor: drill into the queue and see the live chat; wallboard shows agent01 busy.
	waitText(sup, "#agents tr[data-agent=agent01]", "상담 중")
	run(sup, "drill into labor", chromedp.Click(`.tile[data-queue=labor]`, chromedp.ByQuery))
	waitText(sup, "#waiting", "chat")
	shot(sup, "supervisor-wallboard.png")

	// Transfer to agent02 with a note.
	a2 := tab("agent02")
	signIn(a2, "agent02", "#agent")
	run(a2, "agent02 ready", chromedp.Click("#btnready", chromedp.ByID), chromedp.WaitVisible("#mystate.ready", chromedp.ByQuery))
	run(a1, "transfer", chromedp.SendKeys("#pane .xagent", "agent02", chromedp.ByQuery),
		chromedp.SendKeys("#pane .xnote", "임금 진정 상담 중", chromedp.ByQuery),
		chromedp.Click("#pane .transfer", chromedp.ByQuery))
	run(a2, "agent02 offered", chromedp.WaitVisible("#offer[open]", chromedp.ByQuery), chromedp.Click("#accept", chromedp.ByID),
		chromedp.WaitVisible("#pane .contact", chromedp.ByQuery))
	waitText(a2, "#pane .log", "월급을 못 받았어요") // transcript follows the transfer
	run(a1, "agent01 lost the chat", chromedp.WaitVisible("#empty", chromedp.ByID))
	run(a2, "agent02 writes", chromedp.SendKeys("#pane .text", "이어서 도와드리겠습니다.", chromedp.ByQuery), chromedp.Click("#pane .send", chromedp.ByQuery))
	waitText(cit, "#log", "이어서 도와드리겠습니다")

	// agent02 ends the chat, wraps up with a disposition and goes to lunch.
	run(a2, "end chat", chromedp.Click("#pane .end", chromedp.ByQuery), chromedp.WaitVisible("#wraplist .wrap", chromedp.ByQuery))
	waitText(sup, "#agents tr[data-agent=agent02]", "후처리")
	shot(a2, "agent-wrapup.png")
	run(a2, "wrap up",
		chromedp.SetValue("#wraplist .disp", "referred", chromedp.ByQuery),
		chromedp.SendKeys("#wraplist .notes", "근로감독관 진정 안내", chromedp.ByQuery),
		chromedp.SetValue("#wraplist .then", "lunch", chromedp.ByQuery),
		chromedp.Click("#wraplist button", chromedp.ByQuery))
	waitText(a2, "#mystate", "식사")
	waitText(sup, "#agents tr[data-agent=agent02]", "식사")
	waitText(sup, ".tile[data-queue=labor]", "labor")
	shot(sup, "supervisor-after.png")

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
