package sip

import (
	"context"
	"strings"
	"time"
)

// drainDTMF forgets keys pressed before a prompt that does not want them.
func drainDTMF(l Leg) {
	for {
		select {
		case <-l.DTMF():
		default:
			return
		}
	}
}

// playBarge plays cl and stops at the first key, which it returns.
func (c *call) playBarge(ctx context.Context, cl *clip) (rune, bool) {
	c.played(cl)
	pctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.leg.Play(pctx, cl)
	}()
	defer func() { cancel(); <-done }()
	select {
	case k := <-c.leg.DTMF():
		return k, true
	case <-done:
		return 0, false
	case <-ctx.Done():
		return 0, false
	}
}

// Default menu timers.
const (
	defaultMenuTimeout = 4 * time.Second
	defaultInterDigit  = 2 * time.Second
)

// longer reports whether digits is a proper prefix of some choice.
func (m *Menu) longer(digits string) bool {
	for k := range m.Choices {
		if len(k) > len(digits) && strings.HasPrefix(k, digits) {
			return true
		}
	}
	return false
}

// collectDigits reads one menu entry from keys. first is a key already
// pressed (over a prompt) when hasFirst. Entry ends when the digits form a
// sequence no choice extends, on '#', after inter without a key, or when
// timeout (counted from the start of the call to collectDigits) ends. It
// returns the digits typed (without '#'; "#" itself when the menu has a
// "#" choice and '#' came first) and whether any key came at all. A
// single-digit menu ends on its first key, as before multi-digit menus.
func collectDigits(ctx context.Context, keys <-chan rune, m *Menu, first rune, hasFirst bool,
	timeout, inter time.Duration) (digits string, pressed bool) {
	overall := time.NewTimer(timeout)
	defer overall.Stop()
	var gap *time.Timer
	defer func() {
		if gap != nil {
			gap.Stop()
		}
	}()
	key, got := first, hasFirst
	for {
		if !got {
			var gapC <-chan time.Time
			if gap != nil {
				gapC = gap.C
			}
			select {
			case key = <-keys:
			case <-gapC:
				return digits, true
			case <-overall.C:
				return digits, pressed
			case <-ctx.Done():
				return digits, pressed
			}
		}
		got, pressed = false, true
		if key == '#' {
			if _, ok := m.Choices["#"]; ok && digits == "" {
				return "#", true
			}
			return digits, true
		}
		digits += string(key)
		if !m.longer(digits) {
			return digits, true
		}
		if gap == nil {
			gap = time.NewTimer(inter)
		} else {
			gap.Reset(inter)
		}
	}
}

// ivr plays the greeting and the menu and returns the choice; no (valid)
// input within the retries means the hotline's default queue (zero choice).
func (c *call) ivr(ctx context.Context) MenuChoice {
	drainDTMF(c.leg)
	lang := c.menuLang()
	key, got := c.playBarge(ctx, c.s.prompts.get(lang, "greeting"))
	if c.menu.Skip || len(c.menu.Choices) == 0 {
		return MenuChoice{}
	}
	timeout := c.menu.Timeout
	if timeout <= 0 {
		timeout = defaultMenuTimeout
	}
	inter := c.menu.InterDigit
	if inter <= 0 {
		inter = defaultInterDigit
	}
	retries := c.menu.Retries
	if retries < 0 {
		retries = 0
	} else if retries == 0 {
		retries = 1
	}
	menu := c.s.prompts.get(lang, "menu") // tests' stand-in; shipped lines have Say
	if len(c.menu.Say) > 0 {
		menu = c.lineClip(c.menu.Say)
	}
	for attempt := 0; attempt <= retries && ctx.Err() == nil; attempt++ {
		if !got {
			key, got = c.playBarge(ctx, menu)
		}
		digits, pressed := collectDigits(ctx, c.leg.DTMF(), &c.menu, key, got, timeout, inter)
		if !pressed {
			got = false
			continue // no input: say the menu again
		}
		if ch, ok := c.menu.Choices[digits]; ok && digits != "" {
			c.log.Debug("ivr choice", "digits", digits, "label", ch.Label)
			return ch
		}
		c.log.Debug("ivr invalid input", "digits", digits)
		got = false
		if k, ok := c.playBarge(ctx, c.s.prompts.get(lang, "invalid")); ok {
			key, got = k, true // a key over the invalid prompt is the next try
		}
	}
	return MenuChoice{}
}

// menuLang is the line's language ("ko" unless configured).
func (c *call) menuLang() string {
	if c.menu.Lang != "" {
		return c.menu.Lang
	}
	return "ko"
}
