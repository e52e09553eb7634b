package sip

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"

	"github.com/emiago/diago"
)

// loadTLS checks the TLS options and, when ListenTLS is set without a
// TLSConfig, loads TLSCert/TLSKey. Errors name the file at fault.
func (o *Options) loadTLS() error {
	if o.ListenTLS == "" {
		return nil
	}
	if o.TLSConfig != nil {
		if len(o.TLSConfig.Certificates) == 0 && o.TLSConfig.GetCertificate == nil && o.TLSConfig.GetConfigForClient == nil {
			return errors.New("sip: Options.TLSConfig has no certificate")
		}
		return nil
	}
	if o.TLSCert == "" || o.TLSKey == "" {
		return errors.New("sip: ListenTLS needs TLSConfig or both TLSCert and TLSKey")
	}
	certPEM, err := os.ReadFile(o.TLSCert)
	if err != nil {
		return fmt.Errorf("sip: TLS certificate file %q: %w", o.TLSCert, err)
	}
	keyPEM, err := os.ReadFile(o.TLSKey)
	if err != nil {
		return fmt.Errorf("sip: TLS key file %q: %w", o.TLSKey, err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("sip: TLS certificate %q / key %q: %w", o.TLSCert, o.TLSKey, err)
	}
	o.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	return nil
}

// tlsTransport resolves ListenTLS (":0" to a free port) and builds diago's
// TLS transport. addr is "" when TLS is off.
func (s *Service) tlsTransport() (addr string, t diago.Transport, err error) {
	if s.opts.ListenTLS == "" {
		return "", t, nil
	}
	_, addr, err = pickPorts("", s.opts.ListenTLS)
	if err != nil {
		return "", t, fmt.Errorf("sip: listen tls %q: %w", s.opts.ListenTLS, err)
	}
	host, port, err := splitHostPort(addr)
	if err != nil {
		return "", t, fmt.Errorf("sip: listen tls %q: %w", s.opts.ListenTLS, err)
	}
	t = diago.Transport{Transport: "tls", BindHost: host, BindPort: port, TLSConf: s.opts.TLSConfig}
	if s.opts.ExternalHost != "" {
		t.ExternalHost = s.opts.ExternalHost
	}
	return addr, t, nil
}

// TLSAddr returns the bound SIP-over-TLS address ("" when not listening).
func (s *Service) TLSAddr() string { return s.tlsAddr }
