package chat

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"onecall/internal/testpeers"
	"onecall/router"
)

// newBrowser starts Debian's headless Chromium with a fresh profile and a
// phone-sized window; everything it does is bounded by 60 s.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(testpeers.Chromium(t, chromedp.WindowSize(412, 900)), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Real browser: open /chat/110, start, send a message, get the agent's
// answer, reload the page and see the whole history again (resume token in
// sessionStorage); text stays text.
func TestBrowserChatSurvivesReload(t *testing.T) {
	e := newEnv(t, func(c *envConfig) { c.opts.AgentAlias = func(router.AgentID) string { return "상담사 별님" } })
	ctx := newBrowser(t)
	evil := `<img src=x onerror="document.title='pwned'">월급 문의`
	agentText := `//li[contains(@class,"agent")]//span[@class="text" and contains(text(),"무엇을 도와드릴까요")]`
	err := chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/chat/110"),
		chromedp.WaitVisible(chromedp.ID("start-btn")),
		chromedp.Click(chromedp.ID("lang-en")),
		chromedp.WaitVisible(chromedp.Search(`//button[@id="start-btn" and text()="Start chat"]`)),
		chromedp.Click(chromedp.ID("lang-ko")),
		chromedp.SendKeys(chromedp.ID("name"), "홍길동"),
		chromedp.Click(chromedp.ID("start-btn")),
		chromedp.WaitVisible(chromedp.ID("queue")),
		chromedp.SetValue(chromedp.ID("text"), evil),
		chromedp.Click(chromedp.ID("send-btn")),
		chromedp.WaitVisible(chromedp.CSS(`#log li.citizen[data-seq="1"]`)),
	)
	if err != nil {
		t.Fatalf("start and send: %v", err)
	}
	var contact uint64
	for id := range e.svc.convsSnapshot() {
		contact = uint64(id)
	}
	if contact == 0 {
		t.Fatal("no chat on the server")
	}
	e.hub.accept(t, routerID(contact), "a1")
	eventually(t, "agent connected", func() bool {
		_, err := e.svc.AgentSend(context.Background(), routerID(contact), "a1", "안녕하세요, 무엇을 도와드릴까요?")
		return err == nil
	})
	texts := `Array.from(document.querySelectorAll("#log li .text")).map(e => e.textContent)`
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.Search(agentText))); err != nil {
		t.Fatalf("agent message not shown: %v", err)
	}
	before, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](texts))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.Search(agentText))); err != nil {
		t.Fatalf("reload: %v", err)
	}
	after, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](texts))
	if err != nil {
		t.Fatal(err)
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(before, "|") != strings.Join(after, "|") || len(after) != 3 {
		t.Fatalf("history after reload\n got %q\nwant %q", after, before)
	}
	if after[0] != evil || title == "pwned" {
		t.Fatalf("text was not rendered as text: %q, title %q", after[0], title)
	}
	// Keyboard only: Enter sends; then end the chat, rate it 5 and see the thanks.
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("text"), "키보드로 보냅니다\r"),
		chromedp.WaitVisible(chromedp.CSS(`#log li.citizen[data-seq="4"]`)),
		chromedp.Click(chromedp.ID("end-btn")),
		chromedp.WaitVisible(chromedp.ID("rate-btn")),
		chromedp.Click(chromedp.CSS(`label[for="s5"]`)),
		chromedp.Click(chromedp.ID("rate-btn")),
		chromedp.WaitVisible(chromedp.Search(`//p[@id="status" and contains(text(),"감사")]`)),
	)
	if err != nil {
		t.Fatalf("keyboard send, end and rate: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitNotVisible(chromedp.ID("text"))); err != nil {
		t.Fatalf("message box still shown after the end: %v", err)
	}
	eventually(t, "rating stored", func() bool {
		c, err := e.st.Contact(context.Background(), contact)
		return err == nil && c.Satisfaction == 5
	})
	testpeers.Screenshot(t, ctx, "chat-after-reload.png")
}

// Real browser: the chat's WebSocket is refused before the chat starts (a
// load balancer's 503 while a node restarts). The page says so instead of
// "connecting" for good, and the citizen's second try starts the chat.
func TestBrowserChatStartRefusedSaysSo(t *testing.T) {
	e := newEnv(t)
	var refused atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ws/chat" && refused.Add(1) == 1 {
			http.Error(w, "node restarting", http.StatusServiceUnavailable)
			return
		}
		e.svc.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	ctx := newBrowser(t)
	err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/chat/110?lang=ko"),
		chromedp.WaitVisible(chromedp.ID("start-btn")),
		chromedp.SendKeys(chromedp.ID("name"), "홍길동"),
		chromedp.Click(chromedp.ID("start-btn")),
		chromedp.WaitVisible(chromedp.ID("error")),
	)
	if err != nil {
		t.Fatalf("start refused: %v (%s)", err, testpeers.PageState(ctx))
	}
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[document.getElementById("error").textContent, document.getElementById("status").textContent, String(document.getElementById("start").hidden)]`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(shown[0], "새 상담을 시작할 수 없습니다") || shown[1] != "" || shown[2] != "false" {
		t.Fatalf("after the refused start the page shows error %q, status %q, form hidden %s; want the unavailable error, no status, the form", shown[0], shown[1], shown[2])
	}
	if len(e.svc.convsSnapshot()) != 0 {
		t.Fatal("a chat exists after a refused start")
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("start-btn")), chromedp.WaitVisible(chromedp.ID("queue"))); err != nil {
		t.Fatalf("second try: %v (%s)", err, testpeers.PageState(ctx))
	}
	if hidden, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("error").hidden`)); err != nil || !hidden {
		t.Fatalf("error still shown after the chat started (%v)", err)
	}
	if n := refused.Load(); n != 2 {
		t.Fatalf("%d WebSocket attempts, want 2", n)
	}
}
