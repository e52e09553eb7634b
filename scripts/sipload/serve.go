package main

// -serve: drive `onecall serve` itself (issue 17). sipload builds the
// binary (with -noguard: the benchmark-only build tag onecall_noguard,
// which turns the RTP source check off), writes a copy of configs/ with a
// generated roster of -agents agents (skills for the 1330 travel line and
// 110), starts `onecall serve --demo` on free loopback ports, starts one
// SIPp UAS with -rtp_echo for every agent phone, and REGISTERs each agent
// with MD5 digest with that phone as its Contact (in demo mode a
// registration logs the agent in, Ready). Then SIPp citizens call 1330,
// whose IVR menu plays its greeting; they press 1 (RFC 4733, SIPp's
// dtmf_2833_1.pcap) during it, are routed by the real engine to the
// tourism-1330 queue and bridged to an agent phone, and hang up after
// -hold. -holdcalls more citizens call 1339, a queue no agent serves,
// and wait on hold music for -holdfor. Probes as in the stand-in mode:
// -bprobes call 110 (bridged), -probes call 1339 (hold).
//
// Config changes for the bench (printed): log level warn, SIP pike off
// (every generator is 127.0.0.1), wrap-up 1 s on tourism-1330 and gen-110
// (30 s by default: agents would spend the run in wrap-up).

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

type serveOpts struct {
	rate        float64
	calls       int
	hold        time.Duration
	agents      int
	holdCalls   int
	holdFor     time.Duration
	limit       int
	timeout     time.Duration
	noGuard     bool
	pollers     int // sip.rtp_pollers (0: the shipped default)
	neighbour   int // CPU-bound neighbour processes (busy loops) during the run
	audio       bool
	number      string        // the citizens' line: 1330 (IVR, press 1) or 110 (no menu)
	recorded    int           // citizens calling 1332 (recording on): threeway.go
	threeway    int           // citizens calling 110 whose agent brings in an interpreter: threeway.go
	reportDay   int           // contacts of yesterday seeded in the store; reports asked during the load: reports.go
	reportPause time.Duration // between two reports
	pr          probeOpts
}

