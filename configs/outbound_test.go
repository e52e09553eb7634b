package configs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestOutboundValidate(t *testing.T) {
	o := DefaultOutbound()
	o.Trunks = []OutboundTrunk{
		{Name: "a", Address: "sip.carrier.example"},                           // port defaulted
		{Name: "a", Address: "x:99999", Transport: "sctp", NumberFormat: "x"}, // four problems
		{Name: "b", Address: "10.0.0.1:5060", Username: "u"},                  // no password file
		{Name: "c", Address: "10.0.0.1:5060", Username: "u", PasswordFile: "missing"},
	}
	o.Callback.Attempts = 0
	o.RingTimeout = Duration(time.Second)
	o.applyDefaults()
	if o.Trunks[0].Address != "sip.carrier.example:5060" || o.Trunks[0].Transport != "udp" || o.Trunks[0].NumberFormat != "national" {
		t.Fatalf("defaults: %+v", o.Trunks[0])
	}
	var got []string
	o.validate(func(path ...any) func(string, ...any) {
		return func(f string, a ...any) { got = append(got, fmt.Sprint(path)+": "+fmt.Sprintf(f, a...)) }
	}, func(string) bool { return false })
	want := []string{"ring_timeout", "attempts", "defined twice", "address must be host:port", "transport must be",
		"number_format must be", "username and password_file go together", "password_file \"missing\" cannot be read"}
	all := strings.Join(got, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("no problem %q in:\n%s", w, all)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d problems, want %d:\n%s", len(got), len(want), all)
	}
}

func TestTrunkPasswordAndCallbackOn(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pw"), []byte("s3cret\nignored\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := &Bundle{Dir: dir}
	pw, err := b.TrunkPassword(OutboundTrunk{Name: "a", PasswordFile: "pw"})
	if err != nil || pw != "s3cret" {
		t.Fatalf("password %q, %v", pw, err)
	}
	off := false
	line, crisis := &Number{Number: "110"}, &Number{Number: "109", Callback: &off}
	if b.CallbackOn(line) {
		t.Fatal("callback offered without a trunk")
	}
	b.Server.Outbound.Trunks = []OutboundTrunk{{Name: "a", Address: "10.0.0.1:5060"}}
	if !b.CallbackOn(line) || b.CallbackOn(crisis) {
		t.Fatalf("with a trunk: line %v, crisis line %v", b.CallbackOn(line), b.CallbackOn(crisis))
	}
	if id := (&Number{Number: "1577-1000"}).CallerID(); id != "15771000" {
		t.Fatalf("caller id %q", id)
	}
	if id := (&Number{Number: "1345", CallerIDNumber: "02-2110-1345"}).CallerID(); id != "0221101345" {
		t.Fatalf("caller id %q", id)
	}
}

// TestShippedCrisisLinesOfferNoCallback: the shipped hotlines turn
// callbacks off on the crisis lines, and with no trunk shipped no line
// offers one at all.
func TestShippedCrisisLinesOfferNoCallback(t *testing.T) {
	b, err := Load("onecall.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if b.Server.Outbound.Enabled() {
		t.Fatal("the shipped config has an outbound trunk; callbacks would be promised")
	}
	for _, num := range []string{"109", "1577-0199", "1366", "1388", "1303"} {
		n, ok := b.ResolveNumber(num)
		if !ok || n.Callback == nil || *n.Callback {
			t.Errorf("%s: callback not off", num)
		}
	}
	b.Server.Outbound.Trunks = []OutboundTrunk{{Name: "a", Address: "10.0.0.1:5060"}}
	n110, _ := b.ResolveNumber("110")
	n109, _ := b.ResolveNumber("109")
	if !b.CallbackOn(n110) || b.CallbackOn(n109) {
		t.Fatal("with a trunk: 110 must offer callbacks, 109 must not")
	}
}
