package sip

import (
	"io/fs"
	"strings"
	"testing"
)

// TestPromptManifest: every fixed phrase (phrases.json) is committed with
// its current text, every committed prompt is in the manifest and decodes,
// and the manifest names no file that is not committed. Editing a phrase
// without running `onecall prompts` fails here.
func TestPromptManifest(t *testing.T) {
	man, err := LoadManifest()
	if err != nil {
		t.Fatal(err)
	}
	ph, err := LoadPhrases()
	if err != nil {
		t.Fatal(err)
	}
	for f, want := range ph.Files() {
		if got, ok := man[f]; !ok || got != want {
			t.Errorf("phrase %s: manifest has %+v, phrases.json says %+v: run go run ./cmd/onecall prompts", f, got, want)
		}
	}
	ps, err := loadPrompts()
	if err != nil {
		t.Fatal(err)
	}
	for f, pt := range man {
		c, ok := ps[strings.TrimSuffix(f, ".wav")]
		if !ok || len(c.ulaw) < 800 { // at least 0.1 s
			t.Errorf("manifest names %s (%q) but it is not committed or empty", f, pt.Text)
		}
		if strings.HasPrefix(f, "lines/") && f != pt.File() {
			t.Errorf("%s holds %q, whose file is %s", f, pt.Text, pt.File())
		}
	}
	err = fs.WalkDir(promptFS, "prompts", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".wav") || p == "prompts/music.wav" {
			return err
		}
		if _, ok := man[strings.TrimPrefix(p, "prompts/")]; !ok {
			t.Errorf("%s is committed but not in the manifest (stale: run onecall prompts)", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Korean and English have every phrase; another language falls back
	// to English phrase by phrase.
	for _, n := range []string{"greeting", "invalid", "hold", "wait", "position", "minutes", "callback", "goodbye", "d0", "d9"} {
		for _, l := range []string{"ko", "en"} {
			if _, ok := ps[l+"_"+n]; !ok {
				t.Errorf("no %s_%s", l, n)
			}
		}
	}
	if !ps.Voiced("th") || ps.Voiced("mn") {
		t.Errorf("Voiced(th) = %v, Voiced(mn) = %v; want true, false", ps.Voiced("th"), ps.Voiced("mn"))
	}
	if c := ps.get("mn", "hold"); c == nil || c.name != "en_hold" {
		t.Errorf("a language without a voice hears %v, want en_hold", c)
	}
}

// TestParseWAVUlaw: the generator's u-law files decode to 16-bit PCM of
// twice their length.
func TestParseWAVUlaw(t *testing.T) {
	b, err := promptFS.ReadFile("prompts/en_hold.wav")
	if err != nil {
		t.Fatal(err)
	}
	pcm, err := parseWAV(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(pcm) < 2*(len(b)-100) || len(pcm) > 2*len(b) {
		t.Fatalf("%d bytes of u-law decoded to %d bytes of PCM", len(b), len(pcm))
	}
}
