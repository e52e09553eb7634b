package configs

import (
	"strings"
	"testing"
)

// TestMaxCallsMustFitTheRTPPortRange (issue 17, defect 4): the shipped
// max_calls once exceeded the shipped port pairs (20,000 calls against
// ~10,000 pairs), so calls past the range failed for want of ports instead
// of getting a clean 503 at the cap. Validation refuses a max_calls the
// range cannot serve (2 pairs per call plus the quarantined ones) and
// accepts one that fits exactly.
func TestMaxCallsMustFitTheRTPPortRange(t *testing.T) {
	b, err := Load(".")
	if err != nil {
		t.Fatalf("shipped configs: %v", err)
	}
	l, sp := &b.Server.Limits, &b.Server.SIP
	if have, need := RTPPairs(sp.RTPPortMin, sp.RTPPortMax), RTPPairsNeeded(l.MaxCalls, l.MaxCallsPerSecond, sp.RTPQuarantine.D()); need > have {
		t.Fatalf("shipped max_calls %d needs %d pairs, the shipped range has %d", l.MaxCalls, need, have)
	}
	sp.RTPPortMin, sp.RTPPortMax = 10000, 29999 // 10,000 pairs
	l.MaxCalls = 20000
	err = b.Validate()
	if err == nil || !strings.Contains(err.Error(), "limits.max_calls 20000 needs") {
		t.Fatalf("max_calls 20000 on 10,000 pairs: %v", err)
	}
	// Exactly enough: 2 per call + 2 × calls/s × quarantine.
	l.MaxCalls = (10000 - RTPPairsNeeded(0, l.MaxCallsPerSecond, sp.RTPQuarantine.D())) / 2
	if err := b.Validate(); err != nil {
		t.Fatalf("max_calls %d fits 10,000 pairs: %v", l.MaxCalls, err)
	}
	l.MaxCalls++
	if err := b.Validate(); err == nil {
		t.Fatalf("max_calls %d exceeds 10,000 pairs but was accepted", l.MaxCalls)
	}
}
