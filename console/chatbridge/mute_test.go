package chatbridge_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"onecall/console"
	"onecall/router"
)

// callRecorder is the SIP side's call controls as the console sees them
// (the wire behaviour of mute is sip's TestConsoleMuteWire): it records
// the operations in order.
type callRecorder struct {
	mu  sync.Mutex
	ops []string
}

func (c *callRecorder) op(s string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ops = append(c.ops, s)
	return nil
}

func (c *callRecorder) list() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.ops, ",")
}

func (c *callRecorder) Hold(context.Context, router.ContactID) error   { return c.op("hold") }
func (c *callRecorder) Resume(context.Context, router.ContactID) error { return c.op("resume") }
func (c *callRecorder) Hangup(context.Context, router.ContactID) error { return c.op("hangup") }
func (c *callRecorder) Mute(context.Context, router.ContactID) error   { return c.op("mute") }
func (c *callRecorder) Unmute(context.Context, router.ContactID) error { return c.op("unmute") }
func (c *callRecorder) Transfer(context.Context, router.ContactID, router.TransferTarget, router.AgentID, string) error {
	return c.op("transfer")
}

// The agent mutes a call from the console: the muted state shows with a
// running timer, in Korean and English, Unmute replaces Mute, Alt+M
// toggles it, and a hold keeps it. Resume and unmute clear their states
// (the view leaves a cleared field out). The contact's live timeline
// lists each step.
func TestAgentViewMutedStateTimer(t *testing.T) {
	calls := &callRecorder{}
	r := newRig(t, nil, func(o *console.Options) { o.Calls = calls })
	a := r.agentReady("agent01")
	if err := r.hub.Submit(router.ContactArrived{Contact: r.hub.NewContactID(), Channel: router.Voice, Number: "1350",
		Citizen: "01012345678", Language: "ko"}); err != nil {
		t.Fatal(err)
	}
	r.poll(a, "voice offer", `document.querySelectorAll('#offer .offercard').length === 1`)
	r.run(a, "accept", chromedp.Click(chromedp.CSS("#offer .offercard .accept")), chromedp.WaitVisible(chromedp.CSS("#pane .callctl")))
	r.run(a, "mute", chromedp.WaitVisible(chromedp.CSS("#pane .mute")), chromedp.Click(chromedp.CSS("#pane .mute")))
	r.waitText(a, "#pane .mutedstate", "음소거 중: 고객에게 내 목소리가 전달되지 않습니다 0:0")
	r.run(a, "unmute shown", chromedp.WaitVisible(chromedp.CSS("#pane .unmute")), chromedp.WaitNotVisible(chromedp.CSS("#pane .mute")))
	r.waitText(a, "#pane .mutedstate", "0:02") // the timer runs
	// A hold keeps the mute: both states show.
	r.run(a, "hold", chromedp.Click(chromedp.CSS("#pane .hold")), chromedp.WaitVisible(chromedp.CSS("#pane .heldstate")))
	r.run(a, "still muted", chromedp.WaitVisible(chromedp.CSS("#pane .mutedstate")))
	r.run(a, "resume", chromedp.Click(chromedp.CSS("#pane .resume")), chromedp.WaitNotVisible(chromedp.CSS("#pane .heldstate")))
	// Alt+M unmutes.
	r.run(a, "Alt+M", chromedp.Click(chromedp.CSS("#pane .ctitle")),
		altKey("m", "KeyM", 77, input.DispatchKeyEventTypeRawKeyDown), altKey("m", "KeyM", 77, input.DispatchKeyEventTypeKeyUp))
	r.run(a, "unmuted", chromedp.WaitNotVisible(chromedp.CSS("#pane .mutedstate")), chromedp.WaitVisible(chromedp.CSS("#pane .mute")))
	r.run(a, "english", chromedp.Click(chromedp.ID("lang")))
	r.run(a, "mute (en)", chromedp.WaitVisible(chromedp.CSS("#pane .mute")), chromedp.Click(chromedp.CSS("#pane .mute")))
	r.waitText(a, "#pane .mutedstate", "Muted: the citizen does not hear you 0:0")
	r.waitText(a, "#pane .unmute", "Unmute")
	// The live timeline shows what happened to the call as it happened.
	r.waitText(a, "#pane .timeline", "Muted")
	tl := eval[string](r, a, `document.querySelector('#pane .timeline').textContent`)
	for _, want := range []string{"Talking", "Muted", "Hold", "Resumed", "Unmuted"} {
		if !strings.Contains(tl, want) {
			t.Fatalf("timeline %q lacks %q", tl, want)
		}
	}
	if got := calls.list(); got != "mute,hold,resume,unmute,mute" {
		t.Fatalf("call operations %q", got)
	}
}

// altKey dispatches one key event with Alt held.
func altKey(k, code string, vk int64, typ input.DispatchKeyEventType) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, input.DispatchKeyEvent, input.DispatchKeyEventParams{Type: typ, Key: k, Code: code,
			WindowsVirtualKeyCode: vk, NativeVirtualKeyCode: vk, Modifiers: 1})
		return err
	})
}
