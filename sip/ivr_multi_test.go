package sip

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// keyAt is one key of a fake DTMF stream, pressed at an offset from the
// start of the bubble.
type keyAt struct {
	at  time.Duration
	key rune
}

// feedKeys sends keys on a channel at their (fake) times.
func feedKeys(ctx context.Context, keys []keyAt) <-chan rune {
	ch := make(chan rune, len(keys))
	go func() {
		start := time.Now()
		for _, k := range keys {
			select {
			case <-time.After(time.Until(start.Add(k.at))):
			case <-ctx.Done():
				return
			}
			ch <- k.key
		}
	}()
	return ch
}

var multiMenu = Menu{Choices: map[string]MenuChoice{
	"1": {Queue: "ko", Label: "ko"}, "2": {Queue: "en", Label: "en"}, "3": {Queue: "zh", Label: "zh"},
	"12": {Queue: "intl", Language: "fr", Label: "fr"}, "23": {Queue: "intl", Language: "th", Label: "th"},
	"*": {Queue: "agent", Label: "agent"},
}}

var singleMenu = Menu{Choices: map[string]MenuChoice{
	"1": {Label: "ko"}, "2": {Label: "labor"}, "9": {Label: "en"},
}}

func TestCollectDigits(t *testing.T) {
	hashMenu := Menu{Choices: map[string]MenuChoice{"1": {}, "#": {}}}
	cases := []struct {
		name        string
		menu        *Menu
		first       rune // pressed over the prompt (0 = none)
		keys        []keyAt
		timeout     time.Duration
		want        string
		wantPressed bool
		took        time.Duration
	}{
		{"single: key over the prompt", &singleMenu, '2', nil, 4 * time.Second, "2", true, 0},
		{"single: key after 1s", &singleMenu, 0, []keyAt{{time.Second, '9'}}, 4 * time.Second, "9", true, time.Second},
		{"single: invalid key ends at once", &singleMenu, 0, []keyAt{{time.Second, '5'}}, 4 * time.Second, "5", true, time.Second},
		{"single: no input", &singleMenu, 0, nil, 4 * time.Second, "", false, 4 * time.Second},
		{"single: key too late", &singleMenu, 0, []keyAt{{5 * time.Second, '1'}}, 4 * time.Second, "", false, 4 * time.Second},
		{"single: lone #", &singleMenu, '#', nil, 4 * time.Second, "", true, 0},
		{"multi: two digits", &multiMenu, '2', []keyAt{{time.Second, '3'}}, 4 * time.Second, "23", true, time.Second},
		{"multi: two digits after the prompt", &multiMenu, 0, []keyAt{{500 * time.Millisecond, '1'}, {2 * time.Second, '2'}}, 4 * time.Second, "12", true, 2 * time.Second},
		{"multi: prefix then inter-digit timeout", &multiMenu, '2', nil, 4 * time.Second, "2", true, 2 * time.Second},
		{"multi: prefix then #", &multiMenu, 0, []keyAt{{0, '1'}, {500 * time.Millisecond, '#'}}, 4 * time.Second, "1", true, 500 * time.Millisecond},
		{"multi: not a prefix ends at once", &multiMenu, '3', []keyAt{{100 * time.Millisecond, '1'}}, 4 * time.Second, "3", true, 0},
		{"multi: star", &multiMenu, '*', nil, 4 * time.Second, "*", true, 0},
		{"multi: invalid second digit", &multiMenu, '2', []keyAt{{time.Second, '9'}}, 4 * time.Second, "29", true, time.Second},
		{"multi: invalid first digit", &multiMenu, '7', nil, 4 * time.Second, "7", true, 0},
		{"multi: overall timeout cuts the gap", &multiMenu, 0, []keyAt{{2500 * time.Millisecond, '1'}}, 3 * time.Second, "1", true, 3 * time.Second},
		{"multi: gap restarts per digit", &multiMenu, 0, []keyAt{{1900 * time.Millisecond, '1'}, {3800 * time.Millisecond, '2'}}, 4 * time.Second, "12", true, 3800 * time.Millisecond},
		{"multi: no input", &multiMenu, 0, nil, 4 * time.Second, "", false, 4 * time.Second},
		{"hash choice kept", &hashMenu, '#', nil, 4 * time.Second, "#", true, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				keys := feedKeys(ctx, c.keys)
				start := time.Now()
				got, pressed := collectDigits(ctx, keys, c.menu, c.first, c.first != 0, c.timeout, 2*time.Second)
				if got != c.want || pressed != c.wantPressed {
					t.Errorf("got %q %v, want %q %v", got, pressed, c.want, c.wantPressed)
				}
				if took := time.Since(start); took != c.took {
					t.Errorf("took %v, want %v", took, c.took)
				}
			})
		})
	}
}

func TestCollectDigitsContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		start := time.Now()
		got, pressed := collectDigits(ctx, make(chan rune), &multiMenu, '1', true, 4*time.Second, 2*time.Second)
		if got != "1" || !pressed || time.Since(start) != time.Second {
			t.Fatalf("got %q %v after %v", got, pressed, time.Since(start))
		}
	})
}

// fakeLeg plays every prompt for promptLen (or until barge-in) and
// delivers scripted keys; the rest of Leg is not used by the IVR.
type fakeLeg struct {
	Leg
	keys <-chan rune

	mu     sync.Mutex
	played []string
}

const promptLen = 3 * time.Second

func (l *fakeLeg) DTMF() <-chan rune { return l.keys }

func (l *fakeLeg) Play(ctx context.Context, c *clip) error {
	l.mu.Lock()
	l.played = append(l.played, c.name)
	l.mu.Unlock()
	select {
	case <-time.After(promptLen):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *fakeLeg) prompts() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.played...)
}

func TestIVRMultiDigit(t *testing.T) {
	ps := promptSet{}
	for _, n := range []string{"ko_greeting", "ko_menu", "ko_invalid"} {
		ps[n] = &clip{name: n}
	}
	withTimers := func(m Menu, timeout, inter time.Duration, retries int) Menu {
		m.Timeout, m.InterDigit, m.Retries = timeout, inter, retries
		return m
	}
	cases := []struct {
		name    string
		menu    Menu
		keys    []keyAt
		want    string // Label of the choice ("" = default queue)
		prompts []string
		took    time.Duration
	}{
		{"two digits over the greeting", multiMenu, []keyAt{{500 * time.Millisecond, '2'}, {time.Second, '3'}},
			"th", []string{"ko_greeting"}, time.Second},
		{"two digits after the menu", multiMenu, []keyAt{{7 * time.Second, '1'}, {8 * time.Second, '2'}},
			"fr", []string{"ko_greeting", "ko_menu"}, 8 * time.Second},
		{"prefix taken after the inter-digit timeout", multiMenu, []keyAt{{4 * time.Second, '1'}},
			"ko", []string{"ko_greeting", "ko_menu"}, 6 * time.Second},
		{"invalid then retry over the invalid prompt", multiMenu,
			[]keyAt{{time.Second, '2'}, {1500 * time.Millisecond, '9'}, {2500 * time.Millisecond, '1'}, {3 * time.Second, '2'}},
			"fr", []string{"ko_greeting", "ko_invalid"}, 3 * time.Second},
		{"invalid twice: default queue", withTimers(multiMenu, 4*time.Second, 2*time.Second, 1),
			[]keyAt{{time.Second, '9'}, {2 * time.Second, '8'}},
			"", []string{"ko_greeting", "ko_invalid", "ko_invalid"}, 2*time.Second + promptLen},
		{"no input: menu twice then default queue", withTimers(multiMenu, 4*time.Second, 2*time.Second, 1), nil,
			"", []string{"ko_greeting", "ko_menu", "ko_menu"}, promptLen + 2*(promptLen+4*time.Second)},
		{"single-digit menu over the greeting", singleMenu, []keyAt{{time.Second, '9'}},
			"en", []string{"ko_greeting"}, time.Second},
		{"single-digit menu: invalid then valid", singleMenu, []keyAt{{time.Second, '5'}, {5 * time.Second, '2'}},
			"labor", []string{"ko_greeting", "ko_invalid", "ko_menu"}, 5 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				leg := &fakeLeg{keys: feedKeys(ctx, c.keys)}
				cl := &call{s: &Service{prompts: ps}, leg: leg, menu: c.menu, log: slog.New(slog.DiscardHandler)}
				start := time.Now()
				got := cl.ivr(ctx)
				if got.Label != c.want {
					t.Errorf("choice %+v, want label %q", got, c.want)
				}
				if took := time.Since(start); took != c.took {
					t.Errorf("took %v, want %v", took, c.took)
				}
				if p := leg.prompts(); len(p) != len(c.prompts) || func() bool {
					for i := range p {
						if p[i] != c.prompts[i] {
							return true
						}
					}
					return false
				}() {
					t.Errorf("prompts %v, want %v", p, c.prompts)
				}
			})
		})
	}
}
