package sip

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// PromptText is one sentence a line says, in one language: a menu choice
// ("For English, press 2."), a closed line's schedule, a referral. The
// generator (onecall prompts) renders each distinct text once, with
// espeak-ng and sox, into prompts/lines/<Key>.wav; the manifest records the
// text of every committed file, so a prompt that no longer matches its
// text is found by a test, not by a caller.
type PromptText struct {
	Lang string `json:"lang"`
	Text string `json:"text"`
}

// Key names the rendered file: the language and a hash of the text, so one
// sentence shared by many lines is one file.
func (p PromptText) Key() string {
	h := sha256.Sum256([]byte(p.Lang + "\x00" + p.Text))
	return p.Lang + "-" + hex.EncodeToString(h[:6])
}

// File is p's path under sip/prompts.
func (p PromptText) File() string { return "lines/" + p.Key() + ".wav" }

// Manifest is prompts/manifest.json: the text each committed prompt file
// says, by its path under sip/prompts.
type Manifest map[string]PromptText

// LoadManifest returns the embedded manifest.
func LoadManifest() (Manifest, error) {
	b, err := promptFS.ReadFile("prompts/manifest.json")
	if err != nil {
		return nil, err
	}
	m := Manifest{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("prompts/manifest.json: %w", err)
	}
	return m, nil
}

// Phrases are the fixed sentences (greeting, hold, digits, ...) by language
// then name, from prompts/phrases.json: translators edit that file and run
// the generator. Each becomes prompts/<lang>_<name>.wav.
type Phrases map[string]map[string]string

// LoadPhrases returns the embedded phrases.
func LoadPhrases() (Phrases, error) {
	b, err := promptFS.ReadFile("prompts/phrases.json")
	if err != nil {
		return nil, err
	}
	p := Phrases{}
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("prompts/phrases.json: %w", err)
	}
	return p, nil
}

// Files lists every phrase as its file name under sip/prompts with its text.
func (p Phrases) Files() map[string]PromptText {
	out := map[string]PromptText{}
	for lang, m := range p {
		for name, text := range m {
			if strings.HasPrefix(name, "_") { // "_note": for translators
				continue
			}
			out[lang+"_"+name+".wav"] = PromptText{Lang: lang, Text: text}
		}
	}
	return out
}

// Voiced reports whether lang has its own recorded phrases (espeak-ng has
// a voice for it); callers in other languages hear English.
func (ps promptSet) Voiced(lang string) bool {
	_, ok := ps[lang+"_hold"]
	return ok
}

// compose returns one clip saying texts in order (missing texts are
// skipped and reported in missing). Clips are cached per text sequence:
// menus are few and fixed by the configuration.
func (s *Service) compose(texts []PromptText) (cl *clip, missing []PromptText) {
	if len(texts) == 0 {
		return nil, nil
	}
	keys := make([]string, len(texts))
	for i, t := range texts {
		keys[i] = t.Key()
	}
	name := strings.Join(keys, "+")
	if v, ok := s.composed.Load(name); ok {
		return v.(*clip), nil
	}
	c := &clip{name: name}
	for i, k := range keys {
		part, ok := s.prompts["lines/"+k]
		if !ok {
			missing = append(missing, texts[i])
			continue
		}
		c.ulaw = append(c.ulaw, part.ulaw...)
		c.alaw = append(c.alaw, part.alaw...)
	}
	if len(missing) > 0 {
		return c, missing // not cached: the log keeps saying what is missing
	}
	v, _ := s.composed.LoadOrStore(name, c)
	return v.(*clip), nil
}

// lineClip is compose with the missing texts logged.
func (c *call) lineClip(texts []PromptText) *clip {
	cl, missing := c.s.compose(texts)
	for _, m := range missing {
		c.log.Warn("prompt not generated; run onecall prompts", "lang", m.Lang, "text", m.Text)
	}
	if cl == nil || (len(cl.ulaw) == 0 && len(missing) > 0) {
		return nil
	}
	return cl
}

// maxPlayed bounds the prompts a call record lists.
const maxPlayed = 32

// played notes cl in the call record (the "call ended" log line lists them,
// so a test or an operator sees which prompt files a caller heard).
func (c *call) played(cl *clip) {
	if cl == nil || len(c.rec.Prompts) >= maxPlayed {
		return
	}
	c.rec.Prompts = append(c.rec.Prompts, cl.name)
}
