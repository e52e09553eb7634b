package router

import "testing"

func TestTransferTarget(t *testing.T) {
	for _, c := range []struct {
		t       TransferTarget
		s       string
		targets int
	}{
		{TransferTarget{}, "", 0},
		{TransferTarget{Queue: "gen-110"}, "queue:gen-110", 1},
		{TransferTarget{Agent: "agent01"}, "agent:agent01", 1},
		{TransferTarget{Number: "1345"}, "number:1345", 1},
		{TransferTarget{Queue: "gen-110", Number: "1345"}, "queue:gen-110", 2},
	} {
		if got := c.t.String(); got != c.s {
			t.Errorf("%+v: String %q, want %q", c.t, got, c.s)
		}
		if got := c.t.Targets(); got != c.targets {
			t.Errorf("%+v: Targets %d, want %d", c.t, got, c.targets)
		}
	}
}
