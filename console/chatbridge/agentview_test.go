package chatbridge_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"onecall/console"
	"onecall/internal/testpeers"
)

func writeDoc(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// key dispatches one raw key event through CDP (what the OS would send).
func key(typ input.DispatchKeyEventType, k, code string, vk int64) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, input.DispatchKeyEvent, input.DispatchKeyEventParams{Type: typ, Key: k, Code: code,
			WindowsVirtualKeyCode: vk, NativeVirtualKeyCode: vk})
		return err
	})
}

func compose(text string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		n := int64(len([]rune(text)))
		_, err := cdp.Call(ctx, t, input.ImeSetComposition, input.ImeSetCompositionParams{Text: text, SelectionStart: n, SelectionEnd: n})
		return err
	})
}

func commit(text string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, input.InsertText, input.InsertTextParams{Text: text})
		return err
	})
}

// acceptChat makes agent a (Ready) take the chat of a new citizen.
func (r *rig) acceptChat(a context.Context, line, name string) (context.Context, int) {
	r.t.Helper()
	cit := r.citizen(line, name)
	id := r.offerID(a, name)
	r.run(a, "accept "+name, chromedp.Click(chromedp.CSS(`#offer .offercard[data-contact="`+itoa(id)+`"] .accept`)),
		chromedp.WaitVisible(chromedp.CSS(`#tabs .tab[data-contact="`+itoa(id)+`"]`)))
	return cit, id
}

// Defect 1: Korean IME. The last syllable is still composing when the
// agent presses Enter: Chromium sends that keydown with keyCode 229 and
// isComposing. It must commit the syllable, not send; the next Enter sends
// the whole sentence exactly once.
func TestAgentViewKoreanIMESendsOnce(t *testing.T) {
	r := newRig(t, nil, nil)
	a := r.agentReady("agent01")
	cit, id := r.acceptChat(a, "1350", "홍길동")
	const text = "체불 임금 진정 절차를 안내해 드리겠습니다"
	body, last := text[:len(text)-len("다")], "다"
	r.run(a, "IME composition then Enter",
		chromedp.Focus(chromedp.CSS("#pane .text")),
		commit(body),
		key(input.DispatchKeyEventTypeRawKeyDown, "Process", "KeyE", 229),
		compose(last),
		key(input.DispatchKeyEventTypeKeyUp, "Process", "KeyE", 229),
		// Enter while the syllable composes: keyCode 229, isComposing.
		key(input.DispatchKeyEventTypeRawKeyDown, "Enter", "Enter", 229),
		commit(last),
		key(input.DispatchKeyEventTypeKeyUp, "Enter", "Enter", 13),
	)
	if got := eval[string](r, a, `document.querySelector('#pane .text').value`); got != text {
		t.Fatalf("composer holds %q after the composing Enter, want %q", got, text)
	}
	r.run(a, "Enter sends", key(input.DispatchKeyEventTypeRawKeyDown, "Enter", "Enter", 13), key(input.DispatchKeyEventTypeKeyUp, "Enter", "Enter", 13))
	r.waitText(cit, "#log", text)
	r.poll(a, "composer cleared", `document.querySelector('#pane .text').value === ''`)
	// Give a stray second send the time to arrive, then count.
	r.run(a, "settle", chromedp.Sleep(300*time.Millisecond))
	if got := r.agentLines(id); len(got) != 1 || got[0] != text {
		t.Fatalf("chat got %q, want exactly [%q]", got, text)
	}
}