func runServe(o serveOpts) error {
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	dir, err := os.MkdirTemp("", "sipload-serve")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.Symlink("/usr/share/sip-tester", filepath.Join(dir, "pcap")); err != nil {
		return err
	}
	here, _ := os.Getwd()

	bin := filepath.Join(dir, "onecall")
	args := []string{"build", "-o", bin}
	if o.noGuard {
		args = append(args, "-tags", "onecall_noguard")
	}
	build := exec.CommandContext(ctx, "go", append(args, "./cmd/onecall")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build onecall: %w", err)
	}
	cfgDir := filepath.Join(dir, "configs")
	agentPort := freePort()
	var x serveExtra
	if o.threeway > 0 {
		// agent0001..: the 110 agents with consoles (one per three-way call
		// and per bridged probe); the outbound trunk is the agent phones'
		// SIPp, which answers the interpreter's leg too.
		x = serveExtra{generalAgents: o.threeway + o.pr.bridged, trunk: "127.0.0.1:" + strconv.Itoa(agentPort)}
	}
	x.pollers = o.pollers
	if err := writeServeConfig(filepath.Join(here, "configs"), cfgDir, o.agents, x); err != nil {
		return err
	}

	day := reportDay()
	if o.reportDay > 0 {
		if err := os.MkdirAll(filepath.Join(dir, "data"), 0o750); err != nil {
			return err
		}
		took, err := seedReportDay(ctx, filepath.Join(dir, "data"), o.reportDay, day)
		if err != nil {
			return err
		}
		fmt.Printf("seeded %d contacts of %s in the store in %s\n", o.reportDay, day.Format("2006-01-02"), took.Round(time.Millisecond))
	}

	httpAddr := "127.0.0.1:" + strconv.Itoa(freeTCPPort())
	sipAddr := "127.0.0.1:" + strconv.Itoa(freePort())
	logf, err := os.Create(filepath.Join(dir, "onecall.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	srv := exec.Command(bin, "serve", "--config", cfgDir, "--data-dir", filepath.Join(dir, "data"), "--demo",
		"--http", httpAddr, "--sip", sipAddr, "--drain", "1s")
	srv.Stdout, srv.Stderr = logf, logf
	if err := srv.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = srv.Wait(); close(exited) }()
	defer func() {
		_ = srv.Process.Signal(os.Interrupt) // our own child, by pid
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = srv.Process.Kill()
			<-exited
		}
	}()
	pid := strconv.Itoa(srv.Process.Pid)
	base := "http://" + httpAddr
	if err := waitFor(ctx, 3*time.Minute, func() bool {
		select {
		case <-exited:
			cancel()
			return false
		default:
		}
		code, _ := httpGet(base + "/readyz")
		return code == 200
	}); err != nil {
		return fmt.Errorf("onecall not ready: %v\n%s", err, tailFile(logf.Name()))
	}

	// Agent phones: one SIPp UAS with -rtp_echo for all of them.
	agentXML := filepath.Join(dir, "agent.xml")
	if b, err := os.ReadFile(filepath.Join(here, "scripts/sipload/agent.xml")); err != nil {
		return err
	} else if err := os.WriteFile(agentXML, b, 0o644); err != nil {
		return err
	}
	agentCmd := sippCmd(ctx, o.pr.sippNice, "-sf", agentXML, "-i", "127.0.0.1", "-p", strconv.Itoa(agentPort),
		"-mp", strconv.Itoa(freePort()&^1), "-rtp_echo", "-nostdin", "-max_socket", "4096", "-rtp_buffsize", "4194304")
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
	regStart := time.Now()
	if err := registerAgents(sipAddr, agentPort, o.agents); err != nil {
		return err
	}
	if err := waitFor(ctx, time.Minute, func() bool {
		return metricValue(base, "onecall_sip_registered_users") >= float64(o.agents) &&
			metricValue(base, `onecall_router_events_total{event="AgentLoggedIn"}`) >= float64(o.agents)
	}); err != nil {
		return fmt.Errorf("agents not registered and logged in: %v", err)
	}
	fmt.Printf("%d agents registered with digest and logged in in %s\n", o.agents, time.Since(regStart).Round(time.Millisecond))

	var interp interpreters
	if x.generalAgents > 0 {
		closeConsoles, err := openConsoles(ctx, base, x.generalAgents, &interp)
		if err != nil {
			return err
		}
		defer closeConsoles()
		fmt.Printf("%d agent consoles open over WebSocket: each brings the interpreter %s in on its calls\n", x.generalAgents, interpNumber)
	}

	stopBurn := startNeighbours(o.neighbour)
	defer stopBurn()

	var loadedNow atomic.Bool
	ivB, ivH := &intervals{loadedCheck: loadedNow.Load}, &intervals{loadedCheck: loadedNow.Load}
	if o.pr.bridged > 0 {
		stopB, err := startProbes(ctx, o.pr.bridged, "110", sipAddr, ivB)
		if err != nil {
			return fmt.Errorf("bridged probes: %w", err)
		}
		defer stopB()
	}
	if o.pr.hold > 0 {
		stopH, err := startProbes(ctx, o.pr.hold, "1339", sipAddr, ivH)
		if err != nil {
			return fmt.Errorf("hold probes: %w", err)
		}
		defer stopH()
	}

	citizen := func(name string, ivr bool) (string, error) {
		b, err := os.ReadFile(filepath.Join(here, "scripts/sipload/citizen.xml"))
		if err != nil {
			return "", err
		}
		b = citizenMedia(b, o.audio, o.pr.media)
		if ivr { // press 1 during the greeting (barge-in), then talk
			ack := []byte("  <nop><action><exec")
			if !bytes.Contains(b, ack) {
				ack = []byte("  <pause/>")
			}
			b = bytes.Replace(b, ack, append([]byte(`  <pause milliseconds="800"/>`+"\n"+
				`  <nop><action><exec play_pcap_audio="pcap/dtmf_2833_1.pcap"/></action></nop>`+"\n"+
				`  <pause milliseconds="400"/>`+"\n"), ack...), 1)
		}
		p := filepath.Join(dir, name+".xml")
		return p, os.WriteFile(p, b, 0o644)
	}
	if o.audio && o.pr.media == "stream" {
		if err := writeSpeech(filepath.Join(dir, speechFile)); err != nil {
			return err
		}
	}
	ivrXML, err := citizen("citizen-"+o.number, o.number == "1330")
	if err != nil {
		return err
	}
	holdXML, err := citizen("citizen-hold", false)
	if err != nil {
		return err
	}
	sipp := func(xml, number string, rate float64, calls int, hold time.Duration) (*exec.Cmd, *bytes.Buffer) {
		cmd := sippCmd(ctx, o.pr.sippNice, "-sf", xml, "-s", number, "-i", "127.0.0.1", "-p", strconv.Itoa(freePort()),
			"-mp", strconv.Itoa(freePort()&^1), "-r", strconv.FormatFloat(rate, 'f', -1, 64), "-m", strconv.Itoa(calls),
			"-l", strconv.Itoa(o.limit), "-d", strconv.Itoa(int(hold/time.Millisecond)), "-nostdin",
			"-timeout", strconv.Itoa(int(o.timeout/time.Second))+"s", "-trace_stat", "-fd", "1", "-trace_rtt",
			"-max_socket", "4096", sipAddr)
		cmd.Dir = dir
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		return cmd, &out
	}

	var rep *reportClient
	var quiet []time.Duration
	if o.reportDay > 0 {
		if rep, err = newReportClient(base, day); err != nil {
			return err
		}
		for range 3 {
			if err := rep.one(o.reportDay); err != nil {
				return fmt.Errorf("report before the load: %w", err)
			}
		}
		quiet = rep.take()
	}

	load0 := loadAvg()
	cpu0, wait0 := procCPU(pid), procRunQueueWait(pid)
	ev0 := metricValue(base, "onecall_sip_calls_answered_total")
	start := time.Now()
	var peak atomic.Int64
	stop := make(chan struct{})
	go func() {
		// One scrape of /metrics a second: the driver's own load on the
		// service stays small.
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				n := int64(metricValue(base, "onecall_sip_active_calls"))
				if n > peak.Load() {
					peak.Store(n)
				}
				loadedNow.Store(o.pr.loadedAt > 0 && n >= int64(o.pr.loadedAt))
			}
		}
	}()
	repDone := (<-chan struct{})(nil)
	if rep != nil {
		repDone = rep.loop(o.reportDay, o.reportPause, stop)
	}
	var holdCmd *exec.Cmd
	var holdOut *bytes.Buffer
	if o.holdCalls > 0 {
		holdCmd, holdOut = sipp(holdXML, "1339", o.rate, o.holdCalls, o.holdFor)
		if err := holdCmd.Start(); err != nil {
			return err
		}
	}
	// The mixed load (threeway.go): recorded citizens on 1332 and
	// three-way citizens on 110, beside the -calls citizens.
	type extraRun struct {
		name, number, xml string
		calls             int
		cmd               *exec.Cmd
		out               *bytes.Buffer
		err               error
	}
	var extras []*extraRun
	for _, r := range []struct {
		name, number string
		calls        int
	}{{"citizen-1332", "1332", o.recorded}, {"citizen-110", "110", o.threeway}} {
		if r.calls == 0 {
			continue
		}
		xml, err := citizen(r.name, false)
		if err != nil {
			return err
		}
		e := &extraRun{name: r.name, number: r.number, xml: xml, calls: r.calls}
		e.cmd, e.out = sipp(xml, r.number, o.rate, r.calls, o.hold)
		if err := e.cmd.Start(); err != nil {
			return err
		}
		extras = append(extras, e)
	}
	var runErr error
	ivrOut := &bytes.Buffer{}
	if o.calls > 0 {
		var ivrCmd *exec.Cmd
		ivrCmd, ivrOut = sipp(ivrXML, o.number, o.rate, o.calls, o.hold)
		runErr = ivrCmd.Run()
	}
	for _, e := range extras {
		e.err = e.cmd.Wait()
	}
	var holdErr error
	if holdCmd != nil {
		holdErr = holdCmd.Wait()
	}
	elapsed := time.Since(start)
	close(stop)
	if repDone != nil {
		<-repDone // the report in flight finishes: its time counts as under load
	}
	cpu, wait := procCPU(pid)-cpu0, procRunQueueWait(pid)-wait0
	load1 := loadAvg()
	// Let the last calls end before reading the totals.
	_ = waitFor(ctx, 20*time.Second, func() bool { return metricValue(base, "onecall_sip_active_calls") == 0 })

	ivrSt := map[string]string{}
	if o.calls > 0 {
		if ivrSt, err = statFile(dir, "citizen-"+o.number); err != nil {
			return fmt.Errorf("%v (sipp: %v, %s)", err, runErr, tail(ivrOut.String()))
		}
	}
	var lines []string
	if o.calls > 0 {
		lines = append(lines, o.number)
	}
	for _, e := range extras {
		lines = append(lines, e.number)
	}
	fmt.Printf("onecall serve (real engine, citizens call %s, %d digest-registered agents), source check %s, %d CPU-bound neighbours\n",
		strings.Join(lines, " and "), o.agents, map[bool]string{true: "OFF (onecall_noguard build)", false: "on"}[o.noGuard], o.neighbour)
	fmt.Printf("load average at start %s, at end %s\n", load0, load1)
	if o.calls > 0 {
		fmt.Printf("citizens: offered %.0f cps, %d calls, hold %s; SIPp successful %s, failed %s; INVITE->200 avg %s\n",
			o.rate, o.calls, o.hold, ivrSt["SuccessfulCall(C)"], ivrSt["FailedCall(C)"], ivrSt["ResponseTime1(C)"])
	}
	if holdCmd != nil {
		if st, err := statFile(dir, "citizen-hold"); err == nil {
			fmt.Printf("hold citizens (1339, nobody serves it): %d calls, hold %s; SIPp successful %s, failed %s\n",
				o.holdCalls, o.holdFor, st["SuccessfulCall(C)"], st["FailedCall(C)"])
		}
	}
	for _, e := range extras {
		what := map[string]string{"1332": "recorded two-party (1332, recording on)",
			"110": "three-way (110, the agent's console brings interpreter " + interpNumber + " in through the trunk)"}[e.number]
		st, err := statFile(dir, e.name)
		if err != nil {
			fmt.Printf("%s: %v (sipp: %v)\n%s\n", what, err, e.err, tail(e.out.String()))
			continue
		}
		fmt.Printf("%s: %d calls, hold %s; SIPp successful %s, failed %s; INVITE->200 avg %s\n",
			what, e.calls, o.hold, st["SuccessfulCall(C)"], st["FailedCall(C)"], st["ResponseTime1(C)"])
		if e.err != nil {
			fmt.Printf("  sipp exit: %v\n%s\n", e.err, tail(e.out.String()))
		}
	}
	if x.generalAgents > 0 {
		fmt.Printf("consoles: %s\n", &interp)
	}
	if rep != nil {
		fmt.Printf("reports (GET /api/reports, %s by queue per 15 min, %d contacts, %d KB JSON, supervisor super01):\n",
			day.Format("2006-01-02"), o.reportDay, rep.bytes>>10)
		fmt.Printf("  before the calls (quiet):  %s\n", summarizeTimes(quiet))
		fmt.Printf("  during the calls:          %s; %d failed\n", summarizeTimes(rep.take()), rep.fails)
	}
	if o.recorded > 0 {
		n, size := countRecordings(filepath.Join(dir, "data"))
		fmt.Printf("recordings written: %d WAV files, %d MB\n", n, size>>20)
	}
	answered := metricValue(base, "onecall_sip_calls_answered_total") - ev0
	fmt.Printf("calls answered by an agent (onecall_sip_calls_answered_total) %.0f; peak concurrent calls %d; elapsed %s\n",
		answered, peak.Load(), elapsed.Round(time.Millisecond))
	fmt.Printf("onecall CPU %.2fs (%.2f cores avg)", cpu.Seconds(), cpu.Seconds()/elapsed.Seconds())
	callSecs := float64(o.calls+o.recorded+o.threeway)*o.hold.Seconds() + float64(o.holdCalls)*o.holdFor.Seconds()
	if callSecs > 0 {
		fmt.Printf(", %.2f ms CPU per call-second (%.0f call-seconds offered)", 1000*cpu.Seconds()/callSecs, callSecs)
	}
	fmt.Printf("; its threads waited %.2fs on the run queue (runnable, no CPU free)\n", wait.Seconds())
	for _, m := range []string{`onecall_sip_media_clock_missed_total`, `onecall_sip_relay_frames_dropped_total`,
		`onecall_rtp_dropped_total{reason="source"}`, `onecall_sip_invites_refused_total{reason="ports"}`} {
		fmt.Printf("  %s %.0f\n", m, metricValue(base, m))
	}
	for _, k := range []struct {
		name string
		n    int
		iv   *intervals
	}{{"hold", o.pr.hold, ivH}, {"bridged", o.pr.bridged, ivB}} {
		if k.n == 0 {
			continue
		}
		iv := k.iv
		iv.mu.Lock()
		fmt.Printf("RTP probes on %s: %d; %d audio packets received, %d sequence gaps\n", k.name, k.n, iv.packets.Load(), iv.lost)
		fmt.Printf("  arrival interval while >= %d calls: %s\n", o.pr.loadedAt, summary(iv.loaded))
		fmt.Printf("  arrival interval otherwise:        %s\n", summary(iv.other))
		iv.mu.Unlock()
	}
	if runErr != nil || holdErr != nil {
		fmt.Printf("sipp exit: %v / %v\n%s\n", runErr, holdErr, tail(ivrOut.String()))
		if holdOut != nil {
			fmt.Println(tail(holdOut.String()))
		}
	}
	if s := tailFile(logf.Name()); strings.Contains(s, `"level":"ERROR"`) {
		fmt.Printf("onecall logged errors:\n%s\n", s)
	}
	return nil
}

