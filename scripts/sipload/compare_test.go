package main

import (
	"math"
	"testing"
	"time"
)

// -repeat's summary: each system's median over its rounds (even and odd
// counts), its range, and its ratio to the first system.
func TestCompareMedians(t *testing.T) {
	res := func(sys, name string, cpuSec, delayMs float64) compareResult {
		r := compareResult{system: sys, name: name, cpu: time.Duration(cpuSec * float64(time.Second)), callSecs: 1000,
			iv: &intervals{}, direct: &intervals{}}
		r.iv.rtt = []time.Duration{time.Duration(2 * delayMs * float64(time.Millisecond))}
		r.direct.rtt = []time.Duration{0}
		return r
	}
	results := []compareResult{
		res("kamailio", "kamailio+rtpengine", 1.0, 1), res("onecall", "onecall", 1.3, 4),
		res("kamailio", "kamailio+rtpengine", 0.9, 2), res("onecall", "onecall", 1.1, 6),
		res("kamailio", "kamailio+rtpengine", 1.2, 3), res("onecall", "onecall", 1.2, 5),
		res("onecall", "onecall", 1.6, 9),
	}
	got := medians(results, []string{"kamailio", "onecall", "absent"})
	if len(got) != 2 {
		t.Fatalf("%d systems summed up, want 2: %+v", len(got), got)
	}
	k, o := got[0], got[1]
	if k.name != "kamailio+rtpengine" || k.rounds != 3 || k.cpu != 1.0 || k.cpuMin != 0.9 || k.cpuMax != 1.2 || k.ratio != 1 {
		t.Errorf("kamailio: %+v", k)
	}
	if math.Abs(o.cpu-1.25) > 1e-9 || o.rounds != 4 || math.Abs(o.ratio-1.25) > 1e-9 || o.cpuMax != 1.6 {
		t.Errorf("onecall: %+v, want median 1.25 ms over 4 rounds, 1.25x", o)
	}
	if math.Abs(k.delayP99-2) > 1e-9 || math.Abs(o.delayP99-5.5) > 1e-9 || math.Abs(o.delayP99Max-9) > 1e-9 {
		t.Errorf("delay p99 medians %v / %v (max %v), want 2 / 5.5 (9)", k.delayP99, o.delayP99, o.delayP99Max)
	}
}
