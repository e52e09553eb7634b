package main

// -compare: onecall's media path beside the reference relay, Kamailio +
// rtpengine (issue 14), in one run on 127.0.0.1. For each system in turn
// sipload starts a fresh SIPp UAS with -rtp_echo (the far end: every agent
// phone), starts the relay (Kamailio with the rtpengine module and
// rtpengine in userspace, --table=-1, or `onecall serve --demo` with the
// agents registered at that UAS, as in -serve), places -bprobes Go probes
// through the relay and as many directly at the UAS (the baseline), and
// drives the same SIPp load through it: citizens speaking for the whole
// call (rtp_stream) to the echoing UAS. It prints, per system: the relays'
// CPU per call-second of two-way audio (/proc/<pid>/stat, all the relay's
// processes), the p99 send interval the probes see, and the one-way delay
// the relay adds (the probes' round trip through the relay minus the
// direct round trip of the same moment, halved: the round trip crosses the
// relay twice). -repeat N runs the systems N times over, interleaved, and
// sums each up by its median (one run of a system on this shared VM varies
// by 10-15 %). onecall/N runs onecall with sip.rtp_pollers N. sipload
// installs nothing: kamailio and rtpengine come from .ci/install-deps; it
// only checks that they are there.

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

type compareOpts struct {
	systems []string // "kamailio", "onecall", in this order
	rate    float64
	calls   int
	hold    time.Duration
	probes  int
	limit   int
	timeout time.Duration
	rtpMin  int    // rtpengine's port range
	bin     string // a prebuilt onecall binary ("": build ./cmd/onecall)
	label   string // the onecall row's name
	pollers int    // sip.rtp_pollers (0: the shipped default)
	repeat  int    // rounds of all the systems, interleaved
}

// compareResult is one system's figures.
type compareResult struct {
	name             string
	system           string // as -compare names it
	loadStart, load1 string
	ok, failed       string
	cpu              time.Duration
	cpuParts         string
	callSecs         float64
	iv, direct       *intervals
}

func runCompare(o compareOpts) error {
	if len(o.systems) == 0 {
		return fmt.Errorf("-compare: name the systems (kamailio,onecall)")
	}
	for _, tool := range []string{"sipp", "kamailio", "rtpengine", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found: .ci/install-deps installs it (sipload installs nothing)", tool)
		}
	}
	if o.hold <= time.Duration(float64(o.calls)/o.rate*float64(time.Second)) {
		return fmt.Errorf("-hold %s must exceed the ramp (-calls / -rate = %.0fs): the figures are taken at full load", o.hold, float64(o.calls)/o.rate)
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	dir, err := os.MkdirTemp("", "sipload-compare")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.Symlink("/usr/share/sip-tester", filepath.Join(dir, "pcap")); err != nil {
		return err
	}
	if err := writeSpeech(filepath.Join(dir, speechFile)); err != nil {
		return err
	}
	var results []compareResult
	for round := range max(o.repeat, 1) {
		for _, sys := range o.systems {
			r, err := compareOne(ctx, dir, sys, o)
			if err != nil {
				return fmt.Errorf("%s: %w", sys, err)
			}
			r.system = sys
			if o.repeat > 1 {
				fmt.Printf("(round %d of %d)\n", round+1, o.repeat)
			}
			printCompare(r, o)
			results = append(results, r)
		}
	}
	fmt.Println()
	fmt.Println("| system | load avg start / end | calls ok / failed | relay CPU | CPU per call-second | p99 send interval (p50; direct p99) | within 20±5 ms | round trip p50 / p99 (direct p50 / p99) | added one-way delay p50 / p99 |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|")
	for _, r := range results {
		fmt.Println(compareRow(r))
	}
	if o.repeat > 1 {
		printMedians(results, o.systems)
	}
	return nil
}