// writeServeConfig copies the shipped configs with the bench's changes and
// a roster of n agents.
func writeServeConfig(from, to string, n int, x serveExtra) error {
	if err := os.MkdirAll(to, 0o755); err != nil {
		return err
	}
	files, _ := filepath.Glob(filepath.Join(from, "*.yaml"))
	edits := map[string][][2]string{
		"onecall.yaml": {{"  level: info ", "  level: warn "}, {"    rate: 50                   # per second", "    rate: 0                    # per second"}},
		"queues.yaml": {{"  - id: gen-110\n", "  - id: gen-110\n    wrap_up: {voice: 1s, chat: 1s}\n"},
			{"  - id: tourism-1330\n", "  - id: tourism-1330\n    wrap_up: {voice: 1s, chat: 1s}\n"}},
	}
	// 1332 (recording on) answers around the clock in the bench.
	edits["hotlines.yaml"] = append(edits["hotlines.yaml"], [2]string{
		"    hours: {weekdays: [\"09:00-18:00\"]}\n    closed: {action: callback}\n    # Financial complaints are recorded",
		"    hours: {always: true}\n    # Financial complaints are recorded"})
	if x.trunk != "" {
		edits["onecall.yaml"] = append(edits["onecall.yaml"],
			[2]string{"  trunks: []\n", "  trunks:\n    - name: bench\n      address: \"" + x.trunk + "\"\n      username: onecall\n      password_file: bench.pass\n"},
			[2]string{"  max_calls: 50                # concurrent outgoing calls", "  max_calls: 5000              # concurrent outgoing calls"},
			// Every console signs in from 127.0.0.1.
			[2]string{"    http_per_second: 50\n", "    http_per_second: 100000\n"},
			[2]string{"    logins_per_minute: 10\n", "    logins_per_minute: 100000\n"})
		edits["hotlines.yaml"] = append(edits["hotlines.yaml"], [2]string{"  - number: \"110\"\n",
			"  - number: \"110\"\n    caller_id: \"02-6196-9110\"\n    transfer_numbers: [\"" + interpNumber + "\"]\n"})
		if err := os.WriteFile(filepath.Join(to, "bench.pass"), []byte("bench\n"), 0o600); err != nil {
			return err
		}
	}
	if x.pollers != 0 {
		edits["onecall.yaml"] = append(edits["onecall.yaml"], [2]string{"\nsip:\n", "\nsip:\n  rtp_pollers: " + strconv.Itoa(x.pollers) + "\n"})
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		s := string(b)
		for _, e := range edits[filepath.Base(f)] {
			if !strings.Contains(s, e[0]) {
				return fmt.Errorf("%s lacks %q", filepath.Base(f), e[0])
			}
			s = strings.Replace(s, e[0], e[1], 1)
		}
		if filepath.Base(f) == "demo-roster.yaml" {
			var r strings.Builder
			r.WriteString(s + "  # sipload -serve: generated agents, password demo\n")
			for i := 1; i <= n; i++ {
				skills := "ko: 5, tourism: 5, general: 5, finance: 5"
				if x.generalAgents > 0 { // only the console agents serve 110
					skills = map[bool]string{true: "ko: 5, general: 5", false: "ko: 5, tourism: 5, finance: 5"}[i <= x.generalAgents]
				}
				fmt.Fprintf(&r, "  - {username: %s, password: demo, skills: {%s}}\n", benchAgent(i), skills)
			}
			s = r.String()
		}
		if err := os.WriteFile(filepath.Join(to, filepath.Base(f)), []byte(s), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// serveExtra is the config for -threeway: agent0001..generalAgents alone
// serve 110, and trunk (the agent phones' SIPp) carries the interpreters'
// legs. The zero value changes nothing beyond the shipped bench config.
type serveExtra struct {
	generalAgents int
	trunk         string
	pollers       int // sip.rtp_pollers (0: leave the shipped default)
}

// countRecordings counts the WAV files under the data dir and their bytes.
func countRecordings(dir string) (n int, size int64) {
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".wav") {
			n++
			if fi, err := d.Info(); err == nil {
				size += fi.Size()
			}
		}
		return nil
	})
	return n, size
}

