package planning

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Target is what an interval must achieve: the share of contacts answered
// within Threshold, and optionally a cap on agent occupancy.
type Target struct {
	SL           float64       // e.g. 0.8
	Threshold    time.Duration // e.g. 20 s
	MaxOccupancy float64       // 0 = no cap; e.g. 0.85
	// Patience is the citizens' mean patience. Zero plans with Erlang C
	// (nobody hangs up, the cautious answer); positive plans with Erlang A.
	Patience time.Duration
	// MaxAbandon caps the predicted share of callers who hang up while
	// waiting (Erlang A only; 0 = no cap).
	MaxAbandon float64
}

// Validate reports a target that cannot be planned for.
func (t Target) Validate() error {
	switch {
	case t.SL <= 0 || t.SL >= 1:
		return fmt.Errorf("planning: SL target %v must be between 0 and 1 (exclusive)", t.SL)
	case t.Threshold <= 0:
		return errors.New("planning: SL threshold must be positive")
	case t.MaxOccupancy < 0 || t.MaxOccupancy > 1:
		return fmt.Errorf("planning: max occupancy %v must be between 0 and 1", t.MaxOccupancy)
	case t.MaxAbandon < 0 || t.MaxAbandon >= 1:
		return fmt.Errorf("planning: max abandon %v must be from 0 to below 1", t.MaxAbandon)
	case t.Patience < 0:
		return errors.New("planning: patience must not be negative")
	}
	return nil
}

// Need is the staffing answer for one interval.
type Need struct {
	Agents    int
	Erlangs   float64
	SL        float64       // predicted at Agents: answered within the threshold over all arrivals
	ASA       time.Duration // predicted at Agents
	Abandon   float64       // predicted share abandoning (Erlang A only)
	Occupancy float64
	Model     string // "erlang-c" or "erlang-a"
}

// maxAgents bounds the search; a 15-minute interval of one queue never
// needs more (the whole merged center has about 9,500 agents).
const maxAgents = 50000

// AgentsFor finds the fewest agents that meet the target for the load.
func AgentsFor(l Load, t Target) (Need, error) {
	if err := t.Validate(); err != nil {
		return Need{}, err
	}
	if l.Rate < 0 || l.AHT <= 0 {
		return Need{}, errors.New("planning: need a non-negative rate and a positive AHT")
	}
	if l.Rate == 0 {
		return Need{Agents: 0, SL: 1, Model: model(t)}, nil
	}
	a := l.Erlangs()
	// Service level rises with every agent added, so search: Erlang C from
	// just above the load upwards (cheap), Erlang A by bisection below the
	// Erlang C answer (abandons only relieve the queue).
	cT := t
	cT.Patience = 0
	var found *Need
	for n := max(1, int(a)); n <= maxAgents; n++ {
		need, ok, err := evaluate(n, l, cT)
		if err != nil {
			return Need{}, err
		}
		if ok && (t.MaxOccupancy == 0 || a/float64(n) <= t.MaxOccupancy) {
			found = &need
			break
		}
	}
	if found == nil {
		return Need{}, fmt.Errorf("planning: %.0f erlangs need more than %d agents", a, maxAgents)
	}
	if t.Patience == 0 {
		return *found, nil
	}
	hi := found.Agents // meets the target under Erlang A too (checked below)
	best, ok, err := evaluate(hi, l, t)
	if err != nil {
		return Need{}, err
	}
	for !ok { // defensive: never expected, abandons only help
		hi++
		if best, ok, err = evaluate(hi, l, t); err != nil {
			return Need{}, err
		}
	}
	lo := 0 // fails (or is the empty answer)
	if t.MaxOccupancy > 0 {
		lo = int(math.Ceil(a/t.MaxOccupancy)) - 1
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		need, ok, err := evaluate(mid, l, t)
		if err != nil {
			return Need{}, err
		}
		if ok && (t.MaxOccupancy == 0 || a/float64(mid) <= t.MaxOccupancy) {
			hi, best = mid, need
		} else {
			lo = mid
		}
	}
	return best, nil
}

func model(t Target) string {
	if t.Patience > 0 {
		return "erlang-a"
	}
	return "erlang-c"
}

func evaluate(n int, l Load, t Target) (Need, bool, error) {
	if t.Patience > 0 {
		r, err := A(n, l, t.Patience, t.Threshold)
		if err != nil {
			return Need{}, false, err
		}
		// Plan on the strict measure (answered within T over every
		// arrival): counting early abandons as served would let
		// understaffing look like good service.
		return Need{Agents: n, Erlangs: r.Erlangs, SL: r.Within, ASA: r.ASA, Abandon: r.PAbandon,
			Occupancy: r.Occupancy, Model: "erlang-a"}, r.Within >= t.SL && (t.MaxAbandon == 0 || r.PAbandon <= t.MaxAbandon), nil
	}
	r, err := C(n, l, t.Threshold)
	if errors.Is(err, ErrUnstable) {
		return Need{}, false, nil
	}
	if err != nil {
		return Need{}, false, err
	}
	return Need{Agents: n, Erlangs: r.Erlangs, SL: r.SL, ASA: r.ASA, Occupancy: r.Occupancy,
		Model: "erlang-c"}, r.SL >= t.SL, nil
}
