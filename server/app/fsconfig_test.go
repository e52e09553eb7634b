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
	if sipKeys != "" {
		replace = append([]string{"\nsip:\n", "\nsip:\n" + strings.TrimRight(sipKeys, "\n") + "\n"}, replace...)
	}
	return shippedConfigs(t, "onecall.yaml", replace...)
}

// shippedConfigs copies the shipped configuration to a temporary directory
// with the replacements old -> new applied in order to the file named
// file (each old must be there); it returns the directory.
func shippedConfigs(t *testing.T, file string, replace ...string) string {
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
		if filepath.Base(f) == file {
			for i := 0; i+1 < len(replace); i += 2 {
				if !strings.Contains(s, replace[i]) {
					t.Fatalf("%s lacks %q", file, replace[i])
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
