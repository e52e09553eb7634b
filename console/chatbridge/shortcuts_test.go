package chatbridge_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"onecall/console"
	"onecall/internal/testpeers"
	"onecall/router"
	"onecall/server"
	"onecall/store"
)

// hangingUp is the SIP side as the console sees it: the operations are
// recorded, and a hangup ends the call in the engine as the citizen's BYE
// would.
type hangingUp struct {
	callRecorder
	hub atomic.Pointer[server.Hub]
}

func (h *hangingUp) Hangup(_ context.Context, id router.ContactID) error {
	if err := h.op("hangup"); err != nil {
		return err
	}
	return h.hub.Load().Submit(router.ContactEnded{Contact: id, Reason: router.EndCompleted})
}

// alt presses Alt+letter (down and up) on whatever has the focus.
func alt(letter string) []chromedp.Action[chromedp.Void] {
	code, vk := "Key"+strings.ToUpper(letter), int64(strings.ToUpper(letter)[0])
	return []chromedp.Action[chromedp.Void]{altKey(letter, code, vk, input.DispatchKeyEventTypeRawKeyDown), altKey(letter, code, vk, input.DispatchKeyEventTypeKeyUp)}
}

// An agent works two calls of the same citizen from the keyboard: Alt+A
// accepts the offer, Alt+H holds (the held state shows with its timer) and
// resumes, Alt+E ends the call; the wrap-up is saved. On the citizen's next
// call the earlier contacts (that call, and an older chat) are listed by
// name in the UI's language, with the disposition's label, never the raw
// code or line number alone; the older chat's transcript opens from the
// keyboard.
func TestAgentViewShortcutsAndEarlierContacts(t *testing.T) {
	calls := &hangingUp{}
	r := newRig(t, nil, func(o *console.Options) { o.Calls = calls })
	calls.hub.Store(r.hub)
	ctx := context.Background()
	const citizen = "01012345678"
	at := time.Now().Add(-24 * time.Hour)
	for _, rec := range []store.Record{
		store.ContactUpsert{ID: 7001, Channel: "chat", Hotline: "110", Queue: "gen-110", Citizen: citizen, Agent: "agent02",
			State: "ended", EndReason: "completed", Arrived: at, Ended: at.Add(5 * time.Minute)},
		store.ChatMessage{Contact: 7001, Seq: 1, SenderKind: store.SenderCitizen, Text: "여권 재발급 서류가 뭔가요", Sent: at.Add(time.Minute)},
	} {
		if err := r.st.Durable(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	a := r.agentReady("agent01")
	call := func() router.ContactID {
		id := r.hub.NewContactID()
		// The app's store sink (server/app) writes the contact's row; the
		// rig has none, so the test does.
		if err := r.st.Durable(ctx, store.ContactUpsert{ID: uint64(id), Channel: "voice", Hotline: "1350", Queue: "labor",
			Citizen: citizen, State: "waiting", Arrived: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if err := r.hub.Submit(router.ContactArrived{Contact: id, Channel: router.Voice, Number: "1350", Citizen: citizen, Language: "ko"}); err != nil {
			t.Fatal(err)
		}
		r.poll(a, "voice offer", `!!document.querySelector('#offer .offercard[data-contact="`+itoa(int(id))+`"]')`)
		return id
	}

	id1 := call()
	r.run(a, "Alt+A accepts", alt("a")...)
	r.run(a, "call pane", chromedp.WaitVisible(chromedp.CSS(`#pane .contact[data-contact="`+itoa(int(id1))+`"] .callctl`)))
	r.run(a, "Alt+H holds", alt("h")...)
	r.waitText(a, "#pane .heldstate", "보류 중 0:0")
	r.run(a, "resume shown", chromedp.WaitVisible(chromedp.CSS("#pane .resume")), chromedp.WaitNotVisible(chromedp.CSS("#pane .hold")))
	r.waitText(a, "#pane .heldstate", "0:02") // the held timer runs
	r.run(a, "Alt+H resumes", alt("h")...)
	r.run(a, "resumed", chromedp.WaitNotVisible(chromedp.CSS("#pane .heldstate")), chromedp.WaitVisible(chromedp.CSS("#pane .hold")))
	r.run(a, "Alt+E ends", alt("e")...)
	f := `#wraplist .wrap[data-contact="` + itoa(int(id1)) + `"]`
	r.run(a, "wrap-up form", chromedp.WaitVisible(chromedp.CSS(f)))
	if got := calls.list(); got != "hold,resume,hangup" {
		t.Fatalf("call operations %q, want hold,resume,hangup", got)
	}
	r.run(a, "wrap up", chromedp.SetValue(chromedp.CSS(f+" .disp"), "callback-needed"),
		chromedp.SendKeys(chromedp.CSS(f+" .notes"), "서류 보완 후 재연락"),
		chromedp.Click(chromedp.CSS(f+" button")), chromedp.WaitNotPresent(chromedp.CSS(f)),
		chromedp.WaitVisible(chromedp.CSS("#mystate.ready")))

	// The next call: its offer and then its pane list the earlier contacts.
	id2 := call()
	card := `#offer .offercard[data-contact="` + itoa(int(id2)) + `"]`
	r.waitText(a, card, "다시 연락 필요")
	r.run(a, "Alt+A accepts", alt("a")...)
	r.run(a, "second call pane", chromedp.WaitVisible(chromedp.CSS(`#pane .contact[data-contact="`+itoa(int(id2))+`"]`)))
	r.waitText(a, "#history", "다시 연락 필요 · 서류 보완 후 재연락")
	r.waitText(a, "#history", "고용노동부 (1350)")
	r.waitText(a, "#history", "고용노동 상담")
	r.waitText(a, "#history", "정부민원안내콜센터 (110)")
	r.waitText(a, "#history", "정상 종료")
	hist := eval[string](r, a, `document.querySelector('#history').textContent`)
	for _, raw := range []string{"callback-needed", "gen-110", "labor", "completed"} {
		if strings.Contains(hist, raw) {
			t.Fatalf("earlier contacts show raw %q: %s", raw, hist)
		}
	}
	// The older chat's transcript opens from the keyboard.
	testpeers.KeyboardReachable(t, a, "agent call with earlier contacts")
	r.run(a, "Enter on the earlier chat", chromedp.Focus(chromedp.CSS(`#history button.histbtn`)),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			// A key press with its character, as a keyboard makes it (a
			// button acts on it).
			_, err := cdp.Call(ctx, tg, input.DispatchKeyEvent, input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyDown,
				Key: "Enter", Code: "Enter", Text: "\r", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13})
			return err
		}),
		key(input.DispatchKeyEventTypeKeyUp, "Enter", "Enter", 13))
	r.waitText(a, "#history .log", "고객: 여권 재발급 서류가 뭔가요")
	if v := eval[string](r, a, `document.querySelector('#history button.histbtn').getAttribute('aria-expanded')`); v != "true" {
		t.Fatalf("aria-expanded %q after opening", v)
	}
	r.run(a, "english", chromedp.Click(chromedp.ID("lang")))
	r.waitText(a, "#history", "Call back · 서류 보완 후 재연락")
	r.waitText(a, "#history", "Ministry of Employment and Labor (1350)")
	r.waitText(a, "#history", "Labor counselling")
}
