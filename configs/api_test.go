package configs

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"onecall/router"
)

func TestResolveNumber(t *testing.T) {
	b := loadShipped(t)
	for _, c := range []struct{ dialled, want string }{
		{"1577-1000", "1577-1000"}, {"15771000", "1577-1000"}, {"1577 1000", "1577-1000"},
		{"110", "110"}, {"02-120", "02-120"}, {"02120", "02-120"}, {"120", "120"},
		{"1577-8577", "125"}, {"15778577", "125"}, {"1393", "109"}, {"1688-0120", "02-120"},
		{"1588-3939", "1390"}, {"735-0101", "1330"}, {"112", "112"},
	} {
		n, ok := b.ResolveNumber(c.dialled)
		if !ok || n.Number != c.want {
			t.Errorf("ResolveNumber(%q) = %v, %v; want %s", c.dialled, n, ok, c.want)
		}
	}
	for _, d := range []string{"", "-", "0000", "1577-100", "12345678901"} {
		if n, ok := b.ResolveNumber(d); ok {
			t.Errorf("ResolveNumber(%q) = %s, want not found", d, n.Number)
		}
	}
	if n, _ := b.ResolveNumber("112"); n.Referral != "112" {
		t.Errorf("112 should be a referral, got %q", n.Referral)
	}
}

func TestResolveCallByArea(t *testing.T) {
	b := loadShipped(t)
	for _, c := range []struct{ dialled, caller, want string }{
		{"120", "051-123-4567", "051-120"},
		{"120", "+82 2 123 4567", "02-120"},
		{"120", "0212345678", "02-120"},
		{"120", "031-555-1234", "031-120"},
		{"120", "043-555-1234", "120"}, // Chungbuk's 120 is not in the CSV
		{"120", "010-1234-5678", "120"},
		{"120", "", "120"},
		{"1350", "051-123-4567", "1350"},
		{"1577-8577", "02-1234-5678", "125"},
	} {
		n, ok := b.ResolveCall(c.dialled, c.caller)
		if !ok || n.Number != c.want {
			t.Errorf("ResolveCall(%q, %q) = %v, %v; want %s", c.dialled, c.caller, n, ok, c.want)
		}
	}
	if n, _ := b.ResolveCall("120", "051-1"); n.Queue != "120-busan" || n.Center != "busan-120" {
		t.Errorf("Busan 120: queue %s center %s", n.Queue, n.Center)
	}
	if _, ok := b.ResolveCall("999999", "02"); ok {
		t.Error("unknown number resolved")
	}
}

func TestAreaLongestCode(t *testing.T) {
	b, err := Load("testdata/valid/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for caller, want := range map[string]string{"02-111-2222": "02-120", "02-1234-5678": "1350", "031": "120"} {
		if n, _ := b.ResolveCall("120", caller); n.Number != want {
			t.Errorf("caller %s: %s, want %s", caller, n.Number, want)
		}
	}
}

