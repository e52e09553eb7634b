package sip

import (
	"slices"
	"testing"
	"time"

	"onecall/router"
)

// What a waiting caller hears: place and estimate, each unless the queue's
// settings leave it out; with no agent working, that nobody can take the
// call now and the hold prompt, never an estimate.
func TestAnnounceFor(t *testing.T) {
	ps, err := loadPrompts()
	if err != nil {
		t.Fatal(err)
	}
	c := &call{s: &Service{prompts: ps}, voice: "en"}
	names := func(cs []*clip) []string {
		var out []string
		for _, x := range cs {
			out = append(out, x.name)
		}
		return out
	}
	m := router.Announce{Position: 12, EstimatedWait: 3 * time.Minute}
	cases := []struct {
		name string
		mod  func(*router.Announce)
		want []string
	}{
		{"both", func(*router.Announce) {}, []string{"en_position", "en_d1", "en_d2", "en_minutes", "en_d3"}},
		{"no position", func(a *router.Announce) { a.HidePosition = true }, []string{"en_minutes", "en_d3"}},
		{"no wait", func(a *router.Announce) { a.HideWait = true }, []string{"en_position", "en_d1", "en_d2"}},
		{"neither", func(a *router.Announce) { a.HidePosition, a.HideWait = true, true }, nil},
		{"no agent", func(a *router.Announce) { a.NoAgent = true }, []string{"en_noagent", "en_hold"}},
	}
	for _, tc := range cases {
		a := m
		tc.mod(&a)
		if got := names(c.announceFor(a)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
