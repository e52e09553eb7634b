package configs

import (
	"testing"
	"time"

	"onecall/router"
)

// TestShippedDrivesEngine: the shipped configuration is accepted by the
// real routing engine, and its hours, menus and languages route as
// written.
func TestShippedDrivesEngine(t *testing.T) {
	b := loadShipped(t)
	cfg, err := b.RouterConfig()
	if err != nil {
		t.Fatal(err)
	}
	e, err := router.New(cfg)
	if err != nil {
		t.Fatalf("router.New rejects the shipped config: %v", err)
	}
	seoul := Seoul()
	thu10 := time.Date(2026, 11, 26, 10, 0, 0, 0, seoul) // Thursday
	offers := func(cmds []router.Command) []router.Offer {
		var out []router.Offer
		for _, c := range cmds {
			if o, ok := c.(router.Offer); ok {
				out = append(out, o)
			}
		}
		return out
	}
	apply := func(ev router.Event, at time.Time) []router.Command {
		t.Helper()
		cmds, err := e.Apply(ev, at)
		if err != nil {
			t.Fatalf("%T: %v", ev, err)
		}
		return cmds
	}
	// Find an agent with Thai for immigration (menu digit 5 of 1345).
	thSkills, ok := b.SkillsFor("imm-intl", "th")
	if !ok {
		t.Fatal("imm-intl missing")
	}
	var thai router.AgentID
	for _, a := range cfg.Agents {
		okAll := true
		for _, r := range thSkills {
			okAll = okAll && a.Skills[r.Skill] >= r.Min
		}
		if okAll && a.ID != "agent01" && a.ID != "agent02" {
			thai = a.ID
			break
		}
	}
	if thai == "" {
		t.Fatal("no Thai immigration agent in the roster")
	}
	apply(router.AgentLoggedIn{Agent: "agent01", Ready: true}, thu10)
	apply(router.AgentLoggedIn{Agent: thai, Ready: true}, thu10)

	// 1350 on a Thursday at 10:00: open, offered to agent01 (Korean labour).
	n, _ := b.ResolveCall("1350", "02-555-0000")
	got := offers(apply(router.ContactArrived{Contact: 1, Channel: router.Voice, Number: n.Number}, thu10))
	if len(got) != 1 || got[0].Agent != "agent01" || got[0].Queue != "labor-1350" {
		t.Fatalf("1350 offers: %+v", got)
	}

	// 1345 menu "5" (Thai): offered to the Thai agent, not agent01 (busy anyway).
	n, _ = b.ResolveCall("1345", "")
	var item MenuItem
	for _, m := range n.Menu {
		if m.Digit == "5" {
			item = m
		}
	}
	sk, _ := b.SkillsFor(item.Queue, item.Language)
	got = offers(apply(router.ContactArrived{Contact: 2, Channel: router.Voice, Number: n.Number, Queue: item.Queue, Skills: sk, Language: item.Language}, thu10.Add(time.Second)))
	if len(got) != 1 || got[0].Agent != thai || got[0].Queue != "imm-intl" {
		t.Fatalf("1345/5 offers: %+v", got)
	}

	// 1350 on a Saturday and on Chuseok 2027 (a Wednesday): closed with
	// callback treatment. 110 at the same time is open (24/7) and waits.
	closedCallback := func(cmds []router.Command) bool {
		for _, c := range cmds {
			if _, ok := c.(router.CallbackOffered); ok {
				return true
			}
		}
		return false
	}
	sat := time.Date(2026, 11, 28, 10, 0, 0, 0, seoul)
	if cmds := apply(router.ContactArrived{Contact: 3, Channel: router.Voice, Number: "1350"}, sat); !closedCallback(cmds) || len(offers(cmds)) != 0 {
		t.Fatalf("1350 on Saturday: %+v", cmds)
	}
	if cmds := apply(router.ContactArrived{Contact: 4, Channel: router.Voice, Number: "110"}, sat); closedCallback(cmds) {
		t.Fatalf("110 on Saturday treated as closed: %+v", cmds)
	}
	chuseok := time.Date(2027, 9, 15, 10, 0, 0, 0, seoul)
	if cmds := apply(router.ContactArrived{Contact: 5, Channel: router.Voice, Number: "1350"}, chuseok); !closedCallback(cmds) {
		t.Fatalf("1350 on Chuseok: %+v", cmds)
	}
	wed := time.Date(2027, 9, 22, 10, 0, 0, 0, seoul) // an ordinary Wednesday
	if cmds := apply(router.ContactArrived{Contact: 6, Channel: router.Voice, Number: "1350"}, wed); closedCallback(cmds) {
		t.Fatalf("1350 on an ordinary Wednesday treated as closed: %+v", cmds)
	}
}
