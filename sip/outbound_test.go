package sip

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNationalNumber(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, national, e164 string }{
		{"010-1234-5678", "01012345678", "+821012345678"},
		{"+82 10 1234 5678", "01012345678", "+821012345678"},
		{"+82 (0)10-1234-5678", "01012345678", "+821012345678"},
		{"0082-10-1234-5678", "01012345678", "+821012345678"},
		{"821012345678", "01012345678", "+821012345678"},
		{"02-120", "02120", "+822120"},
		{"+82 2 2100 1234", "0221001234", "+82221001234"},
		{"1345", "1345", "+821345"},
		{"+82 1345", "1345", "+821345"},
		{"1577-1000", "15771000", "+8215771000"},
		{"+82 1577 1000", "15771000", "+8215771000"},
	} {
		n, err := NationalNumber(c.in)
		if err != nil || n != c.national {
			t.Errorf("NationalNumber(%q) = %q, %v; want %q", c.in, n, err, c.national)
		}
		e, err := E164Number(c.in)
		if err != nil || e != c.e164 {
			t.Errorf("E164Number(%q) = %q, %v; want %q", c.in, e, err, c.e164)
		}
	}
	for _, bad := range []string{"", "12", "+1 212 555 0100", "001-1-212-555-0100", "sip:x@y", "010-1234-5678;x", "5555",
		"0101234567890123", "010\r\n1234"} {
		if n, err := NationalNumber(bad); !errors.Is(err, ErrBadNumber) {
			t.Errorf("NationalNumber(%q) = %q, %v; want ErrBadNumber", bad, n, err)
		}
	}
}

func FuzzNationalNumber(f *testing.F) {
	for _, s := range []string{"010-1234-5678", "+82 2 120", "1345", "0082", "+", "82"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := NationalNumber(s)
		if err != nil {
			return
		}
		if len(n) < 3 || len(n) > 12 || strings.Trim(n, "0123456789") != "" {
			t.Fatalf("NationalNumber(%q) = %q", s, n)
		}
		if again, err := NationalNumber(n); err != nil || again != n {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", s, n, again, err)
		}
		e, err := E164Number(s)
		if err != nil {
			t.Fatal(err)
		}
		if back, err := NationalNumber(e); err != nil || back != n {
			t.Fatalf("E.164 round trip: %q -> %q -> %q, %v", s, e, back, err)
		}
	})
}

// carrierParams drive testdata/carrier.xml.
type carrierParams struct {
	Mode      string // "answer", "busy", "ring", "fail", "silent"
	Code      int    // "fail": the final status
	Challenge int    // 0, 401 or 407
	User      string
	Pass      string
	Nonce     string
	To        string // expected Request-URI user
	From      string // expected From user (caller ID)
	Speak     bool
	PT        string // answer with this payload type ("" = the first offered)
	RingFor   int    // ms of 180 before the answer or busy
	HoldFor   int    // "silent": ms to stay silent
	WaitBye   int    // ms to wait for our BYE
}

// Refs lists the scenario's variables for SIPp's Reference element.
func (p carrierParams) Refs() string {
	var r []string
	if p.To != "" {
		r = append(r, "ruri")
	}
	if p.From != "" {
		r = append(r, "from")
	}
	if p.Challenge != 0 {
		r = append(r, "authhdr")
	}
	return strings.Join(r, ",")
}

func startCarrier(t *testing.T, p carrierParams) *sippRun {
	t.Helper()
	if p.Nonce == "" {
		p.Nonce = "4f2c9d0e1b"
	}
	if p.WaitBye == 0 {
		p.WaitBye = 30000
	}
	return startSipp(t, "carrier.xml", p, "", "")
}

func carrierAddr(c *sippRun) string {
	u := c.uri("x")
	return strings.TrimPrefix(u[strings.Index(u, "@")+1:], "")
}

