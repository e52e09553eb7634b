package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func startApp(t *testing.T, dataDir string) *App {
	t.Helper()
	return startAppIn(t, "../../configs", dataDir)
}

// startAppIn starts the App on the configuration in configPath, its log
// discarded; Shutdown runs at cleanup.
func startAppIn(t *testing.T, configPath, dataDir string) *App {
	t.Helper()
	a, err := New(t.Context(), Options{
		ConfigPath:   configPath,
		DataDir:      dataDir,
		HTTPAddr:     "127.0.0.1:0",
		SIPAddr:      "127.0.0.1:0",
		Demo:         true,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		DrainTimeout: time.Second,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := a.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := a.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return a
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Two servers start in one process on port 0 and answer health, readiness
// and metrics; each creates its own data directory and database.
func TestServeTwiceOnPortZero(t *testing.T) {
	dirs := []string{filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")}
	for _, dir := range dirs {
		a := startApp(t, dir)
		base := "http://" + a.HTTPAddr()
		if code, body := get(t, base+"/healthz"); code != 200 || strings.TrimSpace(body) != "ok" {
			t.Fatalf("/healthz = %d %q", code, body)
		}
		if code, body := get(t, base+"/readyz"); code != 200 {
			t.Fatalf("/readyz = %d %q", code, body)
		}
		code, body := get(t, base+"/metrics")
		if code != 200 || !strings.Contains(body, "onecall_store_healthy 1") || !strings.Contains(body, "onecall_router_inbox_depth") ||
			!strings.Contains(body, "onecall_sip_active_calls 0") || !strings.Contains(body, `onecall_sip_rtp_packets_total{direction="rx",leg="citizen"} 0`) ||
			!strings.Contains(body, "onecall_sip_media_clock_missed_total ") {
			t.Fatalf("/metrics = %d, missing onecall metrics:\n%.500s", code, body)
		}
		if _, err := os.Stat(filepath.Join(dir, "onecall.db")); err != nil {
			t.Fatalf("database not created: %v", err)
		}
		udp, tcp := a.SIPAddrs()
		if strings.HasSuffix(udp, ":0") || strings.HasSuffix(tcp, ":0") || udp == "" {
			t.Fatalf("sip not bound: udp %q tcp %q", udp, tcp)
		}
	}
}

// A broken configuration never starts a half-configured server: New fails
// and names the file, line and key.
func TestBrokenConfigDoesNotStart(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadDir("../../configs")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range src {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		b, err := os.ReadFile(filepath.Join("../../configs", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == "onecall.yaml" {
			b = append(b, []byte("\nbogus_key: 1\n")...)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	_, err = New(t.Context(), Options{ConfigPath: dir, DataDir: filepath.Join(dir, "data"), HTTPAddr: "127.0.0.1:0", SIPAddr: "127.0.0.1:0"})
	if err == nil {
		t.Fatal("New accepted a config with an unknown key")
	}
	msg := err.Error()
	if !strings.Contains(msg, "onecall.yaml") || !strings.Contains(msg, "bogus_key") {
		t.Fatalf("error does not name file and key: %v", err)
	}
	if _, statErr := os.Stat(filepath.Join(dir, "data", "onecall.db")); statErr == nil {
		t.Fatal("a database was created for a broken config")
	}
}
