package chat

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Every language of the chat page has every text: each web/i18n file has
// exactly en.json's keys (nested ones too), keeps every placeholder, and
// every key the page uses (chat.js t("..."), index.html data-i18n) is in
// en.json; every language of the picker has its file, and the machine
// translations say so.
func TestChatTranslationsComplete(t *testing.T) {
	read := func(p string) map[string]any {
		t.Helper()
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		return m
	}
	en := read("web/i18n/en.json")
	js, err := os.ReadFile("web/chat.js")
	if err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile("web/index.html")
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`\bt\("([A-Za-z]+)"\)`).FindAllStringSubmatch(string(js), -1) {
		used[m[1]] = true
	}
	for _, m := range regexp.MustCompile(`t\(([a-z].*?) \? "([A-Za-z]+)" : "([A-Za-z]+)"\)`).FindAllStringSubmatch(string(js), -1) {
		used[m[2]], used[m[3]] = true, true
	}
	for _, m := range regexp.MustCompile(`data-i18n(?:-ph)?="([A-Za-z]+)"`).FindAllStringSubmatch(string(html), -1) {
		used[m[1]] = true
	}
	if len(used) < 40 {
		t.Fatalf("found only %d keys used by the page", len(used))
	}
	for k := range used {
		if _, ok := en[k]; !ok {
			t.Errorf("the page uses %q, which en.json lacks", k)
		}
	}
	for _, k := range []string{"errors", "reasons", "system"} {
		if _, ok := en[k].(map[string]any); !ok {
			t.Fatalf("en.json has no %s map", k)
		}
	}

	langs := regexp.MustCompile(`var LANGS = \[([^\]]*)\]`).FindStringSubmatch(string(js))
	if langs == nil {
		t.Fatal("no LANGS in chat.js")
	}
	var want []string
	for _, l := range strings.Split(langs[1], ",") {
		want = append(want, strings.Trim(strings.TrimSpace(l), `"`))
	}
	files, _ := filepath.Glob("web/i18n/*.json")
	var have []string
	for _, f := range files {
		have = append(have, strings.TrimSuffix(filepath.Base(f), ".json"))
	}
	slices.Sort(want)
	if !slices.Equal(have, want) {
		t.Fatalf("translation files %v, picker languages %v", have, want)
	}
	if len(want) != 20 {
		t.Errorf("%d languages, want the 20 of 1345", len(want))
	}
	ph := regexp.MustCompile(`\{\d\}`)
	for _, l := range want {
		d := read("web/i18n/" + l + ".json")
		if l != "ko" && l != "en" {
			if n, _ := d["_note"].(string); !strings.Contains(n, "Machine translation") {
				t.Errorf("%s.json: no _note marking it a machine translation", l)
			}
		}
		compareKeys(t, l, "", en, d, ph)
	}
}

func compareKeys(t *testing.T, lang, prefix string, en, d map[string]any, ph *regexp.Regexp) {
	t.Helper()
	for k, ev := range en {
		if k == "_note" {
			continue
		}
		v, ok := d[k]
		if !ok {
			t.Errorf("%s.json lacks %s%s", lang, prefix, k)
			continue
		}
		switch ev := ev.(type) {
		case map[string]any:
			vm, ok := v.(map[string]any)
			if !ok {
				t.Errorf("%s.json: %s%s is not a map", lang, prefix, k)
				continue
			}
			compareKeys(t, lang, prefix+k+".", ev, vm, ph)
		case []any:
			if va, ok := v.([]any); !ok || len(va) != len(ev) {
				t.Errorf("%s.json: %s%s is not a list of %d", lang, prefix, k, len(ev))
			}
		case string:
			vs, ok := v.(string)
			if !ok || strings.TrimSpace(vs) == "" {
				t.Errorf("%s.json: %s%s is empty", lang, prefix, k)
				continue
			}
			for _, p := range ph.FindAllString(ev, -1) {
				if !strings.Contains(vs, p) {
					t.Errorf("%s.json: %s%s lacks the placeholder %s: %q", lang, prefix, k, p, vs)
				}
			}
		}
	}
	for k := range d {
		if _, ok := en[k]; !ok && k != "_note" {
			t.Errorf("%s.json has %s%s, which en.json lacks", lang, prefix, k)
		}
	}
}

// System messages come from the same files: Thai for a Thai chat, Korean
// for "" and ko, English for a key a file lacked.
func TestSystemTextsFromFiles(t *testing.T) {
	if got := sysText("th", "joined", "A1"); got != "เจ้าหน้าที่ A1 เข้าร่วมแล้ว" {
		t.Errorf("th joined: %q", got)
	}
	if got := sysText("", "ended"); got != "상담이 종료되었습니다." {
		t.Errorf("default ended: %q", got)
	}
	if got := sysText("en", "callback", "01012345678"); got != "We will call you back at 01012345678." {
		t.Errorf("en callback: %q", got)
	}
	if got := defaultAlias("ar", 3); got != "الموظف 3" {
		t.Errorf("ar alias: %q", got)
	}
	if got := sysText("xx", "requeued"); got != "The agent left. You are waiting for the next agent." {
		t.Errorf("unknown language: %q", got)
	}
}
