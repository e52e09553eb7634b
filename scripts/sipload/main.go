// Command sipload drives onecall's SIP front end under load, on 127.0.0.1
// only, bounded in calls and time: SIPp citizens call a no-menu hotline, a
// small in-process router hands each call to a free fake agent (one SIPp
// "uas" with -rtp_echo playing every agent phone), the call is bridged and
// the citizen hangs up. It prints SIPp's and the service's figures.
//
//	go run ./scripts/sipload -rate 50 -calls 1000 -hold 4s -agents 400
//	go run ./scripts/sipload -rate 100 -calls 1000 -maxcps 50   # overload: fast 503
//	go run ./scripts/sipload -rate 100 -calls 1000 -hold 12s -agents 500 -audio \
//	    -probes 10 -bprobes 10 -loadedat 900   # RTP send interval under 500+500
//	go run ./scripts/sipload -serve -audio -calls 0 -threeway 100 -recorded 300 -bprobes 10 \
//	    -agents 420 -hold 60s -rate 20 -loadedat 400   # three-way + recorded calls (threeway.go)
//	go run ./scripts/sipload -compare kamailio,onecall -rate 25 -calls 300 -hold 30s -bprobes 10
//	    # media cost beside Kamailio + rtpengine, same load, one run (compare.go)
//
// Probes (probe.go) are Go citizens that record the arrival interval of the
// RTP the service sends them: -probes call number 111 (routed to a queue
// that is never served: they hear hold music for the whole run), -bprobes
// call 110 before SIPp starts and are bridged to the first agents (they
// hear their own audio echoed back through the bridge).
package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"onecall/router"
	"onecall/sip"
)

