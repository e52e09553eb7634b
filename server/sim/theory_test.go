package sim

import (
	"testing"
	"time"
)

// The real engine, fed the textbook queue, agrees with queueing theory:
// Erlang C without abandonment, Erlang A with exponential patience. A short
// run (the full table is in docs/simulate.md, by `onecall simulate --erlang`)
// at a load where the statistics settle quickly.
func TestEngineAgreesWithErlang(t *testing.T) {
	for _, tc := range []struct {
		patience time.Duration
		model    string
	}{{0, "erlang-c"}, {2 * time.Minute, "erlang-a"}} {
		r, err := RunTheory(Theory{Agents: 20, Rate: 0.8 * 20 / 180, AHT: 180 * time.Second,
			Patience: tc.patience, Contacts: 20000, Seed: 11})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: SL %.4f sim %.4f, ASA %v sim %v, abandon %.4f sim %.4f, counted %d", r.Model, r.SL, r.SimSL,
			r.ASA.Round(time.Millisecond), r.SimASA.Round(time.Millisecond), r.Abandon, r.SimAbandon, r.Counted)
		if r.Model != tc.model || r.Counted < 19000 || r.Lost != 0 || r.Rejected != 0 {
			t.Fatalf("%+v", r)
		}
		if d := r.SL - r.SimSL; d > 0.02 || d < -0.02 {
			t.Errorf("%s: SL theory %.4f, engine %.4f", r.Model, r.SL, r.SimSL)
		}
		if d := (r.ASA - r.SimASA).Seconds(); d > 0.15*r.ASA.Seconds() || d < -0.15*r.ASA.Seconds() {
			t.Errorf("%s: ASA theory %v, engine %v", r.Model, r.ASA, r.SimASA)
		}
		if d := r.Abandon - r.SimAbandon; d > 0.01 || d < -0.01 {
			t.Errorf("%s: abandon theory %.4f, engine %.4f", r.Model, r.Abandon, r.SimAbandon)
		}
	}
}
