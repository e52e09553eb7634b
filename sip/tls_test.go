package sip

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"onecall/router"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 and returns the
// PEM file paths and a pool trusting it.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "onecall test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(c)
	return certFile, keyFile, pool
}

// tlsCaller is a diago user agent that calls over TLS, trusting pool.
func tlsCaller(t *testing.T, pool *x509.CertPool) *diago.Diago {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("tlscaller"),
		sipgo.WithUserAgenTLSConfig(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ua.Close() })
	return diago.NewDiago(ua, diago.WithLogger(slog.New(slog.DiscardHandler)),
		diago.WithTransport(diago.Transport{Transport: "tls", BindHost: "127.0.0.1", BindPort: 0}))
}

func tlsURI(t *testing.T, user, addr string) sip.Uri {
	t.Helper()
	var u sip.Uri
	if err := sip.ParseUri("sip:"+user+"@"+addr+";transport=tls", &u); err != nil {
		t.Fatal(err)
	}
	return u
}

func responseCode(err error) int {
	var e *sipgo.ErrDialogResponse
	if errors.As(err, &e) {
		return e.Res.StatusCode
	}
	var v sipgo.ErrDialogResponse
	if errors.As(err, &v) {
		return v.Res.StatusCode
	}
	return 0
}

// TestTLSCallUnknownAndKnownNumber: a caller over TLS (certificate from
// files) gets 404 for an unknown number; a call to a hotline is answered,
// queued (ContactArrived) and abandoned when the caller hangs up.
func TestTLSCallUnknownAndKnownNumber(t *testing.T) {
	t.Parallel()
	certFile, keyFile, pool := selfSigned(t)
	env := newTestEnv(t, nil, func(o *Options, _ *fakeHub) {
		o.ListenTCP = ""
		o.ListenTLS = "127.0.0.1:0"
		o.TLSCert, o.TLSKey = certFile, keyFile
		o.Demo = false
		o.Trunks = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
	addr := env.svc.TLSAddr()
	if addr == "" || strings.HasSuffix(addr, ":0") {
		t.Fatalf("TLSAddr = %q", addr)
	}
	dg := tlsCaller(t, pool)
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()

	_, _, err := dg.Invite(ctx, tlsURI(t, "9999", addr), diago.InviteOptions{})
	if code := responseCode(err); code != sip.StatusNotFound {
		t.Fatalf("unknown number over TLS: err %v (code %d), want 404", err, code)
	}

	d, med, err := dg.Invite(ctx, tlsURI(t, "110", addr), diago.InviteOptions{})
	if err != nil {
		t.Fatalf("known number over TLS: %v", err)
	}
	if code := d.InviteResponse.StatusCode; code != sip.StatusOK {
		t.Fatalf("known number over TLS answered %d", code)
	}
	// The greeting arrives: the service took our ACK and plays media.
	r, err := med.AudioReader()
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan int, 1)
	go func() {
		buf, n := make([]byte, 1500), 0
		for i := 0; i < minAudio; i++ {
			k, err := r.Read(buf)
			if err != nil {
				break
			}
			n += k
		}
		got <- n
	}()
	select {
	case n := <-got:
		if n < minAudio*160 {
			t.Fatalf("greeting over a TLS call: %d bytes of audio", n)
		}
	case <-ctx.Done():
		t.Fatal("no greeting audio within 15 s")
	}
	arrived := env.hub.waitEvent(t, 10*time.Second, "ContactArrived", isEv[router.ContactArrived](nil)).(router.ContactArrived)
	if arrived.Number != "110" || arrived.Channel != router.Voice {
		t.Fatalf("arrived = %+v", arrived)
	}
	if err := d.Hangup(ctx); err != nil {
		t.Fatalf("hangup over TLS: %v", err)
	}
	_ = d.Close()
	env.hub.waitEvent(t, 10*time.Second, "ContactAbandoned", isEv[router.ContactAbandoned](nil))
	rec := env.store.wait(t, 5*time.Second)
	if rec.Number != "110" || rec.Cause != causeCitizenBye {
		t.Fatalf("record = %+v", rec)
	}
}

// TestTLSTrunkACL: the trunk allow-list applies to TLS too (403), with the
// certificate given as a tls.Config.
func TestTLSTrunkACL(t *testing.T) {
	t.Parallel()
	certFile, keyFile, pool := selfSigned(t)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	env := newTestEnv(t, nil, func(o *Options, _ *fakeHub) {
		o.ListenTCP = ""
		o.ListenTLS = "127.0.0.1:0"
		o.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		o.Demo = false
		o.Trunks = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	})
	dg := tlsCaller(t, pool)
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	_, _, err = dg.Invite(ctx, tlsURI(t, "110", env.svc.TLSAddr()), diago.InviteOptions{})
	if code := responseCode(err); code != sip.StatusForbidden {
		t.Fatalf("non-trunk source over TLS: err %v (code %d), want 403", err, code)
	}
}

// TestTLSMissingCertFile: New names the missing file.
func TestTLSMissingCertFile(t *testing.T) {
	t.Parallel()
	certFile, keyFile, _ := selfSigned(t)
	missing := filepath.Join(t.TempDir(), "nope.pem")
	base := Options{ListenTLS: "127.0.0.1:0", Numbers: staticNumbers{}}
	for _, tc := range []struct{ cert, key, want string }{
		{missing, keyFile, missing},
		{certFile, missing, missing},
		{keyFile, certFile, certFile}, // swapped: the pair does not parse
		{"", keyFile, "TLSCert"},
	} {
		o := base
		o.TLSCert, o.TLSKey = tc.cert, tc.key
		_, err := New(newFakeHub(), o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("cert %q key %q: err %v, want it to name %q", tc.cert, tc.key, err, tc.want)
		}
	}
}

// TestTLSOverloadCap: the CPS cap applies to TLS callers too (503 with
// Retry-After before any media).
func TestTLSOverloadCap(t *testing.T) {
	t.Parallel()
	certFile, keyFile, pool := selfSigned(t)
	env := newTestEnv(t, nil, func(o *Options, _ *fakeHub) {
		o.ListenTCP = ""
		o.ListenTLS = "127.0.0.1:0"
		o.TLSCert, o.TLSKey = certFile, keyFile
		o.MaxCPS, o.Burst = 0.001, 1
	})
	dg := tlsCaller(t, pool)
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	d, _, err := dg.Invite(ctx, tlsURI(t, "110", env.svc.TLSAddr()), diago.InviteOptions{})
	if err != nil {
		t.Fatalf("first call over TLS: %v", err)
	}
	defer func() { _ = d.Hangup(ctx); _ = d.Close() }()
	var retry string
	_, _, err = dg.Invite(ctx, tlsURI(t, "110", env.svc.TLSAddr()), diago.InviteOptions{
		OnResponse: func(res *sip.Response) error {
			if h := res.GetHeader("Retry-After"); h != nil {
				retry = h.Value()
			}
			return nil
		}})
	if code := responseCode(err); code != sip.StatusServiceUnavailable || retry == "" {
		t.Fatalf("second call over the CPS cap: err %v (code %d, Retry-After %q), want 503 with Retry-After", err, code, retry)
	}
}
