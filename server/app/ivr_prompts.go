package app

import (
	"fmt"
	"slices"
	"strings"

	"onecall/configs"
	"onecall/sip"
)

// The voice prompts of a line are built from its configuration: the menu
// from its menu labels, the closed-line message from closed.message_* and
// its hours, the referral from referral. PromptTexts lists them all for
// the generator (onecall prompts); a test checks every one is committed.

// menuLangs are the languages a line's menu is read in: Korean, then
// English on a line that serves more than Korean (English first on an
// English line). Labels exist in these two languages only.
func menuLangs(n *configs.Number) []string {
	multi := len(n.Languages) > 1
	for _, m := range n.Menu {
		if m.Language != "" && m.Language != "ko" {
			multi = true
		}
	}
	switch {
	case n.Language != "ko":
		return []string{"en", "ko"}
	case multi:
		return []string{"ko", "en"}
	default:
		return []string{"ko"}
	}
}

// spokenKeys spells a key sequence for TTS: "81" -> "8 1", "*" -> star.
func spokenKeys(digits, lang string) string {
	var parts []string
	for _, r := range digits {
		switch {
		case r == '*' && lang == "ko":
			parts = append(parts, "별표")
		case r == '*':
			parts = append(parts, "star")
		default:
			parts = append(parts, string(r))
		}
	}
	return strings.Join(parts, " ")
}

// menuItemText is one menu choice as said in lang.
func menuItemText(m configs.MenuItem, lang string) sip.PromptText {
	if lang == "ko" {
		return sip.PromptText{Lang: "ko", Text: fmt.Sprintf("%s, %s번.", m.LabelKo, spokenKeys(m.Digit, "ko"))}
	}
	return sip.PromptText{Lang: "en", Text: fmt.Sprintf("For %s, press %s.", m.LabelEn, spokenKeys(m.Digit, "en"))}
}

// menuSay is n's menu prompt.
func menuSay(n *configs.Number) []sip.PromptText {
	if len(n.Menu) == 0 {
		return nil
	}
	var out []sip.PromptText
	for _, lang := range menuLangs(n) {
		for _, m := range n.Menu {
			out = append(out, menuItemText(m, lang))
		}
	}
	return out
}

// closedSay is what n says when it is closed, in Korean and English: its
// own closed message, then its hours.
func closedSay(n *configs.Number) map[string][]sip.PromptText {
	if n.Hours.Always {
		return nil
	}
	return map[string][]sip.PromptText{
		"ko": {{Lang: "ko", Text: n.Closed.MessageKo}, {Lang: "ko", Text: hoursText(&n.Hours, "ko")}},
		"en": {{Lang: "en", Text: n.Closed.MessageEn}, {Lang: "en", Text: hoursText(&n.Hours, "en")}},
	}
}

// referralSay tells a caller of a line onecall does not answer which
// number to dial, in Korean then English.
func referralSay(n *configs.Number) []sip.PromptText {
	if n.Referral == "" {
		return nil
	}
	digits := configs.NormalizeNumber(n.Referral)
	return []sip.PromptText{
		{Lang: "ko", Text: fmt.Sprintf("이 번호는 정부 통합 콜센터에서 받지 않습니다. %s번으로 전화해 주십시오.", spokenKeys(digits, "ko"))},
		{Lang: "en", Text: fmt.Sprintf("This number is not answered by the government call center. Please dial %s.", spokenKeys(digits, "en"))},
	}
}

// consentSay is the recording announcement of a recorded line, in Korean
// and English (English first on a line whose language is not Korean), so
// every caller is told before an agent hears them.
func consentSay(n *configs.Number) []sip.PromptText {
	if !n.Recorded() {
		return nil
	}
	ko := sip.PromptText{Lang: "ko", Text: n.Recording.ConsentKo}
	en := sip.PromptText{Lang: "en", Text: n.Recording.ConsentEn}
	if n.Language != "ko" {
		return []sip.PromptText{en, ko}
	}
	return []sip.PromptText{ko, en}
}

// clockText is a time of day for TTS: ko "9시 30분", en "9:30 AM".
func clockText(min int, lang string) string {
	h, m := min/60, min%60
	if lang == "ko" {
		if m == 0 {
			return fmt.Sprintf("%d시", h)
		}
		return fmt.Sprintf("%d시 %d분", h, m)
	}
	switch {
	case h == 12 && m == 0:
		return "noon"
	case (h == 0 || h == 24) && m == 0:
		return "midnight"
	}
	suffix := "AM"
	if h >= 12 && h < 24 {
		suffix = "PM"
	}
	h12 := h % 12
	if h12 == 0 {
		h12 = 12
	}
	if m == 0 {
		return fmt.Sprintf("%d %s", h12, suffix)
	}
	return fmt.Sprintf("%d:%02d %s", h12, m, suffix)
}