// compareOne runs the load through one system of -compare.
func compareOne(ctx context.Context, dir, sys string, o compareOpts) (compareResult, error) {
	name, bin, _ := strings.Cut(sys, "=")
	name, pollers, _ := strings.Cut(name, "/")
	switch name {
	case "kamailio":
		if bin != "" || pollers != "" {
			return compareResult{}, fmt.Errorf("kamailio takes no =PATH or /N")
		}
		return compareKamailio(ctx, dir, o)
	case "onecall":
		if bin != "" { // onecall=PATH: a prebuilt binary, e.g. of an earlier commit
			o.bin, o.label = bin, "onecall-"+filepath.Base(bin)
		}
		if pollers != "" { // onecall/N: sip.rtp_pollers N
			n, err := strconv.Atoi(pollers)
			if err != nil || n == 0 {
				return compareResult{}, fmt.Errorf("onecall/N wants a non-zero number of RTP pollers")
			}
			o.pollers = n
			if o.label == "" {
				o.label = "onecall"
			}
			o.label += "-p" + pollers
		}
		return compareOnecall(ctx, dir, o)
	}
	return compareResult{}, fmt.Errorf("unknown system (kamailio, onecall)")
}

// systemMedian is one system's figures over the rounds of -repeat.
type systemMedian struct {
	name                  string
	rounds                int
	cpu, cpuMin, cpuMax   float64 // ms per call-second: median, range
	ratio                 float64 // cpu / the first system's
	delayP99, delayP99Max float64 // ms: median, max (NaN: no probes)
}

// medians sums up -repeat: per system, the median and range of its CPU per
// call-second over the rounds, its ratio to the first system's median (the
// rounds interleave the systems, so that a drift of the machine falls on
// all of them), and its added delay p99.
func medians(results []compareResult, systems []string) []systemMedian {
	var out []systemMedian
	for _, sys := range systems {
		m := systemMedian{delayP99: math.NaN(), delayP99Max: math.NaN()}
		var cpu, delay []float64
		for _, r := range results {
			if r.system != sys {
				continue
			}
			m.name = r.name
			cpu = append(cpu, 1000*r.cpu.Seconds()/r.callSecs)
			if d, ok := addedDelay(r, 0.99); ok {
				delay = append(delay, float64(d)/1e6)
			}
		}
		if len(cpu) == 0 {
			continue
		}
		m.rounds = len(cpu)
		m.cpu, m.cpuMin, m.cpuMax = median(cpu), slices.Min(cpu), slices.Max(cpu)
		if len(delay) > 0 {
			m.delayP99, m.delayP99Max = median(delay), slices.Max(delay)
		}
		if len(out) > 0 && out[0].cpu > 0 {
			m.ratio = m.cpu / out[0].cpu
		} else {
			m.ratio = 1
		}
		out = append(out, m)
	}
	return out
}

func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	if n := len(v); n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2
	}
	return v[len(v)/2]
}

func printMedians(results []compareResult, systems []string) {
	ms := medians(results, systems)
	if len(ms) == 0 {
		return
	}
	fmt.Println()
	fmt.Println("| system | rounds | CPU per call-second: median (min-max) | against " + ms[0].name + " | added delay p99: median (max) |")
	fmt.Println("|---|---|---|---|---|")
	for _, m := range ms {
		fmt.Printf("| %s | %d | **%.2f ms** (%.2f-%.2f) | %.2fx | %.1f (%.1f) ms |\n", m.name, m.rounds, m.cpu, m.cpuMin, m.cpuMax, m.ratio, m.delayP99, m.delayP99Max)
	}
}

// addedDelay is the relay's added one-way delay at percentile p: the
// probes' round trip through it minus the direct one, halved.
func addedDelay(r compareResult, p float64) (time.Duration, bool) {
	r.iv.mu.Lock()
	defer r.iv.mu.Unlock()
	r.direct.mu.Lock()
	defer r.direct.mu.Unlock()
	return addedAt(sorted(r.iv.rtt), sorted(r.direct.rtt), p)
}

