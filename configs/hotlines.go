package configs

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Hotlines is hotlines.yaml: who runs which line (institutions and
// centers), the numbers citizens dial, retired numbers kept as aliases,
// and the shared list of public holidays.
type Hotlines struct {
	// Dispositions are the wrap-up codes agents choose from on every line
	// without its own list (default DefaultDispositions()).
	Dispositions []string `yaml:"dispositions"`
	// DispositionLabels name wrap-up codes for agents, in Korean and
	// English, by code.
	DispositionLabels map[string]Text `yaml:"disposition_labels"`
	// Canned are the canned replies (상용구) agents insert in chats on
	// every line without a list of its own.
	Canned       []Text        `yaml:"canned"`
	Holidays     []Holiday     `yaml:"holidays"`
	Institutions []Institution `yaml:"institutions"`
	Centers      []Center      `yaml:"centers"`
	Numbers      []Number      `yaml:"numbers"`
	Aliases      []Alias       `yaml:"aliases"`
}

// Text is a text for people in Korean and English.
type Text struct {
	Ko string `yaml:"ko"`
	En string `yaml:"en"`
}

// Holiday is one public holiday (Asia/Seoul), date "YYYY-MM-DD".
type Holiday struct {
	Date string `yaml:"date"`
	Name string `yaml:"name"`
}

// Institution is an organisation (ministry, agency, local government) that
// runs one or more centers.
type Institution struct {
	ID     string `yaml:"id"`
	NameKo string `yaml:"name_ko"`
	NameEn string `yaml:"name_en"`
}

// Center is one call center: the unit that answers a line. Several centers
// may share one short code (each region runs its own 120); a center belongs
// to exactly one institution.
type Center struct {
	ID          string `yaml:"id"`
	Institution string `yaml:"institution"`
	NameKo      string `yaml:"name_ko"`
	NameEn      string `yaml:"name_en"`
	Region      string `yaml:"region"` // area code of a regional center, "" = national
}

// Number is one entry point citizens dial (or pick on the chat page).
type Number struct {
	Number    string      `yaml:"number"`  // as published, e.g. "1577-1000", "02-120"
	Status    string      `yaml:"status"`  // verified | verified-secondary | unverified | derived
	Sources   []string    `yaml:"sources"` // where the number was verified
	Notes     string      `yaml:"notes"`
	Center    string      `yaml:"center"` // the center answering by default
	AgencyKo  string      `yaml:"agency_ko"`
	AgencyEn  string      `yaml:"agency_en"`
	Topic     string      `yaml:"topic"`     // free text for people; routing uses Queue skills
	Languages []string    `yaml:"languages"` // language skill ids offered
	Hours     Hours       `yaml:"hours"`
	Closed    Closed      `yaml:"closed"`
	Queue     string      `yaml:"queue"`         // default queue
	Language  string      `yaml:"language"`      // default language, default "ko"
	Menu      []MenuItem  `yaml:"menu"`          // optional IVR menu (at most MaxMenuItems items)
	Areas     []AreaRoute `yaml:"areas"`         // optional: caller area code -> center/queue
	IVR       *MenuTimers `yaml:"ivr,omitempty"` // optional: this line's menu timers (else sip.menu)
	// Dispositions replace the file's list of wrap-up codes on this line.
	Dispositions []string `yaml:"dispositions,omitempty"`
	// Canned replace the file's canned replies on this line.
	Canned []Text `yaml:"canned,omitempty"`
	// Referral marks a line onecall does not answer (emergency 112/119):
	// the transports tell the caller to dial Referral directly. Such
	// numbers are not given to the router.
	Referral string `yaml:"referral"`
	// Callback offers callbacks on this line (press 1 while waiting, the
	// chat's callback form, a closed line). Default on; the shipped config
	// turns it off on crisis lines. Without an outbound trunk no line
	// offers one (Bundle.CallbackOn).
	Callback *bool `yaml:"callback,omitempty"`
	// CallerIDNumber is the number shown to citizens called from this line
	// (callbacks, transfers out); default the line's own number.
	CallerIDNumber string `yaml:"caller_id,omitempty"`
	// TransferNumbers are the outside numbers agents may transfer this
	// line's calls to (through the outbound trunk).
	TransferNumbers []string `yaml:"transfer_numbers,omitempty"`
	// RetentionDays overrides privacy.transcript_retention_days for this
	// line's contacts (the retention purge); nil = the server's value.
	RetentionDays *int `yaml:"retention_days,omitempty"`
	// Recording records this line's calls after a consent announcement
	// (nil: not recorded).
	Recording *Recording `yaml:"recording,omitempty"`
}

// Recording is a line's call recording: one stereo WAV per call (citizen
// left, what the citizen hears right) under the data directory, announced
// to the caller before any agent is connected.
type Recording struct {
	// Enabled records the line's calls and plays the consent announcement.
	Enabled bool `yaml:"enabled"`
	// ConsentKo, ConsentEn are the announcement (DefaultConsentKo/En when
	// empty); `onecall prompts` renders them.
	ConsentKo string `yaml:"consent_ko"`
	ConsentEn string `yaml:"consent_en"`
	// RetentionDays deletes the recordings of the line's calls this many
	// days after the call (nil: with the rest of the contact's personal data,
	// the line's retention_days); at most that retention.
	RetentionDays *int `yaml:"retention_days,omitempty"`
}

// Default consent announcements of a recorded line.
const (
	DefaultConsentKo = "상담 품질 향상을 위해 통화 내용이 녹음됩니다."
	DefaultConsentEn = "This call will be recorded to improve our service."
)

// Recorded reports whether n's calls are recorded.
func (n *Number) Recorded() bool { return n.Recording != nil && n.Recording.Enabled }

// Hours is a weekly opening schedule in Asia/Seoul.
type Hours struct {
	Always   bool   `yaml:"always"`   // 24/7/365; other keys ignored
	Weekdays []Span `yaml:"weekdays"` // Monday-Friday
	Weekends []Span `yaml:"weekends"` // Saturday and Sunday unless set below
	Saturday []Span `yaml:"saturday"`
	Sunday   []Span `yaml:"sunday"`
	Holidays []Span `yaml:"holidays"` // on public holidays; empty = closed
}

// Span is an opening interval "HH:MM-HH:MM" (To may be 24:00), stored as
// minutes since local midnight.
type Span struct {
	From, To int
}

// String renders "HH:MM-HH:MM".
func (s Span) String() string {
	return fmt.Sprintf("%02d:%02d-%02d:%02d", s.From/60, s.From%60, s.To/60, s.To%60)
}

// UnmarshalYAML parses "HH:MM-HH:MM". Range problems (from >= to, hour
// past 24) are left to Validate.
func (s *Span) UnmarshalYAML(n *yaml.Node) error {
	bad := &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: bad time span %q (want \"HH:MM-HH:MM\")", n.Line, n.Value)}}
	if n.Kind != yaml.ScalarNode {
		return bad
	}
	from, to, ok := strings.Cut(strings.TrimSpace(n.Value), "-")
	if !ok {
		return bad
	}
	f, ok1 := parseClock(from)
	t, ok2 := parseClock(to)
	if !ok1 || !ok2 {
		return bad
	}
	*s = Span{From: f, To: t}
	return nil
}