func main() {
	rate := flag.Float64("rate", 50, "new calls per second offered by SIPp")
	calls := flag.Int("calls", 500, "total calls (bound)")
	hold := flag.Duration("hold", 4*time.Second, "citizen talk time after the answer")
	agents := flag.Int("agents", 400, "fake agents")
	maxCalls := flag.Int("maxcalls", 2000, "service MaxCalls")
	maxCPS := flag.Float64("maxcps", 1000, "service MaxCPS")
	audio := flag.Bool("audio", false, "citizens speak for the whole call (two-way audio through every bridge)")
	mediaMode := flag.String("media", "stream", "how SIPp citizens speak with -audio: stream (rtp_stream: a few sender threads pace every call's PCMA) or pcap (play_pcap_audio: one thread per call)")
	limit := flag.Int("limit", 1500, "SIPp max simultaneous calls")
	timeout := flag.Duration("timeout", 3*time.Minute, "overall bound")
	probes := flag.Int("probes", 0, "RTP interval probes kept on hold (number 111)")
	bprobes := flag.Int("bprobes", 0, "RTP interval probes bridged to agents (number 110, placed first)")
	loadedAt := flag.Int("loadedat", 0, "intervals count as 'under load' while the service has at least this many calls")
	sippNice := flag.Int("sippnice", 0, "run SIPp under nice -n N (0 = same priority)")
	rmemDefault := flag.Int("rmemdefault", 0, "set net.core.rmem_default to this many bytes for the run, then restore it (root; 0 = leave it): SIPp's one -rtp_echo socket stands for every agent phone and overflows the default buffer when the service sends a tick's frames back to back")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run (service and driver) to this file")
	serve := flag.Bool("serve", false, "drive `onecall serve` itself (real engine, IVR line 1330 with DTMF 1, agents registered with digest): see serve.go")
	holdCalls := flag.Int("holdcalls", 0, "with -serve: citizens calling 1339 (no agent serves it) who wait on hold")
	holdFor := flag.Duration("holdfor", 20*time.Second, "with -serve: how long the -holdcalls citizens stay")
	noGuard := flag.Bool("noguard", false, "with -serve: build onecall with the benchmark-only tag onecall_noguard (RTP source check off)")
	pollers := flag.Int("pollers", 0, "with -serve: sip.rtp_pollers for the service (0: the shipped default, 4 per core; negative: a goroutine per leg)")
	neighbour := flag.Int("neighbour", 0, "with -serve: CPU-bound neighbour processes running during the load")
	recorded := flag.Int("recorded", 0, "with -serve: citizens calling 1332 (recording on), held -hold, beside the others: see threeway.go")
	threeway := flag.Int("threeway", 0, "with -serve: citizens calling 110 whose agent's console brings an interpreter at an outside number in (three-way), held -hold: see threeway.go")
	reportDayN := flag.Int("reportday", 0, "with -serve: seed the store with yesterday's day of this many contacts, and ask GET /api/reports for it (by queue per 15 min) as a supervisor before and during the calls: see reports.go")
	reportPause := flag.Duration("reportpause", 500*time.Millisecond, "with -reportday: pause between two reports during the calls")
	number := flag.String("number", "1330", "with -serve: the line the citizens call: 1330 (IVR menu, they press 1) or 110 (no menu)")
	compare := flag.String("compare", "", "side by side, in this order: kamailio (Kamailio + rtpengine in userspace), onecall (onecall serve built from ./cmd/onecall), onecall=PATH (a prebuilt binary, e.g. of an earlier commit), onecall/N or onecall/N=PATH (sip.rtp_pollers N), e.g. kamailio,onecall: see compare.go")
	repeat := flag.Int("repeat", 1, "with -compare: rounds of all the systems, interleaved (k,o,k,o,...), summed up by each system's median")
	rtpMin := flag.Int("rtpmin", 61000, "with -compare: the lowest of rtpengine's 4000 RTP ports")
	flag.Parse()
	if *compare != "" {
		slog.SetDefault(slog.New(slog.DiscardHandler))
		err := runCompare(compareOpts{systems: strings.Split(*compare, ","), rate: *rate, calls: *calls, hold: *hold,
			probes: max(*bprobes, 1), limit: *limit, timeout: *timeout, rtpMin: *rtpMin, repeat: *repeat})
		if err != nil {
			fmt.Fprintln(os.Stderr, "sipload:", err)
			os.Exit(1)
		}
		return
	}
	if *serve {
		slog.SetDefault(slog.New(slog.DiscardHandler))
		err := runServe(serveOpts{rate: *rate, calls: *calls, hold: *hold, agents: *agents, holdCalls: *holdCalls, holdFor: *holdFor,
			limit: *limit, timeout: *timeout, noGuard: *noGuard, pollers: *pollers, neighbour: *neighbour, audio: *audio, number: *number,
			recorded: *recorded, threeway: *threeway, reportDay: *reportDayN, reportPause: *reportPause,
			pr: probeOpts{hold: *probes, bridged: *bprobes, loadedAt: *loadedAt, sippNice: *sippNice, media: *mediaMode}})
		if err != nil {
			fmt.Fprintln(os.Stderr, "sipload:", err)
			os.Exit(1)
		}
		return
	}
	if *mediaMode != "stream" && *mediaMode != "pcap" {
		fmt.Fprintln(os.Stderr, "sipload: -media must be stream or pcap")
		os.Exit(2)
	}
	// diago's media layer logs through the default logger (e.g. RTCP from
	// SIPp's -rtp_echo): keep the report readable.
	slog.SetDefault(slog.New(slog.DiscardHandler))
	pr := probeOpts{hold: *probes, bridged: *bprobes, loadedAt: *loadedAt, sippNice: *sippNice, media: *mediaMode}
	err := withSetup(*cpuProfile, *rmemDefault, func() error {
		return run(*rate, *calls, *hold, *agents, *maxCalls, *maxCPS, *audio, *limit, *timeout, pr)
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "sipload:", err)
		os.Exit(1)
	}
}

