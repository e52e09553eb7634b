package servetest

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"go.yaml.in/yaml/v3"
)

// RosterWith writes a copy of the repository's demo roster in which each
// of users also holds skills (at the given proficiency, raising what it
// had) and returns its path, for NodeOptions.Roster: e.g. the phones of a
// load test all able to take the line the load calls.
func RosterWith(t testing.TB, users []string, skills map[string]int) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(RepoConfigs(t), "demo-roster.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Users []map[string]any `yaml:"users"`
	}
	if err := yaml.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, u := range r.Users {
		if name, _ := u["username"].(string); !slices.Contains(users, name) {
			continue
		}
		found++
		have, _ := u["skills"].(map[string]any)
		if have == nil {
			have = map[string]any{}
			u["skills"] = have
		}
		for id, level := range skills {
			if old, _ := have[id].(int); old < level {
				have[id] = level
			}
		}
	}
	if found != len(users) {
		t.Fatalf("roster: %d of the users %v are in the demo roster", found, users)
	}
	out, err := yaml.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "roster.yaml")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
