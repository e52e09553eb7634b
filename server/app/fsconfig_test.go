package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fsConfig copies the shipped configuration to a temporary directory with
// onecall.yaml's "sip:" block extended by sipKeys (YAML lines indented by
// two spaces) and other replacements old -> new applied in order; it
// returns the directory.
func fsConfig(t *testing.T, sipKeys string, replace ...string) string {
	t.Helper()
	dir := t.TempDir()
	files, err := filepath.Glob("../../configs/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("shipped configs: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if filepath.Base(f) == "onecall.yaml" {
			if sipKeys != "" {
				if !strings.Contains(s, "\nsip:\n") {
					t.Fatal("onecall.yaml has no sip: block")
				}
				s = strings.Replace(s, "\nsip:\n", "\nsip:\n"+strings.TrimRight(sipKeys, "\n")+"\n", 1)
			}
			for i := 0; i+1 < len(replace); i += 2 {
				if !strings.Contains(s, replace[i]) {
					t.Fatalf("onecall.yaml lacks %q", replace[i])
				}
				s = strings.Replace(s, replace[i], replace[i+1], 1)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
