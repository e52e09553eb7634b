package chat

import (
	"encoding/json"
	"time"
)

// ProtocolVersion is the wire protocol version (docs/chat-protocol.md).
const ProtocolVersion = 1

// Close codes beyond RFC 6455 (see docs/chat-protocol.md).
const (
	CloseBadToken     = 4001 // resume token unknown, malformed or expired
	CloseNoStart      = 4002 // no start/resume frame in time
	CloseSlowConsumer = 4008 // send buffer full; resume with last seq
	CloseReplaced     = 4009 // another connection resumed this chat
	CloseShutdown     = 1001 // server going away
)

// out is a server -> client frame. Fields are omitted when empty.
type out struct {
	Type        string     `json:"type"`
	V           int        `json:"v,omitempty"`
	Contact     uint64     `json:"contact,omitempty"`
	Token       string     `json:"token,omitempty"`
	State       string     `json:"state,omitempty"`
	Seq         int64      `json:"seq,omitempty"`
	ID          string     `json:"id,omitempty"`
	From        string     `json:"from,omitempty"`
	Alias       string     `json:"alias,omitempty"`
	Text        string     `json:"text,omitempty"`
	Sent        string     `json:"sent,omitempty"`
	Position    int        `json:"position,omitempty"`
	EtaS        int        `json:"eta_s,omitempty"`
	NoAgent     bool       `json:"no_agent,omitempty"`
	Reason      string     `json:"reason,omitempty"`
	Code        string     `json:"code,omitempty"`
	Message     string     `json:"message,omitempty"`
	Limit       int        `json:"limit,omitempty"`
	RetryAfterS int        `json:"retry_after_s,omitempty"`
	CloseInS    int        `json:"close_in_s,omitempty"`
	Status      string     `json:"status,omitempty"`
	Offline     bool       `json:"offline,omitempty"`
	Callback    bool       `json:"callback_offered,omitempty"`
	Lang        string     `json:"lang,omitempty"`
	Messages    []wireMsg  `json:"messages,omitempty"`
	Number      string     `json:"number,omitempty"`
	Rated       bool       `json:"rated,omitempty"`
	At          *time.Time `json:"-"`
}

// wireMsg is a message as the citizen sees it.
type wireMsg struct {
	Type  string `json:"type,omitempty"`
	Seq   int64  `json:"seq"`
	From  string `json:"from"`
	Alias string `json:"alias,omitempty"`
	Text  string `json:"text"`
	Sent  string `json:"sent"`
}

// in is a client -> server frame.
type in struct {
	Type    string `json:"type"`
	Number  string `json:"number"`
	Topic   string `json:"topic"`
	Lang    string `json:"lang"`
	Name    string `json:"name"`
	Phone   string `json:"phone"`
	Token   string `json:"token"`
	LastSeq int64  `json:"last_seq"`
	Text    string `json:"text"`
	ID      string `json:"id"`
	Seq     int64  `json:"seq"`
	Score   int    `json:"score"`
	Comment string `json:"comment"`
}

func encode(f out) []byte {
	b, err := json.Marshal(f)
	if err != nil { // cannot happen for these types
		return []byte(`{"type":"error","code":"internal"}`)
	}
	return b
}

func toWire(m Message) wireMsg {
	w := wireMsg{Seq: m.Seq, From: m.Sender, Text: m.Text, Sent: m.Sent.UTC().Format(time.RFC3339Nano)}
	if m.Sender == SenderAgent {
		w.Alias = m.Alias
	}
	return w
}

func msgFrame(m Message) []byte {
	w := toWire(m)
	return encode(out{Type: "msg", Seq: w.Seq, From: w.From, Alias: w.Alias, Text: w.Text, Sent: w.Sent})
}

func errFrame(code, msg string) []byte {
	return encode(out{Type: "error", Code: code, Message: msg})
}
