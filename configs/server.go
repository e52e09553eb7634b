package configs

import (
	"net/netip"
	"strings"
	"time"
)

// Server is onecall.yaml: the server's own settings. Every field has a
// default (see DefaultServer and README.md).
type Server struct {
	Listen  Listen  `yaml:"listen"`
	DataDir string  `yaml:"data_dir"` // relative paths are relative to the config file's directory
	Store   Store   `yaml:"store"`
	Trunks  []Trunk `yaml:"trunks"`
	Log     Log     `yaml:"log"`
	Limits  Limits  `yaml:"limits"`
	Privacy Privacy `yaml:"privacy"`
	Chat    Chat    `yaml:"chat"`
	Console Console `yaml:"console"`
	SIP     SIP     `yaml:"sip"`
	Routing Routing `yaml:"routing"`
	Files   Files   `yaml:"files"`
	// Outbound holds the trunks for outgoing calls and the callback retry
	// policy (outbound.go).
	Outbound Outbound `yaml:"outbound"`
	Metrics  Metrics  `yaml:"metrics"`
	// Cluster makes the server one node of a cluster (cluster.go).
	Cluster Cluster `yaml:"cluster"`
}

// Store chooses the database (store package): SQLite in data_dir for a
// single node, PostgreSQL for a cluster.
type Store struct {
	// Driver is "sqlite" (default: data_dir/onecall.db) or "postgres".
	Driver string `yaml:"driver"`
	// DSN is the PostgreSQL connection string (libpq URL or key=value
	// form, read by pgx; the password may come from PGPASSWORD or
	// ~/.pgpass instead). Required with driver postgres, refused with
	// sqlite.
	DSN string `yaml:"dsn"`
}

// Store drivers.
const (
	StoreSQLite   = "sqlite"
	StorePostgres = "postgres"
)

// Metrics configures the Prometheus endpoint.
type Metrics struct {
	// Listen serves /metrics on its own address (e.g. "127.0.0.1:9090")
	// instead of the public HTTP listener; "" keeps it on listen.http.
	Listen string `yaml:"listen"`
	// Token, when set, is required as "Authorization: Bearer <token>".
	Token string `yaml:"token"`
	// ShortAbandon: abandons within this time of arrival also count as
	// short abandons (onecall_contacts_short_abandoned_total). Default 5s.
	ShortAbandon Duration `yaml:"short_abandon"`
}

// Listen holds listen addresses. An empty address disables that listener
// (except HTTP, which is required).
type Listen struct {
	HTTP   string `yaml:"http"`    // default ":8080"
	SIPUDP string `yaml:"sip_udp"` // default ":5060"
	SIPTCP string `yaml:"sip_tcp"` // default ":5060"
	TLS    *TLS   `yaml:"tls"`     // optional SIP over TLS (and HTTPS if server chooses)
}

// TLS is an optional TLS listener with its certificate and key files
// (relative to the config file's directory).
type TLS struct {
	Listen string `yaml:"listen"` // default ":5061"
	Cert   string `yaml:"cert"`
	Key    string `yaml:"key"`
}

// Trunk is a named allow-list of addresses allowed to send calls in.
type Trunk struct {
	Name  string   `yaml:"name"`
	Allow []string `yaml:"allow"` // IPs or CIDRs
}