// TestDialThroughTrunk: SIPp plays the carrier: it challenges (401, then
// in a second run 407), checks the credentials, the called number in the
// trunk's format and the line's caller ID, answers and speaks; audio flows
// both ways and our BYE ends it. The cap of concurrent calls holds.
func TestDialThroughTrunk(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		challenge int
		e164      bool
		to, from  string
	}{
		{401, false, "01012345678", "1345"},
		{407, true, "\\+821012345678", "\\+821345"},
	} {
		carrier := startCarrier(t, carrierParams{Mode: "answer", Challenge: tc.challenge, User: "onecall", Pass: "s3cret",
			To: tc.to, From: tc.from, Speak: true, PT: "8", RingFor: 300})
		env := newTestEnv(t, nil, func(o *Options, _ *fakeHub) {
			o.Outbound = Outbound{MaxCalls: 1, Trunks: []OutboundTrunk{{Name: "carrier-a", Address: carrierAddr(carrier),
				Username: "onecall", Password: "s3cret", E164: tc.e164}}}
		})
		ctx := t.Context()
		rang := make(chan struct{})
		oc, err := env.svc.dial(ctx, DialRequest{Number: "+82 10-1234-5678", CallerID: "1345", onRinging: func() { close(rang) }})
		if err != nil {
			t.Fatalf("%d: dial: %v", tc.challenge, err)
		}
		select {
		case <-rang:
		default:
			t.Fatalf("%d: answered without a ringing callback", tc.challenge)
		}
		if oc.trunk != "carrier-a" {
			t.Fatalf("trunk %q", oc.trunk)
		}
		// At the cap (1): a second call is refused at once, not queued.
		if _, err := env.svc.dial(ctx, DialRequest{Number: "01099998888"}); DialOutcomeOf(err) != DialCongestion {
			t.Fatalf("second call over the cap: %v", err)
		}
		oc.leg.Connect(nil)
		waitFor(t, 10*time.Second, "carrier audio", func() bool { rx, _ := oc.leg.Counters(); return rx >= minAudio })
		_ = oc.leg.Play(ctx, env.svc.prompts.get("en", "goodbye"))
		if _, tx := oc.leg.Counters(); tx < minAudio {
			t.Fatalf("sent %d packets", tx)
		}
		oc.hangup()
		if err := carrier.wait(t, 15*time.Second); err != nil {
			t.Fatalf("carrier %d: %v", tc.challenge, err)
		}
		waitFor(t, 5*time.Second, "slot released", func() bool { return env.svc.OutboundActive() == 0 })
	}
}

// TestDialFailover: the first trunk answers 503 (then, in a second run,
// stays silent): the call goes out through the second. A busy citizen is
// not retried on the second trunk.
func TestDialFailover(t *testing.T) {
	t.Parallel()
	for _, first := range []carrierParams{{Mode: "fail", Code: 503}, {Mode: "silent", HoldFor: 3000}} {
		a := startCarrier(t, first)
		b := startCarrier(t, carrierParams{Mode: "answer", To: "01012345678", RingFor: 100})
		env := newTestEnv(t, nil, func(o *Options, _ *fakeHub) {
			o.Outbound = Outbound{TrunkTimeout: time.Second, Trunks: []OutboundTrunk{
				{Name: "a", Address: carrierAddr(a)}, {Name: "b", Address: carrierAddr(b)}}}
		})
		oc, err := env.svc.dial(t.Context(), DialRequest{Number: "010-1234-5678", CallerID: "110"})
		if err != nil {
			t.Fatalf("%s: %v", first.Mode, err)
		}
		if oc.trunk != "b" {
			t.Fatalf("%s: went out through %q", first.Mode, oc.trunk)
		}
		oc.hangup()
		if err := b.wait(t, 15*time.Second); err != nil {
			t.Fatalf("trunk b: %v", err)
		}
		if err := a.wait(t, 15*time.Second); err != nil {
			t.Fatalf("trunk a: %v", err)
		}
	}
	busy := startCarrier(t, carrierParams{Mode: "busy", RingFor: 200})
	env := newTestEnv(t, nil, func(o *Options, _ *fakeHub) {
		o.Outbound = Outbound{Trunks: []OutboundTrunk{{Name: "a", Address: carrierAddr(busy)}, {Name: "b", Address: "127.0.0.1:9"}}}
	})
	_, err := env.svc.dial(t.Context(), DialRequest{Number: "01012345678"})
	var de *DialError
	if !errors.As(err, &de) || de.Outcome != DialBusy || de.Trunk != "a" || de.Status != 486 {
		t.Fatalf("busy citizen: %v", err)
	}
	if err := busy.wait(t, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	// No trunk at all: refused with its own outcome.
	env2 := newTestEnv(t, nil, nil)
	if _, err := env2.svc.dial(t.Context(), DialRequest{Number: "01012345678"}); DialOutcomeOf(err) != DialNoTrunk {
		t.Fatalf("no trunk: %v", err)
	}
}

// TestDialNoAnswer: the citizen's phone rings past the ring timeout: we
// CANCEL and report no answer.
func TestDialNoAnswer(t *testing.T) {
	t.Parallel()
	c := startCarrier(t, carrierParams{Mode: "ring"})
	env := newTestEnv(t, nil, func(o *Options, _ *fakeHub) {
		o.Outbound = Outbound{RingTimeout: 2 * time.Second, Trunks: []OutboundTrunk{{Name: "a", Address: carrierAddr(c)}}}
	})
	start := time.Now()
	_, err := env.svc.dial(t.Context(), DialRequest{Number: "01012345678"})
	if DialOutcomeOf(err) != DialNoAnswer {
		t.Fatalf("want no answer, got %v", err)
	}
	if d := time.Since(start); d > 8*time.Second {
		t.Fatalf("ring timeout took %s", d)
	}
	if err := c.wait(t, 10*time.Second); err != nil {
		t.Fatal(err)
	}
}
