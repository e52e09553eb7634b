package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

func fromMS(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.UnixMilli(n.Int64).UTC()
}

// Contact is one contact row.
type Contact struct {
	ID           uint64
	Channel      string
	Hotline      string
	Queue        string
	Citizen      string
	Agent        string
	State        string
	Arrived      time.Time
	Offered      time.Time
	Answered     time.Time
	Ended        time.Time
	EndReason    string
	Wait         time.Duration
	Handle       time.Duration
	WrapUp       time.Duration
	Disposition  string
	Notes        string
	Satisfaction int
	Attrs        map[string]string
	ResumeHash   string
	Purged       time.Time
}

const contactCols = `id, channel, hotline, queue, citizen, agent, state, arrived_at, offered_at, answered_at, ended_at,
	end_reason, wait_ms, handle_ms, wrapup_ms, disposition, notes, satisfaction, attrs, resume_hash, purged_at`

type contactRow struct {
	ID           int64         `db:"id"`
	Channel      string        `db:"channel"`
	Hotline      string        `db:"hotline"`
	Queue        string        `db:"queue"`
	Citizen      string        `db:"citizen"`
	Agent        string        `db:"agent"`
	State        string        `db:"state"`
	Arrived      sql.NullInt64 `db:"arrived_at"`
	Offered      sql.NullInt64 `db:"offered_at"`
	Answered     sql.NullInt64 `db:"answered_at"`
	Ended        sql.NullInt64 `db:"ended_at"`
	EndReason    string        `db:"end_reason"`
	WaitMS       int64         `db:"wait_ms"`
	HandleMS     int64         `db:"handle_ms"`
	WrapUpMS     int64         `db:"wrapup_ms"`
	Disposition  string        `db:"disposition"`
	Notes        string        `db:"notes"`
	Satisfaction int           `db:"satisfaction"`
	Attrs        string        `db:"attrs"`
	ResumeHash   string        `db:"resume_hash"`
	Purged       sql.NullInt64 `db:"purged_at"`
}

func (r contactRow) contact() Contact {
	c := Contact{
		ID: uint64(r.ID), Channel: r.Channel, Hotline: r.Hotline, Queue: r.Queue, Citizen: r.Citizen,
		Agent: r.Agent, State: r.State, Arrived: fromMS(r.Arrived), Offered: fromMS(r.Offered),
		Answered: fromMS(r.Answered), Ended: fromMS(r.Ended), EndReason: r.EndReason,
		Wait: time.Duration(r.WaitMS) * time.Millisecond, Handle: time.Duration(r.HandleMS) * time.Millisecond,
		WrapUp: time.Duration(r.WrapUpMS) * time.Millisecond, Disposition: r.Disposition, Notes: r.Notes,
		Satisfaction: r.Satisfaction, ResumeHash: r.ResumeHash, Purged: fromMS(r.Purged),
	}
	if r.Attrs != "" && r.Attrs != "{}" {
		_ = json.Unmarshal([]byte(r.Attrs), &c.Attrs)
	}
	return c
}

func contactsFrom(rows []contactRow) []Contact {
	out := make([]Contact, len(rows))
	for i, r := range rows {
		out[i] = r.contact()
	}
	return out
}

