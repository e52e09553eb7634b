package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKamailioConfigWritesBothFiles(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"kamailio-config", "--listen", "192.0.2.10:5060", "--node", "10.0.0.11:5060,10.0.0.12:5060",
		"--trunk", "198.51.100.0/24", "--out", dir}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	cfg, err := os.ReadFile(filepath.Join(dir, "kamailio.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	list, err := os.ReadFile(filepath.Join(dir, "dispatcher.list"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"listen=udp:192.0.2.10:5060", `"198.51.100.0/24"`, filepath.Join(dir, "dispatcher.list")} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("kamailio.cfg lacks %q", want)
		}
	}
	if !strings.Contains(string(list), "1 sip:10.0.0.12:5060 0 0") {
		t.Errorf("dispatcher.list = %q", list)
	}
	if code := run(t.Context(), []string{"kamailio-config", "--node", "10.0.0.11:5060", "--trunk", "198.51.100.0/24",
		"--out", dir}, &out, &errOut); code == 0 {
		t.Error("no --listen: exit 0")
	}
}
