// Package kamailio renders the Kamailio configuration that puts a SIP
// proxy (Debian's kamailio 5.6, dispatcher module) in front of onecall
// nodes: kamailio.cfg from the embedded template and the dispatcher list of
// the nodes. docs/cluster.md ("Kamailio in front") explains it; `onecall
// kamailio-config` writes both files. Pure: no processes, no network.
package kamailio

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"time"
)

//go:embed kamailio.cfg.tmpl
var cfgTemplate string

var tmpl = template.Must(template.New("kamailio.cfg").Option("missingkey=error").Parse(cfgTemplate))

// DefaultModulePath is where Debian's kamailio package keeps its modules.
const DefaultModulePath = "/usr/lib/x86_64-linux-gnu/kamailio/modules/"

// Config is what the rendered configuration depends on. Zero values get the
// defaults noted.
type Config struct {
	// Listen is the proxy's SIP address (UDP, and TCP when TCP is set):
	// an IP literal and a port, e.g. "203.0.113.10:5060" (0.0.0.0 only
	// with Advertise).
	Listen string
	TCP    bool
	// Advertise is the host:port put in Record-Route and Path when the
	// proxy sits behind NAT ("": the listen address).
	Advertise string
	// Nodes are the onecall nodes' SIP addresses (IP:port, UDP).
	Nodes []string
	// Trunks are the IPs/CIDRs that may send calls in (INVITE); required:
	// the nodes admit whatever this proxy relays (sip.proxies).
	Trunks []string
	// AgentNets, if set, are the only IPs/CIDRs REGISTERs are relayed
	// from (the nodes' sip.agent_networks check the Path's received
	// address too).
	AgentNets []string
	// ListFile is the dispatcher list's path as Kamailio will read it
	// (default: dispatcher.list beside kamailio.cfg; WriteFiles sets it).
	ListFile string
	// ProbeInterval is the OPTIONS probe period of each node (default 2 s;
	// whole seconds, at least 1 s).
	ProbeInterval time.Duration
	// ProbeFailures failed probes in a row take a node out (default 1).
	ProbeFailures int
	// ProbeTimeout bounds a probe, a REGISTER and the wait for an INVITE's
	// first reply when no FirstReply is set (default 1 s).
	ProbeTimeout time.Duration
	// FirstReply is how long a node may take to send the first reply to an
	// INVITE before the next node is tried (default 1 s).
	FirstReply time.Duration
	// RingTimeout bounds an INVITE after its first provisional reply
	// (default 120 s).
	RingTimeout time.Duration
	// MaxTries is how many nodes one request may try (default: all).
	MaxTries int
	// PikeRequests per PikeWindow from one source IP is the flood limit
	// (defaults 64 per 2 s); the nodes are exempt.
	PikeRequests int
	PikeWindow   time.Duration
	Children     int    // UDP worker processes (default 4)
	Debug        int    // Kamailio log level (default 2: warnings and up)
	ModulePath   string // default DefaultModulePath
}

// view is what the template sees.
type view struct {
	ListenIP, Advertise, ListFile, ModulePath string
	Trunks, AgentNets                         string // comma-separated CIDRs
	Port                                      int
	TCP                                       bool
	ProbeInterval, ProbeFailures              int
	ProbeTimeoutMS, FirstReplyMS              int64
	RingTimeoutMS                             int64
	MaxTries, PikeRequests, PikeSeconds       int
	Children, Debug                           int
}