// withSetup runs f with the CPU profile and the receive-buffer default in
// place, and undoes both before returning.
func withSetup(cpuProfile string, rmem int, f func() error) error {
	if cpuProfile != "" {
		out, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer out.Close()
		if err := pprof.StartCPUProfile(out); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if rmem > 0 {
		restore, err := setRmemDefault(rmem)
		if err != nil {
			return err
		}
		defer restore()
	}
	return f()
}

func freePort() int {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

type numbers struct{}

func (numbers) Resolve(user, _ string) (string, string, sip.Menu, bool) {
	if user == "111" {
		return "111", probeQueue, sip.Menu{Skip: true}, true
	}
	return "110", "general", sip.Menu{Skip: true}, user == "110"
}

// probeQueue is never served: its callers hear hold music until they hang up.
const probeQueue = "probe"

type probeOpts struct {
	hold, bridged, loadedAt, sippNice int
	media                             string // "stream" or "pcap"
}

// sippCmd runs SIPp, under nice(1) when n > 0 (so that SIPp's per-call
// pcap threads, which would be on other machines in production, yield the
// shared cores to the service being measured).
func sippCmd(ctx context.Context, n int, args ...string) *exec.Cmd {
	if n > 0 {
		return exec.CommandContext(ctx, "nice", append([]string{"-n", strconv.Itoa(n), "sipp"}, args...)...)
	}
	return exec.CommandContext(ctx, "sipp", args...)
}

type locator struct{ uri string }

func (l locator) Lookup(user string) (string, bool) {
	return "sip:" + user + "@" + l.uri, true
}

func run(rate float64, calls int, hold time.Duration, nAgents, maxCalls int, maxCPS float64, audio bool, limit int, timeout time.Duration, pr probeOpts) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	dir, err := os.MkdirTemp("", "sipload")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.Symlink("/usr/share/sip-tester", filepath.Join(dir, "pcap")); err != nil {
		return err
	}
	here, _ := os.Getwd()
	scen := func(name string) (string, error) {
		b, err := os.ReadFile(filepath.Join(here, "scripts/sipload", name))
		if err != nil {
			return "", err
		}
		if name == "citizen.xml" {
			b = citizenMedia(b, audio, pr.media)
		}
		p := filepath.Join(dir, name)
		return p, os.WriteFile(p, b, 0o644)
	}
	if audio && pr.media == "stream" {
		if err := writeSpeech(filepath.Join(dir, speechFile)); err != nil {
			return err
		}
	}
	agentXML, err := scen("agent.xml")
	if err != nil {
		return err
	}
	citizenXML, err := scen("citizen.xml")
	if err != nil {
		return err
	}

	// Fake agent phones.
	agentPort := freePort()
	agentCmd := sippCmd(ctx, pr.sippNice, "-sf", agentXML, "-i", "127.0.0.1", "-p", strconv.Itoa(agentPort),
		"-mp", strconv.Itoa(freePort()&^1), "-rtp_echo", "-nostdin", "-max_socket", "4096",
		// One echo socket stands for 500 phones: the service's media clock
		// sends each tick's frames back to back, more than the default
		// receive buffer holds.
		"-rtp_buffsize", "4194304")
	agentCmd.Dir = dir
	var agentOut bytes.Buffer
	agentCmd.Stdout, agentCmd.Stderr = &agentOut, &agentOut
	if err := agentCmd.Start(); err != nil {
		return fmt.Errorf("agent sipp: %v", err)
	}
	defer func() {
		_ = agentCmd.Process.Kill() // our own child, by pid
		_ = agentCmd.Wait()
	}()

	hub := newLoadHub(nAgents)
	svc, err := sip.New(hub, sip.Options{
		ListenUDP:    "127.0.0.1:0",
		Demo:         true,
		Numbers:      numbers{},
		Locator:      locator{uri: "127.0.0.1:" + strconv.Itoa(agentPort)},
		MaxCalls:     maxCalls,
		MaxCPS:       maxCPS,
		NoRTPTimeout: time.Minute,
		Logger:       slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err != nil {
		return err
	}
	hub.sink = svc.Sink()
	go hub.run(ctx)
	if err := svc.Start(ctx); err != nil {
		return err
	}
	defer svc.Close()
	udp, _ := svc.Addr()

	loaded := func() bool { return pr.loadedAt > 0 && svc.Active() >= pr.loadedAt }
	ivB, ivH := &intervals{loadedCheck: loaded}, &intervals{loadedCheck: loaded}
	if pr.bridged > 0 {
		stopB, err := startProbes(ctx, pr.bridged, "110", udp, ivB)
		if err != nil {
			return fmt.Errorf("bridged probes: %w", err)
		}
		defer stopB()
	}
	if pr.hold > 0 {
		stopH, err := startProbes(ctx, pr.hold, "111", udp, ivH)
		if err != nil {
			return fmt.Errorf("hold probes: %w", err)
		}
		defer stopH()
	}

	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	cpu0, wait0 := cpuTime(), runQueueWait()
	start := time.Now()
	peak := atomic.Int64{}
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if n := int64(svc.Active()); n > peak.Load() {
					peak.Store(n)
				}
			}
		}
	}()
	args := []string{"-sf", citizenXML, "-s", "110", "-i", "127.0.0.1", "-p", strconv.Itoa(freePort()),
		"-mp", strconv.Itoa(freePort() &^ 1), "-r", strconv.FormatFloat(rate, 'f', -1, 64), "-m", strconv.Itoa(calls),
		"-l", strconv.Itoa(limit), "-d", strconv.Itoa(int(hold / time.Millisecond)), "-nostdin",
		"-timeout", strconv.Itoa(int(timeout/time.Second)) + "s", "-trace_stat", "-fd", "1", "-trace_rtt",
		"-max_socket", "4096", udp}
	cmd := sippCmd(ctx, pr.sippNice, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	runErr := cmd.Run()
	elapsed := time.Since(start)
	close(stop)
	cpu := cpuTime() - cpu0
	genCPU := procCPU(strconv.Itoa(agentCmd.Process.Pid))
	if cmd.ProcessState != nil {
		genCPU += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	wait := runQueueWait() - wait0
	runtime.ReadMemStats(&m1)

	st, err := lastStat(dir)
	if err != nil {
		return fmt.Errorf("%v (sipp: %v, %s)", err, runErr, tail(out.String()))
	}
	fmt.Printf("offered rate %.0f cps, %d calls, hold %s, %d agents, maxcps %.0f, audio %v\n", rate, calls, hold, nAgents, maxCPS, audio)
	fmt.Printf("elapsed %s; SIPp scenarios: successful %s, failed %s (a 503 ends the scenario successfully)\n",
		elapsed.Round(time.Millisecond), st["SuccessfulCall(C)"], st["FailedCall(C)"])
	fmt.Printf("SIPp INVITE->200 response time (avg): %s; admitted into routing %d, refused (503) %d\n",
		st["ResponseTime1(C)"], hub.arrived.Load()-int64(pr.bridged), int64(calls)-hub.arrived.Load()+int64(pr.bridged))
	fmt.Printf("bridged %d, ended %d, abandoned %d; peak concurrent: citizen calls %d, bridged %d, waiting on hold %d\n",
		hub.accepted.Load(), hub.ended.Load(), hub.abandoned.Load(), peak.Load(), hub.peakTalking.Load(), hub.peakWaiting.Load())
	fmt.Printf("process CPU %.2fs (%.2f cores avg), heap in use %d MB, goroutines now %d\n",
		cpu.Seconds(), cpu.Seconds()/elapsed.Seconds(), m1.HeapInuse>>20, runtime.NumGoroutine())
	cs := svc.Stats()
	fmt.Printf("RTP through the service (ended calls): citizen legs rx %d tx %d, agent legs rx %d tx %d; per answered call: citizen rx %.0f, agent rx %.0f, agent tx %.0f\n",
		cs.CitizenRx, cs.CitizenTx, cs.AgentRx, cs.AgentTx, perCall(cs.CitizenRx, cs.Answered), perCall(cs.AgentRx, cs.Answered), perCall(cs.AgentTx, cs.Answered))
	fmt.Printf("media clock: %d ticks, %d missed (late), %d relayed frames dropped\n", cs.ClockTicks, cs.ClockMissed, cs.RelayDropped)
	fmt.Printf("service threads waited %.2fs on the run queue (runnable, no CPU free) during the run; the two SIPp generators used %.2fs CPU (%.2f cores avg)\n",
		wait.Seconds(), genCPU.Seconds(), genCPU.Seconds()/elapsed.Seconds())
	for _, k := range []struct {
		name string
		n    int
		iv   *intervals
	}{{"hold", pr.hold, ivH}, {"bridged", pr.bridged, ivB}} {
		if k.n == 0 {
			continue
		}
		iv := k.iv
		iv.mu.Lock()
		fmt.Printf("RTP probes on %s: %d; %d audio packets received, %d sequence gaps, %d stream changes (not counted)\n",
			k.name, k.n, iv.packets.Load(), iv.lost, iv.resets)
		fmt.Printf("  arrival interval while >= %d calls: %s\n", pr.loadedAt, summary(iv.loaded))
		fmt.Printf("  arrival interval otherwise:        %s\n", summary(iv.other))
		fmt.Printf("  the probes' own send interval while >= %d calls: %s\n", pr.loadedAt, summary(iv.sent))
		if len(iv.rtt) > 0 {
			fmt.Printf("  round trip probe -> onecall -> agent echo -> onecall -> probe while >= %d calls: %s\n", pr.loadedAt, summary(iv.rtt))
		}
		iv.mu.Unlock()
	}
	if runErr != nil {
		fmt.Printf("sipp exit: %v\n%s\n", runErr, tail(out.String()))
	}
	return nil
}

func perCall(n, calls uint64) float64 {
	if calls == 0 {
		return 0
	}
	return float64(n) / float64(calls)
}

func tail(s string) string {
	if len(s) > 2000 {
		return s[len(s)-2000:]
	}
	return s
}

// lastStat reads the last row of SIPp's -trace_stat CSV.
func lastStat(dir string) (map[string]string, error) {
	files, _ := filepath.Glob(filepath.Join(dir, "citizen_*_.csv"))
	if len(files) == 0 {
		return nil, fmt.Errorf("no SIPp stat file")
	}
	return readStat(files[0])
}

// readStat reads the last row of one SIPp -trace_stat CSV file.
func readStat(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma = ';'
	r.FieldsPerRecord = -1
	var head, last []string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if head == nil {
			head = rec
			continue
		}
		last = rec
	}
	m := map[string]string{}
	for i := range head {
		if i < len(last) {
			m[strings.TrimSpace(head[i])] = last[i]
		}
	}
	return m, nil
}

func cpuTime() time.Duration { return procCPU("self") }

// procCPU is the user+system CPU time of a process ("self" or a pid).
func procCPU(pid string) time.Duration {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * 10 * time.Millisecond
}

// runQueueWait sums, over this process's live threads, the time spent
// runnable but waiting for a CPU (/proc/self/task/*/schedstat, field 2).
func runQueueWait() time.Duration { return procRunQueueWait("self") }

// procRunQueueWait is runQueueWait for any process ("self" or a pid).
func procRunQueueWait(pid string) time.Duration {
	files, _ := filepath.Glob("/proc/" + pid + "/task/*/schedstat")
	var sum int64
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if fs := strings.Fields(string(b)); len(fs) >= 2 {
			n, _ := strconv.ParseInt(fs[1], 10, 64)
			sum += n
		}
	}
	return time.Duration(sum)
}