// MarshalYAML renders "HH:MM-HH:MM".
func (s Span) MarshalYAML() (any, error) { return s.String(), nil }

func parseClock(s string) (int, bool) {
	s = strings.TrimSpace(s)
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) < 1 || len(h) > 2 || len(m) != 2 {
		return 0, false
	}
	hh, mm := 0, 0
	for _, c := range h {
		if c < '0' || c > '9' {
			return 0, false
		}
		hh = hh*10 + int(c-'0')
	}
	for _, c := range m {
		if c < '0' || c > '9' {
			return 0, false
		}
		mm = mm*10 + int(c-'0')
	}
	if mm >= 60 {
		return 0, false
	}
	return hh*60 + mm, true
}

// Default closed-line messages (played or shown when a line is closed).
const (
	DefaultClosedMessageKo = "지금은 상담 시간이 아닙니다. 상담 시간에 다시 연락해 주십시오."
	DefaultClosedMessageEn = "This line is closed now. Please contact us again during opening hours."
)

// Closed says what a closed line does with a contact. The messages are
// told to the citizen (for callback, before offering the callback).
type Closed struct {
	Action    string `yaml:"action"` // refuse | callback | overflow; default callback
	Queue     string `yaml:"queue"`  // target queue for overflow
	MessageKo string `yaml:"message_ko"`
	MessageEn string `yaml:"message_en"`
}

