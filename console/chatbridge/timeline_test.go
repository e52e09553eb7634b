package chatbridge_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"onecall/console"
	"onecall/router"
	"onecall/server"
	"onecall/store"
)

// consultCalls is callRecorder with consults: it asks the engine as the
// SIP side does (ConsultRequested, ConsultUpdated); the test plays the
// consulted party's answers.
type consultCalls struct {
	callRecorder
	hub *server.Hub
}

func (c *consultCalls) Consult(ctx context.Context, id router.ContactID, to router.TransferTarget, by router.AgentID, note string) error {
	_, err := c.hub.Do(ctx, router.ConsultRequested{Contact: id, By: by, ToQueue: to.Queue, ToAgent: to.Agent, ToNumber: to.Number, Note: note})
	return err
}

func (c *consultCalls) ConsultEnd(ctx context.Context, id router.ContactID, step router.ConsultStep) error {
	_, err := c.hub.Do(ctx, router.ConsultUpdated{Contact: id, Step: step})
	return err
}

// Raw internal values never label the live contact timeline: an agent's
// voice call with its stored history (waiting in a queue, a transfer, a
// callback booked, a consult completed, a supervisor listening), then live
// hold, mute, and three consults (cancelled, failed with the transport's
// reason, a conference the consulted party leaves). Every entry is read in
// Korean and in English: no event type key (consult_answered,
// callback-booked, supervisor_listen ...), no queue id, no reason code or
// engine text; the Korean labels are Korean, the English ones (queue names
// included) English.
func TestAgentViewTimelineLabels(t *testing.T) {
	var calls *consultCalls
	r := newRig(t, nil, func(o *console.Options) { calls = &consultCalls{}; o.Calls = calls })
	calls.hub = r.hub
	a := r.agentReady("agent01")
	id := r.hub.NewContactID()
	at := time.Now().Add(-10 * time.Minute)
	for i, ev := range []store.ContactEvent{
		{State: "waiting", Queue: "labor"},
		{State: "offered", Queue: "labor", Agent: "agent02"},
		{State: "talking", Queue: "labor", Agent: "agent02"},
		{State: "consult", Queue: "gen-110", Agent: "agent02", Reason: "consult agent01"},
		{State: "consult_completed", Queue: "gen-110", Agent: "agent02"},
		{State: "supervisor_listen", Agent: "super01", Reason: "console"},
		{State: "transferred", Queue: "labor", Agent: "agent02", Reason: "임금 문의"},
		{State: "callback-booked", Queue: "labor"},
		{State: "waiting", Queue: "gen-110"},
	} {
		ev.Contact, ev.At = uint64(id), at.Add(time.Duration(i)*time.Second)
		if err := r.st.Durable(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.hub.Submit(router.ContactArrived{Contact: id, Channel: router.Voice, Number: "1350",
		Citizen: "01012345678", Language: "ko"}); err != nil {
		t.Fatal(err)
	}
	r.poll(a, "voice offer", `document.querySelectorAll('#offer .offercard').length === 1`)
	r.run(a, "accept", chromedp.Click(chromedp.CSS("#offer .offercard .accept")), chromedp.WaitVisible(chromedp.CSS("#pane .callctl")))
	step := func(what, sel string) {
		r.run(a, what, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
	}
	update := func(s router.ConsultStep, reason string) {
		t.Helper()
		if _, err := r.hub.Do(context.Background(), router.ConsultUpdated{Contact: id, Step: s, Reason: reason}); err != nil {
			t.Fatal(err)
		}
	}
	consult := func() {
		t.Helper()
		eval[bool](r, a, `(document.querySelector('#pane .xnum').value = '', true)`)
		r.run(a, "consult a number", chromedp.SendKeys(chromedp.CSS("#pane .xnum"), "0212345678"), chromedp.Click(chromedp.CSS("#pane .xconsult")),
			chromedp.WaitVisible(chromedp.CSS("#pane .consultctl")))
	}
	step("hold", "#pane .hold")
	step("resume", "#pane .resume")
	step("mute", "#pane .mute")
	step("unmute", "#pane .unmute")
	consult()
	update(router.ConsultAnswered, "")
	step("cancel the consult", "#pane .ccancel")
	r.run(a, "consult over", chromedp.WaitNotVisible(chromedp.CSS("#pane .consultctl")))
	consult()
	update(router.ConsultFailed, "no answer")
	r.run(a, "consult failed", chromedp.WaitNotVisible(chromedp.CSS("#pane .consultctl")))
	r.waitText(a, ".toast", "협의 대상에 연결되지 않았습니다: 응답 없음.") // the transport's reason, in Korean
	consult()
	update(router.ConsultAnswered, "")
	step("conference", "#pane .cconf:not([disabled])")
	r.poll(a, "in conference", `[...window.onecall.contacts.values()].some((c) => c.consult && c.consult.step === 'conference')`)
	update(router.ConsultLeft, "")
	r.poll(a, "the whole timeline", `document.querySelectorAll('#pane .timeline li').length >= 20`)

	raw := regexp.MustCompile(`\b(labor|gen-110|[a-z]+_[a-z_]+|callback-booked|console)\b`)
	english := regexp.MustCompile(`[a-z]{2,} [a-z]{2,}`) // engine or transport words, in the Korean view
	for _, lang := range []string{"ko", "en"} {
		if eval[string](r, a, `document.documentElement.lang`) != lang {
			r.run(a, "switch language", chromedp.Click(chromedp.ID("lang")))
			r.poll(a, "language "+lang, `document.documentElement.lang === '`+lang+`'`)
		}
		js := eval[string](r, a, `JSON.stringify([...document.querySelectorAll('#pane .timeline li')].map((li) =>
			[li.querySelector('b').textContent.trim(), (li.querySelector('span') || {}).textContent || '']))`)
		var items [][2]string
		if err := json.Unmarshal([]byte(js), &items); err != nil {
			t.Fatal(err)
		}
		var bad []string
		for _, it := range items {
			label, detail := it[0], it[1]
			if raw.MatchString(label) || raw.MatchString(detail) || label == "" ||
				(lang == "ko" && (!regexp.MustCompile(`\p{Hangul}`).MatchString(label) || english.MatchString(detail))) ||
				(lang == "en" && regexp.MustCompile(`\p{Hangul}`).MatchString(label+detail)) {
				bad = append(bad, label+" |"+detail)
			}
		}
		if len(bad) > 0 {
			t.Errorf("%s timeline shows raw values:\n  %s\n(all: %s)", lang, strings.Join(bad, "\n  "), js)
		}
	}
}
