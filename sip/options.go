package sip

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net/netip"
	"time"

	"github.com/emiago/sipgo"

	"onecall/router"
	"onecall/store"
)

// Hub is the part of server.Hub the voice front end uses; *server.Hub
// satisfies it.
type Hub interface {
	Submit(ev router.Event) error
	Do(ctx context.Context, ev router.Event) ([]router.Command, error)
	NewContactID() router.ContactID
	Now() time.Time
}

// Numbers resolves the Request-URI user of an incoming INVITE (a hotline
// number or an alias) to the canonical hotline number, its default queue and
// its IVR menu. caller is the calling party's number (P-Asserted-Identity,
// else the From user) for routing by area code: a bare regional short code
// (120) reaches the caller's own regional center.
type Numbers interface {
	Resolve(dialled, caller string) (number string, defaultQueue string, menu Menu, ok bool)
}

// TransferTargets resolves the user part of a REFER's Refer-To (an agent
// phone's blind transfer) to a queue, an agent or an outside number.
type TransferTargets interface {
	ResolveTransfer(user string) (router.TransferTarget, bool)
}

// Locator finds an agent's registered phone (sipreg's registrar).
type Locator interface {
	Lookup(user string) (contactURI string, ok bool)
}

// Menu is one hotline's IVR: a choice of language/topic by one or two
// digits. Entry ends when the digits typed form a choice that is not a
// prefix of a longer one, on '#', after InterDigit without a key, or when
// Timeout ends; a choice that is a prefix of a longer one ("1" and "12")
// is taken on '#' or after InterDigit.
type Menu struct {
	// Choices by key sequence: "0".."9", "*", or two digits "10".."99".
	// A single "#" is accepted for old menus; otherwise '#' ends entry.
	Choices map[string]MenuChoice
	// Timeout bounds one entry, from the end of the menu prompt (or the
	// first key pressed over a prompt) to the last digit (default 4 s).
	Timeout time.Duration
	// InterDigit waits for the next digit of a longer choice (default 2 s).
	InterDigit time.Duration
	// Retries after no input or an invalid digit (0: the default, 1;
	// negative: none).
	Retries int
	// Skip plays only the greeting (no menu): the default queue.
	Skip bool
	// Lang is the line's language ("" = "ko"): the greeting, the menu and
	// the prompts of a caller who has not chosen a language.
	Lang string
	// Say is the menu prompt from the line's configuration, played as one
	// clip (the generator rendered each text; see PromptText).
	Say []PromptText
	// Closed is what a closed line says, by caller language (the line's
	// closed message and its schedule); a language without one hears
	// English, then the line's language.
	Closed map[string][]PromptText
	// Referral is the number a line onecall does not answer points to
	// (112, 119): the caller hears ReferralSay, then the call ends.
	Referral    string
	ReferralSay []PromptText
	// Record records the line's calls (recorder.go) after ConsentSay, the
	// consent announcement, played before any agent is connected.
	Record     bool
	ConsentSay []PromptText
}

// MenuChoice is what one digit selects.
type MenuChoice struct {
	Queue    string // "" = the hotline's default queue
	Language string // "ko", "en"
	Skills   []router.SkillReq
	Label    string
	// Voice is the language of the prompts after this choice (default
	// Language; a language without recorded phrases hears English).
	Voice string
}

// callRecord is what a call knows about itself when it ends; it becomes a
// store.CallRecord (CDR).
type callRecord struct {
	CallID    string
	Contact   router.ContactID
	From, To  string
	Number    string
	Agent     router.AgentID
	AgentCall string // Call-ID of the last agent leg
	Legs      int
	Codec     string
	Arrived   time.Time
	Answered  time.Time // zero if no agent ever answered
	Ended     time.Time
	Cause     string // hangup cause, enumerated: see causes in call.go
	RxPackets uint64 // citizen leg
	TxPackets uint64
	AgentRx   uint64 // agent legs, summed
	AgentTx   uint64
	Holds     int      // times the citizen was put on hold (phone or console)
	Announces int      // place-in-line announcements played
	Prompts   []string // prompts played, by clip name (at most maxPlayed)
	// Recording is the call's WAV (empty: not recorded), its size and
	// duration.
	Recording      string
	RecordingBytes int64
	RecordingDur   time.Duration
}

