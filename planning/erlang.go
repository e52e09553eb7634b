package planning

import (
	"errors"
	"math"
	"time"
)

// ErrUnstable means the offered load is at or above the number of agents:
// with infinite patience the queue grows without bound (Erlang C undefined).
var ErrUnstable = errors.New("planning: offered load >= agents, the queue grows without bound")

// Load is one queue's traffic in an interval: arrivals per second and the
// mean handle time (talk plus after-call work).
type Load struct {
	Rate float64       // arrivals per second
	AHT  time.Duration // mean handle time
}

// Erlangs is the offered load A = rate × AHT.
func (l Load) Erlangs() float64 { return l.Rate * l.AHT.Seconds() }

// ErlangB is the blocking probability of N servers offered A erlangs, by the
// numerically stable recursion B(0)=1, B(n) = A·B(n-1) / (n + A·B(n-1)).
func ErlangB(n int, a float64) float64 {
	b := 1.0
	for k := 1; k <= n; k++ {
		b = a * b / (float64(k) + a*b)
	}
	return b
}

// ErlangC is the probability that an arrival waits, for N agents offered A
// erlangs (A < N).
func ErlangC(n int, a float64) (float64, error) {
	if n <= 0 || a >= float64(n) {
		return 1, ErrUnstable
	}
	if a <= 0 {
		return 0, nil
	}
	b := ErlangB(n, a)
	return float64(n) * b / (float64(n) - a*(1-b)), nil
}

// CResult is the Erlang C prediction for one interval.
type CResult struct {
	Agents    int
	Erlangs   float64
	PWait     float64       // probability an arrival waits at all
	SL        float64       // probability the wait is at most the threshold
	ASA       time.Duration // mean wait over all arrivals
	Occupancy float64       // A / N
}

// C predicts service level and speed of answer with Erlang C: SL(T) =
// 1 − C·e^{−(N−A)T/AHT}, ASA = C·AHT/(N−A).
func C(n int, l Load, threshold time.Duration) (CResult, error) {
	a := l.Erlangs()
	pw, err := ErlangC(n, a)
	r := CResult{Agents: n, Erlangs: a, PWait: pw}
	if err != nil {
		return r, err
	}
	aht := l.AHT.Seconds()
	r.SL = 1 - pw*math.Exp(-(float64(n)-a)*threshold.Seconds()/aht)
	r.ASA = time.Duration(pw * aht / (float64(n) - a) * float64(time.Second))
	r.Occupancy = a / float64(n)
	return r, nil
}

// AResult is the Erlang A prediction for one interval.
type AResult struct {
	Agents   int
	Erlangs  float64
	PWait    float64 // probability an arrival finds every agent busy
	PAbandon float64 // probability an arrival abandons
	// Within is the probability that an arrival is answered within the
	// threshold (answered ≤ T over all arrivals).
	Within float64
	// SL counts as onecall's reports do: answered within T over answered
	// plus abandoned after T (abandons before T are not held against it).
	SL        float64
	ASA       time.Duration // mean wait of the answered
	Occupancy float64       // busy agents / N
}

