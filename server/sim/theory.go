package sim

import (
	"errors"
	"time"

	"onecall/planning"
	"onecall/router"
)

// Theory is a single queue in the textbook's shape, run through the real
// routing engine so its answers can be checked against Erlang C (infinite
// patience) and Erlang A (exponential patience): Poisson arrivals at Rate,
// exponential handle time with mean AHT, Agents identical agents who answer
// at once and never miss an offer, no wrap-up.
type Theory struct {
	Agents    int
	Rate      float64       // arrivals per second
	AHT       time.Duration // mean handle time
	Patience  time.Duration // mean patience; 0 = infinite (Erlang C)
	Threshold time.Duration // SL threshold (default 20 s)
	Contacts  int           // contacts counted after the warm-up
	Warmup    time.Duration // arrivals before this are not counted (default 10 × AHT)
	Seed      uint64
}

// TheoryResult is the simulated queue beside its theory.
type TheoryResult struct {
	Counted        int
	SL, SimSL      float64
	ASA, SimASA    time.Duration
	Abandon        float64 // predicted share abandoning (Erlang A)
	SimAbandon     float64
	Load           float64 // offered erlangs per agent
	Model          string  // erlang-c or erlang-a
	Result         Result  // the engine's run
	Rejected, Lost int     // events the engine refused; contacts never closed
}

// RunTheory simulates the queue and computes its Erlang C or A prediction.
func RunTheory(th Theory) (TheoryResult, error) {
	if th.Agents <= 0 || th.Rate <= 0 || th.AHT <= 0 || th.Contacts <= 0 {
		return TheoryResult{}, errors.New("sim: theory needs agents, rate, AHT and contacts")
	}
	if th.Threshold <= 0 {
		th.Threshold = 20 * time.Second
	}
	if th.Warmup <= 0 {
		th.Warmup = 10 * th.AHT
	}
	load := planning.Load{Rate: th.Rate, AHT: th.AHT}
	out := TheoryResult{Load: load.Erlangs() / float64(th.Agents)}
	if th.Patience > 0 {
		a, err := planning.A(th.Agents, load, th.Patience, th.Threshold)
		if err != nil {
			return out, err
		}
		out.SL, out.ASA, out.Abandon, out.Model = a.SL, a.ASA, a.PAbandon, "erlang-a"
	} else {
		c, err := planning.C(th.Agents, load, th.Threshold)
		if err != nil {
			return out, err
		}
		out.SL, out.ASA, out.Model = c.SL, c.ASA, "erlang-c"
	}
	always := router.Schedule{Always: true}
	cfg := router.Config{
		Queues: []router.QueueDef{{ID: "theory", Skills: []router.SkillReq{{Skill: "t", Min: 1}},
			SLTarget: 0.8, SLThreshold: th.Threshold, MaxWaiting: 1 << 20, MaxWait: 1000 * time.Hour}},
		Hotlines: []router.HotlineDef{{Number: "1", DefaultQueue: "theory", Schedule: always}},
	}
	for i := range th.Agents {
		cfg.Agents = append(cfg.Agents, router.AgentDef{ID: router.AgentID("t" + itoa(i+1)), Skills: map[string]int{"t": 1}, Voice: 1, Chat: -1})
	}
	o := defaults(Options{Config: cfg, Seed: th.Seed, AHT: th.AHT})
	o.ChatShare, o.MissRate, o.AnswerDelay = -1, -1, 0
	o.Patience = th.Patience // 0: nobody abandons
	s := newSim(o)
	eng, err := router.New(cfg)
	if err != nil {
		return out, err
	}
	s.eng = eng
	start := o.Day.Add(8 * time.Hour)
	s.login(cfg.Agents, start)
	countFrom := start.Add(th.Warmup)
	total := th.Contacts + int(th.Rate*th.Warmup.Seconds())
	at := start
	for i := range total {
		at = at.Add(time.Duration(s.rng.ExpFloat64() / th.Rate * float64(time.Second)))
		id := router.ContactID(i + 1)
		s.contacts[id] = &contactState{queue: "theory", uncounted: at.Before(countFrom)}
		s.push(simEv{at: at, kind: evArrive, contact: id, agent: "1"})
	}
	wall := time.Now()
	s.loop()
	s.res.Wall = time.Since(wall)
	s.finish()
	out.Result = s.res
	for _, q := range s.res.Queues {
		if q.Queue == "theory" {
			out.SimSL, out.SimASA = q.SL, q.ASA
			out.Counted = q.Answered + q.Abandoned + q.Refused + q.Other
			if out.Counted > 0 {
				out.SimAbandon = float64(q.Abandoned) / float64(out.Counted)
			}
		}
	}
	for _, n := range s.res.Rejected {
		out.Rejected += n
	}
	out.Lost = s.res.NeverClosed + s.res.ClosedTwice
	return out, nil
}

// WithinTolerance says whether the simulation agrees with theory: SL
// within 2 percentage points and ASA within 5 % (or 1 s, for the tiny
// waits of light loads).
func (r TheoryResult) WithinTolerance() bool {
	dSL := r.SL - r.SimSL
	dASA := (r.ASA - r.SimASA).Seconds()
	if dASA < 0 {
		dASA = -dASA
	}
	return dSL <= 0.02 && dSL >= -0.02 && (dASA <= 1 || dASA <= 0.05*r.ASA.Seconds()) && r.Lost == 0 && r.Rejected == 0
}

func itoa(i int) string {
	b := make([]byte, 0, 8)
	for i >= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
		i /= 10
	}
	return string(append([]byte{byte('0' + i)}, b...))
}