func benchAgent(i int) string { return fmt.Sprintf("agent%04d", i) }

// registerAgents REGISTERs agent0001..n with MD5 digest (password demo),
// each with Contact sip:agentNNNN@127.0.0.1:phonePort.
func registerAgents(server string, phonePort, n int) error {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return err
	}
	defer conn.Close()
	to, _ := net.ResolveUDPAddr("udp", server)
	local := conn.LocalAddr().String()
	md5hex := func(s string) string { return fmt.Sprintf("%x", md5.Sum([]byte(s))) }
	buf := make([]byte, 65535)
	exchange := func(msg string) (string, error) {
		if _, err := conn.WriteToUDP([]byte(strings.ReplaceAll(msg, "\n", "\r\n")), to); err != nil {
			return "", err
		}
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			k, _, err := conn.ReadFromUDP(buf)
			if err != nil {
				return "", err
			}
			r := string(buf[:k])
			if strings.HasPrefix(r, "SIP/2.0 1") {
				continue
			}
			return r, nil
		}
	}
	uri := "sip:" + server
	for i := 1; i <= n; i++ {
		user := benchAgent(i)
		callID := fmt.Sprintf("reg-%d-%s", time.Now().UnixNano(), user)
		msg := func(cseq int, auth string) string {
			return "REGISTER " + uri + " SIP/2.0\nVia: SIP/2.0/UDP " + local + ";branch=z9hG4bK-reg" + strconv.FormatInt(time.Now().UnixNano(), 36) +
				"\nFrom: <sip:" + user + "@" + server + ">;tag=r" + strconv.Itoa(i) + "\nTo: <sip:" + user + "@" + server + ">\nCall-ID: " + callID +
				"\nCSeq: " + strconv.Itoa(cseq) + " REGISTER\nContact: <sip:" + user + "@127.0.0.1:" + strconv.Itoa(phonePort) +
				">\nExpires: 3600\nMax-Forwards: 70\n" + auth + "Content-Length: 0\n\n"
		}
		r, err := exchange(msg(1, ""))
		if err != nil {
			return fmt.Errorf("REGISTER %s: %w", user, err)
		}
		var nonce, realm string
		sc := bufio.NewScanner(strings.NewReader(r))
		for sc.Scan() {
			l := sc.Text()
			if strings.HasPrefix(strings.ToLower(l), "www-authenticate:") && strings.Contains(l, "algorithm=MD5") {
				nonce, realm = digestParam(l, "nonce"), digestParam(l, "realm")
			}
		}
		if nonce == "" {
			return fmt.Errorf("REGISTER %s: no MD5 challenge: %s", user, firstLine(r))
		}
		ha1 := md5hex(user + ":" + realm + ":demo")
		ha2 := md5hex("REGISTER:" + uri)
		resp := md5hex(ha1 + ":" + nonce + ":00000001:sipload:auth:" + ha2)
		auth := `Authorization: Digest username="` + user + `", realm="` + realm + `", nonce="` + nonce + `", uri="` + uri +
			`", response="` + resp + `", algorithm=MD5, qop=auth, nc=00000001, cnonce="sipload"` + "\n"
		r, err = exchange(msg(2, auth))
		if err != nil {
			return fmt.Errorf("REGISTER %s: %w", user, err)
		}
		if !strings.HasPrefix(r, "SIP/2.0 200") {
			return fmt.Errorf("REGISTER %s: %s", user, firstLine(r))
		}
	}
	return nil
}

