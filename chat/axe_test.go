package chat

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"

	"onecall/internal/testpeers"
)

// The citizen chat page has no serious or critical axe-core (WCAG 2.1 AA)
// violation in Korean and English, before and during a conversation.
func TestBrowserChatAccessibility(t *testing.T) {
	e := newEnv(t)
	ctx := newBrowser(t)
	for _, lang := range []string{"ko", "en"} {
		testpeers.Run(t, ctx, "open "+lang, chromedp.Navigate(e.srv.URL+"/chat/110?lang="+lang),
			chromedp.WaitVisible(chromedp.ID("start-btn")))
		testpeers.AxeSerious(t, ctx, "chat start page ("+lang+")")
	}
	testpeers.Run(t, ctx, "start",
		chromedp.SendKeys(chromedp.ID("name"), "홍길동"),
		chromedp.Click(chromedp.ID("start-btn")),
		chromedp.WaitVisible(chromedp.ID("queue")),
		chromedp.SendKeys(chromedp.ID("text"), "월급 문의"),
		chromedp.Click(chromedp.ID("send-btn")),
		chromedp.WaitVisible(chromedp.CSS(`#log li.citizen[data-seq="1"]`)))
	var contact uint64
	for id := range e.svc.convsSnapshot() {
		contact = uint64(id)
	}
	e.hub.accept(t, routerID(contact), "a1")
	eventually(t, "agent connected", func() bool {
		_, err := e.svc.AgentSend(context.Background(), routerID(contact), "a1", "안녕하세요, 무엇을 도와드릴까요?")
		return err == nil
	})
	testpeers.Run(t, ctx, "agent message", chromedp.WaitVisible(chromedp.CSS(`#log li.agent`)))
	testpeers.AxeSerious(t, ctx, "chat conversation (ko)")
	testpeers.Run(t, ctx, "english", chromedp.Click(chromedp.ID("lang-en")))
	testpeers.AxeSerious(t, ctx, "chat conversation (en)")
}
