package testpeers

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// SaveDocScreenshot writes png as name into the repository's
// docs/screenshots folder: pictures the docs and the README show, kept in
// git and refreshed by the tests that take them.
func SaveDocScreenshot(t testing.TB, name string, png []byte) {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("screenshot folder: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatalf("save screenshot %s: %v", name, err)
	}
}