func digestParam(v, k string) string {
	i := strings.Index(v, k+`="`)
	if i < 0 {
		return ""
	}
	v = v[i+len(k)+2:]
	if j := strings.IndexByte(v, '"'); j >= 0 {
		return v[:j]
	}
	return ""
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\r\n"); return l }

// startNeighbours starts n CPU-bound processes (sh busy loops) and returns
// the function that kills them (by pid).
func startNeighbours(n int) func() {
	var cmds []*exec.Cmd
	for range n {
		c := exec.Command("sh", "-c", "while :; do :; done")
		if c.Start() == nil {
			cmds = append(cmds, c)
		}
	}
	return func() {
		for _, c := range cmds {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	}
}

func freeTCPPort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func httpGet(url string) (int, string) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metricValue reads one sample of the service's /metrics (0 if absent).
func metricValue(base, sample string) float64 {
	_, body := httpGet(base + "/metrics")
	for _, l := range strings.Split(body, "\n") {
		if rest, ok := strings.CutPrefix(l, sample+" "); ok {
			v, _ := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v
		}
	}
	return 0
}

func waitFor(ctx context.Context, d time.Duration, cond func() bool) error {
	deadline := time.After(d)
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			return fmt.Errorf("timed out after %s", d)
		case <-t.C:
		}
	}
	return nil
}

func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func tailFile(p string) string {
	b, _ := os.ReadFile(p)
	return tail(string(b))
}

// statFile reads the last row of the SIPp -trace_stat CSV of scenario name.
func statFile(dir, name string) (map[string]string, error) {
	files, _ := filepath.Glob(filepath.Join(dir, name+"_*_.csv"))
	if len(files) == 0 {
		return nil, fmt.Errorf("no SIPp stat file for %s", name)
	}
	return readStat(files[0])
}