func readErr(op string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

// Contact returns one contact (ErrNotFound).
func (s *Store) Contact(ctx context.Context, id uint64) (Contact, error) {
	var r contactRow
	if err := s.r.GetContext(ctx, &r, `SELECT `+contactCols+` FROM contacts WHERE id = ?`, int64(id)); err != nil {
		return Contact{}, readErr("contact", err)
	}
	return r.contact(), nil
}

// ContactsByCitizen returns the citizen's latest contacts, newest first.
func (s *Store) ContactsByCitizen(ctx context.Context, citizen string, limit int) ([]Contact, error) {
	var rows []contactRow
	if err := s.r.SelectContext(ctx, &rows, `SELECT `+contactCols+` FROM contacts WHERE citizen = ?
		ORDER BY arrived_at DESC, id DESC LIMIT ?`, citizen, limit); err != nil {
		return nil, readErr("contacts by citizen", err)
	}
	return contactsFrom(rows), nil
}

// ContactByResumeHash finds the contact holding a chat resume-token hash
// (ErrNotFound).
func (s *Store) ContactByResumeHash(ctx context.Context, hash string) (Contact, error) {
	if hash == "" {
		return Contact{}, ErrNotFound
	}
	var r contactRow
	if err := s.r.GetContext(ctx, &r, `SELECT `+contactCols+` FROM contacts WHERE resume_hash = ? ORDER BY id DESC LIMIT 1`, hash); err != nil {
		return Contact{}, readErr("contact by resume hash", err)
	}
	return r.contact(), nil
}

// MaxContactID returns the highest contact id stored (0 if none), so
// server/ can continue allocating after a restart.
func (s *Store) MaxContactID(ctx context.Context) (uint64, error) {
	var n int64
	if err := s.r.GetContext(ctx, &n, `SELECT coalesce(max(id), 0) FROM contacts`); err != nil {
		return 0, readErr("max contact id", err)
	}
	return uint64(n), nil
}

// MaxContactIDIn returns the highest contact id in (lo, hi], 0 if none:
// a cluster node's own highest id (its range, server/ids.go), as the
// nodes share one database.
func (s *Store) MaxContactIDIn(ctx context.Context, lo, hi uint64) (uint64, error) {
	var n int64
	if err := s.r.GetContext(ctx, &n, `SELECT coalesce(max(id), 0) FROM contacts WHERE id > ? AND id <= ?`,
		int64(lo), int64(hi)); err != nil {
		return 0, readErr("max contact id", err)
	}
	return uint64(n), nil
}

// ContactEvents returns a contact's history in order.
func (s *Store) ContactEvents(ctx context.Context, id uint64) ([]ContactEvent, error) {
	var rows []struct {
		Contact int64  `db:"contact_id"`
		At      int64  `db:"at"`
		State   string `db:"state"`
		Queue   string `db:"queue"`
		Agent   string `db:"agent"`
		Reason  string `db:"reason"`
	}
	if err := s.r.SelectContext(ctx, &rows, `SELECT contact_id, at, state, queue, agent, reason
		FROM contact_events WHERE contact_id = ? ORDER BY id`, int64(id)); err != nil {
		return nil, readErr("contact events", err)
	}
	out := make([]ContactEvent, len(rows))
	for i, r := range rows {
		out[i] = ContactEvent{Contact: uint64(r.Contact), At: time.UnixMilli(r.At).UTC(), State: r.State,
			Queue: r.Queue, Agent: r.Agent, Reason: r.Reason}
	}
	return out, nil
}

type chatRow struct {
	Contact    int64          `db:"contact_id"`
	Seq        int64          `db:"seq"`
	SenderKind string         `db:"sender_kind"`
	SenderID   string         `db:"sender_id"`
	Text       sql.NullString `db:"text"`
	Sent       sql.NullInt64  `db:"sent_at"`
	Delivered  sql.NullInt64  `db:"delivered_at"`
	Read       sql.NullInt64  `db:"read_at"`
}

// ChatMessages returns a contact's messages with seq > afterSeq, in order.
func (s *Store) ChatMessages(ctx context.Context, contact uint64, afterSeq int64) ([]ChatMessage, error) {
	var rows []chatRow
	if err := s.r.SelectContext(ctx, &rows, `SELECT contact_id, seq, sender_kind, sender_id, text, sent_at, delivered_at, read_at
		FROM chat_messages WHERE contact_id = ? AND seq > ? ORDER BY seq`, int64(contact), afterSeq); err != nil {
		return nil, readErr("chat messages", err)
	}
	out := make([]ChatMessage, len(rows))
	for i, r := range rows {
		out[i] = ChatMessage{Contact: uint64(r.Contact), Seq: r.Seq, SenderKind: r.SenderKind, SenderID: r.SenderID,
			Text: r.Text.String, Purged: !r.Text.Valid, Sent: fromMS(r.Sent), Delivered: fromMS(r.Delivered), Read: fromMS(r.Read)}
	}
	return out, nil
}

// LastChatSeq returns the highest stored seq of a contact's chat (0 if none).
func (s *Store) LastChatSeq(ctx context.Context, contact uint64) (int64, error) {
	var n int64
	if err := s.r.GetContext(ctx, &n, `SELECT coalesce(max(seq), 0) FROM chat_messages WHERE contact_id = ?`, int64(contact)); err != nil {
		return 0, readErr("last chat seq", err)
	}
	return n, nil
}

// CallRecords returns the latest CDRs, newest first.
func (s *Store) CallRecords(ctx context.Context, limit int) ([]CallRecord, error) {
	var rows []struct {
		CallID   string        `db:"call_id"`
		Contact  int64         `db:"contact_id"`
		From     string        `db:"from_uri"`
		To       string        `db:"to_uri"`
		Legs     string        `db:"legs"`
		Codec    string        `db:"codec"`
		Started  sql.NullInt64 `db:"started_at"`
		Answered sql.NullInt64 `db:"answered_at"`
		Ended    sql.NullInt64 `db:"ended_at"`
		Cause    string        `db:"hangup_cause"`
		RTP      string        `db:"rtp_stats"`
		Rec      string        `db:"recording_path"`
		RecBytes int64         `db:"recording_bytes"`
		RecMS    int64         `db:"recording_ms"`
	}
	if err := s.r.SelectContext(ctx, &rows, `SELECT call_id, contact_id, from_uri, to_uri, legs, codec, started_at,
		answered_at, ended_at, hangup_cause, rtp_stats, recording_path, recording_bytes, recording_ms
		FROM call_records ORDER BY id DESC LIMIT ?`, limit); err != nil {
		return nil, readErr("call records", err)
	}
	out := make([]CallRecord, len(rows))
	for i, r := range rows {
		c := CallRecord{CallID: r.CallID, Contact: uint64(r.Contact), From: r.From, To: r.To, Codec: r.Codec,
			Started: fromMS(r.Started), Answered: fromMS(r.Answered), Ended: fromMS(r.Ended), HangupCause: r.Cause,
			RecordingPath: r.Rec, RecordingBytes: r.RecBytes, RecordingDuration: time.Duration(r.RecMS) * time.Millisecond}
		_ = json.Unmarshal([]byte(r.Legs), &c.Legs)
		_ = json.Unmarshal([]byte(r.RTP), &c.RTP)
		out[i] = c
	}
	return out, nil
}

// Registrations returns every stored SIP binding (expired ones included;
// the registrar decides).
func (s *Store) Registrations(ctx context.Context) ([]Registration, error) {
	var rows []struct {
		User    string `db:"username"`
		URI     string `db:"contact_uri"`
		Src     string `db:"source_addr"`
		UA      string `db:"user_agent"`
		Expires int64  `db:"expires_at"`
	}
	if err := s.r.SelectContext(ctx, &rows, `SELECT username, contact_uri, source_addr, user_agent, expires_at
		FROM registrations ORDER BY username, contact_uri`); err != nil {
		return nil, readErr("registrations", err)
	}
	out := make([]Registration, len(rows))
	for i, r := range rows {
		out[i] = Registration{User: r.User, ContactURI: r.URI, SourceAddr: r.Src, UserAgent: r.UA,
			Expires: time.UnixMilli(r.Expires).UTC()}
	}
	return out, nil
}

// Dispositions returns a hotline's wrap-up codes.
func (s *Store) Dispositions(ctx context.Context, hotline string) ([]Disposition, error) {
	var out []Disposition
	if err := s.r.SelectContext(ctx, &out, `SELECT hotline, code, label FROM dispositions WHERE hotline = ? ORDER BY code`, hotline); err != nil {
		return nil, readErr("dispositions", err)
	}
	return out, nil
}

type callbackRow struct {
	Contact  int64  `db:"contact_id"`
	Number   string `db:"citizen_number"`
	Hotline  string `db:"hotline"`
	Queue    string `db:"queue"`
	Arrived  int64  `db:"arrived_at"`
	Booked   int64  `db:"booked_at"`
	Status   string `db:"status"`
	Attempts int    `db:"attempts"`
	Attrs    string `db:"attrs"`
}

func (r callbackRow) callback() Callback {
	c := Callback{Contact: uint64(r.Contact), CitizenNumber: r.Number, Hotline: r.Hotline, Queue: r.Queue,
		Arrived: time.UnixMilli(r.Arrived).UTC(), Booked: time.UnixMilli(r.Booked).UTC(), Status: r.Status,
		Attempts: r.Attempts}
	_ = json.Unmarshal([]byte(r.Attrs), &c.Attrs)
	return c
}

const callbackCols = `contact_id, citizen_number, hotline, queue, arrived_at, booked_at, status, attempts, attrs`

// Callback returns the callback booked by contact id (ErrNotFound).
func (s *Store) Callback(ctx context.Context, id uint64) (Callback, error) {
	var r callbackRow
	if err := s.r.GetContext(ctx, &r, `SELECT `+callbackCols+` FROM callbacks WHERE contact_id = ?`, int64(id)); err != nil {
		return Callback{}, readErr("callback", err)
	}
	return r.callback(), nil
}

// Callbacks returns the callbacks with the given status in original arrival
// order.
func (s *Store) Callbacks(ctx context.Context, status string) ([]Callback, error) {
	var rows []callbackRow
	if err := s.r.SelectContext(ctx, &rows, `SELECT `+callbackCols+` FROM callbacks WHERE status = ?
		ORDER BY arrived_at, contact_id`, status); err != nil {
		return nil, readErr("callbacks", err)
	}
	out := make([]Callback, len(rows))
	for i, r := range rows {
		out[i] = r.callback()
	}
	return out, nil
}
