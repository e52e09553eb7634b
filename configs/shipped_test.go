package configs

import (
	"encoding/csv"
	"os"
	"testing"
)

func loadShipped(t testing.TB) *Bundle {
	t.Helper()
	b, err := Load(".")
	if err != nil {
		t.Fatalf("shipped configs/ does not load:\n%v", err)
	}
	return b
}

func readCSV(t *testing.T) []map[string]string {
	t.Helper()
	f, err := os.Open("testdata/hotlines.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		rows = append(rows, m)
	}
	return rows
}

// TestShippedMatchesCSV: every current CSV number is a number (keeping its
// status, sources and agency), every historical one is an alias that
// resolves, and the file holds nothing the CSV does not (except derived).
func TestShippedMatchesCSV(t *testing.T) {
	b := loadShipped(t)
	rows := readCSV(t)
	if len(rows) < 100 {
		t.Fatalf("only %d CSV rows", len(rows))
	}
	byNumber := map[string]*Number{}
	for i := range b.Hotlines.Numbers {
		byNumber[b.Hotlines.Numbers[i].Number] = &b.Hotlines.Numbers[i]
	}
	aliases := map[string]*Alias{}
	for i := range b.Hotlines.Aliases {
		aliases[b.Hotlines.Aliases[i].Number] = &b.Hotlines.Aliases[i]
	}
	csvNumbers := map[string]bool{}
	for _, r := range rows {
		num, status := r["number"], r["status"]
		csvNumbers[num] = true
		switch status {
		case "historical":
			a := aliases[num]
			if a == nil {
				t.Errorf("historical %s is not an alias", num)
				continue
			}
			if a.Status != "historical" || a.AgencyKo != r["agency_ko"] || len(a.Sources) == 0 {
				t.Errorf("alias %s lost CSV data: %+v", num, a)
			}
			n, ok := b.ResolveNumber(num)
			if !ok || n.Number != a.Target {
				t.Errorf("ResolveNumber(%s) = %v, %v; want successor %s", num, n, ok, a.Target)
			}
		default:
			n := byNumber[num]
			if n == nil {
				t.Errorf("%s number %s missing", status, num)
				continue
			}
			if n.Status != status || n.AgencyKo != r["agency_ko"] || n.AgencyEn != r["agency_en"] || len(n.Sources) == 0 {
				t.Errorf("number %s lost CSV data: status %q agency %q sources %v", num, n.Status, n.AgencyKo, n.Sources)
			}
			if n.Notes != r["notes"] {
				t.Errorf("number %s notes %q, CSV %q", num, n.Notes, r["notes"])
			}
		}
	}
	for _, n := range b.Hotlines.Numbers {
		if !csvNumbers[n.Number] && n.Status != "derived" {
			t.Errorf("number %s is not in the CSV and not marked derived", n.Number)
		}
	}
	for _, a := range b.Hotlines.Aliases {
		if !csvNumbers[a.Number] {
			t.Errorf("alias %s is not in the CSV", a.Number)
		}
	}
}

// TestShippedRosterCoverage: every queue has at least two roster agents,
// agent01/agent02 take every Korean queue, the demo users exist.
func TestShippedRosterCoverage(t *testing.T) {
	b := loadShipped(t)
	if b.Roster == nil {
		t.Fatal("no demo roster")
	}
	agents := 0
	for _, u := range b.Roster.Users {
		if u.Role == "agent" {
			agents++
			if u.Password != "demo" || *u.Voice != 1 || *u.Chat != 3 || u.Alias == "" {
				t.Errorf("agent %s: password %q voice %d chat %d alias %q", u.Username, u.Password, *u.Voice, *u.Chat, u.Alias)
			}
		}
	}
	if agents != 60 {
		t.Errorf("%d agents, want 60 (50 and 10 interpreters)", agents)
	}
	for _, name := range []string{"agent01", "agent50", "super01", "super02", "admin"} {
		if u, ok := b.Roster.Agent(name); !ok || u.Password != "demo" {
			t.Errorf("user %s missing or password not demo", name)
		}
	}
	if u, _ := b.Roster.Agent("super01"); u.Role != "supervisor" {
		t.Errorf("super01 role %q", u.Role)
	}
	if u, _ := b.Roster.Agent("admin"); u.Role != "admin" {
		t.Errorf("admin role %q", u.Role)
	}
	a1, _ := b.Roster.Agent("agent01")
	a2, _ := b.Roster.Agent("agent02")
	for i := range b.Queues {
		q := &b.Queues[i]
		if n := b.Roster.servers(b, q, ""); n < 2 {
			t.Errorf("queue %s: %d agents, want >= 2", q.ID, n)
		}
		if _, korean := q.Skills["ko"]; korean {
			if !a1.canServe(b, q, "") || !a2.canServe(b, q, "") {
				t.Errorf("agent01/agent02 cannot take Korean queue %s", q.ID)
			}
		}
	}
}

// TestShippedShape checks the promised content of the shipped files.
func TestShippedShape(t *testing.T) {
	b := loadShipped(t)
	if n := len(b.Queues); n < 24 || n > 80 {
		t.Errorf("%d queues; want a few dozen", n)
	}
	langs := 0
	n1345, ok := b.ResolveNumber("1345")
	if !ok {
		t.Fatal("1345 missing")
	}
	for _, l := range n1345.Languages {
		if b.Skills.IsLanguage(l) {
			langs++
		}
	}
	if langs != 20 {
		t.Errorf("1345 offers %d known languages, want 20", langs)
	}
	years := map[string]int{}
	for _, h := range b.Hotlines.Holidays {
		years[h.Date[:4]]++
	}
	if years["2026"] < 15 || years["2027"] < 15 {
		t.Errorf("holidays per year: %v", years)
	}
	if b.Server.Listen.HTTP != ":8080" || b.Server.Listen.SIPUDP != ":5060" || b.Server.Listen.SIPTCP != ":5060" {
		t.Errorf("listen: %+v", b.Server.Listen)
	}
	cfg, err := b.RouterConfig()
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Agents) != 60 || len(cfg.Queues) != len(b.Queues) {
		t.Errorf("router config: %d agents, %d queues", len(cfg.Agents), len(cfg.Queues))
	}
	t.Logf("shipped: %d numbers, %d aliases, %d centers, %d institutions, %d queues, %d holidays, %d router hotlines",
		len(b.Hotlines.Numbers), len(b.Hotlines.Aliases), len(b.Hotlines.Centers), len(b.Hotlines.Institutions),
		len(b.Queues), len(b.Hotlines.Holidays), len(cfg.Hotlines))
}
