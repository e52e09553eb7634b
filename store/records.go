package store

import (
	"encoding/json"
	"strings"
	"time"
)

// Timestamps are stored as Unix milliseconds; a zero time.Time is NULL.
func ms(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", reject("encode json: %v", err)
	}
	return string(b), nil
}

// ContactUpsert inserts the contact row or updates it. Only fields that are
// set (non-zero) are written, so transports and the router can each record
// what they know; Attrs are merged key by key into the stored ones. A set
// field cannot be cleared back to zero. ID is required.
type ContactUpsert struct {
	ID         uint64
	Channel    string // "voice" | "chat"
	Hotline    string
	Queue      string
	Citizen    string
	Agent      string
	State      string
	Arrived    time.Time
	Offered    time.Time
	Answered   time.Time
	Ended      time.Time
	EndReason  string
	Wait       time.Duration
	Handle     time.Duration
	WrapUp     time.Duration
	Attrs      map[string]string
	ResumeHash string
}

func (c ContactUpsert) apply(t *wtx) error {
	if c.ID == 0 {
		return reject("contact upsert without id")
	}
	cols := []string{"id"}
	args := []any{int64(c.ID)}
	add := func(col string, v any) {
		cols = append(cols, col)
		args = append(args, v)
	}
	for _, f := range []struct {
		col string
		v   string
	}{{"channel", c.Channel}, {"hotline", c.Hotline}, {"queue", c.Queue}, {"citizen", c.Citizen},
		{"agent", c.Agent}, {"state", c.State}, {"end_reason", c.EndReason}, {"resume_hash", c.ResumeHash}} {
		if f.v != "" {
			add(f.col, f.v)
		}
	}
	for _, f := range []struct {
		col string
		v   time.Time
	}{{"arrived_at", c.Arrived}, {"offered_at", c.Offered}, {"answered_at", c.Answered}, {"ended_at", c.Ended}} {
		if !f.v.IsZero() {
			add(f.col, f.v.UnixMilli())
		}
	}
	for _, f := range []struct {
		col string
		v   time.Duration
	}{{"wait_ms", c.Wait}, {"handle_ms", c.Handle}, {"wrapup_ms", c.WrapUp}} {
		if f.v != 0 {
			add(f.col, f.v.Milliseconds())
		}
	}
	if c.Attrs != nil {
		a, err := jsonText(c.Attrs)
		if err != nil {
			return err
		}
		add("attrs", a)
	}
	var q strings.Builder
	q.WriteString("INSERT INTO contacts (")
	q.WriteString(strings.Join(cols, ", "))
	q.WriteString(") VALUES (?")
	q.WriteString(strings.Repeat(", ?", len(cols)-1))
	q.WriteString(")")
	if len(cols) > 1 {
		q.WriteString(" ON CONFLICT (id) DO UPDATE SET ")
		for i, col := range cols[1:] {
			if i > 0 {
				q.WriteString(", ")
			}
			if col == "attrs" {
				// Merge: each writer adds the attributes it knows.
				q.WriteString("attrs = " + t.d.mergeJSON("contacts.attrs", "excluded.attrs"))
				continue
			}
			if col == "answered_at" {
				// The first answer counts: a transfer's reconnect does
				// not restart the contact's answer time.
				q.WriteString("answered_at = COALESCE(contacts.answered_at, excluded.answered_at)")
				continue
			}
			q.WriteString(col + " = excluded." + col)
		}
	} else {
		q.WriteString(" ON CONFLICT (id) DO NOTHING")
	}
	if err := t.send(q.String(), args...); err != nil {
		return err
	}
	if c.Ended.IsZero() || c.Wait != 0 || c.Handle != 0 {
		return nil
	}
	// At the end, derive the wait (arrival to first answer, or to the end
	// for a contact never answered) and the handle time (first answer to
	// end) for the reports, unless the writer gave them.
	err := t.send(`UPDATE contacts SET
		wait_ms = CASE WHEN arrived_at IS NULL THEN wait_ms
			WHEN answered_at IS NOT NULL THEN `+t.d.greatest("answered_at - arrived_at", "0")+`
			ELSE `+t.d.greatest("ended_at - arrived_at", "0")+` END,
		handle_ms = CASE WHEN answered_at IS NOT NULL THEN `+t.d.greatest("ended_at - answered_at", "0")+` ELSE 0 END
		WHERE id = ? AND ended_at IS NOT NULL`, int64(c.ID))
	return err
}

