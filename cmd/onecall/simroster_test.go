package main

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"onecall/configs"
)

// onecall simulate runs the shipped roster (the configuration's, or a
// roster file) instead of generated agents: the day logs in exactly the
// roster's agents and closes every contact once; a roster that cannot be
// read is an error, not a silently generated staff.
func TestSimulateRunsTheShippedRoster(t *testing.T) {
	r, err := configs.LoadRoster("../../configs/demo-roster.yaml")
	if err != nil {
		t.Fatal(err)
	}
	agents := 0
	for i := range r.Users {
		if r.Users[i].IsAgent() {
			agents++
		}
	}
	for _, roster := range []string{"config", "../../configs/demo-roster.yaml"} {
		var out, errOut bytes.Buffer
		code := run(t.Context(), []string{"simulate", "--config", "../../configs", "--roster", roster, "--contacts", "2000"}, &out, &errOut)
		if code != 0 {
			t.Fatalf("--roster %s: exit %d: %s\n%s", roster, code, errOut.String(), out.String())
		}
		first, _, _ := strings.Cut(out.String(), "\n")
		if want := "agents " + strconv.Itoa(agents); first != want || !strings.Contains(out.String(), "every contact closed exactly once: true") {
			t.Fatalf("--roster %s: first line %q, want %q:\n%s", roster, first, want, out.String())
		}
	}
	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"simulate", "--config", "../../configs", "--agents", "120", "--contacts", "2000"}, &out, &errOut); code != 0 ||
		!strings.HasPrefix(out.String(), "agents 120\n") {
		t.Fatalf("generated agents: exit %d:\n%s", code, out.String())
	}
	out.Reset()
	errOut.Reset()
	if code := run(t.Context(), []string{"simulate", "--config", "../../configs", "--roster", t.TempDir() + "/none.yaml", "--contacts", "2000"}, &out, &errOut); code == 0 ||
		!strings.Contains(errOut.String(), "none.yaml") {
		t.Fatalf("missing roster: exit %d, stderr %q", code, errOut.String())
	}
}
