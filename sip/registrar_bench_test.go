package sip

import (
	"context"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// benchRegister builds an authenticated REGISTER for user with a fresh
// nonce, as a phone answering our challenge would.
func benchRegister(r *Registrar, user, pw, alg string, cseq uint32, now time.Time) *sip.Request {
	req := registerReq(user, "127.0.0.1:5060", "<sip:"+user+"@127.0.0.1:5062>", 600)
	cid := sip.CallIDHeader("bench-" + user)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: sip.REGISTER})
	req.AppendHeader(sip.NewHeader("Via", "SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK"+strconv.Itoa(int(cseq))))
	req.SetSource("127.0.0.1:5062")
	regAuthorize(req, digestCredentials{Nonce: r.nonces.mint(now)}, alg, user, testRealm, pw)
	return req
}

// BenchmarkRegistrarServe: the registrar's work per authenticated REGISTER
// (parse Authorization, nonce check and consume, credentials, digest,
// binding update, 200 with Contacts), without the network.
//
//	go test -run '^$' -bench 'BenchmarkRegistrarServe' -benchmem ./sip/
func BenchmarkRegistrarServe(b *testing.B) {
	for _, alg := range []string{DigestSHA256, DigestMD5} {
		b.Run(alg, func(b *testing.B) {
			reg, _ := newTestRegistrar(b, nil)
			now := time.Now()
			reqs := make([]*sip.Request, b.N)
			for i := range reqs {
				reqs[i] = benchRegister(reg, "agent01", "demo", alg, uint32(i+1), now)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if res := reg.serve(reqs[i]); res.StatusCode != 200 {
					b.Fatalf("got %s", res.Short())
				}
			}
		})
	}
}

// BenchmarkRegistrarReject compares a wrong password of a known user with
// an unknown user: both must cost the same (no timing oracle).
//
//	go test -run '^$' -bench 'BenchmarkRegistrarReject' -benchmem ./sip/
func BenchmarkRegistrarReject(b *testing.B) {
	for _, user := range []string{"agent01", "nosuchuser"} {
		b.Run(user, func(b *testing.B) {
			reg, _ := newTestRegistrar(b, func(o *RegistrarOptions) { o.FailBurst = 1 << 30; o.FailEvery = time.Nanosecond })
			now := time.Now()
			reqs := make([]*sip.Request, b.N)
			for i := range reqs {
				reqs[i] = benchRegister(reg, user, "wrong", DigestSHA256, uint32(i+1), now)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if res := reg.serve(reqs[i]); res.StatusCode != 401 {
					b.Fatalf("got %s", res.Short())
				}
			}
		})
	}
}

// BenchmarkRegisterWire: complete digest registrations over UDP on
// 127.0.0.1 (REGISTER -> 401 -> REGISTER with credentials -> 200), 16 phones
// in parallel, sipgo client and server in one process. ns/op is per
// completed registration (two transactions).
//
//	go test -run '^$' -bench 'BenchmarkRegisterWire' -benchtime 3000x ./sip/
func BenchmarkRegisterWire(b *testing.B) {
	pw := map[string]string{}
	for i := 0; i < 16; i++ {
		pw["agent"+strconv.Itoa(i)] = "demo"
	}
	reg := NewRegistrar(RegistrarOptions{Realm: testRealm, Credentials: &regCreds{realm: testRealm, pw: pw},
		Logger: regQuietLogger(), KeepAlive: -1})
	s := startRegServer(b, reg)
	var next atomic.Int64
	b.SetParallelism(8) // 8 x GOMAXPROCS goroutines
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := newRegClient(b)
		user := "agent" + strconv.Itoa(int(next.Add(1)-1)%16)
		p := newRegPhone(b, c, s.udp, user, "demo")
		for pb.Next() {
			if _, res := p.register([]string{"<sip:" + user + "@" + c.addr + ">"}, 600); res.StatusCode != 200 {
				b.Errorf("register: %s", res.Short())
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "registrations/s")
}

// BenchmarkRegisterSIPp: SIPp (sip-tester) as an external client doing
// digest registrations (testdata/reg/register_auth.xml: REGISTER -> 401 ->
// REGISTER with MD5 credentials -> 200) at a target rate; reports the
// registrations/s SIPp completed. One SIPp run per benchmark round:
//
//	go test -run '^$' -bench 'BenchmarkRegisterSIPp' -benchtime 4000x ./sip/
func BenchmarkRegisterSIPp(b *testing.B) {
	reg := NewRegistrar(RegistrarOptions{Realm: testRealm, Logger: regQuietLogger(), KeepAlive: -1,
		Credentials: &regCreds{realm: testRealm, pw: map[string]string{"agent01": "demo"}},
		// SIPp 3.6 does MD5 only and takes the first challenge.
		LegacyUserAgents: []string{"SIPp"}})
	s := startRegServer(b, reg)
	host, port, _ := net.SplitHostPort(s.udp)
	dir := b.TempDir()
	scen, _ := filepath.Abs(filepath.Join("testdata", "reg", "register_auth.xml"))
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, "sipp", "-sf", scen, "-s", "agent01", "-au", "agent01", "-ap", "demo",
		"-i", "127.0.0.1", "-p", "0", "-m", strconv.Itoa(b.N), "-r", "20000", "-l", "500",
		"-nostdin", "-trace_stat", "-stf", filepath.Join(dir, "stat.csv"), host+":"+port)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	el := time.Since(start)
	if err != nil {
		b.Fatalf("sipp: %v\n%s", err, out)
	}
	if got := reg.Stats().Registered; got < uint64(b.N) {
		b.Fatalf("%d registrations, want %d", got, b.N)
	}
	b.ReportMetric(float64(b.N)/el.Seconds(), "registrations/s")
}

// BenchmarkRegistrarRejectStore: wrong password of a known user vs an
// unknown user with the credentials read from the real store (SQLite).
//
//	go test -run '^$' -bench 'BenchmarkRegistrarRejectStore' -count 3 ./sip/
func BenchmarkRegistrarRejectStore(b *testing.B) {
	st := openTestStore(b)
	ad := NewStoreAdapter(st)
	for _, user := range []string{"agent01", "nosuchuser"} {
		b.Run(user, func(b *testing.B) {
			reg, _ := newTestRegistrar(b, func(o *RegistrarOptions) {
				o.Credentials = ad
				o.FailBurst = 1 << 30
				o.FailEvery = time.Nanosecond
			})
			now := time.Now()
			reqs := make([]*sip.Request, b.N)
			for i := range reqs {
				reqs[i] = benchRegister(reg, user, "wrong", DigestSHA256, uint32(i+1), now)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if res := reg.serve(reqs[i]); res.StatusCode != 401 {
					b.Fatalf("got %s", res.Short())
				}
			}
		})
	}
}