// addedAt is the added one-way delay at percentile p from the sorted round
// trips through the relay (rtt) and direct (drtt).
func addedAt(rtt, drtt []time.Duration, p float64) (time.Duration, bool) {
	if len(rtt) == 0 || len(drtt) == 0 {
		return 0, false
	}
	return (pct(rtt, p) - pct(drtt, p)) / 2, true
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/1e6) }

func sorted(s []time.Duration) []time.Duration {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func within(s []time.Duration) float64 {
	in := 0
	for _, d := range s {
		if d >= 15*time.Millisecond && d <= 25*time.Millisecond {
			in++
		}
	}
	return 100 * float64(in) / float64(max(len(s), 1))
}

func compareRow(r compareResult) string {
	r.iv.mu.Lock()
	defer r.iv.mu.Unlock()
	r.direct.mu.Lock()
	defer r.direct.mu.Unlock()
	iv, div, rtt, drtt := sorted(r.iv.loaded), sorted(r.direct.loaded), sorted(r.iv.rtt), sorted(r.direct.rtt)
	add := func(p float64) string {
		if d, ok := addedAt(rtt, drtt, p); ok {
			return ms(d)
		}
		return "?"
	}
	return fmt.Sprintf("| %s | %s / %s | %s / %s | %.2f s (%s) | **%.2f ms** | **%s** (%s; direct %s) ms | %.1f %% | %s / %s (%s / %s) ms | %s / **%s** ms |",
		r.name, r.loadStart, r.load1, r.ok, r.failed, r.cpu.Seconds(), r.cpuParts, 1000*r.cpu.Seconds()/r.callSecs,
		ms(pct(iv, 0.99)), ms(pct(iv, 0.5)), ms(pct(div, 0.99)), within(iv),
		ms(pct(rtt, 0.5)), ms(pct(rtt, 0.99)), ms(pct(drtt, 0.5)), ms(pct(drtt, 0.99)), add(0.5), add(0.99))
}

func printCompare(r compareResult, o compareOpts) {
	fmt.Printf("== %s: %d calls at %.0f/s, hold %s, two-way audio (rtp_stream citizens, echoing UAS); load average %s -> %s\n",
		r.name, o.calls, o.rate, o.hold, r.loadStart, r.load1)
	fmt.Printf("  SIPp successful %s, failed %s; relay CPU %.2fs (%s) = %.2f ms per call-second (%.0f call-seconds)\n",
		r.ok, r.failed, r.cpu.Seconds(), r.cpuParts, 1000*r.cpu.Seconds()/r.callSecs, r.callSecs)
	for _, k := range []struct {
		name string
		iv   *intervals
	}{{"through the relay", r.iv}, {"direct to the echo (baseline)", r.direct}} {
		k.iv.mu.Lock()
		fmt.Printf("  probes %s: %d packets, %d sequence gaps\n", k.name, k.iv.packets.Load(), k.iv.lost)
		fmt.Printf("    arrival interval at full load: %s\n", summary(k.iv.loaded))
		fmt.Printf("    round trip at full load:       %s\n", summary(k.iv.rtt))
		k.iv.mu.Unlock()
	}
}

// echoUAS starts one SIPp UAS with -rtp_echo (every agent phone / the far
// end); rr copies Record-Route into its 200 (behind a proxy).
func echoUAS(ctx context.Context, dir string, rr bool) (port int, stop func(), err error) {
	here, _ := os.Getwd()
	b, err := os.ReadFile(filepath.Join(here, "scripts/sipload/agent.xml"))
	if err != nil {
		return 0, nil, err
	}
	if rr {
		b = bytes.Replace(b, []byte("      [last_CSeq:]\n      Contact:"), []byte("      [last_CSeq:]\n      [last_Record-Route:]\n      Contact:"), 1)
	}
	xml := filepath.Join(dir, "echo.xml")
	if err := os.WriteFile(xml, b, 0o644); err != nil {
		return 0, nil, err
	}
	port = freePort()
	cmd := sippCmd(ctx, 0, "-sf", xml, "-i", "127.0.0.1", "-p", strconv.Itoa(port),
		"-mp", strconv.Itoa(freePort()&^1), "-rtp_echo", "-nostdin", "-max_socket", "4096", "-rtp_buffsize", "4194304")
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return 0, nil, fmt.Errorf("echo sipp: %v", err)
	}
	return port, func() {
		_ = cmd.Process.Kill() // our own child, by pid
		_ = cmd.Wait()
	}, nil
}