func (c Config) view() (view, error) {
	ap, err := netip.ParseAddrPort(c.Listen)
	if err != nil {
		return view{}, fmt.Errorf("kamailio: listen %q: want IP:port", c.Listen)
	}
	if ap.Addr().IsUnspecified() && c.Advertise == "" {
		// Record-Route and Path would name 0.0.0.0.
		return view{}, fmt.Errorf("kamailio: listen %q: name the address phones and nodes reach, or set advertise", c.Listen)
	}
	if len(c.Nodes) == 0 {
		return view{}, errors.New("kamailio: no nodes")
	}
	for _, n := range c.Nodes {
		if _, err := netip.ParseAddrPort(n); err != nil {
			return view{}, fmt.Errorf("kamailio: node %q: want IP:port", n)
		}
	}
	trunks, err := cidrList(c.Trunks)
	if err != nil || trunks == "" {
		return view{}, fmt.Errorf("kamailio: trunks %q: want at least one IP or CIDR", c.Trunks)
	}
	agents, err := cidrList(c.AgentNets)
	if err != nil {
		return view{}, fmt.Errorf("kamailio: agent networks %q: %w", c.AgentNets, err)
	}
	if c.Advertise != "" {
		if strings.ContainsAny(c.Advertise, " \t\r\n\"") || !strings.Contains(c.Advertise, ":") {
			return view{}, fmt.Errorf("kamailio: advertise %q: want host:port", c.Advertise)
		}
	}
	v := view{
		ListenIP:       ap.Addr().String(),
		Trunks:         trunks,
		AgentNets:      agents,
		Port:           int(ap.Port()),
		TCP:            c.TCP,
		Advertise:      c.Advertise,
		ListFile:       c.ListFile,
		ModulePath:     c.ModulePath,
		ProbeInterval:  int(c.ProbeInterval / time.Second),
		ProbeFailures:  c.ProbeFailures,
		ProbeTimeoutMS: c.ProbeTimeout.Milliseconds(),
		FirstReplyMS:   c.FirstReply.Milliseconds(),
		RingTimeoutMS:  c.RingTimeout.Milliseconds(),
		MaxTries:       c.MaxTries,
		PikeRequests:   c.PikeRequests,
		PikeSeconds:    int(c.PikeWindow / time.Second),
		Children:       c.Children,
		Debug:          c.Debug,
	}
	if v.ListFile == "" {
		v.ListFile = "dispatcher.list"
	}
	if v.ModulePath == "" {
		v.ModulePath = DefaultModulePath
	}
	if strings.ContainsAny(v.ListFile+v.ModulePath, "\"\r\n") {
		return view{}, errors.New("kamailio: paths must not contain quotes or line breaks")
	}
	if v.ProbeInterval < 1 {
		v.ProbeInterval = 2
	}
	if v.ProbeFailures < 1 {
		v.ProbeFailures = 1
	}
	if v.ProbeTimeoutMS <= 0 {
		v.ProbeTimeoutMS = 1000
	}
	if v.FirstReplyMS <= 0 {
		v.FirstReplyMS = 1000
	}
	if v.RingTimeoutMS <= 0 {
		v.RingTimeoutMS = 120000
	}
	if v.MaxTries <= 0 || v.MaxTries > len(c.Nodes) {
		v.MaxTries = len(c.Nodes)
	}
	if v.PikeRequests <= 0 {
		v.PikeRequests = 64
	}
	if v.PikeSeconds < 1 {
		v.PikeSeconds = 2
	}
	if v.Children <= 0 {
		v.Children = 4
	}
	if v.Debug == 0 {
		v.Debug = 2
	}
	return v, nil
}

// cidrList checks IPs and CIDRs and joins them as CIDRs with commas.
func cidrList(list []string) (string, error) {
	var out []string
	for _, a := range list {
		a = strings.TrimSpace(a)
		if p, err := netip.ParsePrefix(a); err == nil {
			out = append(out, p.Masked().String())
			continue
		}
		ip, err := netip.ParseAddr(a)
		if err != nil {
			return "", fmt.Errorf("bad IP or CIDR %q", a)
		}
		out = append(out, netip.PrefixFrom(ip, ip.BitLen()).String())
	}
	return strings.Join(out, ","), nil
}

// Render returns kamailio.cfg for c.
func Render(c Config) ([]byte, error) {
	v, err := c.view()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// DispatcherList returns the dispatcher list of the nodes: set 1, one line
// each, in order.
func DispatcherList(c Config) ([]byte, error) {
	if _, err := c.view(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString("# onecall nodes: setid destination flags priority\n")
	for _, n := range c.Nodes {
		fmt.Fprintf(&b, "1 sip:%s 0 0\n", n)
	}
	return b.Bytes(), nil
}

// WriteFiles writes kamailio.cfg and dispatcher.list into dir (the list's
// absolute path goes into the cfg) and returns the cfg's path.
func WriteFiles(dir string, c Config) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	c.ListFile = filepath.Join(abs, "dispatcher.list")
	list, err := DispatcherList(c)
	if err != nil {
		return "", err
	}
	cfg, err := Render(c)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(c.ListFile, list, 0o644); err != nil {
		return "", err
	}
	p := filepath.Join(abs, "kamailio.cfg")
	if err := os.WriteFile(p, cfg, 0o644); err != nil {
		return "", err
	}
	return p, nil
}