// Prefixes parses Allow (single IPs become /32 or /128). Invalid entries are
// skipped; Validate reports them.
func (t Trunk) Prefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, a := range t.Allow {
		if p, err := parsePrefix(a); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Log configures log/slog output.
type Log struct {
	Level  string `yaml:"level"`  // debug|info|warn|error, default info
	Format string `yaml:"format"` // text|json, default json
}

// Limits bounds load.
type Limits struct {
	InboxSize         int     `yaml:"inbox_size"`           // router inbox, default 65536
	MaxCalls          int     `yaml:"max_calls"`            // concurrent calls, default 11000 (see sip.rtp_port_min)
	MaxCallsPerSecond float64 `yaml:"max_calls_per_second"` // new calls/s, default 500
	MaxChats          int     `yaml:"max_chats"`            // concurrent chats, default 50000
	ChatMessageBytes  int     `yaml:"chat_message_bytes"`   // default 4096
	// ConnectionsPerSource bounds open HTTP and WebSocket connections per
	// client address, default 500.
	ConnectionsPerSource int `yaml:"connections_per_source"`
	// HTTPReadTimeout bounds reading one request, body included (default
	// 30s); HTTPIdleTimeout closes an idle keep-alive connection (default 2m).
	HTTPReadTimeout Duration   `yaml:"http_read_timeout"`
	HTTPIdleTimeout Duration   `yaml:"http_idle_timeout"`
	Rate            RateLimits `yaml:"rate"`
}

// RateLimits are per-client token buckets.
type RateLimits struct {
	ChatMessagesPerMinute int `yaml:"chat_messages_per_minute"`   // per chat, default 30
	ChatStartsPerMinute   int `yaml:"chat_starts_per_minute"`     // per IP, default 10
	HTTPPerSecond         int `yaml:"http_per_second"`            // per IP, default 50
	LoginsPerMinute       int `yaml:"logins_per_minute"`          // per IP, default 10
	CallsPerSecondPerPeer int `yaml:"calls_per_second_per_trunk"` // per trunk peer, default 200
}

// Privacy settings.
type Privacy struct {
	MaskPhoneNumbers        bool `yaml:"mask_phone_numbers"`        // default true
	TranscriptRetentionDays int  `yaml:"transcript_retention_days"` // default 90
	// PurgeEvery is how often the retention purge runs (default 1h, first
	// run shortly after start); 1s-24h.
	PurgeEvery Duration `yaml:"purge_every"`
}

// Chat configures the citizen chat.
type Chat struct {
	AllowedOrigins []string `yaml:"allowed_origins"` // embed origins; default none (same origin only)
	WarnAfter      Duration `yaml:"warn_after"`      // inactivity warning, default 5m
	CloseAfter     Duration `yaml:"close_after"`     // inactivity close, default 10m
	AgentAlias     string   `yaml:"agent_alias"`     // display alias pattern, default "상담사 {alias}"
}

// Console configures the agent/supervisor console.
type Console struct {
	AllowedOrigins []string `yaml:"allowed_origins"` // default none (same origin only)
	SessionTTL     Duration `yaml:"session_ttl"`     // default 12h
	LockoutAfter   int      `yaml:"lockout_after"`   // failed logins, default 5
	LockoutFor     Duration `yaml:"lockout_for"`     // default 15m
}

// SIP configures the SIP front end.
type SIP struct {
	Realm         string   `yaml:"realm"`          // digest realm, default "onecall"
	RTPPortMin    int      `yaml:"rtp_port_min"`   // default 10000
	RTPPortMax    int      `yaml:"rtp_port_max"`   // default 60000
	RTPQuarantine Duration `yaml:"rtp_quarantine"` // freed port pair unused this long, default 2s; 0-60s
	RTPSymmetric  bool     `yaml:"rtp_symmetric"`  // latch onto the first RTP source+SSRC (NAT); default: SDP address only
	RTPPollers    int      `yaml:"rtp_pollers"`    // epoll loops reading the legs' RTP; 0: 4 per core; negative: a goroutine per leg
	NoRTPTimeout  Duration `yaml:"no_rtp_timeout"` // default 30s
	RegisterMin   Duration `yaml:"register_min"`   // default 60s
	RegisterMax   Duration `yaml:"register_max"`   // default 1h
	AnnounceEvery Duration `yaml:"announce_every"` // default 30s
	ExternalHost  string   `yaml:"external_host"`  // host in Contact/SDP; default: listen address
	// AgentNetworks are the IPs/CIDRs agent phones may register from and be
	// contacted at (empty: anywhere).
	AgentNetworks []string `yaml:"agent_networks"`
	// Proxies are the IPs/CIDRs of SIP proxies in front of the node
	// (Kamailio, docs/cluster.md): their INVITEs are admitted like a
	// trunk's, they are exempt from sip.pike, and only their REGISTERs may
	// carry Path (empty: none).
	Proxies []string `yaml:"proxies"`
	TCP     SIPTCP   `yaml:"tcp"`
	Pike    Pike     `yaml:"pike"`
	// Menu holds the IVR menu timers; a hotline may override them (ivr).
	Menu MenuTimers `yaml:"menu"`
	// HeldProbe checks that the phone of a held leg is still there.
	HeldProbe HeldProbe `yaml:"held_probe"`
}

// HeldProbe: a held leg (sendonly/inactive: no RTP to watch) is probed with
// an in-dialog OPTIONS every Interval; Failures failures in a row end the
// call.
type HeldProbe struct {
	Interval Duration `yaml:"interval"` // default 10s; 1s-5m
	Failures int      `yaml:"failures"` // default 2; 1-10
}

// MenuTimers are the IVR menu's timers: Timeout bounds one entry (from the
// end of the menu prompt to the last digit), InterDigit waits for the next
// digit of a two-digit choice, Retries counts replays of the menu after no
// input or an invalid choice. Unset fields of a hotline's ivr block inherit
// sip.menu.
type MenuTimers struct {
	Timeout    Duration `yaml:"timeout"`     // default 4s; 1s-30s
	InterDigit Duration `yaml:"inter_digit"` // default 2s; 500ms-10s, at most timeout
	Retries    *int     `yaml:"retries"`     // default 1; 0-5
}

// Routing holds engine-wide routing settings.
type Routing struct {
	MissedOfferNotReady  bool     `yaml:"missed_offer_not_ready"` // default true
	PreferredAgentWindow Duration `yaml:"preferred_agent_window"` // default 24h
	PreferredAgentWait   Duration `yaml:"preferred_agent_wait"`   // default 20s
	MaxTalk              Duration `yaml:"max_talk"`               // default 4h
	MaxWrapUp            Duration `yaml:"max_wrap_up"`            // default 30m
	MaxWaiting           Duration `yaml:"max_waiting"`            // default 24h
	DefaultAHT           Duration `yaml:"default_aht"`            // handle time for estimates before data, default 3m
	StatsEvery           Duration `yaml:"stats_every"`            // min interval between queue stats deltas, default 1s
	CallbackWait         Duration `yaml:"callback_wait"`          // closed line with callback: wait for the choice, default 2m
	ReconcileEvery       Duration `yaml:"reconcile_every"`        // sweep for state without a live counterpart, default 5s
}

// Files names the other config files, relative to onecall.yaml's directory.
type Files struct {
	Hotlines   string `yaml:"hotlines"`    // default hotlines.yaml
	Queues     string `yaml:"queues"`      // default queues.yaml
	Skills     string `yaml:"skills"`      // default skills.yaml
	DemoRoster string `yaml:"demo_roster"` // default demo-roster.yaml; "" to omit
}

// DefaultServer returns the server settings used for every key that
// onecall.yaml leaves out.
func DefaultServer() Server {
	return Server{
		Listen:  Listen{HTTP: ":8080", SIPUDP: ":5060", SIPTCP: ":5060"},
		DataDir: "data",
		Store:   Store{Driver: StoreSQLite},
		Log:     Log{Level: "info", Format: "json"},
		Limits: Limits{
			InboxSize: 65536, MaxCalls: 11000, MaxCallsPerSecond: 500, MaxChats: 50000,
			ChatMessageBytes: 4096, ConnectionsPerSource: 500,
			HTTPReadTimeout: Duration(30 * time.Second), HTTPIdleTimeout: Duration(2 * time.Minute),
			Rate: RateLimits{ChatMessagesPerMinute: 30, ChatStartsPerMinute: 10, HTTPPerSecond: 50,
				LoginsPerMinute: 10, CallsPerSecondPerPeer: 200},
		},
		Privacy: Privacy{MaskPhoneNumbers: true, TranscriptRetentionDays: 90, PurgeEvery: Duration(time.Hour)},
		Chat: Chat{WarnAfter: Duration(5 * time.Minute), CloseAfter: Duration(10 * time.Minute),
			AgentAlias: "상담사 {alias}"},
		Console: Console{SessionTTL: Duration(12 * time.Hour), LockoutAfter: 5, LockoutFor: Duration(15 * time.Minute)},
		SIP: SIP{Realm: "onecall", RTPPortMin: 10000, RTPPortMax: 60000, RTPQuarantine: Duration(2 * time.Second),
			NoRTPTimeout: Duration(30 * time.Second),
			RegisterMin:  Duration(60 * time.Second), RegisterMax: Duration(time.Hour), AnnounceEvery: Duration(30 * time.Second),
			TCP:       SIPTCP{IdleTimeout: Duration(2 * time.Minute), MaxConnections: 10000, MaxPerSource: 200, FDReserve: 1024},
			Pike:      Pike{Rate: 50, Burst: 100},
			Menu:      MenuTimers{Timeout: Duration(4 * time.Second), InterDigit: Duration(2 * time.Second), Retries: new(1)},
			HeldProbe: HeldProbe{Interval: Duration(10 * time.Second), Failures: 2}},
		Routing: Routing{MissedOfferNotReady: true, PreferredAgentWindow: Duration(24 * time.Hour),
			PreferredAgentWait: Duration(20 * time.Second), MaxTalk: Duration(4 * time.Hour),
			MaxWrapUp: Duration(30 * time.Minute), MaxWaiting: Duration(24 * time.Hour),
			DefaultAHT: Duration(3 * time.Minute), StatsEvery: Duration(time.Second), CallbackWait: Duration(2 * time.Minute),
			ReconcileEvery: Duration(5 * time.Second)},
		Files:    Files{Hotlines: "hotlines.yaml", Queues: "queues.yaml", Skills: "skills.yaml", DemoRoster: "demo-roster.yaml"},
		Outbound: DefaultOutbound(),
		Metrics:  Metrics{ShortAbandon: Duration(5 * time.Second)},
		Cluster: Cluster{Host: "127.0.0.1", RoutePort: 6222, ClientPort: 4222,
			LeaderTTL: Duration(2 * time.Second), NodeLostAfter: Duration(5 * time.Second)},
	}
}

// applyTLSDefaults fills defaults inside optional sub-structs after decoding.
func (s *Server) applyDefaults() {
	if s.Listen.TLS != nil && s.Listen.TLS.Listen == "" {
		s.Listen.TLS.Listen = ":5061"
	}
	s.Outbound.applyDefaults()
}