func spansText(ss []configs.Span, lang string) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		if lang == "ko" {
			parts[i] = clockText(s.From, lang) + "부터 " + clockText(s.To, lang) + "까지"
		} else {
			parts[i] = "from " + clockText(s.From, lang) + " to " + clockText(s.To, lang)
		}
	}
	return strings.Join(parts, ", ")
}

// hoursText says a weekly schedule with its public-holiday rule.
func hoursText(h *configs.Hours, lang string) string {
	type day struct {
		ko, en string
		spans  []configs.Span
	}
	sat, sun := h.Weekends, h.Weekends
	if h.Saturday != nil {
		sat = h.Saturday
	}
	if h.Sunday != nil {
		sun = h.Sunday
	}
	days := []day{{"평일", "weekdays", h.Weekdays}}
	if slices.Equal(sat, sun) {
		days = append(days, day{"주말", "weekends", sat})
	} else {
		days = append(days, day{"토요일", "Saturdays", sat}, day{"일요일", "Sundays", sun})
	}
	var open []string
	for _, d := range days {
		if len(d.spans) == 0 {
			continue
		}
		if lang == "ko" {
			open = append(open, d.ko+" "+spansText(d.spans, lang))
		} else {
			open = append(open, d.en+" "+spansText(d.spans, lang))
		}
	}
	if lang == "ko" {
		s := "상담 시간은 " + strings.Join(open, ", ") + "입니다."
		if len(h.Holidays) == 0 {
			return s + " 공휴일에는 쉽니다."
		}
		return s + " 공휴일에는 " + spansText(h.Holidays, lang) + " 상담합니다."
	}
	s := "We are open " + strings.Join(open, "; ") + "."
	if len(h.Holidays) == 0 {
		return s + " We are closed on public holidays."
	}
	return s + " On public holidays we are open " + spansText(h.Holidays, lang) + "."
}

// PromptTexts lists every configured text the voice front end says, each
// once, in a stable order: what `onecall prompts` renders.
func PromptTexts(cfg *configs.Bundle) []sip.PromptText {
	seen := map[sip.PromptText]bool{}
	var out []sip.PromptText
	add := func(ts []sip.PromptText) {
		for _, t := range ts {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	for i := range cfg.Hotlines.Numbers {
		n := &cfg.Hotlines.Numbers[i]
		add(menuSay(n))
		add(referralSay(n))
		add(consentSay(n))
		c := closedSay(n)
		add(c["ko"])
		add(c["en"])
	}
	return out
}

// choiceVoice is the language of the prompts after choice m on n: its
// language, else its queue's only language, else English on a line that
// serves more than Korean ("Other languages (interpreted)"), else the
// line's.
func choiceVoice(cfg *configs.Bundle, n *configs.Number, m configs.MenuItem) string {
	if m.Language != "" {
		return m.Language
	}
	q := m.Queue
	if q == "" {
		q = n.Queue
	}
	skills, _ := cfg.SkillsFor(q, "")
	lang := ""
	for _, s := range skills {
		if cfg.Skills.IsLanguage(s.Skill) {
			if lang != "" {
				lang = "" // several: not one language
				break
			}
			lang = s.Skill
		}
	}
	if lang != "" {
		return lang
	}
	if len(menuLangs(n)) > 1 {
		return "en"
	}
	return n.Language
}

// checkPrompts says at start-up which line languages have no voice (their
// callers hear English) and which configured texts have no prompt (the
// prompts were not regenerated after a configuration change).
func (a *App) checkPrompts(cfg *configs.Bundle) {
	for i := range cfg.Hotlines.Numbers {
		n := &cfg.Hotlines.Numbers[i]
		if n.Referral != "" {
			continue
		}
		langs := slices.Clone(n.Languages)
		for _, m := range n.Menu {
			if m.Language != "" {
				langs = append(langs, m.Language)
			}
		}
		slices.Sort(langs)
		var mute []string
		for _, l := range slices.Compact(langs) {
			if !a.sip.Voiced(l) {
				mute = append(mute, l)
			}
		}
		if len(mute) > 0 {
			a.log.Warn("no voice prompts for these languages of a line: its callers in them hear English",
				"number", n.Number, "languages", mute)
		}
	}
	if miss := a.sip.MissingPrompts(PromptTexts(cfg)); len(miss) > 0 {
		a.log.Warn("configured texts without a generated prompt: run onecall prompts", "count", len(miss),
			"first", miss[0].Text)
	}
}