// compareLoad places the probes, runs the SIPp citizens against target
// and measures cpu() over the load.
func compareLoad(ctx context.Context, dir, name, target string, echoPort int, viaProxy bool, cpu func() (time.Duration, string), o compareOpts) (compareResult, error) {
	r := compareResult{name: name, callSecs: float64(o.calls) * o.hold.Seconds()}
	var loaded atomic.Bool
	r.iv, r.direct = &intervals{loadedCheck: loaded.Load}, &intervals{loadedCheck: loaded.Load}
	stopB, err := startProbes(ctx, o.probes, "110", target, r.iv)
	if err != nil {
		return r, fmt.Errorf("probes through the relay: %w", err)
	}
	defer stopB()
	stopD, err := startProbes(ctx, o.probes, "echo", "127.0.0.1:"+strconv.Itoa(echoPort), r.direct)
	if err != nil {
		return r, fmt.Errorf("direct probes: %w", err)
	}
	defer stopD()

	here, _ := os.Getwd()
	b, err := os.ReadFile(filepath.Join(here, "scripts/sipload/citizen.xml"))
	if err != nil {
		return r, err
	}
	b = citizenMedia(b, true, "stream")
	if viaProxy { // ACK and BYE follow the Record-Route of the 200
		b = bytes.ReplaceAll(b, []byte("      CSeq: 1 ACK\n"), []byte("      CSeq: 1 ACK\n      [routes]\n"))
		b = bytes.ReplaceAll(b, []byte("      CSeq: 2 BYE\n"), []byte("      CSeq: 2 BYE\n      [routes]\n"))
	}
	scen := "citizen-" + name
	xml := filepath.Join(dir, scen+".xml")
	if err := os.WriteFile(xml, b, 0o644); err != nil {
		return r, err
	}
	for _, f := range must(filepath.Glob(filepath.Join(dir, scen+"_*_.csv"))) {
		_ = os.Remove(f)
	}
	cmd := sippCmd(ctx, 0, "-sf", xml, "-s", "110", "-i", "127.0.0.1", "-p", strconv.Itoa(freePort()),
		"-mp", strconv.Itoa(freePort()&^1), "-r", strconv.FormatFloat(o.rate, 'f', -1, 64), "-m", strconv.Itoa(o.calls),
		"-l", strconv.Itoa(o.limit), "-d", strconv.Itoa(int(o.hold/time.Millisecond)), "-nostdin",
		"-timeout", strconv.Itoa(int(o.timeout/time.Second))+"s", "-trace_stat", "-fd", "1",
		"-max_socket", "4096", target)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out

	// Full load: from the end of the ramp until the first calls end.
	ramp := time.Duration(float64(o.calls) / o.rate * float64(time.Second))
	r.loadStart = loadAvg()
	cpu0, _ := cpu()
	window := time.AfterFunc(ramp+time.Second, func() { loaded.Store(true) })
	windowEnd := time.AfterFunc(o.hold, func() { loaded.Store(false) })
	runErr := cmd.Run()
	window.Stop()
	windowEnd.Stop()
	loaded.Store(false)
	cpu1, parts := cpu()
	r.cpu, r.cpuParts = cpu1-cpu0, parts
	r.load1 = loadAvg()
	st, err := statFile(dir, scen)
	if err != nil {
		return r, fmt.Errorf("%v (sipp: %v, %s)", err, runErr, tail(out.String()))
	}
	r.ok, r.failed = st["SuccessfulCall(C)"], st["FailedCall(C)"]
	if runErr != nil {
		fmt.Printf("%s: sipp exit %v\n%s\n", name, runErr, tail(out.String()))
	}
	return r, nil
}

