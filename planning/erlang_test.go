package planning

import (
	"math"
	"strings"
	"testing"
	"time"
)

func near(t *testing.T, name string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.5f, want %.5f ± %g", name, got, want, tol)
	}
}

// Published values: Erlang B and C tables (e.g. B(10, 5 E) = 0.01838,
// C(10, 5 E) = 0.03610) and the textbook call-centre example: 360 calls in
// 30 minutes, AHT 240 s (48 E), 55 agents, 80/20 target: P(wait) 0.2389,
// SL 86.6 %, ASA 8.2 s.
func TestErlangPublishedValues(t *testing.T) {
	near(t, "B(10,5)", ErlangB(10, 5), 0.01838, 5e-5)
	near(t, "B(5,2)", ErlangB(5, 2), 0.03670, 5e-5)
	c, err := ErlangC(10, 5)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "C(10,5)", c, 0.03610, 5e-5)
	r, err := C(55, Load{Rate: 360.0 / 1800, AHT: 240 * time.Second}, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "erlangs", r.Erlangs, 48, 1e-9)
	near(t, "P(wait)", r.PWait, 0.2389, 5e-4)
	near(t, "SL", r.SL, 0.8666, 5e-4)
	near(t, "ASA s", r.ASA.Seconds(), 8.19, 0.02)
	if _, err := C(48, Load{Rate: 0.2, AHT: 240 * time.Second}, 20*time.Second); err != ErrUnstable {
		t.Fatalf("48 agents for 48 E: err %v, want ErrUnstable", err)
	}
}

