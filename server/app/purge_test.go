package app

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"onecall/store"
)

// The real App purges on its own every privacy.purge_every: a contact that
// ended before the retention loses its number, name and chat text, a newer
// one keeps them unless its line's retention_days is shorter, and the audit
// trail holds "purge" entries by "system" with the figures.
func TestScheduledPurgeRunsAndIsAudited(t *testing.T) {
	cfg := fsConfig(t, "", "transcript_retention_days: 90", "transcript_retention_days: 1\n  purge_every: 1s")
	hl := filepath.Join(cfg, "hotlines.yaml")
	b, err := os.ReadFile(hl)
	if err != nil {
		t.Fatal(err)
	}
	const line = "  - number: \"1398\"\n"
	if !strings.Contains(string(b), line) {
		t.Fatal("shipped hotlines.yaml has no line 1398")
	}
	// 1332 keeps its recordings 30 days, longer than the 1 day set here:
	// with the rest of its personal data instead.
	const rec = "recording: {enabled: true, retention_days: 30}"
	if !strings.Contains(string(b), rec) {
		t.Fatal("shipped hotlines.yaml has no recorded line with 30 days")
	}
	s := strings.Replace(string(b), line, line+"    retention_days: 0\n", 1)
	s = strings.Replace(s, rec, "recording: {enabled: true}", 1)
	if err := os.WriteFile(hl, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	a := fsStartAt(t, cfg, t.TempDir())
	st := a.Store()
	ctx := t.Context()
	now := time.Now()
	const oldID, newID, lineID = 9_000_001, 9_000_002, 9_000_003
	for _, c := range []struct {
		id    uint64
		line  string
		ended time.Time
	}{{oldID, "110", now.Add(-48 * time.Hour)}, {newID, "110", now.Add(-time.Hour)}, {lineID, "1398", now.Add(-time.Hour)}} {
		if err := st.Enqueue(store.ContactUpsert{ID: c.id, Channel: "chat", Hotline: c.line, Citizen: "010-4321-8765", State: "ended",
			Arrived: c.ended.Add(-time.Minute), Ended: c.ended, Attrs: map[string]string{"name": "Kim Cheolsu"}}); err != nil {
			t.Fatal(err)
		}
		if err := st.Enqueue(store.ChatMessage{Contact: c.id, Seq: 1, SenderKind: store.SenderCitizen, Text: "call me at 010-4321-8765",
			Sent: c.ended.Add(-time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	type figures struct {
		Before        time.Time `json:"before"`
		RetentionDays int       `json:"retention_days"`
		store.PurgeResult
	}
	// The figures of every run add up (a run may fall between two seeds).
	var sum, fig figures
	deadline := time.After(20 * time.Second)
	for sum.Contacts < 2 || sum.ChatMessages < 2 {
		entries, err := st.Audit(ctx, store.AuditQuery{Action: "purge", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		sum = figures{}
		for _, e := range entries {
			if e.Actor != "system" {
				t.Fatalf("purge entry by %q", e.Actor)
			}
			var f figures
			if err := json.Unmarshal([]byte(e.Detail), &f); err != nil {
				t.Fatalf("purge detail %q: %v", e.Detail, err)
			}
			if f.Contacts > 0 {
				fig = f
			}
			sum.Contacts += f.Contacts
			sum.ChatMessages += f.ChatMessages
		}
		if sum.Contacts >= 2 && sum.ChatMessages >= 2 {
			break
		}
		select {
		case <-deadline:
			t.Fatalf("purge figures in the audit trail after 20 s: %+v (%d entries)", sum, len(entries))
		case <-time.After(20 * time.Millisecond):
		}
	}
	if sum.Contacts != 2 || sum.ChatMessages != 2 || fig.RetentionDays != 1 {
		t.Fatalf("purge figures %+v (last %+v)", sum, fig)
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
	short, err := st.Contact(ctx, lineID)
	if err != nil {
		t.Fatal(err)
	}
	if short.Citizen != "" || short.Purged.IsZero() {
		t.Fatalf("contact of line 1398 (retention_days 0) kept: %+v", short)
	}
	if len(a.logRecords("retention purge")) == 0 {
		t.Fatal("no 'retention purge' log line")
	}
}
