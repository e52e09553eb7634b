package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"onecall/configs"
	"onecall/router"
	"onecall/server/sim"
)

// cmdSimulate runs a working day through the real routing engine in virtual
// time, with the shipped queues and hotlines and generated agents (or a
// roster's).
func cmdSimulate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "configs/onecall.yaml", "configuration file (or its directory)")
	var o sim.Options
	fs.IntVar(&o.Agents, "agents", 9500, "agents to generate")
	roster := fs.String("roster", "", `the agents: "" generates --agents agents; "config" takes the configuration's roster (files.demo_roster); any other value is a roster file`)
	fs.IntVar(&o.Contacts, "contacts", 500000, "contacts in the day (before any surge)")
	fs.Float64Var(&o.ChatShare, "chat-share", 0.2, "fraction of contacts that chat")
	fs.DurationVar(&o.AHT, "aht", 3*time.Minute, "mean talk time")
	fs.DurationVar(&o.Patience, "patience", 3*time.Minute, "mean citizen patience before abandoning")
	seed := fs.Uint64("seed", 1, "random seed (same seed, same day)")
	surge := fs.String("surge", "", "surges by line and hours, comma-separated NUMBER:FACTOR:FROM-TO, e.g. 1350:20:10-12,110:5:14-16 (hours, KST)")
	compare := fs.String("compare", "", "also run this configuration (file or directory), or no-overflow (the same without overflow rules), on the same arrivals, and print the difference per queue and per line")
	htmlOut := fs.String("html", "", "write an HTML report with charts to this file")
	perQueue := fs.Bool("queues", false, "print every queue and every line")
	erlang := fs.Bool("erlang", false, "check the engine against Erlang C and A: one queue, Poisson arrivals, loads 0.5-0.95")
	eAgents := fs.Int("erlang-agents", 50, "with --erlang: agents on the queue")
	eContacts := fs.Int("erlang-contacts", 100000, "with --erlang: contacts counted per load")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *erlang {
		return simulateErlang(stdout, stderr, *eAgents, *eContacts, o.AHT, o.Patience, *seed)
	}
	o.Seed = *seed
	if *surge != "" {
		sgs, err := parseSurges(*surge)
		if err != nil {
			fmt.Fprintf(stderr, "simulate: %v\n", err)
			return 2
		}
		o.Surges = sgs
	}
	load := func(path string) (router.Config, error) {
		b, err := configs.Load(path)
		if err != nil {
			return router.Config{}, err
		}
		switch *roster {
		case "", "config":
		default:
			if b.Roster, err = configs.LoadRoster(*roster); err != nil {
				return router.Config{}, err
			}
		}
		rc, err := b.RouterConfig()
		if err != nil {
			return rc, err
		}
		if *roster == "" {
			rc.Agents = nil // sim.Run generates them
		} else if len(rc.Agents) == 0 {
			return rc, fmt.Errorf("simulate: the roster of %s has no agents", path)
		}
		return rc, nil
	}
	rc, err := load(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "onecall: %v\n", err)
		return 1
	}
	runs := []simRun{{Name: "A " + *cfgPath}}
	cfgs := []router.Config{rc}
	switch *compare {
	case "":
	case "no-overflow":
		runs[0].Name = "A overflow on"
		runs = append(runs, simRun{Name: "B overflow off"})
		cfgs = append(cfgs, withoutOverflow(rc))
	default:
		rb, err := load(*compare)
		if err != nil {
			fmt.Fprintf(stderr, "onecall: %v\n", err)
			return 1
		}
		runs = append(runs, simRun{Name: "B " + *compare})
		cfgs = append(cfgs, rb)
	}
	code := 0
	for i := range runs {
		o.Config = cfgs[i]
		res, err := sim.Run(o)
		if err != nil {
			fmt.Fprintf(stderr, "simulate: %v\n", err)
			return 1
		}
		runs[i].Res = res
		if len(runs) > 1 {
			fmt.Fprintf(stdout, "%s\n", runs[i].Name)
		}
		if c := printSimResult(stdout, res, *perQueue || (len(o.Surges) > 0 && len(runs) == 1)); c != 0 {
			code = c
		}
	}
	if len(runs) == 2 {
		if err := printDiff(stdout, runs); err != nil {
			return 1
		}
	}
	if *htmlOut != "" {
		title := "Simulated day · 모의 하루"
		if len(runs) == 2 {
			title = "Simulated day, two configurations · 모의 하루, 두 설정 비교"
		}
		if err := writeSimHTMLFile(*htmlOut, title, runs); err != nil {
			fmt.Fprintf(stderr, "simulate: %v\n", err)
			return 1
		}
	}
	return code
}

// withoutOverflow is rc with every queue's overflow rules (borrowing
// other queues' agents) removed.
func withoutOverflow(rc router.Config) router.Config {
	rc.Queues = slices.Clone(rc.Queues)
	for i := range rc.Queues {
		rc.Queues[i].Overflow = nil
	}
	return rc
}

