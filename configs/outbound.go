package configs

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Outbound is onecall.yaml's outbound: the SIP trunks onecall calls out
// through (placed callbacks, transfers to outside numbers) and the
// callback retry policy. No trunk means no outgoing calls: then no line
// offers a callback.
type Outbound struct {
	// MaxCalls caps concurrent outgoing calls over all trunks (default 50).
	MaxCalls int `yaml:"max_calls"`
	// RingTimeout is how long a dialled phone may ring (default 30s).
	RingTimeout Duration `yaml:"ring_timeout"`
	// Trunks are tried in order: the second takes over when the first
	// fails (no answer from the carrier, 5xx, bad credentials, at its cap).
	Trunks []OutboundTrunk `yaml:"trunks"`
	// Callback is the retry policy of placed callbacks.
	Callback CallbackPolicy `yaml:"callback"`
}

// OutboundTrunk is one carrier for outgoing calls.
type OutboundTrunk struct {
	Name      string `yaml:"name"`
	Address   string `yaml:"address"`   // carrier host:port (port default 5060)
	Transport string `yaml:"transport"` // udp | tcp, default udp
	// Username and PasswordFile are the digest credentials the carrier
	// challenges for (401 or 407). PasswordFile is relative to onecall.yaml's
	// directory; its first line is the password. Both or neither.
	Username     string `yaml:"username"`
	PasswordFile string `yaml:"password_file"`
	// NumberFormat is how the called and calling numbers are written:
	// national ("01012345678", default) or e164 ("+821012345678").
	NumberFormat string `yaml:"number_format"`
	// MaxCalls caps this trunk's concurrent calls (0 = only the global cap).
	MaxCalls int `yaml:"max_calls"`
}

// CallbackPolicy is how often a placed callback that does not reach the
// citizen is tried again.
type CallbackPolicy struct {
	Attempts int      `yaml:"attempts"` // calls placed in all, default 3 (1-10)
	Backoff  Duration `yaml:"backoff"`  // wait before the 2nd attempt, default 5m; doubled each time
}

// DefaultOutbound is the outbound block used for keys onecall.yaml leaves out.
func DefaultOutbound() Outbound {
	return Outbound{MaxCalls: 50, RingTimeout: Duration(30 * time.Second),
		Callback: CallbackPolicy{Attempts: 3, Backoff: Duration(5 * time.Minute)}}
}

func (o *Outbound) applyDefaults() {
	for i := range o.Trunks {
		t := &o.Trunks[i]
		if t.Transport == "" {
			t.Transport = "udp"
		}
		if t.NumberFormat == "" {
			t.NumberFormat = "national"
		}
		if t.Address != "" {
			if _, _, err := net.SplitHostPort(t.Address); err != nil && !strings.Contains(t.Address, "]") {
				t.Address = net.JoinHostPort(t.Address, "5060")
			}
		}
	}
}

// Enabled reports whether onecall can call out (at least one trunk).
func (o *Outbound) Enabled() bool { return len(o.Trunks) > 0 }

// validate reports problems through at (a path under "outbound").
func (o *Outbound) validate(at func(path ...any) func(string, ...any), fileExists func(string) bool) {
	if o.MaxCalls < 1 {
		at("max_calls")("outbound.max_calls must be at least 1")
	}
	if o.RingTimeout < Duration(5*time.Second) || o.RingTimeout > Duration(3*time.Minute) {
		at("ring_timeout")("outbound.ring_timeout must be between 5s and 3m, got %s", o.RingTimeout)
	}
	if a := o.Callback.Attempts; a < 1 || a > 10 {
		at("callback", "attempts")("outbound.callback.attempts must be 1-10, got %d", a)
	}
	if b := o.Callback.Backoff; b < Duration(10*time.Second) || b > Duration(24*time.Hour) {
		at("callback", "backoff")("outbound.callback.backoff must be between 10s and 24h, got %s", b)
	}
	names := map[string]bool{}
	for i := range o.Trunks {
		t := &o.Trunks[i]
		rep := func(k string) func(string, ...any) { return at("trunks", i, k) }
		what := fmt.Sprintf("outbound trunk %q", t.Name)
		switch {
		case !reID.MatchString(t.Name):
			rep("name")("outbound trunk %d: bad name %q (a-z, 0-9, '.', '_', '-')", i+1, t.Name)
		case names[t.Name]:
			rep("name")("%s defined twice", what)
		}
		names[t.Name] = true
		host, port, err := net.SplitHostPort(t.Address)
		if p, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || p < 1 || p > 65535 {
			rep("address")("%s: address must be host:port, got %q", what, t.Address)
		}
		switch t.Transport {
		case "udp", "tcp":
		default:
			rep("transport")("%s: transport must be udp or tcp, got %q", what, t.Transport)
		}
		switch t.NumberFormat {
		case "national", "e164":
		default:
			rep("number_format")("%s: number_format must be national or e164, got %q", what, t.NumberFormat)
		}
		if (t.Username == "") != (t.PasswordFile == "") {
			rep("username")("%s: username and password_file go together", what)
		}
		if t.PasswordFile != "" && !fileExists(t.PasswordFile) {
			rep("password_file")("%s: password_file %q cannot be read", what, t.PasswordFile)
		}
		if t.MaxCalls < 0 {
			rep("max_calls")("%s: max_calls must be >= 0", what)
		}
	}
}

// TrunkPassword reads an outbound trunk's password (the first line of its
// password_file; "" when it has none).
func (b *Bundle) TrunkPassword(t OutboundTrunk) (string, error) {
	if t.PasswordFile == "" {
		return "", nil
	}
	raw, err := os.ReadFile(b.Path(t.PasswordFile))
	if err != nil {
		return "", fmt.Errorf("outbound trunk %q: %w", t.Name, err)
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	return strings.TrimRight(line, "\r"), nil
}

// CallbackOn reports whether line n offers callbacks: its callback setting
// (default on) and an outbound trunk to place them through.
func (b *Bundle) CallbackOn(n *Number) bool {
	return b.Server.Outbound.Enabled() && (n.Callback == nil || *n.Callback)
}

// CallerID is the number shown to the called party on calls placed for
// line n: its caller_id, else its own number's digits.
func (n *Number) CallerID() string {
	if n.CallerIDNumber != "" {
		return NormalizeNumber(n.CallerIDNumber)
	}
	return NormalizeNumber(n.Number)
}

// validateOutside checks a line's caller_id and transfer_numbers: numbers
// of 3 to 15 digits ("+82" and national forms both allowed).
func validateOutside(at func(path ...any) func(string, ...any), what string, n *Number) {
	if n.CallerIDNumber != "" {
		if d := NormalizeNumber(n.CallerIDNumber); len(d) < 3 || len(d) > 15 || strings.ContainsAny(d, "*#") {
			at("caller_id")("%s: caller_id %q is not a phone number", what, n.CallerIDNumber)
		}
	}
	if len(n.TransferNumbers) > 20 {
		at("transfer_numbers")("%s: %d transfer numbers; keep it to at most 20", what, len(n.TransferNumbers))
	}
	seen := map[string]bool{}
	for j, t := range n.TransferNumbers {
		d := NormalizeNumber(t)
		switch {
		case len(d) < 3 || len(d) > 15 || strings.ContainsAny(d, "*#"):
			at("transfer_numbers", j)("%s: transfer number %q is not a phone number", what, t)
		case seen[d]:
			at("transfer_numbers", j)("%s: transfer number %q listed twice", what, t)
		}
		seen[d] = true
	}
}
