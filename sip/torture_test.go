package sip

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// tortureResult is what the server answered to one torture file.
type tortureResult struct {
	codes []string // status lines' codes, in arrival order
}

func (r tortureResult) String() string {
	if len(r.codes) == 0 {
		return "-"
	}
	return strings.Join(r.codes, ",")
}

var (
	statusLineRE = regexp.MustCompile(`(?m)^SIP/2\.0 (\d{3}) `)
	firstViaRE   = regexp.MustCompile(`(?im)^(via|v)[ \t]*:`)
	loopHostRE   = regexp.MustCompile(`127\.0\.0\.1(:\d+)?`)
)

// pinVia points the sent-by of the first Via at 127.0.0.1:port, the test's
// own socket: sipgo answers UDP to the source IP and the Via port (RFC 3263),
// so without this the answers would go to 127.0.0.1:5060, and files sharing a
// branch would also share a transaction key.
func pinVia(msg []byte, port int) []byte {
	loc := firstViaRE.FindIndex(msg)
	if loc == nil {
		return msg
	}
	rest := msg[loc[1]:]
	m := loopHostRE.FindIndex(rest)
	if m == nil {
		return msg
	}
	out := append([]byte(nil), msg[:loc[1]]...)
	out = append(out, rest[:m[0]]...)
	out = append(out, []byte("127.0.0.1:"+strconv.Itoa(port))...)
	return append(out, rest[m[1]:]...)
}

func readTortureFiles(t *testing.T) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "torture", "*", "*.dat"))
	if err != nil || len(files) < 45 {
		t.Fatalf("torture files: %d (%v)", len(files), err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(filepath.Dir(f))+"/"+strings.TrimSuffix(filepath.Base(f), ".dat")] = b
	}
	return out
}

// sendTortureUDP sends each message from its own socket and collects every
// response that arrives before the deadline.
func sendTortureUDP(t *testing.T, addr string, msgs map[string][]byte, wait time.Duration) map[string]tortureResult {
	t.Helper()
	res := map[string]tortureResult{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	deadline := time.Now().Add(wait)
	for name, msg := range msgs {
		raddr, _ := net.ResolveUDPAddr("udp", addr)
		conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Close()
			port := conn.LocalAddr().(*net.UDPAddr).Port
			if _, err := conn.WriteTo(pinVia(msg, port), raddr); err != nil {
				t.Errorf("%s: %v", name, err)
				return
			}
			var r tortureResult
			buf := make([]byte, 65536)
			_ = conn.SetReadDeadline(deadline)
			for {
				n, _, err := conn.ReadFrom(buf)
				if err != nil {
					break
				}
				for _, m := range statusLineRE.FindAllSubmatch(buf[:n], -1) {
					r.codes = append(r.codes, string(m[1]))
				}
			}
			mu.Lock()
			res[name] = r
			mu.Unlock()
		}()
	}
	wg.Wait()
	return res
}

// sendTortureTCP sends each message on its own connection.
func sendTortureTCP(t *testing.T, addr string, msgs map[string][]byte, wait time.Duration) map[string]tortureResult {
	t.Helper()
	res := map[string]tortureResult{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	deadline := time.Now().Add(wait)
	for name, msg := range msgs {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Close()
			port := conn.LocalAddr().(*net.TCPAddr).Port
			if _, err := conn.Write(pinVia(msg, port)); err != nil {
				t.Errorf("%s: %v", name, err)
				return
			}
			_ = conn.SetReadDeadline(deadline)
			var all bytes.Buffer
			_, _ = all.ReadFrom(bufio.NewReader(conn))
			var r tortureResult
			for _, m := range statusLineRE.FindAllSubmatch(all.Bytes(), -1) {
				r.codes = append(r.codes, string(m[1]))
			}
			mu.Lock()
			res[name] = r
			mu.Unlock()
		}()
	}
	wg.Wait()
	return res
}

