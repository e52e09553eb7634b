package app

import (
	"encoding/json"
	"testing"
	"time"

	"onecall/store"
)

// The real App purges on its own every privacy.purge_every: a contact that
// ended before the retention loses its number, name and chat text, a newer
// one keeps them, and the audit trail holds a "purge" entry by "system"
// with the figures.
func TestScheduledPurgeRunsAndIsAudited(t *testing.T) {
	cfg := fsConfig(t, "", "transcript_retention_days: 90", "transcript_retention_days: 1\n  purge_every: 1s")
	a := fsStartAt(t, cfg, t.TempDir())
	st := a.Store()
	ctx := t.Context()
	now := time.Now()
	const oldID, newID = 9_000_001, 9_000_002
	for _, c := range []struct {
		id    uint64
		ended time.Time
	}{{oldID, now.Add(-48 * time.Hour)}, {newID, now.Add(-time.Hour)}} {
		if err := st.Enqueue(store.ContactUpsert{ID: c.id, Channel: "chat", Citizen: "010-4321-8765", State: "ended",
			Arrived: c.ended.Add(-time.Minute), Ended: c.ended, Attrs: map[string]string{"name": "Kim Cheolsu"}}); err != nil {
			t.Fatal(err)
		}
		if err := st.Enqueue(store.ChatMessage{Contact: c.id, Seq: 1, SenderKind: store.SenderCitizen, Text: "call me at 010-4321-8765",
			Sent: c.ended.Add(-time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	var fig struct {
		Before        time.Time `json:"before"`
		RetentionDays int       `json:"retention_days"`
		store.PurgeResult
	}
	deadline := time.After(20 * time.Second)
	for fig.Contacts == 0 {
		entries, err := st.Audit(ctx, store.AuditQuery{Action: "purge", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.Actor != "system" {
				t.Fatalf("purge entry by %q", e.Actor)
			}
			if err := json.Unmarshal([]byte(e.Detail), &fig); err != nil {
				t.Fatalf("purge detail %q: %v", e.Detail, err)
			}
			if fig.Contacts > 0 {
				break
			}
		}
		if fig.Contacts > 0 {
			break
		}
		select {
		case <-deadline:
			t.Fatalf("no purge with figures in the audit trail after 20 s (%d purge entries)", len(entries))
		case <-time.After(20 * time.Millisecond):
		}
	}
	if fig.Contacts != 1 || fig.ChatMessages != 1 || fig.RetentionDays != 1 {
		t.Fatalf("purge figures %+v", fig)
	}
	if d := now.Add(-24 * time.Hour).Sub(fig.Before); d > time.Minute || d < -time.Minute {
		t.Fatalf("purge cutoff %v, want about now - 1 day", fig.Before)
	}
	old, err := st.Contact(ctx, oldID)
	if err != nil {
		t.Fatal(err)
	}
	if old.Citizen != "" || len(old.Attrs) != 0 || old.Purged.IsZero() {
		t.Fatalf("old contact after the scheduled purge: %+v", old)
	}
	msgs, err := st.ChatMessages(ctx, oldID, 0)
	if err != nil || len(msgs) != 1 || msgs[0].Text != "" || !msgs[0].Purged {
		t.Fatalf("old chat after purge: %+v %v", msgs, err)
	}
	kept, err := st.Contact(ctx, newID)
	if err != nil {
		t.Fatal(err)
	}
	if kept.Citizen != "010-4321-8765" || kept.Attrs["name"] != "Kim Cheolsu" || !kept.Purged.IsZero() {
		t.Fatalf("newer contact touched: %+v", kept)
	}
	if len(a.logRecords("retention purge")) == 0 {
		t.Fatal("no 'retention purge' log line")
	}
}