// Defect 2: two offers at once are both shown, each with its own countdown,
// and both can be accepted.
func TestAgentViewTwoOffersBothAcceptable(t *testing.T) {
	r := newRig(t, nil, nil)
	a := r.agentReady("agent01")
	r.citizen("1350", "홍길동")
	r.citizen("110", "Jane Doe")
	id1, id2 := r.offerID(a, "홍길동"), r.offerID(a, "Jane Doe")
	if n := eval[int](r, a, `document.querySelectorAll('#offer .offercard').length`); n != 2 {
		t.Fatalf("%d offer cards, want 2", n)
	}
	for _, id := range []int{id1, id2} {
		sel := `#offer .offercard[data-contact="` + itoa(id) + `"]`
		r.poll(a, "countdown", `/[0-9]+/.test(document.querySelector('`+sel+` .offercount').textContent)`)
	}
	// The offer is announced: title flash, and a notification attempt.
	r.poll(a, "title flashes", `document.title.includes('새 상담 요청') || window.onecall.notified >= 2`)
	r.screenshot(a, "agent-two-offers.png")
	r.run(a, "accept the second first", chromedp.Click(chromedp.CSS(`#offer .offercard[data-contact="`+itoa(id2)+`"] .accept`)),
		chromedp.WaitVisible(chromedp.CSS(`#tabs .tab[data-contact="`+itoa(id2)+`"]`)))
	r.run(a, "accept the first", chromedp.Click(chromedp.CSS(`#offer .offercard[data-contact="`+itoa(id1)+`"] .accept`)),
		chromedp.WaitVisible(chromedp.CSS(`#tabs .tab[data-contact="`+itoa(id1)+`"]`)),
		chromedp.WaitNotVisible(chromedp.ID("offer")))
	// Tabs carry the citizen's name, not chat:… ids.
	r.waitText(a, "#tabs", "홍길동")
	r.waitText(a, "#tabs", "Jane Doe")
	if s := eval[string](r, a, `document.querySelector('#tabs').textContent`); strings.Contains(s, "chat:") {
		t.Fatalf("raw chat id in tabs: %q", s)
	}
}