// A predicts an M/M/N+M queue (Erlang A): Poisson arrivals, exponential
// handle time, N agents and exponential patience with the given mean. It
// solves the birth-death chain (truncated where the tail is below 1e-12)
// and, for the waiting time, integrates each queue position's race between
// reaching an agent and running out of patience.
func A(n int, l Load, patience, threshold time.Duration) (AResult, error) {
	if n <= 0 {
		return AResult{}, errors.New("planning: need at least one agent")
	}
	if patience <= 0 {
		return AResult{}, errors.New("planning: patience must be positive (use C for infinite patience)")
	}
	lam := l.Rate
	mu := 1 / l.AHT.Seconds()
	th := 1 / patience.Seconds()
	a := l.Erlangs()
	r := AResult{Agents: n, Erlangs: a}
	if lam <= 0 {
		r.SL, r.Within = 1, 1
		return r, nil
	}
	death := func(k int) float64 {
		if k <= n {
			return float64(k) * mu
		}
		return float64(n)*mu + float64(k-n)*th
	}
	// log π_k up to a constant; stop when the terms have fallen 1e-12 below
	// the largest and keep falling.
	logp := []float64{0}
	best := 0.0
	for k := 1; ; k++ {
		v := logp[k-1] + math.Log(lam/death(k))
		logp = append(logp, v)
		best = math.Max(best, v)
		if k > n && v < best-28 && lam < death(k) {
			break
		}
		if k > n+200000 {
			return r, errors.New("planning: chain too long; load far beyond the agents")
		}
	}
	p := make([]float64, len(logp))
	sum := 0.0
	for k, v := range logp {
		p[k] = math.Exp(v - best)
		sum += p[k]
	}
	busy, queued := 0.0, 0.0
	for k := range p {
		p[k] /= sum
		busy += p[k] * float64(min(k, n))
		queued += p[k] * float64(max(k-n, 0))
		if k >= n {
			r.PWait += p[k]
		}
	}
	r.Occupancy = busy / float64(n)
	r.PAbandon = th * queued / lam
	// Arrival finding k >= n agents busy has i = k-n callers ahead. u_i(t):
	// answered by t; v_i(t): abandoned by t. Backward equations:
	//   u_i' = d_i (u_{i-1} - u_i) - θ u_i,      u_{-1} = 1
	//   v_i' = d_i (v_{i-1} - v_i) + θ (1 - v_i), v_{-1} = 0
	// with d_i = Nμ + iθ, integrated by RK4 from 0 to T.
	m := len(p) - n
	within := 0.0
	for k := 0; k < n && k < len(p); k++ {
		within += p[k]
	}
	abandonByT := 0.0
	if m > 0 {
		u, v := solveRace(m, float64(n)*mu, th, threshold.Seconds())
		for i := range m {
			within += p[n+i] * u[i]
			abandonByT += p[n+i] * v[i]
		}
	}
	r.Within = within
	answered := 1 - r.PAbandon
	if den := answered + (r.PAbandon - abandonByT); den > 0 {
		r.SL = within / den
	}
	// Mean wait of the answered, summed over the positions an arrival can
	// find (see answeredWaitMoment).
	if m > 0 && answered > 0 {
		ew := 0.0
		for i := range m {
			ew += p[n+i] * answeredWaitMoment(i, float64(n)*mu, th)
		}
		r.ASA = time.Duration(ew / answered * float64(time.Second))
	}
	return r, nil
}

// answeredWaitMoment is E[W·1{answered}] for a caller with i callers ahead:
// the caller goes through stages i, i-1, ..., 0 with exit rates d_j = s + jθ
// (s = Nμ) and abandons at rate θ in each. Stage j lasts Exp(d_j+θ) and is
// survived (not abandoned) with probability d_j/(d_j+θ). With q_j the
// probability of surviving stages i..j and E[X_j] = 1/(d_j+θ):
// E[W·1{answered}] = P(answered) · Σ_j 1/(d_j+θ) (the stage times are
// independent of which way each stage ends, for exponential races).
func answeredWaitMoment(i int, s, th float64) float64 {
	pAns, mean := 1.0, 0.0
	for j := i; j >= 0; j-- {
		d := s + float64(j)*th
		pAns *= d / (d + th)
		mean += 1 / (d + th)
	}
	return pAns * mean
}

// solveRace integrates the backward equations for u (answered by T) and v
// (abandoned by T) for positions 0..m-1.
func solveRace(m int, s, th, T float64) (u, v []float64) {
	u = make([]float64, m)
	v = make([]float64, m)
	if T <= 0 {
		return u, v
	}
	maxRate := s + float64(m)*th + th
	steps := int(math.Ceil(T * maxRate / 0.05))
	steps = max(steps, 200)
	h := T / float64(steps)
	deriv := func(u, v, du, dv []float64) {
		for i := range m {
			d := s + float64(i)*th
			up, vp := 1.0, 0.0
			if i > 0 {
				up, vp = u[i-1], v[i-1]
			}
			du[i] = d*(up-u[i]) - th*u[i]
			dv[i] = d*(vp-v[i]) + th*(1-v[i])
		}
	}
	k := make([][]float64, 8)
	for i := range k {
		k[i] = make([]float64, m)
	}
	tu, tv := make([]float64, m), make([]float64, m)
	for range steps {
		deriv(u, v, k[0], k[1])
		for i := range m {
			tu[i], tv[i] = u[i]+h/2*k[0][i], v[i]+h/2*k[1][i]
		}
		deriv(tu, tv, k[2], k[3])
		for i := range m {
			tu[i], tv[i] = u[i]+h/2*k[2][i], v[i]+h/2*k[3][i]
		}
		deriv(tu, tv, k[4], k[5])
		for i := range m {
			tu[i], tv[i] = u[i]+h*k[4][i], v[i]+h*k[5][i]
		}
		deriv(tu, tv, k[6], k[7])
		for i := range m {
			u[i] += h / 6 * (k[0][i] + 2*k[2][i] + 2*k[4][i] + k[6][i])
			v[i] += h / 6 * (k[1][i] + 2*k[3][i] + 2*k[5][i] + k[7][i])
		}
	}
	return u, v
}