// tortureWant is the first status code answered per file over UDP and TCP
// ("-" = dropped, no answer), with the registrar on REGISTER, ValidateRequest
// + 200 on OPTIONS, ValidateRequest + 404 on INVITE (no such number) and
// sipgo's 405 for other methods. Deviations from RFC 4475 are sipgo v1.7.3
// limitations, noted per line: its parser drops what it cannot parse
// (no 400, no 505/513), so those files are "-".
var tortureWant = map[string][2]string{
	"invalid/badaspec":   {"-", "-"},           // sipgo drops (< sip:... > in To); RFC: 400
	"invalid/badbranch":  {"200", "200"},       // branch "z9hG4bK" alone is acceptable
	"invalid/baddate":    {"400", "400"},       // ValidateRequest: Date not GMT
	"invalid/baddn":      {"-", "-"},           // sipgo drops (unquoted comma display name); RFC: 400
	"invalid/badinv01":   {"-", "-"},           // sipgo drops (;;,;,, in Via)
	"invalid/badvers":    {"-", "-"},           // sipgo drops SIP/7.0; RFC: 505
	"invalid/bcast":      {"-", "-"},           // a 200 response without a transaction: absorbed
	"invalid/bext01":     {"420", "420"},       // Require unknown: 420 + Unsupported
	"invalid/bigcode":    {"-", "-"},           // a response with code 4294967301: dropped
	"invalid/clerr":      {"-", "-"},           // Content-Length larger than body: dropped (UDP), waits (TCP)
	"invalid/cparam01":   {"401", "401"},       // REGISTER: challenged before Contact is looked at
	"invalid/cparam02":   {"401", "401"},       // idem
	"invalid/escruri":    {"400", "400"},       // ValidateRequest: headers in Request-URI
	"invalid/insuf":      {"400", "400"},       // ValidateRequest: no From/To/Call-ID
	"invalid/inv2543":    {"400", "-"},         // sipgo: stateless 400 (no From tag); TCP: no Content-Length, cannot frame
	"invalid/invut":      {"404", "404"},       // minimal INVITE handler (Content-Type is the call path's job: 415)
	"invalid/ltgtruri":   {"-", "-"},           // sipgo drops (<> around Request-URI); RFC: 400
	"invalid/lwsruri":    {"-", "-"},           // sipgo drops; RFC: 400
	"invalid/lwsstart":   {"-", "-"},           // sipgo drops; RFC: 400
	"invalid/mcl01":      {"400", "400|-"},     // ValidateRequest: two Content-Length; TCP framing by either length may drop it
	"invalid/mismatch01": {"400", "400"},       // ValidateRequest: CSeq method mismatch
	"invalid/mismatch02": {"405", "405"},       // unknown method: 405 before any check
	"invalid/multi01":    {"400", "400"},       // ValidateRequest: repeated To/From/Call-ID/CSeq
	"invalid/ncl":        {"-", "-"},           // negative Content-Length: dropped
	"invalid/novelsc":    {"-", "-"},           // sipgo drops soap.beep: URI; RFC: 416
	"invalid/quotbal":    {"-", "-"},           // sipgo drops; RFC: 400
	"invalid/regaut01":   {"401", "401"},       // unknown auth scheme: challenge (RFC 4475 3.1.2.?)
	"invalid/regbadct":   {"401", "401"},       // challenged before Contact
	"invalid/regescrt":   {"401", "401"},       // challenged before Contact
	"invalid/scalar02":   {"-", "-"},           // sipgo drops CSeq > 2^32; RFC: 400
	"invalid/scalarlg":   {"-", "-"},           // a response: dropped
	"invalid/sdp01":      {"404", "404"},       // minimal INVITE handler (call path: 415)
	"invalid/test":       {"-", "-"},           // no SIP version: dropped
	"invalid/trws":       {"-", "-"},           // sipgo drops trailing LWS after version; RFC: 400
	"invalid/unkscm":     {"416", "416"},       // ValidateRequest
	"invalid/unksm2":     {"400", "400"},       // REGISTER with To isbn: URI
	"invalid/zeromf":     {"483", "483"},       // ValidateRequest: Max-Forwards 0
	"valid/dblreq":       {"401", "401|404|-"}, // UDP: the REGISTER, the trailing INVITE ignored; TCP: both or none, by segmentation
	"valid/esc01":        {"404", "404"},
	"valid/esc02":        {"405", "405"}, // RE%47ISTER is another method
	"valid/escnull":      {"401", "401"},
	"valid/intmeth":      {"405", "405"},
	"valid/longreq":      {"-", "404"}, // UDP: the 404 is > 1300 bytes, sipgo refuses to send it (ErrUDPMTUCongestion)
	"valid/lwsdisp":      {"200", "200"},
	"valid/mpart01":      {"405", "405"}, // MESSAGE: not served
	"valid/noreason":     {"-", "-"},     // a response without a transaction: absorbed
	"valid/semiuri":      {"200", "200"},
	"valid/transports":   {"200", "200"},
	"valid/unreason":     {"-", "-"},     // a response: absorbed
	"valid/wsinv":        {"400", "400"}, // sipgo misparses the folded From tag: stateless 400 (RFC: accept)
}