func TestRouterConfigMapping(t *testing.T) {
	b, err := Load("testdata/valid/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := b.RouterConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MissedOfferNotReady || cfg.PreferredAgentWindow != 0 || cfg.PreferredAgentWait != 5*time.Second ||
		cfg.MaxTalk != time.Hour || cfg.MaxWrapUp != 5*time.Minute || cfg.MaxWaiting != 2*time.Hour ||
		cfg.DefaultAHT != 4*time.Minute || cfg.StatsEvery != time.Second || cfg.CallbackWait != 90*time.Second {
		t.Errorf("routing settings: %+v", cfg)
	}
	if len(cfg.Queues) != 2 {
		t.Fatalf("queues: %+v", cfg.Queues)
	}
	gen, labor := cfg.Queues[0], cfg.Queues[1]
	if gen.Strategy != router.LongestIdle || gen.OfferVoice != 15*time.Second || gen.OfferChat != 30*time.Second ||
		gen.SLTarget != 0.8 || gen.SLThreshold != 20*time.Second || gen.AnnounceEvery != 45*time.Second ||
		gen.OnFull != router.FullCallback || gen.Weight != 1 || gen.MaxWaiting != 500 {
		t.Errorf("gen defaults: %+v", gen)
	}
	want := router.QueueDef{
		ID: "labor", Skills: []router.SkillReq{{Skill: "ko", Min: 3}, {Skill: "labor", Min: 2}},
		Priority: 5, Weight: 1, Strategy: router.MostSkilled, SLTarget: 0.9, SLThreshold: 15 * time.Second,
		MaxWaiting: 500, MaxWait: 15 * time.Minute, OnFull: router.FullOverflow, FullTarget: "gen",
		Escalation: []router.EscalationStep{
			{After: time.Minute, Relax: []router.SkillReq{{Skill: "labor", Min: 1}}},
			{After: 2 * time.Minute, Relax: []router.SkillReq{}, AddQueue: "gen"},
			{After: 5 * time.Minute, Relax: []router.SkillReq{}, OfferCallback: true},
		},
		Overflow: []router.OverflowTarget{
			{Queue: "gen", After: 30 * time.Second, Guarded: true},
			{Queue: "gen", After: 2 * time.Minute, Guarded: false},
		},
		WrapUpVoice: 20 * time.Second, WrapUpChat: 15 * time.Second,
		OfferVoice: 15 * time.Second, OfferChat: 45 * time.Second,
		AnnounceEvery: time.Minute, HidePosition: true, AgingPerMinute: 2, ChatWhileBusy: true, // announce.position: false
	}
	if !reflect.DeepEqual(labor, want) {
		t.Errorf("labor queue\n got %+v\nwant %+v", labor, want)
	}

	hl := map[string]router.HotlineDef{}
	for _, h := range cfg.Hotlines {
		hl[h.Number] = h
	}
	if h := hl["110"]; !h.Schedule.Always || h.DefaultQueue != "gen" {
		t.Errorf("110: %+v", h)
	}
	h := hl["1350"]
	if h.Closed != router.ClosedOverflow || h.ClosedTarget != "gen" || h.DefaultQueue != "labor" {
		t.Errorf("1350 closed: %+v", h)
	}
	s := h.Schedule
	wd := []router.Span{{From: 9 * 60, To: 12 * 60}, {From: 13 * 60, To: 18 * 60}}
	for d := time.Monday; d <= time.Friday; d++ {
		if !reflect.DeepEqual(s.Weekly[d], wd) {
			t.Errorf("1350 %s: %v", d, s.Weekly[d])
		}
	}
	if !reflect.DeepEqual(s.Weekly[time.Saturday], []router.Span{{From: 540, To: 780}}) || s.Weekly[time.Sunday] != nil {
		t.Errorf("1350 weekend: sat %v sun %v", s.Weekly[time.Saturday], s.Weekly[time.Sunday])
	}
	if !reflect.DeepEqual(s.HolidayOpen, []router.Span{{From: 600, To: 840}}) || !s.Holidays["2026-01-01"] {
		t.Errorf("1350 holidays: %v %v", s.HolidayOpen, s.Holidays)
	}
	if s.Location == nil || s.Location.String() != "Asia/Seoul" {
		t.Errorf("location %v", s.Location)
	}
	if _, off := time.Date(2026, 7, 1, 0, 0, 0, 0, s.Location).Zone(); off != 9*3600 {
		t.Errorf("Seoul offset %d", off)
	}
	if h := hl["02-120"]; h.Closed != router.ClosedRefuse || h.Schedule.HolidayOpen != nil || len(cfg.Hotlines) != 4 {
		t.Errorf("02-120: %+v", h)
	}
	if len(cfg.Agents) != 3 {
		t.Fatalf("agents: %+v", cfg.Agents)
	}
	a2, a3 := cfg.Agents[1], cfg.Agents[2]
	if a2.ID != "a2" || a2.Voice != -1 || a2.Chat != 5 || a2.Skills["en"] != 4 || a2.Queues != nil {
		t.Errorf("a2: %+v", a2)
	}
	if !a3.Disabled || !reflect.DeepEqual(a3.Queues, []string{"gen"}) || a3.Voice != 1 || a3.Chat != 3 {
		t.Errorf("a3: %+v", a3)
	}
}

func TestSkillsFor(t *testing.T) {
	b, err := Load("testdata/valid/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, ok := b.SkillsFor("labor", "en")
	if want := []router.SkillReq{{Skill: "en", Min: 3}, {Skill: "labor", Min: 2}}; !ok || !reflect.DeepEqual(got, want) {
		t.Errorf("SkillsFor(labor, en) = %v, %v", got, ok)
	}
	got, _ = b.SkillsFor("labor", "")
	if want := []router.SkillReq{{Skill: "ko", Min: 3}, {Skill: "labor", Min: 2}}; !reflect.DeepEqual(got, want) {
		t.Errorf("SkillsFor(labor) = %v", got)
	}
	if _, ok := b.SkillsFor("nope", "en"); ok {
		t.Error("unknown queue accepted")
	}
}

// TestValidateBuiltInCode: a bundle built without files reports every
// problem, without positions.
func TestValidateBuiltInCode(t *testing.T) {
	b := &Bundle{
		Server: DefaultServer(),
		Skills: Skills{Languages: []Skill{{ID: "ko"}}},
		Queues: []Queue{{ID: "q", Skills: map[string]int{"ko": 3, "x": 1}}},
		Hotlines: Hotlines{
			Aliases: []Alias{{Number: "1", Target: "2"}},
		},
	}
	b.ApplyDefaults()
	err := b.Validate()
	var ps *Problems
	if !errors.As(err, &ps) {
		t.Fatalf("got %v", err)
	}
	want := "queue \"q\": unknown skill \"x\"\nalias \"1\" points nowhere: \"2\" is not a number"
	if err.Error() != want {
		t.Errorf("got\n%s\nwant\n%s", err, want)
	}
	if _, err := b.RouterConfig(); err == nil {
		t.Error("RouterConfig accepted an invalid bundle")
	}
	b.Queues[0].Skills = map[string]int{"ko": 3}
	b.Hotlines.Aliases = nil
	if err := b.Validate(); err != nil {
		t.Errorf("valid bundle: %v", err)
	}
}

func TestLoadPathForms(t *testing.T) {
	a, err := Load(".")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Load("onecall.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if a.Dir != b.Dir || len(a.Queues) != len(b.Queues) {
		t.Errorf("dir %q vs %q", a.Dir, b.Dir)
	}
	if got := a.DataDir(); got != "../data" { // outside configs/
		t.Errorf("DataDir %q", got)
	}
}

func TestLoadRoster(t *testing.T) {
	r, err := LoadRoster("testdata/base/roster.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Users) != 4 {
		t.Fatalf("users %d", len(r.Users))
	}
	if u, _ := r.Agent("boss"); *u.Voice != 0 || *u.Chat != 0 || u.IsAgent() {
		t.Errorf("supervisor capacity: %+v", u)
	}
	_, err = LoadRoster("testdata/invalid/parts/bad_roster.yaml")
	var ps *Problems
	if !errors.As(err, &ps) {
		t.Fatalf("got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{
		`testdata/invalid/parts/bad_roster.yaml:3: user "a1" defined twice`,
		`testdata/invalid/parts/bad_roster.yaml:5: user "a4": agent has no skills`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "telepathy") {
		t.Errorf("LoadRoster alone cannot know skills:\n%s", msg)
	}
	if _, err := LoadRoster("testdata/nope.yaml"); err == nil {
		t.Error("missing roster accepted")
	}
}

func TestDurationAndSpanDecode(t *testing.T) {
	var v struct {
		D []Duration `yaml:"d"`
		S []Span     `yaml:"s"`
	}
	_, ps := decodeBytes("x.yaml", []byte("d: [15s, 2m, 1h30m, 0]\ns: [\"09:00-18:00\", \"0:00-24:00\"]\n"), &v)
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	if !reflect.DeepEqual(v.D, []Duration{Duration(15 * time.Second), Duration(2 * time.Minute), Duration(90 * time.Minute), 0}) {
		t.Errorf("durations %v", v.D)
	}
	if !reflect.DeepEqual(v.S, []Span{{540, 1080}, {0, 1440}}) || v.S[1].String() != "00:00-24:00" {
		t.Errorf("spans %v", v.S)
	}
	_, ps = decodeBytes("x.yaml", []byte("d: [1x, {a: 1}]\ns: [\"9:0-1\"]\n"), &v)
	if len(ps) != 3 {
		t.Errorf("want 3 problems, got %v", ps)
	}
}

func TestTrunkPrefixes(t *testing.T) {
	tr := Trunk{Allow: []string{"10.1.2.3/8", "192.0.2.7", "::1", "junk"}}
	got := tr.Prefixes()
	if len(got) != 3 || got[0].String() != "10.0.0.0/8" || got[1].String() != "192.0.2.7/32" || got[2].String() != "::1/128" {
		t.Errorf("prefixes %v", got)
	}
}
