package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"onecall/configs"
	"onecall/server/sim"
)

// cmdSimulate runs a working day through the real routing engine in virtual
// time, with the shipped queues and hotlines and generated agents.
func cmdSimulate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "configs/onecall.yaml", "configuration file (or its directory)")
	var o sim.Options
	fs.IntVar(&o.Agents, "agents", 9500, "agents to generate")
	fs.IntVar(&o.Contacts, "contacts", 500000, "contacts in the day (before any surge)")
	fs.Float64Var(&o.ChatShare, "chat-share", 0.2, "fraction of contacts that chat")
	fs.DurationVar(&o.AHT, "aht", 3*time.Minute, "mean talk time")
	fs.DurationVar(&o.Patience, "patience", 3*time.Minute, "mean citizen patience before abandoning")
	seed := fs.Uint64("seed", 1, "random seed (same seed, same day)")
	surge := fs.String("surge", "", "NUMBER:FACTOR:FROM-TO, e.g. 1350:20:10-12 (hours, KST)")
	perQueue := fs.Bool("queues", false, "print every queue")
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
		sg, err := parseSurge(*surge)
		if err != nil {
			fmt.Fprintf(stderr, "simulate: %v\n", err)
			return 2
		}
		o.Surge = &sg
	}
	b, err := configs.Load(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "onecall: %v\n", err)
		return 1
	}
	rc, err := b.RouterConfig()
	if err != nil {
		fmt.Fprintf(stderr, "onecall: %v\n", err)
		return 1
	}
	rc.Agents = nil
	o.Config = rc
	res, err := sim.Run(o)
	if err != nil {
		fmt.Fprintf(stderr, "simulate: %v\n", err)
		return 1
	}
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
	if *perQueue || o.Surge != nil {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "queue\tarrived\tanswered\tabandoned\trefused\tSL\tASA\tmax wait\t")
		for _, q := range res.Queues {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%.1f%%\t%v\t%v\t\n", q.Queue, q.Arrived, q.Answered, q.Abandoned, q.Refused,
				100*q.SL, q.ASA.Round(time.Second), q.MaxWait.Round(time.Second))
		}
		if err := tw.Flush(); err != nil {
			return 1
		}
	}
	if res.NeverClosed != 0 || res.ClosedTwice != 0 {
		return 1
	}
	return 0
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