// ContactEvent is one state change of a contact (append-only history).
// Writing the same event again (same contact, time, state, queue, agent
// and reason: a cluster's new leader re-writes the records its
// predecessor may not have stored) adds nothing.
type ContactEvent struct {
	Contact uint64
	At      time.Time
	State   string
	Queue   string
	Agent   string
	Reason  string
}

func (e ContactEvent) apply(t *wtx) error {
	id, at := int64(e.Contact), e.At.UnixMilli()
	err := t.send(`INSERT INTO contact_events (contact_id, at, state, queue, agent, reason) SELECT ?, ?, ?, ?, ?, ?
		WHERE NOT EXISTS (SELECT 1 FROM contact_events WHERE contact_id = ? AND at = ? AND state = ? AND queue = ?
		AND agent = ? AND reason = ?)`,
		id, at, e.State, e.Queue, e.Agent, e.Reason, id, at, e.State, e.Queue, e.Agent, e.Reason)
	if err != nil || e.State != EventTransferred {
		return err
	}
	// The reports read the count from the contact's row: the transfers
	// its history holds (so a transfer written again is counted once).
	err = t.send(`INSERT INTO contacts (id, transfers) VALUES (?, (SELECT COUNT(*) FROM contact_events WHERE contact_id = ? AND state = ?))
		ON CONFLICT (id) DO UPDATE SET transfers = excluded.transfers`, id, id, EventTransferred)
	return err
}

// EventTransferred is the state of the event that records a transfer
// (one per router.Transferred); contacts.transfers counts them.
const EventTransferred = "transferred"

// Chat message sender kinds.
const (
	SenderCitizen = "citizen"
	SenderAgent   = "agent"
	SenderSystem  = "system"
)

// ChatMessage is one chat message; (Contact, Seq) is unique and writing the
// same message twice is a no-op apart from filling in receipt times.
// Another message at a stored (Contact, Seq) is refused (a chat taken over
// by another node while its old node's last write was still in flight
// must not turn a new message into a receipt of the old one).
type ChatMessage struct {
	Contact    uint64
	Seq        int64
	SenderKind string // SenderCitizen | SenderAgent | SenderSystem
	SenderID   string
	Text       string // "" once purged
	Sent       time.Time
	Delivered  time.Time
	Read       time.Time
	Purged     bool // text removed by Purge (reads only)
}

func (m ChatMessage) apply(t *wtx) error {
	switch m.SenderKind {
	case SenderCitizen, SenderAgent, SenderSystem:
	default:
		return reject("chat message %d/%d: bad sender kind %q", m.Contact, m.Seq, m.SenderKind)
	}
	err := t.send(`INSERT INTO chat_messages (contact_id, seq, sender_kind, sender_id, text, sent_at, delivered_at, read_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (contact_id, seq) DO UPDATE SET
			delivered_at = coalesce(chat_messages.delivered_at, excluded.delivered_at),
			read_at = coalesce(chat_messages.read_at, excluded.read_at),
			sender_kind = CASE WHEN chat_messages.sender_kind = excluded.sender_kind AND chat_messages.sender_id = excluded.sender_id
				AND (chat_messages.text IS NULL OR chat_messages.text = excluded.text) THEN chat_messages.sender_kind END`,
		int64(m.Contact), m.Seq, m.SenderKind, m.SenderID, m.Text, m.Sent.UnixMilli(), ms(m.Delivered), ms(m.Read))
	return err
}

// ChatReceipt records delivery and/or read times of messages up to and
// including Seq that do not have them yet.
type ChatReceipt struct {
	Contact   uint64
	UpToSeq   int64
	Delivered time.Time
	Read      time.Time
}

