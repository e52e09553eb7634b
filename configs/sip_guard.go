package configs

import (
	"net/netip"
	"time"
)

// The SIP front end's defences against strangers (issue 17): where agent
// phones may be, per-source request limits and TCP/TLS connection limits.
// Each block validates itself; validateServer collects the problems.

// SIPTCP bounds SIP over TCP and TLS connections.
type SIPTCP struct {
	IdleTimeout    Duration `yaml:"idle_timeout"`    // close a connection silent this long, default 2m
	MaxConnections int      `yaml:"max_connections"` // accepted connections open at once, default 10000
	MaxPerSource   int      `yaml:"max_per_source"`  // per source IP, default 200
	FDReserve      int      `yaml:"fd_reserve"`      // descriptors kept free of SIP connections, default 1024
}

// Pike limits SIP requests per source IP (token bucket, in the style of
// Kamailio's pike module): requests over it are dropped without a reply.
type Pike struct {
	Rate   float64  `yaml:"rate"`   // requests per second per source IP, default 50; 0 disables
	Burst  int      `yaml:"burst"`  // default 100
	Exempt []string `yaml:"exempt"` // IPs or CIDRs never limited (trunks are always exempt)
}

// ExemptPrefixes parses Exempt; invalid entries are skipped (Validate
// reports them).
func (p Pike) ExemptPrefixes() []netip.Prefix { return prefixes(p.Exempt) }

// AgentPrefixes parses SIP.AgentNetworks; invalid entries are skipped.
func (s SIP) AgentPrefixes() []netip.Prefix { return prefixes(s.AgentNetworks) }

// ProxyPrefixes parses SIP.Proxies; invalid entries are skipped.
func (s SIP) ProxyPrefixes() []netip.Prefix { return prefixes(s.Proxies) }

func prefixes(list []string) []netip.Prefix {
	var out []netip.Prefix
	for _, a := range list {
		if p, err := parsePrefix(a); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func validateNetworks(at func(path ...any) func(string, ...any), key string, list []string, path ...any) {
	for i, a := range list {
		if _, err := parsePrefix(a); err != nil {
			at(append(append([]any{}, path...), i)...)("%s: bad IP or CIDR %q", key, a)
		}
	}
}

func (t SIPTCP) validate(at func(path ...any) func(string, ...any)) {
	if t.IdleTimeout < Duration(time.Second) || t.IdleTimeout > Duration(time.Hour) {
		at("sip", "tcp", "idle_timeout")("sip.tcp.idle_timeout must be between 1s and 1h, got %s", t.IdleTimeout)
	}
	if t.MaxConnections < 1 {
		at("sip", "tcp", "max_connections")("sip.tcp.max_connections must be at least 1")
	}
	if t.MaxPerSource < 1 || t.MaxPerSource > t.MaxConnections {
		at("sip", "tcp", "max_per_source")("sip.tcp.max_per_source must be between 1 and sip.tcp.max_connections (%d)", t.MaxConnections)
	}
	if t.FDReserve < 64 {
		at("sip", "tcp", "fd_reserve")("sip.tcp.fd_reserve must be at least 64 (HTTP, console, store, logs)")
	}
}

func (p Pike) validate(at func(path ...any) func(string, ...any)) {
	if p.Rate < 0 {
		at("sip", "pike", "rate")("sip.pike.rate must be >= 0 (0 disables)")
	}
	if p.Rate > 0 && p.Burst < 1 {
		at("sip", "pike", "burst")("sip.pike.burst must be at least 1")
	}
	validateNetworks(at, "sip.pike.exempt", p.Exempt, "sip", "pike", "exempt")
}
