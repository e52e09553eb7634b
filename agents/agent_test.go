package agents

import (
	"testing"
	"time"
)

func TestCapacityCrossChannel(t *testing.T) {
	c := Capacity{Voice: 1, Chat: 3}
	tests := []struct {
		load Load
		ch   Channel
		want bool
	}{
		{Load{}, Voice, true},
		{Load{}, Chat, true},
		{Load{Voice: 1}, Voice, false},
		{Load{Voice: 1}, Chat, false}, // a call blocks chats
		{Load{Chat: 1}, Voice, false}, // an open chat blocks calls
		{Load{Chat: 2}, Chat, true},
		{Load{Chat: 3}, Chat, false},
	}
	for _, tt := range tests {
		if got := c.CanTake(tt.load, tt.ch); got != tt.want {
			t.Errorf("CanTake(%+v,%v)=%v want %v", tt.load, tt.ch, got, tt.want)
		}
	}
	if (Capacity{Chat: 3}).CanTake(Load{}, Voice) {
		t.Error("voice capacity 0 took a call")
	}
}

func TestSkillsMeetsAndScore(t *testing.T) {
	s := Skills{"labor": 4, "ko": 5}
	tests := []struct {
		reqs []Req
		want bool
	}{
		{nil, true},
		{[]Req{{"labor", 4}}, true},
		{[]Req{{"labor", 5}}, false},
		{[]Req{{"labor", 1}, {"ko", 5}}, true},
		{[]Req{{"en", 1}}, false},
		{[]Req{{"en", 0}}, false}, // a skill the agent lacks is never met
	}
	for _, tt := range tests {
		if got := s.Meets(tt.reqs); got != tt.want {
			t.Errorf("Meets(%v)=%v want %v", tt.reqs, got, tt.want)
		}
	}
	if got := s.Score([]Req{{"labor", 1}, {"ko", 1}}); got != 9 {
		t.Errorf("Score=%d want 9", got)
	}
}

func TestDeriveAndNext(t *testing.T) {
	a := &Agent{Cap: Capacity{Voice: 1, Chat: 3}}
	if a.Derive() != Offline {
		t.Fatalf("new agent %v", a.Derive())
	}
	a.LoggedIn, a.Base = true, Ready
	if a.Derive() != Ready || !a.Available(Voice, false) {
		t.Fatal("ready agent not available")
	}
	a.Offers.Chat = 1
	if a.Derive() != Reserved || a.Available(Voice, true) || a.Available(Chat, false) || !a.Available(Chat, true) {
		t.Fatal("reserved agent availability wrong")
	}
	a.Offers.Chat, a.Active.Chat = 0, 1
	a.HasNext, a.Next, a.NextReason = true, NotReady, "lunch"
	if a.ApplyNext() {
		t.Fatal("next applied while busy")
	}
	a.Active.Chat = 0
	a.InWrap = true
	if a.Derive() != WrapUp || a.Available(Chat, true) {
		t.Fatal("wrap-up agent available")
	}
	a.InWrap = false
	if !a.ApplyNext() || a.Derive() != NotReady || a.Reason != "lunch" {
		t.Fatalf("next not applied: %v %q", a.Derive(), a.Reason)
	}
	a.Handled, a.HandleTime = 2, 3*time.Minute
	if a.AHT() != 90*time.Second {
		t.Fatalf("AHT %v", a.AHT())
	}
}