// MenuItem is one IVR choice: a digit leading to a queue, optionally in a
// given language (the contact then needs that language skill instead of
// the queue's language skill).
type MenuItem struct {
	Digit    string `yaml:"digit"` // "0"-"9", "10"-"99" ("00"-"09" too) or "*"; see ValidMenuDigits
	Queue    string `yaml:"queue"`
	Language string `yaml:"language"`
	LabelKo  string `yaml:"label_ko"`
	LabelEn  string `yaml:"label_en"`
}

// AreaRoute sends callers from the given area codes (e.g. "02", "051") to
// another number (its center, queue, hours and menu apply): this is how one
// short code reaches several regional centers.
type AreaRoute struct {
	Codes  []string `yaml:"codes"`
	Number string   `yaml:"number"`
}

// Alias is a retired number that now reaches its successor.
type Alias struct {
	Number   string   `yaml:"number"`
	Target   string   `yaml:"target"` // a number in Numbers
	Status   string   `yaml:"status"` // historical
	AgencyKo string   `yaml:"agency_ko"`
	AgencyEn string   `yaml:"agency_en"`
	Topic    string   `yaml:"topic"`
	Sources  []string `yaml:"sources"`
	Notes    string   `yaml:"notes"`
}

// NormalizeNumber strips everything but digits, '*' and '#', so "1577-1000",
// "1577 1000" and "15771000" compare equal.
func NormalizeNumber(s string) string {
	var b strings.Builder
	for _, c := range s {
		if (c >= '0' && c <= '9') || c == '*' || c == '#' {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// equalNorm reports whether NormalizeNumber(raw) == norm without
// allocating.
func equalNorm(raw, norm string) bool {
	j := 0
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if (c >= '0' && c <= '9') || c == '*' || c == '#' {
			if j >= len(norm) || norm[j] != c {
				return false
			}
			j++
		}
	}
	return j == len(norm)
}

// callerArea normalizes a caller number to national form ("+82 2 ..." ->
// "02...") for area-code matching.
func callerArea(caller string) string {
	c := NormalizeNumber(caller)
	if strings.HasPrefix(c, "82") && !strings.HasPrefix(caller, "0") {
		c = "0" + c[2:]
	}
	return c
}

// Area returns the area route matching the caller (longest code wins).
func (n *Number) Area(caller string) (*AreaRoute, bool) {
	c := callerArea(caller)
	var best *AreaRoute
	bestLen := 0
	for i := range n.Areas {
		for _, code := range n.Areas[i].Codes {
			if len(code) > bestLen && strings.HasPrefix(c, code) {
				best, bestLen = &n.Areas[i], len(code)
			}
		}
	}
	return best, best != nil
}

// ResolveCall is ResolveNumber followed by area routing: a number with
// areas (the bare 120) yields the regional number for the caller's area
// code, or itself when no area matches.
func (b *Bundle) ResolveCall(dialled, caller string) (*Number, bool) {
	n, ok := b.ResolveNumber(dialled)
	if !ok {
		return nil, false
	}
	if a, ok := n.Area(caller); ok {
		if t := b.findNumber(NormalizeNumber(a.Number)); t != nil {
			return t, true
		}
	}
	return n, true
}

// ResolveNumber finds the number dialled, with or without dashes, following
// an alias to its successor.
func (b *Bundle) ResolveNumber(dialled string) (*Number, bool) {
	d := NormalizeNumber(dialled)
	if d == "" {
		return nil, false
	}
	if n := b.findNumber(d); n != nil {
		return n, true
	}
	for i := range b.Hotlines.Aliases {
		if equalNorm(b.Hotlines.Aliases[i].Number, d) {
			if n := b.findNumber(NormalizeNumber(b.Hotlines.Aliases[i].Target)); n != nil {
				return n, true
			}
			return nil, false
		}
	}
	return nil, false
}

func (b *Bundle) findNumber(norm string) *Number {
	for i := range b.Hotlines.Numbers {
		if equalNorm(b.Hotlines.Numbers[i].Number, norm) {
			return &b.Hotlines.Numbers[i]
		}
	}
	return nil
}

// DefaultDispositions returns the wrap-up codes used when hotlines.yaml
// has none.
func DefaultDispositions() []string {
	return []string{"resolved", "information-given", "transferred", "callback-needed", "complaint-filed", "wrong-number"}
}

func (h *Hotlines) applyDefaults() {
	if len(h.Dispositions) == 0 {
		h.Dispositions = DefaultDispositions()
	}
	for i := range h.Numbers {
		n := &h.Numbers[i]
		if n.Language == "" {
			n.Language = "ko"
		}
		if n.Closed.Action == "" {
			n.Closed.Action = "callback"
		}
		if n.Closed.MessageKo == "" {
			n.Closed.MessageKo = DefaultClosedMessageKo
		}
		if n.Closed.MessageEn == "" {
			n.Closed.MessageEn = DefaultClosedMessageEn
		}
		if len(n.Languages) == 0 {
			n.Languages = []string{n.Language}
		}
		if r := n.Recording; r != nil {
			if r.ConsentKo == "" {
				r.ConsentKo = DefaultConsentKo
			}
			if r.ConsentEn == "" {
				r.ConsentEn = DefaultConsentEn
			}
		}
	}
}

// MenuTimers returns n's IVR timers: its own ivr block over sip.menu.
func (b *Bundle) MenuTimers(n *Number) (timeout, interDigit time.Duration, retries int) {
	m := b.Server.SIP.Menu
	timeout, interDigit = m.Timeout.D(), m.InterDigit.D()
	if m.Retries != nil {
		retries = *m.Retries
	}
	if o := n.IVR; o != nil {
		if o.Timeout > 0 {
			timeout = o.Timeout.D()
		}
		if o.InterDigit > 0 {
			interDigit = o.InterDigit.D()
		}
		if o.Retries != nil {
			retries = *o.Retries
		}
	}
	return timeout, interDigit, retries
}

// Dispositions returns the wrap-up codes by hotline number, "*" for every
// line without a list of its own.
func (b *Bundle) Dispositions() map[string][]string {
	m := map[string][]string{"*": slices.Clone(b.Hotlines.Dispositions)}
	for _, n := range b.Hotlines.Numbers {
		if len(n.Dispositions) > 0 {
			m[n.Number] = slices.Clone(n.Dispositions)
		}
	}
	return m
}

// Canned returns the canned replies by hotline number, "*" for every line
// without a list of its own.
func (b *Bundle) Canned() map[string][]Text {
	m := map[string][]Text{}
	if len(b.Hotlines.Canned) > 0 {
		m["*"] = slices.Clone(b.Hotlines.Canned)
	}
	for _, n := range b.Hotlines.Numbers {
		if len(n.Canned) > 0 {
			m[n.Number] = slices.Clone(n.Canned)
		}
	}
	return m
}
