package chatbridge_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
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

// rig is the real thing for the agent-view browser tests: the routing
// engine on its hub, the store, the chat service with its citizen page and
// the console, on one httptest server, and a headless Chromium.
type rig struct {
	t       *testing.T
	st      *store.Store
	hub     *server.Hub
	chat    *chat.Service
	bridge  *chatbridge.Bridge
	svc     *console.Service
	srv     *httptest.Server
	browser context.Context
}

func rigConfig() router.Config {
	return router.Config{
		Queues: []router.QueueDef{
			{ID: "labor", Skills: []router.SkillReq{{Skill: "labor", Min: 1}}, SLTarget: 0.8, SLThreshold: 20 * time.Second,
				OfferChat: 60 * time.Second, OfferVoice: 30 * time.Second, WrapUpChat: 120 * time.Second, WrapUpVoice: 120 * time.Second, ChatWhileBusy: true},
			{ID: "gen-110", Skills: []router.SkillReq{{Skill: "general", Min: 1}}, SLTarget: 0.8, SLThreshold: 20 * time.Second,
				OfferChat: 60 * time.Second, WrapUpChat: 120 * time.Second, ChatWhileBusy: true},
		},
		Hotlines: []router.HotlineDef{
			{Number: "1350", DefaultQueue: "labor", Schedule: router.Schedule{Always: true}},
			{Number: "110", DefaultQueue: "gen-110", Schedule: router.Schedule{Always: true}},
		},
		Agents: []router.AgentDef{
			{ID: "agent01", Skills: map[string]int{"labor": 4, "general": 3}, Voice: 1, Chat: 3},
			{ID: "agent02", Skills: map[string]int{"labor": 3, "general": 3}, Voice: 1, Chat: 3},
		},
	}
}

// newRig starts everything; mutate adjusts the engine config or the
// console options before start.
func newRig(t *testing.T, cfg func(*router.Config), opts func(*console.Options)) *rig {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "agentview.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := console.SeedUsers(ctx, st, []console.SeedUser{
		{Username: "agent01", DisplayName: "김상담", Role: "agent", Password: "demo", Skills: map[string]int{"labor": 4, "general": 3}, VoiceCap: 1, ChatCap: 3},
		{Username: "agent02", DisplayName: "이상담", Role: "agent", Password: "demo", Skills: map[string]int{"labor": 3, "general": 3}, VoiceCap: 1, ChatCap: 3},
		{Username: "super01", DisplayName: "박감독", Role: "supervisor", Password: "demo"},
	}, "onecall"); err != nil {
		t.Fatal(err)
	}
	rc := rigConfig()
	if cfg != nil {
		cfg(&rc)
	}
	eng, err := router.New(rc)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	hub := server.NewHub(eng, server.WithLogger(log))
	cs, err := chat.New(hub, st, chat.Options{Logger: log, Hotlines: []chat.Hotline{
		{Number: "1350", NameKO: "고용노동부", NameEN: "Labor", Topics: []chat.Topic{{ID: "wage", NameKO: "임금체불", NameEN: "Unpaid wages", Queue: "labor"}}},
		{Number: "110", NameKO: "정부민원안내", NameEN: "Government", Topics: []chat.Topic{{ID: "general", NameKO: "일반 민원", NameEN: "General", Queue: "gen-110"}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	br := chatbridge.New(cs)
	o := console.Options{Chat: br, Logger: log,
		Dispositions: map[string][]string{"*": {"resolved", "information-given", "callback-needed"}},
		CannedResponses: map[string][]console.Label{"*": {
			{Ko: "안녕하세요. 상담사입니다.", En: "Hello, this is your agent."},
			{Ko: "확인해 드리겠습니다. 잠시만 기다려 주세요.", En: "Let me check. One moment, please."},
			{Ko: "기다려 주셔서 감사합니다.", En: "Thank you for waiting."},
		}},
		Names: console.Names{
			Queues: map[string]console.Label{"labor": {Ko: "고용노동 상담", En: "Labor counselling"}, "gen-110": {Ko: "정부민원 일반", En: "Government general"}},
			Lines: map[string]console.LineNames{
				"1350": {Label: console.Label{Ko: "고용노동부", En: "Ministry of Employment and Labor"}, Topics: map[string]console.Label{"wage": {Ko: "임금체불", En: "Unpaid wages"}}},
				"110":  {Label: console.Label{Ko: "정부민원안내콜센터", En: "Government Call Center"}, Topics: map[string]console.Label{"general": {Ko: "일반 민원", En: "General enquiries"}}},
			},
			Dispositions: map[string]console.Label{"callback-needed": {Ko: "다시 연락 필요", En: "Call back"}},
			Skills:       map[string]console.Label{"labor": {Ko: "노동", En: "Labour"}, "general": {Ko: "일반 민원", En: "General"}},
		}}
	if opts != nil {
		opts(&o)
	}
	svc, err := console.New(hub, st, o)
	if err != nil {
		t.Fatal(err)
	}
	hub.AddSink(cs.Sink())
	hub.AddSink(svc.Sink())
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { hub.Run(runCtx); close(done) }()
	mux := http.NewServeMux()
	mux.Handle("/chat", cs)
	mux.Handle("/chat/", cs)
	mux.Handle("/ws/chat", cs)
	mux.Handle("/", svc)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		svc.Close()
		stop()
		<-done
	})
	r := &rig{t: t, st: st, hub: hub, chat: cs, bridge: br, svc: svc, srv: srv}
	r.browser = testpeers.Chromium(t, chromedp.WindowSize(1366, 768))
	return r
}

func (r *rig) tab() context.Context { return testpeers.Tab(r.t, r.browser, 3*time.Minute) }

func (r *rig) run(c context.Context, what string, acts ...chromedp.Action[chromedp.Void]) {
	r.t.Helper()
	testpeers.Run(r.t, c, what, acts...)
}

// eval runs js in tab c and returns its value.
func eval[T any](r *rig, c context.Context, js string) T {
	r.t.Helper()
	v, err := chromedp.Run(c, chromedp.Evaluate[T](js))
	if err != nil {
		r.t.Fatalf("eval %s: %v", js, err)
	}
	return v
}

// poll waits until the js expression is true.
func (r *rig) poll(c context.Context, what, js string) {
	r.t.Helper()
	if _, err := chromedp.Run(c, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		r.t.Fatalf("%s: %v", what, err)
	}
}

func (r *rig) waitText(c context.Context, sel, want string) {
	r.t.Helper()
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%s); return !!e && e.textContent.includes(%s); })()`, jsString(sel), jsString(want))
	if _, err := chromedp.Run(c, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		got, _ := chromedp.Run(c, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%s)||{}).textContent||''`, jsString(sel))))
		r.t.Fatalf("waiting for %q in %s: %v (have %q)", want, sel, err, got)
	}
}

