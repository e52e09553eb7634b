package chat

import (
	"context"
	"log/slog"
	"time"

	"onecall/router"
)

// Hotline is one number the chat page offers, with its topics.
type Hotline struct {
	Number string
	NameKO string
	NameEN string
	Topics []Topic
	// Hours is the line's schedule (GET /chat/hours/{number}); nil = open
	// at all times.
	Hours *Hours
	// Callbacks: the line places callbacks (an outbound trunk is configured
	// and the line's callback setting is on). Without it the chat never
	// offers or books one.
	Callbacks bool
	// Languages the line serves (hotlines.yaml `languages`): a chat page
	// language outside them and ko/en is read as ko.
	Languages []string
	// RetentionDays is the line's own retention (hotlines.yaml
	// `retention_days`), shown in the privacy notice; nil = Options.RetentionDays.
	RetentionDays *int
}

// Topic is a choice on the start form; it selects the queue.
type Topic struct {
	ID     string
	NameKO string
	NameEN string
	Queue  string // router queue id; "" = hotline default
	// Language is the language this choice routes in (the IVR menu
	// choice's `language`): the chat then requires it as a skill, as a
	// call does. "" = the queue's own requirement.
	Language string
}

// Options configure a Service. Zero values take the defaults noted.
type Options struct {
	Hotlines []Hotline // numbers offered on the page; required

	// AllowedOrigins lists the Origin values accepted on /ws/chat (scheme://host[:port]).
	// Empty: only same-host origins.
	AllowedOrigins []string
	// FrameAncestors lists origins allowed to embed the page (CSP frame-ancestors);
	// 'self' is always allowed.
	FrameAncestors []string

	MaxTextBytes  int           // default 4096: longest message text
	SendBuffer    int           // default 64 frames per citizen connection
	SubBuffer     int           // default 256 events per console subscriber
	NewChatsPerIP float64       // default 0.2 per second
	NewChatBurst  int           // default 5
	MsgsPerSecond float64       // default 2 per contact
	MsgBurst      int           // default 10
	MaxChats      int           // live chats at most; 0 = no limit. Beyond: "busy"
	IdleWarn      time.Duration // default 5m of silence in a conversation -> warning
	IdleClose     time.Duration // default 2m after the warning -> close
	ResumeTTL     time.Duration // default 30m: a token still opens an ended chat this long
	DetachGrace   time.Duration // default 3m: a waiting/talking chat without connection is abandoned after this
	StartTimeout  time.Duration // default 10s: first frame must arrive within
	PingEvery     time.Duration // default 30s
	WriteTimeout  time.Duration // default 10s

	// AgentAlias maps an agent to the name citizens see. Default: the
	// user's Alias from the store, else "상담사"/"Agent" + a stable number.
	AgentAlias func(router.AgentID) string

	// SkillsFor gives the skills a chat needs in queue when its citizen
	// chose language (configs.Bundle.SkillsFor, the rule calls use); ok
	// false or a nil func leaves the queue's own requirement.
	SkillsFor func(queue, language string) (skills []router.SkillReq, ok bool)

	// RetentionDays is privacy.transcript_retention_days, shown in the
	// page's privacy notice (GET /chat/hotlines.json `retention_days`).
	RetentionDays int

	// Claim, when set (a cluster), records this node as the owner of a
	// chat before it is routed (start) or taken back from the store or
	// attached (resume). An error refuses the start or the resume with
	// "unavailable" (the page tries again).
	Claim func(ctx context.Context, contact router.ContactID) error
	// Publish, when set (a cluster), receives every event of every chat
	// held here, in order per chat, with the chat's lock held: it must not
	// block. The cluster forwards them to consoles on any node.
	Publish func(Event)

	Now    func() time.Time // default: the hub's clock
	Logger *slog.Logger
}

func (o *Options) defaults() {
	if o.MaxTextBytes <= 0 {
		o.MaxTextBytes = 4096
	}
	if o.SendBuffer <= 0 {
		o.SendBuffer = 64
	}
	if o.SubBuffer <= 0 {
		o.SubBuffer = 256
	}
	if o.NewChatsPerIP <= 0 {
		o.NewChatsPerIP = 0.2
	}
	if o.NewChatBurst <= 0 {
		o.NewChatBurst = 5
	}
	if o.MsgsPerSecond <= 0 {
		o.MsgsPerSecond = 2
	}
	if o.MsgBurst <= 0 {
		o.MsgBurst = 10
	}
	if o.IdleWarn <= 0 {
		o.IdleWarn = 5 * time.Minute
	}
	if o.IdleClose <= 0 {
		o.IdleClose = 2 * time.Minute
	}
	if o.ResumeTTL <= 0 {
		o.ResumeTTL = 30 * time.Minute
	}
	if o.DetachGrace <= 0 {
		o.DetachGrace = 3 * time.Minute
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 10 * time.Second
	}
	if o.PingEvery <= 0 {
		o.PingEvery = 30 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}