func (r ChatReceipt) apply(t *wtx) error {
	err := t.send(`UPDATE chat_messages SET
			delivered_at = coalesce(delivered_at, ?),
			read_at = coalesce(read_at, ?)
		WHERE contact_id = ? AND seq <= ? AND (delivered_at IS NULL OR read_at IS NULL)`,
		ms(r.Delivered), ms(r.Read), int64(r.Contact), r.UpToSeq)
	return err
}

// CallLeg is one SIP leg of a call.
type CallLeg struct {
	Role    string    `json:"role"` // "citizen" | "agent" | "transfer" | "supervisor"
	URI     string    `json:"uri"`
	CallID  string    `json:"call_id,omitempty"`
	Started time.Time `json:"started"`
	Ended   time.Time `json:"ended,omitzero"`
	// RTP is this leg's own media counters (zero when not measured).
	RTP RTPStats `json:"rtp,omitzero"`
	// By is the user whose phone this leg is (a supervisor leg).
	By string `json:"by,omitempty"`
	// Steps are the leg's modes over time (a supervisor leg: listen,
	// whisper, barge), the first at Started.
	Steps []LegStep `json:"steps,omitempty"`
	// Cause is why the leg ended before the call (a supervisor leg:
	// console, phone-bye, phone-silent, agent-left, call-ended).
	Cause string `json:"cause,omitempty"`
}

// LegStep is a leg's mode from At on.
type LegStep struct {
	At   time.Time `json:"at"`
	Mode string    `json:"mode"`
}

// RTPStats summarizes a call's media.
type RTPStats struct {
	PacketsSent     uint64  `json:"packets_sent"`
	PacketsReceived uint64  `json:"packets_received"`
	PacketsLost     uint64  `json:"packets_lost"`
	JitterMs        float64 `json:"jitter_ms"`
}

// CallRecord is the CDR of one SIP call, written once at its end. Writing
// the same record again (same Call-ID, contact, start and cause: a call
// whose Durable write ran out of time queues it once more) adds nothing.
type CallRecord struct {
	CallID        string
	Contact       uint64
	From          string
	To            string
	Legs          []CallLeg
	Codec         string
	Started       time.Time
	Answered      time.Time
	Ended         time.Time
	HangupCause   string
	RTP           RTPStats
	RecordingPath string
	// RecordingBytes and RecordingDuration describe the file at
	// RecordingPath (the purge clears the path, keeps these).
	RecordingBytes    int64
	RecordingDuration time.Duration
}

func (c CallRecord) apply(t *wtx) error {
	if c.Legs == nil {
		c.Legs = []CallLeg{}
	}
	legs, err := jsonText(c.Legs)
	if err != nil {
		return err
	}
	rtp, err := jsonText(c.RTP)
	if err != nil {
		return err
	}
	if c.Contact != 0 && c.HangupCause != CauseNodeLost {
		// The call's own record wins over the leader's stand-in for it
		// (LostCallRecord): its node was cut off, not dead, and the call
		// went on to its end there.
		if err := t.send(`DELETE FROM call_records WHERE contact_id = ? AND call_id = ? AND hangup_cause = ?`,
			int64(c.Contact), c.CallID, CauseNodeLost); err != nil {
			return err
		}
	}
	start := c.Started.UnixMilli()
	err = t.send(`INSERT INTO call_records (call_id, contact_id, from_uri, to_uri, legs, codec, started_at, answered_at, ended_at, hangup_cause, rtp_stats, recording_path,
		recording_bytes, recording_ms)
		SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
		WHERE NOT EXISTS (SELECT 1 FROM call_records WHERE call_id = ? AND contact_id = ? AND started_at = ? AND hangup_cause = ?)`,
		c.CallID, int64(c.Contact), c.From, c.To, legs, c.Codec, start, ms(c.Answered), ms(c.Ended),
		c.HangupCause, rtp, c.RecordingPath, c.RecordingBytes, c.RecordingDuration.Milliseconds(),
		c.CallID, int64(c.Contact), start, c.HangupCause)
	return err
}