// loadHub is a minimal stand-in for server.Hub + router: one owner
// goroutine, free agents handed out in order, a FIFO queue.
type loadHub struct {
	inbox  chan req
	sink   interface{ Deliver([]router.Command) }
	nextID atomic.Uint64

	free    []router.AgentID
	queue   []router.ContactID
	offered map[router.ContactID]router.AgentID
	talking map[router.ContactID]router.AgentID

	arrived, accepted, ended, abandoned atomic.Int64
	peakTalking, peakWaiting            atomic.Int64
}

type req struct {
	ev    router.Event
	reply chan error
}

func newLoadHub(n int) *loadHub {
	h := &loadHub{inbox: make(chan req, 65536), offered: map[router.ContactID]router.AgentID{},
		talking: map[router.ContactID]router.AgentID{}}
	for i := 1; i <= n; i++ {
		h.free = append(h.free, router.AgentID(fmt.Sprintf("agent%04d", i)))
	}
	return h
}

func (h *loadHub) Submit(ev router.Event) error {
	select {
	case h.inbox <- req{ev: ev}:
		return nil
	default:
		return fmt.Errorf("busy")
	}
}

func (h *loadHub) Do(ctx context.Context, ev router.Event) ([]router.Command, error) {
	r := req{ev: ev, reply: make(chan error, 1)}
	select {
	case h.inbox <- r:
	default:
		return nil, fmt.Errorf("busy")
	}
	select {
	case err := <-r.reply:
		return nil, err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (h *loadHub) NewContactID() router.ContactID { return router.ContactID(h.nextID.Add(1)) }
func (h *loadHub) Now() time.Time                 { return time.Now() }

func (h *loadHub) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-h.inbox:
			cmds, err := h.apply(r.ev)
			if len(cmds) > 0 {
				h.sink.Deliver(cmds)
			}
			if r.reply != nil {
				r.reply <- err
			}
		}
	}
}