// Defect 3: a draft per contact survives switching tabs, a new accepted
// chat and a reload.
func TestAgentViewDraftsSurvive(t *testing.T) {
	r := newRig(t, nil, nil)
	a := r.agentReady("agent01")
	_, id1 := r.acceptChat(a, "1350", "홍길동")
	tab := func(id int) string { return `#tabs .tab[data-contact="` + itoa(id) + `"]` }
	r.run(a, "draft 1", chromedp.Click(chromedp.CSS(tab(id1))), chromedp.SendKeys(chromedp.CSS("#pane .text"), "첫 번째 초안"))
	_, id2 := r.acceptChat(a, "110", "Jane Doe")
	r.run(a, "draft 2", chromedp.Click(chromedp.CSS(tab(id2))), chromedp.SendKeys(chromedp.CSS("#pane .text"), "second draft"))
	r.run(a, "back to 1", chromedp.Click(chromedp.CSS(tab(id1))))
	r.poll(a, "draft 1 back", `document.querySelector('#pane .text').value === '첫 번째 초안'`)
	r.run(a, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#conn.online")), chromedp.WaitVisible(chromedp.CSS(tab(id2))))
	r.run(a, "to 2", chromedp.Click(chromedp.CSS(tab(id2))))
	r.poll(a, "draft 2 after reload", `document.querySelector('#pane .text').value === 'second draft'`)
	r.run(a, "to 1", chromedp.Click(chromedp.CSS(tab(id1))))
	r.poll(a, "draft 1 after reload", `document.querySelector('#pane .text').value === '첫 번째 초안'`)
	// Sending clears the draft for good.
	r.run(a, "send 1", chromedp.Click(chromedp.CSS("#pane .send")))
	r.poll(a, "sent", `document.querySelector('#pane .text').value === ''`)
	r.run(a, "reload again", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#conn.online")), chromedp.WaitVisible(chromedp.CSS(tab(id1))),
		chromedp.Click(chromedp.CSS(tab(id1))))
	if v := eval[string](r, a, `document.querySelector('#pane .text').value`); v != "" {
		t.Fatalf("sent draft came back: %q", v)
	}
}

func itoa(n int) string {
	b := []byte{}
	if n == 0 {
		return "0"
	}
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

// Defects 9 and 10: the offer and the contact show names, not internal
// values, in the UI's language; canned replies come from config and are
// inserted with "/" and a keyboard search.
func TestAgentViewNamesAndCanned(t *testing.T) {
	r := newRig(t, nil, func(o *console.Options) {
		// 1350 has its own list (configs: a line's canned replaces the file's).
		o.CannedResponses["1350"] = []console.Label{{Ko: "고용노동부 상담사입니다.", En: "This is the Ministry of Employment and Labor."}}
	})
	a := r.agentReady("agent01")
	r.citizen("110", "홍길동")
	id := r.offerID(a, "홍길동")
	card := `#offer .offercard[data-contact="` + itoa(id) + `"]`
	r.waitText(a, card, "정부민원 일반")
	r.waitText(a, card, "정부민원안내콜센터")
	r.waitText(a, card, "한국어")
	r.waitText(a, card, "일반 민원")
	txt := eval[string](r, a, `document.querySelector('`+card+`').textContent`)
	for _, raw := range []string{"gen-110", "topic", "call_id", "chat:", ">ko<"} {
		if strings.Contains(txt, raw) {
			t.Fatalf("offer shows raw %q: %s", raw, txt)
		}
	}
	r.run(a, "accept", chromedp.Click(chromedp.CSS(card+" .accept")), chromedp.WaitVisible(chromedp.CSS("#pane .contact")))
	r.waitText(a, "#pane .ctitle", "홍길동")
	r.waitText(a, "#pane .cmeta", "정부민원 일반")
	// Canned reply: "/" opens the list, typing searches, Enter inserts.
	r.run(a, "slash", chromedp.SendKeys(chromedp.CSS("#pane .text"), "/"), chromedp.WaitVisible(chromedp.CSS("#pane .cannedpick")))
	testpeers.AxeSerious(t, a, "agent chat with canned list (ko)")
	if n := eval[int](r, a, `document.querySelectorAll('#pane .cannedpick li[role=option]').length`); n != 3 {
		t.Fatalf("%d canned replies listed, want 3", n)
	}
	r.run(a, "search", chromedp.SendKeys(chromedp.CSS("#pane .text"), "감사"))
	r.poll(a, "one hit", `document.querySelectorAll('#pane .cannedpick li[role=option]').length === 1`)
	r.run(a, "insert", key(input.DispatchKeyEventTypeRawKeyDown, "Enter", "Enter", 13), key(input.DispatchKeyEventTypeKeyUp, "Enter", "Enter", 13))
	r.poll(a, "inserted", `document.querySelector('#pane .text').value === '기다려 주셔서 감사합니다.'`)
	r.run(a, "send", key(input.DispatchKeyEventTypeRawKeyDown, "Enter", "Enter", 13), key(input.DispatchKeyEventTypeKeyUp, "Enter", "Enter", 13))
	r.poll(a, "sent", `document.querySelector('#pane .text').value === ''`)
	if got := r.agentLines(id); len(got) != 1 || got[0] != "기다려 주셔서 감사합니다." {
		t.Fatalf("chat got %q", got)
	}
	// English UI: the same facts in English.
	r.run(a, "english", chromedp.Click(chromedp.ID("lang")))
	r.waitText(a, "#pane .cmeta", "Government general")
	r.waitText(a, "#pane .cattrs", "General enquiries")
	testpeers.AxeSerious(t, a, "agent chat (en)")
	// A chat on 1350 offers that line's list, inserted in the chat's
	// language (English here).
	cit := r.tab()
	r.run(cit, "an English chat on 1350", chromedp.Navigate(r.srv.URL+"/chat/1350?lang=en"), chromedp.WaitVisible(chromedp.ID("start-btn")),
		chromedp.SendKeys(chromedp.ID("name"), "John Smith"), chromedp.Click(chromedp.ID("start-btn")), chromedp.WaitVisible(chromedp.ID("conv")))
	en := r.offerID(a, "John Smith")
	r.run(a, "accept", chromedp.Click(chromedp.CSS(`#offer .offercard[data-contact="`+itoa(en)+`"] .accept`)),
		chromedp.Click(chromedp.CSS(`#tabs .tab[data-contact="`+itoa(en)+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#pane .contact[data-contact="`+itoa(en)+`"]`)),
		chromedp.SendKeys(chromedp.CSS("#pane .text"), "/"), chromedp.WaitVisible(chromedp.CSS("#pane .cannedpick")))
	if s := eval[string](r, a, `[...document.querySelectorAll('#pane .cannedpick li[role=option]')].map((e) => e.textContent).join('|')`); s != "This is the Ministry of Employment and Labor." {
		t.Fatalf("canned replies on 1350: %q", s)
	}
	r.run(a, "insert", key(input.DispatchKeyEventTypeRawKeyDown, "Enter", "Enter", 13), key(input.DispatchKeyEventTypeKeyUp, "Enter", "Enter", 13))
	r.poll(a, "inserted in English", `document.querySelector('#pane .text').value === 'This is the Ministry of Employment and Labor.'`)
}

// Defect 11: the transfer picker lists queues by name with their waiting
// contacts and available agents, searched from the keyboard; an error
// comes back in the UI's language, not as a Go error.
func TestAgentViewTransferPicker(t *testing.T) {
	r := newRig(t, nil, nil)
	a := r.agentReady("agent01")
	_, id := r.acceptChat(a, "1350", "홍길동")
	r.run(a, "search", chromedp.SendKeys(chromedp.CSS("#pane .xtarget"), "정부"), chromedp.WaitVisible(chromedp.CSS("#pane .xpick")))
	r.waitText(a, "#pane .xpick", "정부민원 일반 · 대기 0 · 가능")
	if s := eval[string](r, a, `document.querySelector('#pane .xpick').textContent`); strings.Contains(s, "gen-110") || strings.Contains(s, "고용노동") {
		t.Fatalf("picker shows %q", s)
	}
	// An unknown agent id typed in: the error is translated.
	eval[bool](r, a, `(document.querySelector('#pane .xtarget').value = '', true)`)
	r.run(a, "type an agent id", chromedp.SendKeys(chromedp.CSS("#pane .xtarget"), "nobody"),
		chromedp.WaitVisible(chromedp.CSS(`#pane .xpick li[data-kind="agent"][data-id="nobody"]`)),
		key(input.DispatchKeyEventTypeRawKeyDown, "Enter", "Enter", 13), key(input.DispatchKeyEventTypeKeyUp, "Enter", "Enter", 13),
		chromedp.Click(chromedp.CSS("#pane .transfer")))
	r.waitText(a, ".toast", "nobody")
	r.waitText(a, ".toast", "없습니다")
	if s := eval[string](r, a, `document.body.textContent`); strings.Contains(s, "router:") {
		t.Fatal("a Go error reached the page")
	}
	// Keyboard: search, Enter picks the queue, the chat moves there.
	eval[bool](r, a, `(document.querySelector('#pane .xtarget').value = '', true)`)
	r.run(a, "pick queue", chromedp.SendKeys(chromedp.CSS("#pane .xtarget"), "정부"),
		chromedp.WaitVisible(chromedp.CSS(`#pane .xpick li[data-id="gen-110"]`)),
		key(input.DispatchKeyEventTypeRawKeyDown, "Enter", "Enter", 13), key(input.DispatchKeyEventTypeKeyUp, "Enter", "Enter", 13))
	r.poll(a, "picked", `document.querySelector('#pane .xtarget').value === '정부민원 일반'`)
	r.run(a, "transfer", chromedp.SendKeys(chromedp.CSS("#pane .xnote"), "일반 민원"), chromedp.Click(chromedp.CSS("#pane .transfer")),
		chromedp.WaitNotPresent(chromedp.CSS(`#tabs .tab[data-contact="`+itoa(id)+`"]`)))
}