// CauseNodeLost is the hangup cause of a call whose cluster node died with
// its dialogs and media (router.EndNodeLost's name): the cluster's leader
// writes its record (LostCallRecord), the call's node never does.
const CauseNodeLost = "node-lost"

// LostCallRecord is the call record the cluster's leader writes for a voice
// contact that routing ended node-lost (router.EndNodeLost): its node, which
// writes a call's record at the call's end, died with the call. What died
// with the node is left empty: no legs, codec or RTP counters. Answered is
// the contact's first answer as its row holds it (the leader's store writes
// the contact's history before its end, in order); HangupCause is
// CauseNodeLost.
//
// One row per call: the record is written only if call_records holds no
// row for the same contact and Call-ID, so writing it again (a new leader
// re-writing its predecessor's last records) adds nothing, and a record the
// call's own node stored before it died wins (it knows how the call ended;
// the stand-in only that routing lost it). A node that was cut off, not
// dead, writes its call's own record later: that record replaces the
// stand-in (CallRecord). A callback attempt's Call-ID is not known to
// routing: its stand-in has an empty CallID and is never replaced.
type LostCallRecord struct {
	CallID  string
	Contact uint64
	From    string
	To      string
	Started time.Time
	Ended   time.Time
}

func (c LostCallRecord) apply(t *wtx) error {
	if c.Contact == 0 {
		return reject("lost call record without contact")
	}
	id := int64(c.Contact)
	err := t.send(`INSERT INTO call_records (call_id, contact_id, from_uri, to_uri, started_at, answered_at, ended_at, hangup_cause)
		SELECT ?, ?, ?, ?, ?, (SELECT answered_at FROM contacts WHERE id = ?), ?, ?
		WHERE NOT EXISTS (SELECT 1 FROM call_records WHERE contact_id = ? AND call_id = ?)`,
		c.CallID, id, c.From, c.To, c.Started.UnixMilli(), id, ms(c.Ended), CauseNodeLost, id, c.CallID)
	return err
}

// AgentStateLog records that Agent entered State at At: it closes the
// agent's open row and opens a new one. State "offline" closes the open row
// and logs a zero-length offline row. Writing the same change again (a
// cluster's new leader re-writing its predecessor's last records) changes
// nothing.
type AgentStateLog struct {
	Agent  string
	State  string
	Reason string
	At     time.Time
}

func (a AgentStateLog) apply(t *wtx) error {
	at := a.At.UnixMilli()
	const logged = `(SELECT 1 FROM agent_state_log WHERE agent = ? AND state = ? AND reason = ? AND started_at = ?)`
	if err := t.send(`UPDATE agent_state_log SET ended_at = ? WHERE agent = ? AND ended_at IS NULL AND NOT EXISTS `+logged,
		at, a.Agent, a.Agent, a.State, a.Reason, at); err != nil {
		return err
	}
	var end any
	if a.State == "offline" {
		end = at
	}
	err := t.send(`INSERT INTO agent_state_log (agent, state, reason, started_at, ended_at) SELECT ?, ?, ?, ?, ?
		WHERE NOT EXISTS `+logged,
		a.Agent, a.State, a.Reason, at, end, a.Agent, a.State, a.Reason, at)
	return err
}

// Callback statuses.
const (
	CallbackBooked    = "booked"
	CallbackDialing   = "dialing"
	CallbackDone      = "done"
	CallbackFailed    = "failed"
	CallbackCancelled = "cancelled"
)

// Callback is a booked callback, keyed by the contact that booked it.
// Writing it again updates status, attempts, queue and attrs (the last
// attempt's outcome, the next attempt's time, the closing reason).
type Callback struct {
	Contact       uint64
	CitizenNumber string
	Hotline       string
	Queue         string
	Arrived       time.Time // original arrival: the place in line
	Booked        time.Time
	Status        string
	Attempts      int
	Attrs         map[string]string
}

