package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"onecall/internal/testpeers"
)

func TestCheckConfigShipped(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"check-config", "../../configs"}, &out, &errOut); code != 0 {
		t.Fatalf("check-config exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "ok (") {
		t.Fatalf("unexpected output %q", out.String())
	}
}

func TestCheckConfigReportsProblems(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "onecall.yaml")
	if err := os.WriteFile(path, []byte("listen:\n  htp: \":8080\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"check-config", path}, &out, &errOut); code == 0 {
		t.Fatalf("check-config accepted an unknown key: %s", out.String())
	}
	if !strings.Contains(errOut.String(), "onecall.yaml:2") || !strings.Contains(errOut.String(), "htp") {
		t.Fatalf("problem does not name file, line and key: %q", errOut.String())
	}
}

func TestUnknownCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"frobnicate"}, &out, &errOut); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
}

// serve starts on port 0, answers /healthz, and exits 0 when its context
// ends (as on SIGTERM).
func TestServeOnPortZeroAnswersHealthz(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pr, pw := io.Pipe()
	var errOut testpeers.Buffer // the server writes it while the test reads
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--config", "../../configs", "--data-dir", t.TempDir(),
			"--http", "127.0.0.1:0", "--sip", "127.0.0.1:0", "--demo", "--drain", "1s"}, pw, &errOut)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	re := regexp.MustCompile(`http://(127\.0\.0\.1:\d+)`)
	var addr string
	deadline := time.AfterFunc(60*time.Second, func() { pw.CloseWithError(io.ErrUnexpectedEOF) })
	defer deadline.Stop()
	for lines.Scan() {
		if m := re.FindStringSubmatch(lines.Text()); m != nil {
			addr = m[1]
			break
		}
	}
	if addr == "" {
		t.Fatalf("serve did not report its address; stderr: %s", errOut.String())
	}
	go io.Copy(io.Discard, pr)
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz = %d", resp.StatusCode)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exit %d; stderr: %s", code, errOut.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not stop after its context ended")
	}
}

func TestParseSurge(t *testing.T) {
	sg, err := parseSurge("1350:20:10-12")
	if err != nil || sg.Number != "1350" || sg.Factor != 20 || sg.From != 10 || sg.To != 12 {
		t.Fatalf("parseSurge = %+v, %v", sg, err)
	}
	for _, bad := range []string{"1350", "1350:x:10-12", "1350:0.5:10-12", "1350:20:12-10", "1350:20:10"} {
		if _, err := parseSurge(bad); err == nil {
			t.Errorf("parseSurge(%q) accepted", bad)
		}
	}
}
