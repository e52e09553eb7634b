package configs

import (
	"sort"
	"time"
)

// Queue is one entry of queues.yaml.
type Queue struct {
	ID     string `yaml:"id"`
	NameKo string `yaml:"name_ko"`
	NameEn string `yaml:"name_en"`
	// Skills maps each required skill (topic or language) to its minimum
	// proficiency 1-5.
	Skills         map[string]int `yaml:"skills"`
	ServiceLevel   ServiceLevel   `yaml:"service_level"`
	Priority       int            `yaml:"priority"`
	Weight         int            `yaml:"weight"`      // default 1
	Strategy       string         `yaml:"strategy"`    // longest-idle (default) | most-skilled | least-occupied | round-robin
	MaxWaiting     int            `yaml:"max_waiting"` // default 500
	MaxWait        Duration       `yaml:"max_wait"`    // default 15m
	OnFull         OnFull         `yaml:"on_full"`
	Escalation     []Escalation   `yaml:"escalation"`
	Overflow       []Overflow     `yaml:"overflow"`
	WrapUp         PerChannel     `yaml:"wrap_up"`       // default voice 30s, chat 15s
	OfferTimeout   PerChannel     `yaml:"offer_timeout"` // default voice 15s, chat 30s
	Announce       Announce       `yaml:"announce"`
	AgingPerMinute int            `yaml:"aging_per_minute"`
	ChatWhileBusy  bool           `yaml:"chat_while_busy"`
	// DispositionRequired keeps an agent from Ready until every contact of
	// this queue they finished has a saved disposition.
	DispositionRequired bool `yaml:"disposition_required"`
	// Interprets makes this an interpreter queue for that language: an
	// agent on a call asks the console for an interpreter of the language
	// and routing rings this queue's agents. InterpretWait bounds how long
	// such a request waits for a free interpreter (default 60s).
	Interprets    string   `yaml:"interprets"`
	InterpretWait Duration `yaml:"interpret_wait"`
}

// ServiceLevel is "Percent % answered within Within"; default 80 % in 20s.
type ServiceLevel struct {
	Percent float64  `yaml:"percent"`
	Within  Duration `yaml:"within"`
}

// OnFull is the action for a contact arriving at a full queue.
type OnFull struct {
	Action string `yaml:"action"` // refuse | overflow | callback; default callback
	Queue  string `yaml:"queue"`  // target for overflow
}

// Escalation is one step applied once a contact has waited After.
type Escalation struct {
	After         Duration       `yaml:"after"`
	Relax         map[string]int `yaml:"relax"`     // lowered minimums
	AddQueue      string         `yaml:"add_queue"` // also offer to this queue's agents
	OfferCallback bool           `yaml:"offer_callback"`
}

// Overflow borrows another queue's agents after After; Guarded (default
// true) only while that queue meets its own service level.
type Overflow struct {
	Queue   string   `yaml:"queue"`
	After   Duration `yaml:"after"`
	Guarded *bool    `yaml:"guarded"`
}

// PerChannel is a duration per channel.
type PerChannel struct {
	Voice Duration `yaml:"voice"`
	Chat  Duration `yaml:"chat"`
}

// Announce configures waiting announcements.
type Announce struct {
	Every         Duration `yaml:"every"`          // default 30s (sip.announce_every)
	Position      *bool    `yaml:"position"`       // say place in line, default true
	EstimatedWait *bool    `yaml:"estimated_wait"` // say estimated wait, default true
}

// Queue defaults.
const (
	DefaultOfferVoice = 15 * time.Second
	DefaultOfferChat  = 30 * time.Second
	DefaultWrapVoice  = 30 * time.Second
	DefaultWrapChat   = 15 * time.Second
	DefaultMaxWaiting = 500
	DefaultMaxWait    = 15 * time.Minute
	// DefaultInterpretWait bounds an interpretation request's wait.
	DefaultInterpretWait = time.Minute
)

func boolp(b bool) *bool { return &b }

func (q *Queue) applyDefaults(announceEvery Duration) {
	if q.Weight == 0 {
		q.Weight = 1
	}
	if q.Strategy == "" {
		q.Strategy = "longest-idle"
	}
	if q.ServiceLevel.Percent == 0 {
		q.ServiceLevel.Percent = 80
	}
	if q.ServiceLevel.Within == 0 {
		q.ServiceLevel.Within = Duration(20 * time.Second)
	}
	if q.MaxWaiting == 0 {
		q.MaxWaiting = DefaultMaxWaiting
	}
	if q.MaxWait == 0 {
		q.MaxWait = Duration(DefaultMaxWait)
	}
	if q.OnFull.Action == "" {
		q.OnFull.Action = "callback"
	}
	if q.WrapUp.Voice == 0 {
		q.WrapUp.Voice = Duration(DefaultWrapVoice)
	}
	if q.WrapUp.Chat == 0 {
		q.WrapUp.Chat = Duration(DefaultWrapChat)
	}
	if q.OfferTimeout.Voice == 0 {
		q.OfferTimeout.Voice = Duration(DefaultOfferVoice)
	}
	if q.OfferTimeout.Chat == 0 {
		q.OfferTimeout.Chat = Duration(DefaultOfferChat)
	}
	if q.Interprets != "" && q.InterpretWait == 0 {
		q.InterpretWait = Duration(DefaultInterpretWait)
	}
	if q.Announce.Every == 0 {
		q.Announce.Every = announceEvery
	}
	if q.Announce.Position == nil {
		q.Announce.Position = boolp(true)
	}
	if q.Announce.EstimatedWait == nil {
		q.Announce.EstimatedWait = boolp(true)
	}
	for i := range q.Overflow {
		if q.Overflow[i].Guarded == nil {
			q.Overflow[i].Guarded = boolp(true)
		}
	}
}

// sortedSkills returns skill ids in a stable order.
func sortedSkills(m map[string]int) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// queuesFile is the top level of queues.yaml.
type queuesFile struct {
	Queues []Queue `yaml:"queues"`
}