// Store is the persistence the voice front end needs; *store.Store
// satisfies it. Call records go through Enqueue (never blocks); virtual-hold
// callbacks through Durable (returns after commit).
type Store interface {
	Enqueue(rec store.Record) error
	Durable(ctx context.Context, rec store.Record) error
}

// PAIMode controls the caller identity shown to agent phones.
type PAIMode uint8

const (
	PAIMasked PAIMode = iota // 010-****-5678
	PAIFull
	PAINone
)

// HeldProbe: a held leg (sendonly/inactive) is probed with an in-dialog
// OPTIONS every Interval (default 10 s); Failures failed probes in a row end
// the call (default 2).
type HeldProbe struct {
	Interval time.Duration
	Failures int
}

// Options configures a Service. Zero values get the defaults noted.
type Options struct {
	ListenUDP string // "127.0.0.1:5060"; ":0" or "127.0.0.1:0" ok; "" = no UDP
	ListenTCP string // "" = no TCP
	// ListenTLS is the SIP-over-TLS listen address ("" = no TLS). It needs
	// TLSConfig or TLSCert+TLSKey; trunk ACL, number checks and overload
	// caps apply as on UDP/TCP.
	ListenTLS string
	// TLSConfig is the server TLS configuration (with certificates). When nil,
	// New loads TLSCert/TLSKey (PEM files).
	TLSConfig *tls.Config
	TLSCert   string // PEM certificate chain file
	TLSKey    string // PEM private key file
	// ExternalHost is the address put in Contact/SDP (default: the listen IP).
	ExternalHost string
	Trunks       []netip.Prefix // sources allowed to send INVITEs; empty = none
	// Proxies are the SIP proxies in front (sip.proxies, e.g. Kamailio):
	// their INVITEs are admitted like a trunk's and the per-source pike
	// never limits them (path.go).
	Proxies []netip.Prefix
	Numbers Numbers
	Locator Locator
	// AgentNets, if set, are the only networks agent phones are rung at
	// (sip.agent_networks); an outside contact is never sent an INVITE.
	AgentNets []netip.Prefix
	Store     Store // nil = no persistence (tests)
	// TCP bounds SIP over TCP and TLS connections (tcp_limits.go).
	TCP TCPLimits
	// TrunkRates name the trunks for TrunkCPS (each its own budget).
	TrunkRates []TrunkRate
	// TrunkCPS is each trunk's new calls per second (0: no per-trunk
	// limit); TrunkBurst its burst (default TrunkCPS).
	TrunkCPS   float64
	TrunkBurst int
	// PikeRate limits requests per second per source IP (0: off; trunks
	// and PikeExempt are never limited); PikeBurst is the bucket size.
	PikeRate   float64
	PikeBurst  int
	PikeExempt []netip.Prefix
	// Transfers resolves the targets of agent phones' REFERs; nil refuses
	// every REFER (403).
	Transfers    TransferTargets
	MaxCalls     int           // concurrent citizen calls (default 1000)
	MaxCPS       float64       // new calls per second (default 100)
	Burst        int           // CPS burst (default MaxCPS)
	NoRTPTimeout time.Duration // default 30 s
	// RTPPorts is the RTP port range [min, max] of this Service's pool
	// (ports.go): pairs of an even RTP port and RTCP on the next one. Zero:
	// kernel-chosen ports (tests).
	RTPPorts [2]int
	// RTPQuarantine keeps a released port pair out of use for this long
	// (default 2 s; negative: none).
	RTPQuarantine time.Duration
	// HeldProbe probes held legs (held_probe.go).
	HeldProbe HeldProbe
	// RTPSymmetric latches each leg onto the source of its first RTP packet
	// and that packet's SSRC (NAT), instead of accepting only the address the
	// peer's SDP names; our media then goes to the latched source.
	RTPSymmetric bool
	// RTPPollers is how many epoll loops read the legs' RTP (rtp_poller.go):
	// 0 is 4 per core (GOMAXPROCS); negative: none, each leg reads from its
	// own goroutine (the earlier reader). They fill up in turn, 768 legs
	// each (clock.go, pickPoller): the next one starts only when the ones
	// before it are full.
	RTPPollers int
	// AnnounceEvery is the minimum interval between place announcements
	// (default 30 s).
	AnnounceEvery time.Duration
	// OfferTimeout bounds ringing an agent when the Offer has no deadline
	// (default 15 s).
	OfferTimeout time.Duration
	PAI          PAIMode
	UserAgent    string // default "onecall"
	Logger       *slog.Logger
	// Demo enables relaxed defaults for the demo (trunk 127.0.0.0/8 when
	// Trunks is empty).
	Demo bool
	// RetryAfter is the Retry-After value on 503 (default 5 s).
	RetryAfter time.Duration
	// RegisterHandler, if set, serves REGISTER on the same SIP server
	// (sipreg's registrar).
	RegisterHandler sipgo.RequestHandler
	// Outbound holds the trunks for outgoing calls (callbacks, transfers
	// to outside numbers); none means no outgoing calls.
	Outbound Outbound
	// Callback is the retry policy of placed callbacks (callback.go).
	Callback CallbackPolicy
	// OnCallback, if set, learns when this Service takes a callback to
	// place (here) and when it lets it go (done, merged, handed on):
	// on a cluster, where each callback is placed (callback_cluster.go).
	// It must not block.
	OnCallback func(contact router.ContactID, here bool)
	// RecordDir is where recorded lines' calls are written (recorder.go);
	// "" records no call.
	RecordDir string
	// OnMonitor, if set, learns every start, mode change and end of a
	// supervisor leg (supervise.go); called on the call's goroutine, it
	// must not block.
	OnMonitor func(MonitorEvent)
	// Lines gives per-line settings (callback on/off, caller ID, allowed
	// transfer numbers) by canonical hotline number; nil = callbacks on
	// wherever a trunk exists, caller ID the line's number, no transfers.
	Lines Lines
	// InterpreterChanged, if set, learns that a call's interpreter joined
	// (number) or left ("") (interpreter.go); it must not block.
	InterpreterChanged func(contact router.ContactID, number string)
	// HoldChanged, if set, learns that the agent's phone put the citizen
	// on hold (re-INVITE sendonly/inactive) or resumed it; it must not
	// block. The console's own hold and resume are not reported.
	HoldChanged func(contact router.ContactID, held bool)
}

