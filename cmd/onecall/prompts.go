package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"onecall/configs"
	"onecall/server/app"
	"onecall/sip"
)

// espeakVoice maps a language id to an espeak-ng voice ("" = none).
func espeakVoice(lang string) string {
	v := lang
	if lang == "zh" {
		v = "cmn"
	}
	out, err := exec.Command("espeak-ng", "--voices="+v).Output()
	if err != nil || len(bytes.Split(bytes.TrimSpace(out), []byte("\n"))) < 2 {
		return ""
	}
	return v
}

// cmdPrompts renders the IVR prompts from the configuration's own text and
// sip/prompts/phrases.json with espeak-ng and sox (8 kHz mono G.711 u-law,
// silence trimmed), one file per distinct text, skipping files whose text is
// unchanged; it removes files no text needs and rewrites the manifest.
//
//	onecall prompts [--config configs] [--out sip/prompts]
func cmdPrompts(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("prompts", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "configs", "configuration directory or onecall.yaml")
	out := fs.String("out", "sip/prompts", "prompt directory (phrases.json in, WAV files and manifest.json out)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := configs.Load(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, "onecall prompts:", err)
		return 1
	}
	b, err := os.ReadFile(filepath.Join(*out, "phrases.json"))
	if err != nil {
		fmt.Fprintln(stderr, "onecall prompts:", err)
		return 1
	}
	var phrases sip.Phrases
	if err := json.Unmarshal(b, &phrases); err != nil {
		fmt.Fprintln(stderr, "onecall prompts: phrases.json:", err)
		return 1
	}
	want := phrases.Files()
	for _, t := range app.PromptTexts(cfg) {
		want[t.File()] = t
	}
	old := sip.Manifest{}
	if b, err := os.ReadFile(filepath.Join(*out, "manifest.json")); err == nil {
		_ = json.Unmarshal(b, &old)
	}
	voices := map[string]string{}
	manifest := sip.Manifest{}
	var made, kept, unvoiced int
	names := make([]string, 0, len(want))
	for f := range want {
		names = append(names, f)
	}
	sort.Strings(names)
	if err := os.MkdirAll(filepath.Join(*out, "lines"), 0o755); err != nil {
		fmt.Fprintln(stderr, "onecall prompts:", err)
		return 1
	}
	for _, f := range names {
		t := want[f]
		v, ok := voices[t.Lang]
		if !ok {
			v = espeakVoice(t.Lang)
			voices[t.Lang] = v
			if v == "" {
				fmt.Fprintf(stderr, "onecall prompts: no espeak-ng voice for %q: its callers hear English\n", t.Lang)
			}
		}
		if v == "" {
			unvoiced++
			continue
		}
		manifest[f] = t
		path := filepath.Join(*out, f)
		if o, ok := old[f]; ok && o == t {
			if _, err := os.Stat(path); err == nil {
				kept++
				continue
			}
		}
		if err := render(v, t.Text, path); err != nil {
			fmt.Fprintf(stderr, "onecall prompts: %s: %v\n", f, err)
			return 1
		}
		made++
	}
	// Remove what no text needs any more.
	removed := 0
	for _, dir := range []string{*out, filepath.Join(*out, "lines")} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			rel := e.Name()
			if dir != *out {
				rel = "lines/" + rel
			}
			if !strings.HasSuffix(rel, ".wav") || rel == "music.wav" {
				continue
			}
			if _, ok := manifest[rel]; !ok {
				if err := os.Remove(filepath.Join(*out, rel)); err == nil {
					removed++
				}
			}
		}
	}
	mb, _ := json.MarshalIndent(manifest, "", "  ")
	if err := os.WriteFile(filepath.Join(*out, "manifest.json"), append(mb, '\n'), 0o644); err != nil {
		fmt.Fprintln(stderr, "onecall prompts:", err)
		return 1
	}
	fmt.Fprintf(stdout, "prompts: %d files (%d rendered, %d unchanged, %d removed), %d texts without a voice\n",
		len(manifest), made, kept, removed, unvoiced)
	return 0
}

// render speaks text with espeak-ng and converts it with sox to 8 kHz mono
// G.711 u-law (half the size of 16-bit PCM; the telephone hears no more), trimming silence at both ends and padding 0.3 s after.
func render(voice, text, path string) error {
	tmp, err := os.CreateTemp("", "onecall-prompt-*.wav")
	if err != nil {
		return err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	if out, err := exec.Command("espeak-ng", "-v", voice, "-s", "170", "-w", tmp.Name(), text).CombinedOutput(); err != nil {
		return fmt.Errorf("espeak-ng: %v: %s", err, out)
	}
	if out, err := exec.Command("sox", tmp.Name(), "-r", "8000", "-c", "1", "-b", "8", "-e", "u-law", path,
		"silence", "1", "0.02", "0.5%", "reverse", "silence", "1", "0.02", "0.5%", "reverse", "pad", "0", "0.3").CombinedOutput(); err != nil {
		return fmt.Errorf("sox: %v: %s", err, out)
	}
	return nil
}