func must[T any](v T, _ error) T { return v }

// compareKamailio runs the load through Kamailio (rtpengine module) and
// rtpengine in userspace.
func compareKamailio(ctx context.Context, dir string, o compareOpts) (compareResult, error) {
	echoPort, stopEcho, err := echoUAS(ctx, dir, true)
	if err != nil {
		return compareResult{}, err
	}
	defer stopEcho()
	kdir := filepath.Join(dir, "kamailio")
	if err := os.MkdirAll(kdir, 0o755); err != nil {
		return compareResult{}, err
	}
	ngPort, sipPort := freePort(), freePort()
	rtpLog, err := os.Create(filepath.Join(kdir, "rtpengine.log"))
	if err != nil {
		return compareResult{}, err
	}
	defer rtpLog.Close()
	rtp := exec.Command("rtpengine", "--config-file=none", "--table=-1", "--interface=127.0.0.1",
		"--listen-ng=127.0.0.1:"+strconv.Itoa(ngPort), "--port-min="+strconv.Itoa(o.rtpMin), "--port-max="+strconv.Itoa(o.rtpMin+3999),
		"--pidfile="+filepath.Join(kdir, "rtpengine.pid"), "--foreground", "--log-stderr", "--log-level=4", "--timeout=60")
	rtp.Stdout, rtp.Stderr = rtpLog, rtpLog
	if err := rtp.Start(); err != nil {
		return compareResult{}, fmt.Errorf("rtpengine: %w", err)
	}
	defer stopProc(rtp)
	if err := waitFor(ctx, 20*time.Second, func() bool { return ngPing(ngPort) }); err != nil {
		return compareResult{}, fmt.Errorf("rtpengine not answering ping: %v\n%s", err, tailFile(rtpLog.Name()))
	}

	cfg := filepath.Join(kdir, "kamailio.cfg")
	mods, _ := filepath.Glob("/usr/lib/*/kamailio/modules/rtpengine.so")
	if len(mods) == 0 {
		return compareResult{}, fmt.Errorf("kamailio's rtpengine module not found under /usr/lib/*/kamailio/modules")
	}
	if err := os.WriteFile(cfg, []byte(kamailioCfg(filepath.Dir(mods[0]), sipPort, ngPort, echoPort)), 0o644); err != nil {
		return compareResult{}, err
	}
	kamLog, err := os.Create(filepath.Join(kdir, "kamailio.log"))
	if err != nil {
		return compareResult{}, err
	}
	defer kamLog.Close()
	kam := exec.Command("kamailio", "-f", cfg, "-DD", "-E", "-P", filepath.Join(kdir, "kamailio.pid"),
		"-Y", kdir, "-w", kdir, "-m", "256", "-M", "16")
	kam.Stdout, kam.Stderr = kamLog, kamLog
	if err := kam.Start(); err != nil {
		return compareResult{}, fmt.Errorf("kamailio: %w", err)
	}
	defer stopProc(kam)
	target := "127.0.0.1:" + strconv.Itoa(sipPort)
	if err := waitFor(ctx, 20*time.Second, func() bool { return sipPing(target) }); err != nil {
		return compareResult{}, fmt.Errorf("kamailio not answering OPTIONS: %v\n%s", err, tailFile(kamLog.Name()))
	}
	kpids := append([]int{kam.Process.Pid}, childPids(kam.Process.Pid)...)
	var k0, e0 time.Duration
	measure := func() (time.Duration, string) {
		var k time.Duration
		for _, p := range kpids {
			k += procCPU(strconv.Itoa(p))
		}
		e := procCPU(strconv.Itoa(rtp.Process.Pid))
		if k0 == 0 && e0 == 0 {
			k0, e0 = k, e
			return k + e, ""
		}
		return k + e, fmt.Sprintf("rtpengine %.2f s + kamailio %.2f s", (e - e0).Seconds(), (k - k0).Seconds())
	}
	r, err := compareLoad(ctx, dir, "kamailio+rtpengine", target, echoPort, true, measure, o)
	if err != nil {
		err = fmt.Errorf("%w\nkamailio: %s\nrtpengine: %s", err, tailFile(kamLog.Name()), tailFile(rtpLog.Name()))
	}
	return r, err
}

