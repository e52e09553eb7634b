package main

import (
	"path/filepath"
	"slices"
	"testing"

	"onecall/configs"
)

// TestBenchConfigThreeway: the config -serve -threeway -recorded writes
// from the shipped configs loads and validates, and holds what the run
// needs: the outbound trunk at the agent phones' SIPp, 1345 allowed on
// 110, 1332 recorded and open around the clock, only the console agents
// serving 110 (general), the others serving 1332 (finance), and login and
// HTTP limits that let every console sign in from 127.0.0.1.
func TestBenchConfigThreeway(t *testing.T) {
	dir := t.TempDir()
	x := serveExtra{generalAgents: 3, trunk: "127.0.0.1:5099"}
	if err := writeServeConfig("../../configs", dir, 5, x); err != nil {
		t.Fatal(err)
	}
	b, err := configs.Load(filepath.Join(dir, "onecall.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if tr := b.Server.Outbound.Trunks; len(tr) != 1 || tr[0].Address != x.trunk {
		t.Errorf("outbound trunks %+v", tr)
	}
	if pw, err := b.TrunkPassword(b.Server.Outbound.Trunks[0]); err != nil || pw == "" {
		t.Errorf("trunk password %q %v", pw, err)
	}
	if r := b.Server.Limits.Rate; r.LoginsPerMinute < 1000 || r.HTTPPerSecond < 1000 {
		t.Errorf("rate limits %+v", r)
	}
	n110, ok := b.ResolveNumber("110")
	if !ok || !slices.Contains(n110.TransferNumbers, interpNumber) || n110.CallerIDNumber == "" {
		t.Errorf("110: %+v", n110)
	}
	n1332, ok := b.ResolveNumber("1332")
	if !ok || n1332.Recording == nil || !n1332.Recording.Enabled || !n1332.Hours.Always {
		t.Errorf("1332: %+v", n1332)
	}
	skills := map[string]map[string]int{}
	for _, u := range b.Roster.Users {
		skills[u.Username] = u.Skills
	}
	for i := 1; i <= 5; i++ {
		s := skills[benchAgent(i)]
		general, finance := s["general"] > 0, s["finance"] > 0
		if want := i <= x.generalAgents; general != want || finance == want {
			t.Errorf("%s skills %v", benchAgent(i), s)
		}
	}

	// Without -threeway: every bench agent serves every bench line, and
	// no trunk is configured.
	dir = t.TempDir()
	if err := writeServeConfig("../../configs", dir, 2, serveExtra{}); err != nil {
		t.Fatal(err)
	}
	if b, err = configs.Load(filepath.Join(dir, "onecall.yaml")); err != nil {
		t.Fatal(err)
	}
	if len(b.Server.Outbound.Trunks) != 0 {
		t.Errorf("trunks without -threeway: %+v", b.Server.Outbound.Trunks)
	}
	for _, u := range b.Roster.Users {
		if u.Username == benchAgent(1) && (u.Skills["general"] == 0 || u.Skills["finance"] == 0 || u.Skills["tourism"] == 0) {
			t.Errorf("%s skills %v", u.Username, u.Skills)
		}
	}
}
