package sip

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
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

func TestTortureExplore(t *testing.T) {
	msgs := readTortureFiles(t)
	reg, _ := newTestRegistrar(t, nil)
	s := startRegServer(t, reg)
	u := sendTortureUDP(t, s.udp, msgs, 1500*time.Millisecond)
	reg2, _ := newTestRegistrar(t, nil)
	s2 := startRegServer(t, reg2)
	c := sendTortureTCP(t, s2.tcp, msgs, 1500*time.Millisecond)
	var names []string
	for n := range msgs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t.Logf("%-22s udp=%-8s tcp=%-8s", n, u[n], c[n])
	}
}