// stopProc stops a child we started (by its pid): SIGTERM, then SIGKILL.
func stopProc(c *exec.Cmd) {
	_ = c.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = c.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = c.Process.Kill()
		<-done
	}
}

// childPids lists the processes whose parent is pid, recursively.
func childPids(pid int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
		if pp, _ := strconv.Atoi(f[1]); pp == pid {
			out = append(out, n)
			out = append(out, childPids(n)...)
		}
	}
	return out
}

// ngPing asks rtpengine's ng control port for a pong.
func ngPing(port int) bool {
	c, err := net.Dial("udp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := c.Write([]byte("sipload d7:command4:pinge")); err != nil {
		return false
	}
	buf := make([]byte, 512)
	n, err := c.Read(buf)
	return err == nil && bytes.Contains(buf[:n], []byte("pong"))
}

// sipPing sends one OPTIONS and waits for any final response.
func sipPing(target string) bool {
	c, err := net.Dial("udp", target)
	if err != nil {
		return false
	}
	defer c.Close()
	local := c.LocalAddr().String()
	msg := "OPTIONS sip:" + target + " SIP/2.0\r\nVia: SIP/2.0/UDP " + local + ";branch=z9hG4bK-ping" + strconv.FormatInt(time.Now().UnixNano(), 36) +
		"\r\nFrom: <sip:ping@" + local + ">;tag=p\r\nTo: <sip:" + target + ">\r\nCall-ID: ping-" + strconv.FormatInt(time.Now().UnixNano(), 36) +
		"\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := c.Write([]byte(msg)); err != nil {
		return false
	}
	buf := make([]byte, 2048)
	n, err := c.Read(buf)
	return err == nil && bytes.HasPrefix(buf[:n], []byte("SIP/2.0 200"))
}

// kamailioCfg is the reference proxy: every INVITE to the echo UAS, media
// through rtpengine, Record-Route so that ACK and BYE pass too.
func kamailioCfg(modDir string, sipPort, ngPort, echoPort int) string {
	return strings.NewReplacer("MODDIR", modDir, "SIPPORT", strconv.Itoa(sipPort), "NGPORT", strconv.Itoa(ngPort), "ECHOPORT", strconv.Itoa(echoPort)).Replace(`#!KAMAILIO
debug=1
log_stderror=yes
children=4
disable_tcp=yes
auto_aliases=no
listen=udp:127.0.0.1:SIPPORT
mpath="MODDIR/"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "rtpengine.so"
modparam("rtpengine", "rtpengine_sock", "udp:127.0.0.1:NGPORT")

request_route {
	if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
	if (is_method("OPTIONS") && !has_totag()) { sl_send_reply("200", "OK"); exit; }
	if (has_totag()) {
		if (loose_route()) {
			if (is_method("BYE")) { rtpengine_delete(); }
			t_relay();
			exit;
		}
		if (is_method("ACK") && t_check_trans()) { t_relay(); }
		exit;
	}
	if (is_method("CANCEL")) {
		if (t_check_trans()) { rtpengine_delete(); t_relay(); }
		exit;
	}
	if (!is_method("INVITE")) { sl_send_reply("405", "Method Not Allowed"); exit; }
	record_route();
	if (has_body("application/sdp")) { rtpengine_offer("replace-origin replace-session-connection"); }
	t_on_reply("ANSWER");
	$du = "sip:127.0.0.1:ECHOPORT";
	if (!t_relay()) { sl_reply_error(); }
	exit;
}

onreply_route[ANSWER] {
	if (has_body("application/sdp")) { rtpengine_answer("replace-origin replace-session-connection"); }
}
`)
}