func (c Callback) apply(t *wtx) error {
	if c.Status == "" {
		c.Status = CallbackBooked
	}
	if c.Attrs == nil {
		c.Attrs = map[string]string{}
	}
	attrs, err := jsonText(c.Attrs)
	if err != nil {
		return err
	}
	err = t.send(`INSERT INTO callbacks (contact_id, citizen_number, hotline, queue, arrived_at, booked_at, status, attempts, attrs, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (contact_id) DO UPDATE SET status = excluded.status, attempts = excluded.attempts,
			queue = excluded.queue, attrs = excluded.attrs, updated_at = excluded.updated_at`,
		int64(c.Contact), c.CitizenNumber, c.Hotline, c.Queue, c.Arrived.UnixMilli(), c.Booked.UnixMilli(),
		c.Status, c.Attempts, attrs, t.now.UnixMilli())
	return err
}

// Registration is a SIP binding of an agent phone (upserted by user+contact).
type Registration struct {
	User       string
	ContactURI string
	SourceAddr string
	UserAgent  string
	Expires    time.Time
}

func (r Registration) apply(t *wtx) error {
	err := t.send(`INSERT INTO registrations (username, contact_uri, source_addr, user_agent, expires_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (username, contact_uri) DO UPDATE SET source_addr = excluded.source_addr,
			user_agent = excluded.user_agent, expires_at = excluded.expires_at, updated_at = excluded.updated_at`,
		r.User, r.ContactURI, r.SourceAddr, r.UserAgent, r.Expires.UnixMilli(), t.now.UnixMilli())
	return err
}

// RegistrationDelete removes a binding; an empty ContactURI removes all of
// the user's bindings.
type RegistrationDelete struct {
	User       string
	ContactURI string
}

func (r RegistrationDelete) apply(t *wtx) error {
	if r.ContactURI == "" {
		err := t.send(`DELETE FROM registrations WHERE username = ?`, r.User)
		return err
	}
	err := t.send(`DELETE FROM registrations WHERE username = ? AND contact_uri = ?`, r.User, r.ContactURI)
	return err
}

// ContactWrapUp stores the agent's disposition code and notes.
type ContactWrapUp struct {
	Contact     uint64
	Disposition string
	Notes       string
	WrapUp      time.Duration // 0 = leave unchanged
}

func (w ContactWrapUp) apply(t *wtx) error {
	n, err := t.exec(`UPDATE contacts SET disposition = ?, notes = ?,
			wrapup_ms = CASE WHEN ? > 0 THEN ? ELSE wrapup_ms END WHERE id = ?`,
		w.Disposition, w.Notes, w.WrapUp.Milliseconds(), w.WrapUp.Milliseconds(), int64(w.Contact))
	if err == nil && n == 0 {
		return reject("wrap-up for unknown contact %d: %w", w.Contact, ErrNotFound)
	}
	return err
}

// Satisfaction stores the citizen's score 1..5.
type Satisfaction struct {
	Contact uint64
	Score   int
}

func (s Satisfaction) apply(t *wtx) error {
	if s.Score < 1 || s.Score > 5 {
		return reject("satisfaction score %d out of 1..5", s.Score)
	}
	n, err := t.exec(`UPDATE contacts SET satisfaction = ? WHERE id = ?`, s.Score, int64(s.Contact))
	if err == nil && n == 0 {
		return reject("satisfaction for unknown contact %d: %w", s.Contact, ErrNotFound)
	}
	return err
}

// Disposition is a wrap-up code offered for a hotline.
type Disposition struct {
	Hotline string `db:"hotline"`
	Code    string `db:"code"`
	Label   string `db:"label"`
}

func (d Disposition) apply(t *wtx) error {
	err := t.send(`INSERT INTO dispositions (hotline, code, label) VALUES (?, ?, ?)
		ON CONFLICT (hotline, code) DO UPDATE SET label = excluded.label`, d.Hotline, d.Code, d.Label)
	return err
}

// Barrier writes nothing: Durable(ctx, Barrier{}) returns once every
// record enqueued before it is committed (the writer keeps their order).
type Barrier struct{}

func (Barrier) apply(*wtx) error { return nil }