func (h *loadHub) dispatch() []router.Command {
	var cmds []router.Command
	for len(h.queue) > 0 && len(h.free) > 0 {
		c, a := h.queue[0], h.free[0]
		h.queue, h.free = h.queue[1:], h.free[1:]
		h.offered[c] = a
		cmds = append(cmds, router.Offer{Contact: c, Agent: a, Channel: router.Voice, Queue: "general",
			Deadline: time.Now().Add(15 * time.Second)})
	}
	return cmds
}

func (h *loadHub) release(a router.AgentID) { h.free = append(h.free, a) }

func (h *loadHub) dequeue(c router.ContactID) {
	for i, q := range h.queue {
		if q == c {
			h.queue = append(h.queue[:i], h.queue[i+1:]...)
			return
		}
	}
}

func (h *loadHub) apply(ev router.Event) ([]router.Command, error) {
	switch e := ev.(type) {
	case router.ContactArrived:
		if e.Queue == probeQueue {
			break
		}
		h.arrived.Add(1)
		h.queue = append(h.queue, e.Contact)
	case router.OfferAccepted:
		a, ok := h.offered[e.Contact]
		if !ok {
			return nil, fmt.Errorf("no offer")
		}
		delete(h.offered, e.Contact)
		h.talking[e.Contact] = a
		h.accepted.Add(1)
		return []router.Command{router.Connected{Contact: e.Contact, Agent: a, Channel: router.Voice}}, nil
	case router.OfferRejected:
		if a, ok := h.offered[e.Contact]; ok {
			delete(h.offered, e.Contact)
			h.release(a)
			h.queue = append([]router.ContactID{e.Contact}, h.queue...)
		}
	case router.ContactEnded:
		h.ended.Add(1)
		if a, ok := h.talking[e.Contact]; ok {
			delete(h.talking, e.Contact)
			h.release(a)
		}
	case router.ContactAbandoned:
		h.abandoned.Add(1)
		h.dequeue(e.Contact)
		if a, ok := h.offered[e.Contact]; ok {
			delete(h.offered, e.Contact)
			h.release(a)
		}
		if a, ok := h.talking[e.Contact]; ok {
			delete(h.talking, e.Contact)
			h.release(a)
		}
	}
	cmds := h.dispatch()
	if n := int64(len(h.talking)); n > h.peakTalking.Load() {
		h.peakTalking.Store(n)
	}
	if n := int64(len(h.queue)); n > h.peakWaiting.Load() {
		h.peakWaiting.Store(n)
	}
	return cmds, nil
}