// compareOnecall runs the load through `onecall serve --demo`, the agents
// registered at the echo UAS (as -serve does), citizens calling 110.
func compareOnecall(ctx context.Context, dir string, o compareOpts) (compareResult, error) {
	here, _ := os.Getwd()
	odir := filepath.Join(dir, "onecall")
	bin := o.bin
	if bin == "" {
		bin = filepath.Join(odir, "onecall")
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/onecall")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return compareResult{}, fmt.Errorf("build onecall: %w", err)
		}
	}
	agents := o.calls + 2*o.probes + 10
	cfgDir := filepath.Join(odir, "configs")
	if err := writeServeConfig(filepath.Join(here, "configs"), cfgDir, agents, serveExtra{pollers: o.pollers}); err != nil {
		return compareResult{}, err
	}
	echoPort, stopEcho, err := echoUAS(ctx, dir, false)
	if err != nil {
		return compareResult{}, err
	}
	defer stopEcho()
	httpAddr := "127.0.0.1:" + strconv.Itoa(freeTCPPort())
	sipAddr := "127.0.0.1:" + strconv.Itoa(freePort())
	logf, err := os.Create(filepath.Join(odir, "onecall.log"))
	if err != nil {
		return compareResult{}, err
	}
	defer logf.Close()
	srv := exec.Command(bin, "serve", "--config", cfgDir, "--data-dir", filepath.Join(odir, "data"), "--demo",
		"--http", httpAddr, "--sip", sipAddr, "--drain", "1s")
	srv.Stdout, srv.Stderr = logf, logf
	if err := srv.Start(); err != nil {
		return compareResult{}, err
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
	base := "http://" + httpAddr
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	if err := waitFor(wctx, 3*time.Minute, func() bool {
		select {
		case <-exited: // e.g. a binary older than the configs
			wcancel()
			return false
		default:
		}
		code, _ := httpGet(base + "/readyz")
		return code == 200
	}); err != nil {
		return compareResult{}, fmt.Errorf("onecall not ready: %v\n%s", err, tailFile(logf.Name()))
	}
	if err := registerAgents(sipAddr, echoPort, agents); err != nil {
		return compareResult{}, err
	}
	if err := waitFor(ctx, time.Minute, func() bool {
		return metricValue(base, `onecall_router_events_total{event="AgentLoggedIn"}`) >= float64(agents)
	}); err != nil {
		return compareResult{}, fmt.Errorf("agents not logged in: %v", err)
	}
	pid := strconv.Itoa(srv.Process.Pid)
	var c0 time.Duration
	measure := func() (time.Duration, string) {
		c := procCPU(pid)
		if c0 == 0 {
			c0 = c
			return c, ""
		}
		return c, fmt.Sprintf("onecall %.2f s", (c - c0).Seconds())
	}
	name := "onecall"
	if o.label != "" {
		name = o.label
	}
	r, err := compareLoad(ctx, dir, name, sipAddr, echoPort, false, measure, o)
	if err == nil {
		fmt.Printf("  onecall: media clock ticks missed %.0f, relayed frames dropped %.0f\n",
			metricValue(base, "onecall_sip_media_clock_missed_total"), metricValue(base, "onecall_sip_relay_frames_dropped_total"))
	}
	if s := tailFile(logf.Name()); err == nil && strings.Contains(s, `"level":"ERROR"`) {
		fmt.Printf("onecall logged errors:\n%s\n", s)
	}
	return r, err
}
