package configs

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite testdata/*/*.golden")

// golden compares got with the .golden file next to path.
func golden(t *testing.T, path, got string) {
	t.Helper()
	g := strings.TrimSuffix(path, ".yaml") + ".golden"
	if *update {
		if err := os.WriteFile(g, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(g)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if string(want) != got {
		t.Errorf("%s: output differs from %s\n--- got\n%s\n--- want\n%s", path, g, got, want)
	}
}

func cases(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases in testdata/%s: %v", dir, err)
	}
	return files
}

// TestGoldenValid loads each valid case and compares the decoded bundle
// (defaults applied) with its golden dump.
func TestGoldenValid(t *testing.T) {
	for _, path := range cases(t, "valid") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			b, err := Load(path)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			dump := struct {
				Server  Server
				Queues  []Queue
				Numbers []Number
				Roster  *Roster
				DataDir string
			}{b.Server, b.Queues, b.Hotlines.Numbers, b.Roster, b.DataDir()}
			out, err := yaml.Marshal(dump)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, path, string(out))
		})
	}
}

// TestGoldenInvalid checks that each invalid case fails with exactly the
// problems in its golden file (every problem, with file and line).
func TestGoldenInvalid(t *testing.T) {
	for _, path := range cases(t, "invalid") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			b, err := Load(path)
			if err == nil {
				t.Fatalf("Load succeeded: %+v", b.Server.Files)
			}
			var ps *Problems
			if !errors.As(err, &ps) {
				t.Fatalf("error is %T, want *Problems: %v", err, err)
			}
			golden(t, path, err.Error()+"\n")
		})
	}
}