// printSimResult prints one run; 1 when a contact was not closed exactly once.
func printSimResult(stdout io.Writer, res sim.Result, perQueue bool) int {
	fmt.Fprintf(stdout, "agents %d\n", res.Agents)
	fmt.Fprintf(stdout, "contacts %d  answered %d  abandoned %d  refused %d  callbacks %d  other %d\n",
		res.Arrived, res.Answered, res.Abandoned, res.Refused, res.Callbacks, res.Other)
	fmt.Fprintf(stdout, "every contact closed exactly once: %v (never closed %d, closed twice %d)\n",
		res.NeverClosed == 0 && res.ClosedTwice == 0, res.NeverClosed, res.ClosedTwice)
	fmt.Fprintf(stdout, "engine: %d events in %v = %.0f events/s; Apply p99 %v, max %v; peak waiting %d; heap %.1f MB\n",
		res.Events, res.Wall.Round(time.Millisecond), res.EventsPerSec, res.ApplyP99, res.ApplyMax, res.PeakWaiting,
		float64(res.HeapBytes)/1e6)
	for k, v := range res.Rejected {
		fmt.Fprintf(stdout, "rejected events: %d x %s\n", v, k)
	}
	if perQueue {
		for _, t := range []struct {
			col  string
			rows []keyed
		}{{"queue", queuesOf(res)}, {"line", linesOf(res)}} {
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintf(tw, "%s\tarrived\tanswered\tabandoned\trefused\tSL\tASA\tmax wait\t\n", t.col)
			for _, q := range t.rows {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%.1f%%\t%v\t%v\t\n", q.Key, q.F.Arrived, q.F.Answered, q.F.Abandoned, q.F.Refused,
					100*q.F.SL, q.F.ASA.Round(time.Second), q.F.MaxWait.Round(time.Second))
			}
			if err := tw.Flush(); err != nil {
				return 1
			}
		}
	}
	if res.NeverClosed != 0 || res.ClosedTwice != 0 {
		return 1
	}
	return 0
}

// printDiff prints the two runs side by side per queue, then per line
// (the number called, wherever the contact was answered), busiest first.
func printDiff(stdout io.Writer, runs []simRun) error {
	for _, t := range []struct {
		col   string
		diffs []figDiff
	}{{"queue", diffQueues(runs[0].Res, runs[1].Res)}, {"line", diffLines(runs[0].Res, runs[1].Res)}} {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "%s\tarrived\tSL A\tSL B\tB-A points\tASA A\tASA B\tabandoned A\tabandoned B\trefused A\trefused B\t\n", t.col)
		for _, d := range t.diffs {
			fmt.Fprintf(tw, "%s\t%d\t%.1f%%\t%.1f%%\t%+.1f\t%v\t%v\t%d\t%d\t%d\t%d\t\n", d.Key, d.A.Arrived, 100*d.A.SL, 100*d.B.SL,
				d.SLPoints(), d.A.ASA.Round(time.Second), d.B.ASA.Round(time.Second), d.A.Abandoned, d.B.Abandoned, d.A.Refused, d.B.Refused)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// parseSurges reads comma-separated surges.
func parseSurges(s string) ([]sim.Surge, error) {
	var out []sim.Surge
	for _, p := range strings.Split(s, ",") {
		sg, err := parseSurge(strings.TrimSpace(p))
		if err != nil {
			return nil, err
		}
		out = append(out, sg)
	}
	return out, nil
}

func parseSurge(s string) (sim.Surge, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return sim.Surge{}, fmt.Errorf("surge %q: want NUMBER:FACTOR:FROM-TO", s)
	}
	f, err := strconv.ParseFloat(parts[1], 64)
	if err != nil || f < 1 {
		return sim.Surge{}, fmt.Errorf("surge factor %q: want a number >= 1", parts[1])
	}
	from, to, ok := strings.Cut(parts[2], "-")
	a, err1 := strconv.ParseFloat(from, 64)
	b, err2 := strconv.ParseFloat(to, 64)
	if !ok || err1 != nil || err2 != nil || a >= b {
		return sim.Surge{}, fmt.Errorf("surge hours %q: want FROM-TO like 10-12", parts[2])
	}
	return sim.Surge{Number: parts[0], Factor: f, From: a, To: b}, nil
}

// simulateErlang runs the textbook queue through the real engine at loads
// from 0.5 to 0.95, with infinite patience (Erlang C) and with the given
// patience (Erlang A), and prints the simulated figures beside the theory.
// It fails when SL is off by more than 2 points or ASA by more than 5 %
// (and 1 s) for Erlang C.
func simulateErlang(stdout, stderr io.Writer, agents, contacts int, aht, patience time.Duration, seed uint64) int {
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "model\tload\tagents\tcontacts\tSL theory\tSL sim\tASA theory\tASA sim\tabandon theory\tabandon sim\twall\t")
	bad := 0
	for _, pat := range []time.Duration{0, patience} {
		for _, rho := range []float64{0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95} {
			r, err := sim.RunTheory(sim.Theory{Agents: agents, Rate: rho * float64(agents) / aht.Seconds(), AHT: aht,
				Patience: pat, Contacts: contacts, Seed: seed})
			if err != nil {
				fmt.Fprintf(stderr, "simulate: %v\n", err)
				return 1
			}
			mark := ""
			if !r.WithinTolerance() {
				mark = " *"
				bad++
			}
			fmt.Fprintf(tw, "%s\t%.2f\t%d\t%d\t%.2f%%\t%.2f%%\t%.2fs\t%.2fs\t%.2f%%\t%.2f%%\t%v%s\t\n", r.Model, rho, agents, r.Counted,
				100*r.SL, 100*r.SimSL, r.ASA.Seconds(), r.SimASA.Seconds(), 100*r.Abandon, 100*r.SimAbandon,
				r.Result.Wall.Round(time.Millisecond), mark)
		}
	}
	if err := tw.Flush(); err != nil {
		return 1
	}
	if bad > 0 {
		fmt.Fprintf(stdout, "%d rows outside tolerance (*): SL ±2 points, ASA ±5 %% or ±1 s\n", bad)
		return 1
	}
	return 0
}