// Lines looks up per-line settings by canonical hotline number.
type Lines interface {
	Line(number string) (Line, bool)
}

// Line is what the voice front end needs to know about one hotline beyond
// its menu.
type Line struct {
	Callback        bool     // offer callbacks (needs an outbound trunk too)
	CallerID        string   // number shown on calls placed for this line
	TransferNumbers []string // outside numbers agents may transfer to
}

func (o *Options) defaults() {
	o.TCP.defaults()
	if o.MaxCalls <= 0 {
		o.MaxCalls = 1000
	}
	if o.MaxCPS <= 0 {
		o.MaxCPS = 100
	}
	if o.Burst <= 0 {
		o.Burst = int(o.MaxCPS)
		if o.Burst < 1 {
			o.Burst = 1
		}
	}
	if o.NoRTPTimeout <= 0 {
		o.NoRTPTimeout = 30 * time.Second
	}
	if o.AnnounceEvery <= 0 {
		o.AnnounceEvery = 30 * time.Second
	}
	if o.OfferTimeout <= 0 {
		o.OfferTimeout = 15 * time.Second
	}
	if o.UserAgent == "" {
		o.UserAgent = "onecall"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.HeldProbe.Interval <= 0 {
		o.HeldProbe.Interval = 10 * time.Second
	}
	if o.HeldProbe.Failures <= 0 {
		o.HeldProbe.Failures = 2
	}
	if o.RTPQuarantine == 0 {
		o.RTPQuarantine = 2 * time.Second
	} else if o.RTPQuarantine < 0 {
		o.RTPQuarantine = 0
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = 5 * time.Second
	}
	o.Outbound.defaults()
	o.Callback.defaults()
	if len(o.Trunks) == 0 && o.Demo {
		o.Trunks = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	}
}
