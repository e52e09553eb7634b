package sip

import (
	"context"
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

// waitKey waits up to d for a key.
func (c *call) waitKey(ctx context.Context, d time.Duration) (rune, bool) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case k := <-c.leg.DTMF():
		return k, true
	case <-t.C:
	case <-ctx.Done():
	}
	return 0, false
}

// ivr plays the greeting and the menu and returns the choice; no (valid)
// input within the retries means the hotline's default queue (zero choice).
func (c *call) ivr(ctx context.Context) MenuChoice {
	drainDTMF(c.leg)
	key, got := c.playBarge(ctx, c.s.prompts.get("ko", "greeting"))
	if c.menu.Skip || len(c.menu.Choices) == 0 {
		return MenuChoice{}
	}
	timeout := c.menu.Timeout
	if timeout <= 0 {
		timeout = 4 * time.Second
	}
	retries := c.menu.Retries
	if retries < 0 {
		retries = 0
	} else if retries == 0 {
		retries = 1
	}
	for attempt := 0; attempt <= retries && ctx.Err() == nil; attempt++ {
		if !got {
			key, got = c.playBarge(ctx, c.s.prompts.get("ko", "menu"))
		}
		if !got {
			key, got = c.waitKey(ctx, timeout)
		}
		if !got {
			continue // no input: say the menu again
		}
		if ch, ok := c.menu.Choices[string(key)]; ok {
			c.log.Debug("ivr choice", "key", string(key), "label", ch.Label)
			return ch
		}
		got = false
		if k, ok := c.playBarge(ctx, c.s.prompts.get("ko", "invalid")); ok {
			key, got = k, true // a key over the invalid prompt is the next try
		}
	}
	return MenuChoice{}
}
