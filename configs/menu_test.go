package configs

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestValidMenuDigits(t *testing.T) {
	for d, want := range map[string]bool{
		"0": true, "9": true, "*": true, "10": true, "99": true, "05": true,
		"": false, "#": false, "**": false, "1*": false, "*1": false, "1#": false, "123": false, "a": false, "1a": false,
	} {
		if got := ValidMenuDigits(d); got != want {
			t.Errorf("ValidMenuDigits(%q) = %v, want %v", d, got, want)
		}
	}
}

// TestShipped1345Menu: the immigration line's menu reaches each of its 20
// languages, is prefix-free (no caller waits for the inter-digit
// timeout), and a language choice needs that language's skill.
func TestShipped1345Menu(t *testing.T) {
	b := loadShipped(t)
	n, ok := b.ResolveNumber("1345")
	if !ok {
		t.Fatal("1345 missing")
	}
	names := map[string]string{}
	for _, l := range b.Skills.Languages {
		names[l.ID] = l.NameEn
	}
	for _, lang := range n.Languages {
		found := false
		for _, m := range n.Menu {
			if m.Language == lang || (m.Language == "" && strings.HasPrefix(m.LabelEn, names[lang])) ||
				(lang == "ko" && m.Queue == "imm-ko") || (lang == "en" && m.Queue == "imm-en") ||
				(lang == "zh" && m.Queue == "imm-zh") || (lang == "vi" && m.Queue == "imm-vi") {
				found = true
			}
		}
		if !found {
			t.Errorf("1345: no menu choice for %s (%s)", lang, names[lang])
		}
	}
	if len(n.Languages) != 20 {
		t.Errorf("1345 languages = %d", len(n.Languages))
	}
	for i, a := range n.Menu {
		for j, c := range n.Menu {
			if i != j && strings.HasPrefix(c.Digit, a.Digit) {
				t.Errorf("1345 menu: %q is a prefix of %q", a.Digit, c.Digit)
			}
		}
		if a.Language == "" {
			continue
		}
		skills, ok := b.SkillsFor(a.Queue, a.Language)
		has := false
		for _, s := range skills {
			has = has || s.Skill == a.Language
		}
		if !ok || !has {
			t.Errorf("1345 menu %q: skills %v lack %s", a.Digit, skills, a.Language)
		}
	}
}

// A hotline's ivr block overrides sip.menu field by field; retries: 0 is a
// real value (no replay), not "unset".
func TestMenuTimers(t *testing.T) {
	b := loadShipped(t)
	n, ok := b.ResolveNumber("1345")
	if !ok {
		t.Fatal("1345 missing")
	}
	if to, id, r := b.MenuTimers(n); to != 4*time.Second || id != 2*time.Second || r != 1 {
		t.Fatalf("shipped defaults = %v %v %d", to, id, r)
	}
	own := *n
	own.IVR = &MenuTimers{Timeout: Duration(6 * time.Second), Retries: new(0)}
	if to, id, r := b.MenuTimers(&own); to != 6*time.Second || id != 2*time.Second || r != 0 {
		t.Fatalf("override = %v %v %d", to, id, r)
	}
}

// Wrap-up codes come from hotlines.yaml: the file's list for every line,
// replaced on a line that has its own.
func TestDispositions(t *testing.T) {
	b := loadShipped(t)
	d := b.Dispositions()
	if !slices.Equal(d["*"], DefaultDispositions()) || len(d) != 1 {
		t.Fatalf("shipped dispositions = %v", d)
	}
	n, _ := b.ResolveNumber("1350")
	n.Dispositions = []string{"wage-arrears", "resolved"}
	d = b.Dispositions()
	if !slices.Equal(d["1350"], []string{"wage-arrears", "resolved"}) || !slices.Equal(d["*"], DefaultDispositions()) {
		t.Fatalf("with 1350's own list: %v", d)
	}
	d["*"][0] = "changed" // callers get copies
	if b.Dispositions()["*"][0] != "resolved" {
		t.Fatal("Dispositions shares the bundle's slice")
	}
}
