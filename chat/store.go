package chat

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"onecall/router"
	"onecall/store"
)

// Store is what the chat needs from persistence; *store.Store implements it.
type Store interface {
	Enqueue(rec store.Record) error
	Durable(ctx context.Context, rec store.Record) error
	ChatMessages(ctx context.Context, contact uint64, afterSeq int64) ([]store.ChatMessage, error)
	LastChatSeq(ctx context.Context, contact uint64) (int64, error)
	Contact(ctx context.Context, id uint64) (store.Contact, error)
	ContactByResumeHash(ctx context.Context, hash string) (store.Contact, error)
	Health() store.Health
}

// storeBackend adapts Store to the chat core.
type storeBackend struct{ st Store }

func (b storeBackend) saveMessage(ctx context.Context, m Message) error {
	return b.st.Durable(ctx, store.ChatMessage{
		Contact: uint64(m.Contact), Seq: m.Seq, SenderKind: m.Sender, SenderID: m.SenderID, Text: m.Text, Sent: m.Sent,
	})
}

func (b storeBackend) messages(ctx context.Context, c router.ContactID, after int64) ([]Message, error) {
	rows, err := b.st.ChatMessages(ctx, uint64(c), after)
	if err != nil {
		return nil, err
	}
	out := make([]Message, len(rows))
	for i, r := range rows {
		out[i] = Message{Contact: c, Seq: r.Seq, Sender: r.SenderKind, SenderID: r.SenderID, Text: r.Text, Sent: r.Sent}
	}
	return out, nil
}

func (b storeBackend) lastSeq(ctx context.Context, c router.ContactID) (int64, error) {
	return b.st.LastChatSeq(ctx, uint64(c))
}

func (b storeBackend) saveContact(ctx context.Context, c contactRec, durable bool) error {
	attrs := map[string]string{"lang": c.Language}
	if c.Topic != "" {
		attrs["topic"] = c.Topic
	}
	if c.Name != "" {
		attrs["name"] = c.Name
	}
	if c.Phone != "" {
		attrs[AttrPhoneUnverified] = c.Phone
	}
	rec := store.ContactUpsert{
		ID: uint64(c.ID), Channel: "chat", Hotline: c.Number, Queue: c.Queue, Citizen: citizenOf(c),
		Agent: string(c.Agent), State: c.State, Arrived: c.Arrived, Ended: c.Ended, EndReason: c.EndReason,
		Attrs: attrs, ResumeHash: c.ResumeHash,
	}
	if durable {
		return b.st.Durable(ctx, rec)
	}
	return b.st.Enqueue(rec)
}

// citizenOf is the chat's citizen identity for history and preferred-agent
// routing: the chat's own resume-token identity. A phone number typed on
// the chat page is a claim anyone can make, so it links no history and
// selects no preferred agent (AttrPhoneUnverified carries it).
func citizenOf(c contactRec) string {
	if len(c.ResumeHash) >= 16 {
		return "chat:" + c.ResumeHash[:16]
	}
	return ""
}

func recFromStore(c store.Contact) contactRec {
	r := contactRec{
		ID: router.ContactID(c.ID), Number: c.Hotline, Queue: c.Queue, State: c.State, EndReason: normReason(c.EndReason),
		Talked: !c.Answered.IsZero() || c.Agent != "",
		Agent:  router.AgentID(c.Agent), Arrived: c.Arrived, Ended: c.Ended, ResumeHash: c.ResumeHash,
		Topic: c.Attrs["topic"], Language: c.Attrs["lang"], Name: c.Attrs["name"], Phone: phoneAttr(c.Attrs),
	}
	switch r.State {
	case "waiting", "offered", "queued":
		r.State = "waiting"
	case "talking", "connected":
		r.State = "talking"
	default:
		if !c.Ended.IsZero() || r.State != "" {
			r.State = "ended"
		}
	}
	if r.Language == "" {
		r.Language = "ko"
	}
	return r
}

// normReason maps routing's end-reason words ("refused-closed") to the
// protocol's ("closed").
func normReason(r string) string {
	r = strings.ReplaceAll(r, "-", "_")
	return strings.TrimPrefix(r, "refused_")
}

func (b storeBackend) contactByHash(ctx context.Context, hash string) (contactRec, error) {
	c, err := b.st.ContactByResumeHash(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return contactRec{}, errNotFound
	}
	if err != nil {
		return contactRec{}, err
	}
	return recFromStore(c), nil
}

func (b storeBackend) contact(ctx context.Context, id router.ContactID) (contactRec, error) {
	c, err := b.st.Contact(ctx, uint64(id))
	if errors.Is(err, store.ErrNotFound) {
		return contactRec{}, fmt.Errorf("contact %d: %w", id, errNotFound)
	}
	if err != nil {
		return contactRec{}, err
	}
	return recFromStore(c), nil
}

func (b storeBackend) callback(ctx context.Context, c router.ContactID, number, phone, name string, at time.Time) error {
	rec, err := b.contact(ctx, c)
	if err != nil {
		return err
	}
	attrs := map[string]string{"channel": "chat"}
	if name != "" {
		attrs["name"] = name
	}
	if rec.Topic != "" {
		attrs["topic"] = rec.Topic
	}
	return b.st.Durable(ctx, store.Callback{
		Contact: uint64(c), CitizenNumber: phone, Hotline: number, Queue: rec.Queue,
		Arrived: rec.Arrived, Booked: at, Status: store.CallbackBooked, Attrs: attrs,
	})
}

func (b storeBackend) rating(c router.ContactID, score int, _ string, _ time.Time) error {
	return b.st.Enqueue(store.Satisfaction{Contact: uint64(c), Score: score})
}

func (b storeBackend) healthy() (bool, string) {
	h := b.st.Health()
	if h.OK {
		return true, ""
	}
	return false, "storage unavailable"
}

func (b storeBackend) alias(context.Context, router.AgentID) string { return "" }