func (r *rig) signIn(c context.Context, user string) {
	r.t.Helper()
	view := "#agent"
	if user == "super01" {
		view = "#super"
	}
	r.run(c, user+" signs in",
		chromedp.Navigate(r.srv.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), user),
		chromedp.SendKeys(chromedp.ID("password"), "demo"),
		chromedp.Click(chromedp.ID("loginbtn")),
		chromedp.WaitVisible(chromedp.CSS(view)),
		chromedp.WaitVisible(chromedp.CSS("#conn.online")))
}

// ready signs the agent in and makes them Ready.
func (r *rig) agentReady(user string) context.Context {
	r.t.Helper()
	a := r.tab()
	r.signIn(a, user)
	r.waitText(a, "#mystate", "상담 불가") // logged in not ready first
	r.run(a, user+" ready", chromedp.Click(chromedp.ID("btnready")), chromedp.WaitVisible(chromedp.CSS("#mystate.ready")))
	return a
}

// citizen opens the chat page of line and starts a chat as name.
func (r *rig) citizen(line, name string) context.Context {
	r.t.Helper()
	c := r.tab()
	r.run(c, "citizen "+name+" starts a chat",
		chromedp.Navigate(r.srv.URL+"/chat/"+line+"?lang=ko"),
		chromedp.WaitVisible(chromedp.ID("start-btn")),
		chromedp.SendKeys(chromedp.ID("name"), name),
		chromedp.Click(chromedp.ID("start-btn")),
		chromedp.WaitVisible(chromedp.ID("conv")))
	return c
}

// offerCard is the selector of the offer card of the contact whose
// citizen gave name, found in the page.
func (r *rig) offerID(c context.Context, name string) int {
	r.t.Helper()
	js := fmt.Sprintf(`(() => { const e = [...document.querySelectorAll('#offer .offercard')].find((x) => x.textContent.includes(%s)); return e ? Number(e.dataset.contact) : 0; })()`, jsString(name))
	r.poll(c, "offer card for "+name, js+" > 0")
	return eval[int](r, c, js)
}

// agentLines lists what agents wrote in a chat, from the chat service.
func (r *rig) agentLines(id int) []string {
	r.t.Helper()
	lines, err := r.bridge.Transcript(context.Background(), router.ContactID(id))
	if err != nil {
		r.t.Fatalf("transcript %d: %v", id, err)
	}
	var out []string
	for _, l := range lines {
		if l.Sender == "agent" {
			out = append(out, l.Text)
		}
	}
	return out
}

// screenshot saves a 1366x768 picture under docs/screenshots.
func (r *rig) screenshot(c context.Context, name string) {
	r.t.Helper()
	r.run(c, "1366x768", chromedp.EmulateViewport(1366, 768))
	png, err := chromedp.Run(c, chromedp.CaptureScreenshot())
	if err != nil {
		r.t.Fatalf("screenshot %s: %v", name, err)
	}
	testpeers.SaveScreenshot(r.t, name, png)
	if err := writeDoc(filepath.Join("..", "..", "docs", "screenshots", name), png); err != nil {
		r.t.Fatalf("screenshot %s: %v", name, err)
	}
}
