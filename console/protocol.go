package console

import (
	"encoding/json"
	"strings"
	"time"

	"onecall/router"
)

// Wire envelopes of the console WebSocket protocol (docs/console-protocol.md).

// clientMsg is one message from the browser.
type clientMsg struct {
	ID   int64           `json:"id,omitempty"`
	Cmd  string          `json:"cmd"`
	Args json.RawMessage `json:"args,omitempty"`
}

// serverMsg is one message to the browser.
type serverMsg struct {
	T     string   `json:"t"` // snapshot | event | reply | error | closing
	Seq   uint64   `json:"seq,omitempty"`
	Kind  string   `json:"kind,omitempty"`
	ID    int64    `json:"id,omitempty"`
	Cmd   string   `json:"cmd,omitempty"`
	Error string   `json:"error,omitempty"`
	Code  string   `json:"code,omitempty"` // error code, translated by the client
	Text  *msgText `json:"text,omitempty"` // the code's ko/en text, when the server has one
	Data  any      `json:"data,omitempty"`
}

// Close codes (4000-4999 are application codes).
const (
	closeTakenOver = 4001 // another tab or device took over this session
	closeSignedOut = 4003 // session ended (logout, disabled, expired)
	closeSlow      = 4008 // send queue overflowed; reconnect and resync
	closeShutdown  = 4009 // server shutting down
)

func stateName(s router.AgentState) string {
	switch s {
	case router.Offline:
		return "offline"
	case router.Ready:
		return "ready"
	case router.NotReady:
		return "not_ready"
	case router.Reserved:
		return "reserved"
	case router.Busy:
		return "busy"
	case router.WrapUp:
		return "wrap_up"
	}
	return "unknown"
}

func contactStateName(s router.ContactState) string {
	switch s {
	case router.Waiting:
		return "waiting"
	case router.Offered:
		return "offered"
	case router.Talking:
		return "talking"
	case router.Ended:
		return "ended"
	case router.CallbackBooked:
		return "callback"
	}
	return "unknown"
}

func channelName(c router.Channel) string {
	switch c {
	case router.Voice:
		return "voice"
	case router.Chat:
		return "chat"
	}
	return ""
}

var endReasonNames = [...]string{"unknown", "completed", "abandoned", "refused_queue_full", "refused_closed",
	"callback", "max_wait", "agent_lost", "stuck", "system_restart", "transferred_out", "no_queue", "callback_retry",
	"callback_unreached", "callback_merged", "node_lost"}

func endReasonName(r router.EndReason) string {
	if int(r) < len(endReasonNames) {
		return endReasonNames[r]
	}
	return "unknown"
}

// maskNumber keeps the last four digits of a phone number: 010-****-5678
// becomes "*******5678". Non-numbers (chat identities) pass unchanged.
func maskNumber(s string) string {
	// SIP/tel URIs: mask the user part, keep the rest.
	for _, scheme := range []string{"sip:", "sips:", "tel:"} {
		if rest, ok := strings.CutPrefix(s, scheme); ok {
			user, host, hasHost := strings.Cut(rest, "@")
			if hasHost {
				return scheme + maskNumber(user) + "@" + host
			}
			return scheme + maskNumber(user)
		}
	}
	digits := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			digits++
		} else if !strings.ContainsRune("+-() ", r) {
			return s
		}
	}
	if digits < 5 {
		return s
	}
	var b strings.Builder
	seen := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			seen++
			if seen <= digits-4 {
				b.WriteByte('*')
				continue
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}

func ms(d time.Duration) int64 { return d.Milliseconds() }

func unixMS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}