func TestTortureUDPAndTCP(t *testing.T) {
	msgs := readTortureFiles(t)
	if len(msgs) != len(tortureWant) {
		t.Fatalf("%d files, %d expectations", len(msgs), len(tortureWant))
	}
	for i, tr := range []string{"udp", "tcp"} {
		t.Run(tr, func(t *testing.T) {
			reg, _ := newTestRegistrar(t, nil)
			s := startRegServer(t, reg)
			var got map[string]tortureResult
			if tr == "udp" {
				got = sendTortureUDP(t, s.udp, msgs, 1200*time.Millisecond)
			} else {
				got = sendTortureTCP(t, s.tcp, msgs, 1200*time.Millisecond)
			}
			for name, want := range tortureWant {
				first := "-"
				if r := got[name]; len(r.codes) > 0 {
					first = r.codes[0]
				}
				if !slices.Contains(strings.Split(want[i], "|"), first) {
					t.Errorf("%s over %s: got %s, want %s", name, tr, got[name], want[i])
				}
				if strings.HasPrefix(name, "invalid/") && strings.HasPrefix(first, "2") && name != "invalid/badbranch" {
					t.Errorf("%s over %s: invalid message accepted (%s)", name, tr, first)
				}
			}
			// Still serving: an OPTIONS and an authenticated REGISTER.
			c := newRegClient(t)
			addr := s.udp
			if tr == "tcp" {
				addr = s.tcp
			}
			p := newRegPhone(t, c, addr, "agent01", "demo")
			p.tcp = tr == "tcp"
			opt := p.req(nil, -1)
			opt.Method = sip.OPTIONS
			opt.CSeq().MethodName = sip.OPTIONS
			if res := regDo(t, c.client, opt); res.StatusCode != 200 {
				t.Fatalf("OPTIONS after torture: %s", res.Short())
			}
			if _, res := p.register([]string{p.contact()}, 300); res.StatusCode != 200 {
				t.Fatalf("REGISTER after torture: %s", res.Short())
			}
		})
	}
}

// TestTortureDataStaysLocal: the copied messages name no outside address in
// Via/Contact (see testdata/torture/README.md).
func TestTortureDataStaysLocal(t *testing.T) {
	outside := regexp.MustCompile(`(?i)example\.(com|net|org)|examle\.com|192\.0\.2\.|135\.180\.|255\.255\.255\.255`)
	for name, msg := range readTortureFiles(t) {
		in := false
		for _, ln := range strings.Split(string(msg), "\n") {
			if ln != "" && (ln[0] == ' ' || ln[0] == '\t') {
				// continuation of the previous header
			} else {
				in = firstViaRE.MatchString(ln) || regexp.MustCompile(`(?i)^(contact|m)[ \t]*:`).MatchString(ln)
			}
			if in && outside.MatchString(ln) {
				t.Errorf("%s: outside address in %q", name, ln)
			}
		}
	}
}

// TestTortureRealService sends the torture files to sipcalls' real Service
// (diago INVITE/OPTIONS handlers, trunk checks, IVR) with the registrar as
// its REGISTER handler: it must survive, answer every file as in tortureWant
// (its INVITEs to unknown numbers get 404 like the minimal handler), and
// still serve an OPTIONS and a digest REGISTER afterwards, with no call left.
//
// The Service runs in a child process (this test binary re-executed), so a
// crash fails this test with the panic instead of killing the package run.
func TestTortureRealService(t *testing.T) {
	if os.Getenv("SIPREG_TORTURE_CHILD") == "" {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestTortureRealService$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), "SIPREG_TORTURE_CHILD=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			s := string(out)
			if i := strings.Index(s, "panic:"); i >= 0 {
				s = s[i:min(len(s), i+3000)]
			} else if len(s) > 6000 {
				s = s[len(s)-6000:]
			}
			t.Fatalf("real Service under torture: %v\n%s", err, s)
		}
		return
	}
	msgs := readTortureFiles(t)
	reg, _ := newTestRegistrar(t, nil)
	env := newTestEnv(t, nil, func(o *Options, _ *fakeHub) { o.RegisterHandler = reg.HandleRegister })
	udp, tcp := env.svc.Addr()
	for i, tr := range []string{"udp", "tcp"} {
		var got map[string]tortureResult
		addr := udp
		if tr == "udp" {
			got = sendTortureUDP(t, udp, msgs, 1200*time.Millisecond)
		} else {
			addr = tcp
			got = sendTortureTCP(t, tcp, msgs, 1200*time.Millisecond)
		}
		for name := range msgs {
			t.Logf("service %s %-20s %s", tr, name, got[name])
			first := "-"
			if r := got[name]; len(r.codes) > 0 {
				first = r.codes[0]
			}
			if !slices.Contains(strings.Split(tortureWant[name][i], "|"), first) {
				t.Errorf("%s over %s: got %s, want %s", name, tr, got[name], tortureWant[name][i])
			}
		}
		c := newRegClient(t)
		p := newRegPhone(t, c, addr, "agent01", "demo")
		p.tcp = tr == "tcp"
		opt := p.req(nil, -1)
		opt.Method = sip.OPTIONS
		opt.CSeq().MethodName = sip.OPTIONS
		if res := regDo(t, c.client, opt); res.StatusCode >= 500 {
			t.Fatalf("OPTIONS after torture over %s: %s", tr, res.Short())
		}
		if _, res := p.register([]string{p.contact()}, 300); res.StatusCode != 200 {
			t.Fatalf("REGISTER after torture over %s: %s", tr, res.Short())
		}
	}
	regWaitFor(t, 10*time.Second, "no call left", func() bool { return env.svc.Active() == 0 })
}