// When patience has the same mean as the handle time, every caller in the
// system leaves at the same rate whether served or waiting, so the number in
// the system is Poisson(A) exactly (M/M/∞): an independent check of the
// Erlang A chain.
func TestErlangAMatchesPoissonWhenPatienceEqualsAHT(t *testing.T) {
	const n = 20
	l := Load{Rate: 18.0 / 180, AHT: 180 * time.Second}
	r, err := A(n, l, 180*time.Second, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	a := l.Erlangs()
	pk := math.Exp(-a)
	pWait, eq := 0.0, 0.0
	for k := 0; k < 400; k++ {
		if k > 0 {
			pk *= a / float64(k)
		}
		if k >= n {
			pWait += pk
			eq += float64(k-n) * pk
		}
	}
	near(t, "P(wait)", r.PWait, pWait, 1e-9)
	near(t, "P(abandon)", r.PAbandon, eq/a, 1e-9)
}

// With patience far longer than any wait, Erlang A is Erlang C.
func TestErlangAConvergesToErlangC(t *testing.T) {
	l := Load{Rate: 0.2, AHT: 240 * time.Second}
	c, err := C(55, l, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	a, err := A(55, l, 1000*time.Hour, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "P(wait)", a.PWait, c.PWait, 1e-3)
	near(t, "SL", a.SL, c.SL, 1e-3)
	near(t, "within", a.Within, c.SL, 1e-3)
	near(t, "ASA s", a.ASA.Seconds(), c.ASA.Seconds(), 0.05)
	if a.PAbandon > 1e-3 {
		t.Errorf("P(abandon) %v with near-infinite patience", a.PAbandon)
	}
}

// The race integrator ends where it must: after a long time every waiting
// caller was either answered or abandoned, answered with the product of the
// stage survival odds.
func TestRaceConservesProbability(t *testing.T) {
	s, th := 2.0, 0.5
	u, v := solveRace(6, s, th, 200)
	for i := range u {
		want := 1.0
		for j := 0; j <= i; j++ {
			d := s + float64(j)*th
			want *= d / (d + th)
		}
		near(t, "u", u[i], want, 1e-6)
		near(t, "u+v", u[i]+v[i], 1, 1e-6)
	}
}

func TestAgentsFor(t *testing.T) {
	l := Load{Rate: 0.2, AHT: 240 * time.Second}
	need, err := AgentsFor(l, Target{SL: 0.8, Threshold: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// 54 agents give SL 0.8 ... check both sides of the answer.
	below, _ := C(need.Agents-1, l, 20*time.Second)
	if need.SL < 0.8 || below.SL >= 0.8 {
		t.Fatalf("AgentsFor = %d (SL %.3f); one fewer gives %.3f", need.Agents, need.SL, below.SL)
	}
	if need.Model != "erlang-c" {
		t.Fatalf("model %q", need.Model)
	}
	capped, err := AgentsFor(l, Target{SL: 0.8, Threshold: 20 * time.Second, MaxOccupancy: 0.8})
	if err != nil {
		t.Fatal(err)
	}
	if capped.Agents != 60 {
		t.Fatalf("occupancy cap 0.8 on 48 E: %d agents, want 60", capped.Agents)
	}
	withPatience, err := AgentsFor(l, Target{SL: 0.8, Threshold: 20 * time.Second, Patience: 60 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if fewer, _ := A(withPatience.Agents-1, l, 60*time.Second, 20*time.Second); fewer.Within >= 0.8 {
		t.Fatalf("Erlang A answer %d is not the fewest: %d gives SL %.3f", withPatience.Agents, fewer.Agents, fewer.Within)
	}
	if withPatience.Agents > need.Agents || withPatience.Model != "erlang-a" || withPatience.Abandon <= 0 {
		t.Fatalf("Erlang A plan %+v vs Erlang C %+v: abandons relieve the queue", withPatience, need)
	}
	capAb, err := AgentsFor(l, Target{SL: 0.5, Threshold: 20 * time.Second, Patience: 60 * time.Second, MaxAbandon: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	if capAb.Abandon > 0.01 {
		t.Fatalf("abandon cap 1 %%: plan %+v", capAb)
	}
	if fewer, _ := A(capAb.Agents-1, l, 60*time.Second, 20*time.Second); fewer.PAbandon <= 0.01 {
		t.Fatalf("abandon cap: %d agents already abandon only %.4f", fewer.Agents, fewer.PAbandon)
	}
	if z, err := AgentsFor(Load{AHT: time.Minute}, Target{SL: 0.8, Threshold: 20 * time.Second}); err != nil || z.Agents != 0 {
		t.Fatalf("no traffic: %+v %v", z, err)
	}
	for _, bad := range []Target{{SL: 1, Threshold: time.Second}, {SL: 0.8}, {SL: 0.8, Threshold: time.Second, MaxOccupancy: 2}} {
		if _, err := AgentsFor(l, bad); err == nil {
			t.Errorf("target %+v accepted", bad)
		}
	}
}

func BenchmarkAgentsForErlangA(b *testing.B) {
	l := Load{Rate: 2, AHT: 180 * time.Second} // 360 E, a big line's peak
	for b.Loop() {
		if _, err := AgentsFor(l, Target{SL: 0.8, Threshold: 20 * time.Second, Patience: 2 * time.Minute}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestParseForecastAndPlan(t *testing.T) {
	kst := time.FixedZone("KST", 9*3600)
	in := "queue,start,contacts,aht_seconds,patience_seconds\n" +
		"labor,2026-12-07 10:15,180,240,\n" +
		"labor,2026-12-07 10:00,180,240,60\n" +
		"health,2026-12-07 10:00,0,300,\n"
	f, err := ParseForecast(strings.NewReader(in), 15*time.Minute, kst)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := Plan(f, map[string]Target{
		"labor":  {SL: 0.8, Threshold: 20 * time.Second},
		"health": {SL: 0.8, Threshold: 20 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0].Queue != "health" || rows[0].Agents != 0 {
		t.Fatalf("rows %+v", rows)
	}
	// 180 contacts in 15 min at 240 s = 48 E: the same load as the textbook
	// example; the 10:00 row has patience and plans with Erlang A.
	if rows[1].Start.Hour() != 10 || rows[1].Start.Minute() != 0 || rows[1].Model != "erlang-a" || rows[2].Model != "erlang-c" {
		t.Fatalf("order or model: %+v / %+v", rows[1], rows[2])
	}
	if rows[1].Agents >= rows[2].Agents {
		t.Fatalf("patience 60 s needs %d agents, infinite patience %d", rows[1].Agents, rows[2].Agents)
	}
	for _, bad := range []string{
		"queue,start\nx,y\n",
		"queue,start,contacts,aht_seconds\nlabor,tomorrow,1,1\n",
		"queue,start,contacts,aht_seconds\nlabor,2026-12-07 10:00,-1,1\n",
		"queue,start,contacts,aht_seconds\nlabor,2026-12-07 10:00,1,0\n",
		"queue,start,contacts,aht_seconds\n,2026-12-07 10:00,1,10\n",
	} {
		if _, err := ParseForecast(strings.NewReader(bad), 15*time.Minute, kst); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	if _, err := Plan(f, map[string]Target{}); err == nil {
		t.Error("plan with unknown queue accepted")
	}
}
