//go:build !chat_nohub

package chat

import (
	"context"
	"testing"
	"time"

	"onecall/configs"
	"onecall/router"
)

// A Thai chat needs a Thai-speaking agent, as a Thai call does: the
// shipped configuration's SkillsFor (the rule the IVR uses), the real
// engine, a line laid out like 1345 (Thai and "other languages" both on
// imm-intl). The agent without th is ready first and is never offered it.
func TestThaiChatNeedsThaiAgent(t *testing.T) {
	cfg, err := configs.Load("../configs/onecall.yaml")
	if err != nil {
		t.Fatal(err)
	}
	intl := Hotline{Number: "1330", NameKO: "외국인종합안내", NameEN: "Immigration", Languages: []string{"ko", "en", "th", "fr"},
		Topics: []Topic{{ID: "1", NameKO: "영어", NameEN: "English", Queue: "imm-intl"},
			{ID: "5", NameKO: "태국어", NameEN: "Thai", Queue: "imm-intl", Language: "th"},
			{ID: "99", NameKO: "기타", NameEN: "Other", Queue: "imm-intl"}}}
	e := newEnv(t, func(c *envConfig) {
		c.opts.Hotlines = append(c.opts.Hotlines, intl)
		c.opts.SkillsFor = cfg.SkillsFor
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = e.hub.h.Do(ctx, router.AgentLoggedIn{Agent: "en.only", Ready: true})
	_, _ = e.hub.h.Do(ctx, router.AgentStateRequested{Agent: "en.only", State: router.Ready})
	cases := []struct {
		topic, lang string
		want        bool // needs th
	}{
		{"5", "en", true},   // the Thai choice
		{"99", "th", true},  // a Thai page on "other languages"
		{"", "th", true},    // no topic: the line's Thai choice
		{"99", "fr", false}, // French is interpreted: no French skill asked
		{"1", "ko", false},
	}
	var thai []router.ContactID
	for _, tc := range cases {
		c := e.dial(t)
		c.send(map[string]any{"type": "start", "number": "1330", "topic": tc.topic, "lang": tc.lang})
		id := router.ContactID(num(c.expect("started"), "contact"))
		var arr router.ContactArrived
		for _, ev := range e.hub.routed(id) {
			if a, ok := ev.(router.ContactArrived); ok {
				arr = a
			}
		}
		needs := false
		for _, r := range arr.Skills {
			if r.Skill == "th" && r.Min >= 1 {
				needs = true
			}
		}
		if needs != tc.want {
			t.Fatalf("topic %q lang %q: skills %v, want th required %v", tc.topic, tc.lang, arr.Skills, tc.want)
		}
		if tc.want {
			thai = append(thai, id)
		}
	}
	// The English-only agent is ready and got offers for the non-Thai
	// chats only; the Thai speaker gets the first Thai chat.
	e.hub.accept(t, thai[0], "th.speaker")
	e.hub.mu.Lock()
	defer e.hub.mu.Unlock()
	for _, cmd := range e.hub.cmds {
		if o, ok := cmd.(router.Offer); ok && o.Agent == "en.only" {
			for _, id := range thai {
				if o.Contact == id {
					t.Fatalf("Thai chat %d offered to en.only", id)
				}
			}
		}
	}
}
