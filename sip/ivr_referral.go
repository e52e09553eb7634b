package sip

import "context"

// referral answers a line onecall does not answer (112, 119, 122, any
// configured referral): the caller hears which number to dial, then the
// call ends. The contact never enters routing.
func (c *call) referral(ctx context.Context) {
	c.rec.Cause = causeReferral
	c.log.Info("referral", "to", c.menu.Referral)
	c.play(ctx, c.lineClip(c.menu.ReferralSay))
	if ctx.Err() == nil {
		c.hangupCitizen()
	}
}

// closedClip is the closed line's message with its hours in the caller's
// language (English, then the line's language, when it has none), or the
// generic closed message.
func (c *call) closedClip() *clip {
	for _, lang := range [...]string{c.voice, "en", c.menuLang()} {
		if t := c.menu.Closed[lang]; len(t) > 0 {
			if cl := c.lineClip(t); cl != nil {
				return cl
			}
		}
	}
	return c.s.prompts.get(c.voice, "afterhours")
}

// Voiced reports whether callers in lang hear prompts in their language
// (else English).
func (s *Service) Voiced(lang string) bool { return s.prompts.Voiced(lang) }

// MissingPrompts returns the texts among ts that have no generated prompt
// (run onecall prompts).
func (s *Service) MissingPrompts(ts []PromptText) []PromptText {
	var out []PromptText
	for _, t := range ts {
		if _, ok := s.prompts["lines/"+t.Key()]; !ok {
			out = append(out, t)
		}
	}
	return out
}
