package store

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// seedPersonal writes one ended contact with every kind of personal data,
// each value tagged with tag so a raw search of the file can find it.
func seedPersonal(t *testing.T, s *Store, id uint64, tag string, ended time.Time, recPath string) {
	t.Helper()
	phone := "010-" + tag + "-5678"
	must(t, s.Enqueue(ContactUpsert{ID: id, Channel: "chat", Hotline: "h1", Queue: "q1", Citizen: phone,
		Agent: "kim", State: "ended", Arrived: ended.Add(-time.Hour), Answered: ended.Add(-50 * time.Minute),
		Ended: ended, EndReason: "citizen-left",
		Attrs: map[string]string{"name": "Hong Gildong " + tag, "phone": phone}, ResumeHash: "resume-" + tag}))
	must(t, s.Enqueue(ContactWrapUp{Contact: id, Disposition: "resolved", Notes: "note lives at Jongno " + tag}))
	must(t, s.Enqueue(ChatMessage{Contact: id, Seq: 1, SenderKind: SenderCitizen, Text: "my address is " + tag, Sent: ended.Add(-40 * time.Minute)}))
	must(t, s.Enqueue(ContactEvent{Contact: id, At: ended.Add(-30 * time.Minute), State: "transferred", Queue: "q1", Agent: "kim",
		Reason: "transferred by kim: caller Hong Gildong " + tag + " wants a refund to agent lee"}))
	must(t, s.Enqueue(Callback{Contact: id, CitizenNumber: phone, Hotline: "h1", Queue: "q1", Arrived: ended.Add(-time.Hour),
		Booked: ended.Add(-20 * time.Minute), Status: CallbackDone, Attrs: map[string]string{"name": "Hong Gildong " + tag}}))
	must(t, s.Enqueue(CallRecord{CallID: "call-" + fmt.Sprint(id), Contact: id, From: "sip:" + phone + "@carrier", To: "sip:1588-0000@onecall",
		Legs:    []CallLeg{{Role: "citizen", URI: "sip:" + phone + "@carrier", Started: ended.Add(-time.Hour)}},
		Started: ended.Add(-time.Hour), Ended: ended, RecordingPath: recPath}))
}

// personalValues are the seeded values for tag that must not survive a purge.
func personalValues(tag string) []string {
	return []string{"010-" + tag + "-5678", "Hong Gildong " + tag, "Jongno " + tag, "my address is " + tag, "resume-" + tag}
}

// rawText is a plain connection to a test database.
type rawText struct {
	testDB
	*sql.DB
}

// textHits searches every column of every table of the database for v and
// returns where it was found.
func textHits(t *testing.T, db rawText, v string) []string {
	t.Helper()
	var tables []string
	tablesQ := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	colsQ := `SELECT name FROM pragma_table_info(?)`
	findQ := `SELECT COUNT(*) FROM %q WHERE instr(CAST(%q AS TEXT), ?) > 0`
	if db.d == postgresDialect {
		tablesQ = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`
		colsQ = `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1`
		findQ = `SELECT COUNT(*) FROM %q WHERE strpos(CAST(%q AS TEXT), $1) > 0`
	}
	rows, err := db.Query(tablesQ)
	must(t, err)
	for rows.Next() {
		var n string
		must(t, rows.Scan(&n))
		tables = append(tables, n)
	}
	must(t, rows.Err())
	rows.Close()
	var hits []string
	for _, tb := range tables {
		cols, err := db.Query(colsQ, tb)
		must(t, err)
		var names []string
		for cols.Next() {
			var n string
			must(t, cols.Scan(&n))
			names = append(names, n)
		}
		cols.Close()
		for _, c := range names {
			var n int
			q := fmt.Sprintf(findQ, tb, c)
			must(t, db.QueryRow(q, v).Scan(&n))
			if n > 0 {
				hits = append(hits, fmt.Sprintf("%s.%s (%d rows)", tb, c, n))
			}
		}
	}
	return hits
}

func TestPurgeRemovesEveryPersonalField(t *testing.T) {
	forEachDialect(t, func(t *testing.T, tdb testDB) {
		dir := t.TempDir()
		s := tdb.open(t)
		ctx := ctxT(t)
		oldRec := filepath.Join(dir, "rec-old.wav")
		newRec := filepath.Join(dir, "rec-new.wav")
		must(t, os.WriteFile(oldRec, []byte("RIFF"), 0o600))
		must(t, os.WriteFile(newRec, []byte("RIFF"), 0o600))
		cut := t0.Add(24 * time.Hour)
		seedPersonal(t, s, 1, "1111", t0, oldRec)                 // ended before the cutoff
		seedPersonal(t, s, 2, "2222", cut.Add(time.Hour), newRec) // ended after it
		seedPersonal(t, s, 3, "3333", t0, "")                     // ended before, but its callback is still booked
		must(t, s.Enqueue(Callback{Contact: 3, CitizenNumber: "010-3333-5678", Status: CallbackBooked, Arrived: t0, Booked: t0}))

		res, err := s.Purge(ctx, cut)
		must(t, err)
		want := PurgeResult{Contacts: 1, ChatMessages: 1, Events: 1, Callbacks: 1, CallRecords: 1, Recordings: 1}
		if res != want {
			t.Fatalf("purge figures %+v, want %+v", res, want)
		}
		db := rawText{tdb, tdb.raw(t)}
		for _, v := range personalValues("1111") {
			if hits := textHits(t, db, v); len(hits) > 0 {
				t.Errorf("%q survives the purge in %s", v, strings.Join(hits, ", "))
			}
		}
		// Newer contacts, and contacts whose callback is pending, are untouched.
		for _, tag := range []string{"2222", "3333"} {
			for _, v := range personalValues(tag) {
				if hits := textHits(t, db, v); len(hits) == 0 {
					t.Errorf("%q of a contact that must be kept is gone", v)
				}
			}
		}
		if _, err := os.Stat(oldRec); !os.IsNotExist(err) {
			t.Errorf("old recording not removed: %v", err)
		}
		if _, err := os.Stat(newRec); err != nil {
			t.Errorf("new recording removed: %v", err)
		}
		// What reports need is kept: the transfer still counts, timings and codes stay.
		var reason, disp, endReason string
		var handle int64
		var purged sql.NullInt64
		must(t, db.QueryRow(`SELECT reason FROM contact_events WHERE contact_id = 1`).Scan(&reason))
		must(t, db.QueryRow(`SELECT disposition, end_reason, purged_at, wait_ms + handle_ms + 1 FROM contacts WHERE id = 1`).Scan(&disp, &endReason, &purged, &handle))
		if reason != "transferred" || disp != "resolved" || endReason != "citizen-left" || !purged.Valid {
			t.Fatalf("kept fields: reason %q disposition %q end %q purged %v", reason, disp, endReason, purged)
		}
		var newPurged sql.NullInt64
		must(t, db.QueryRow(`SELECT purged_at FROM contacts WHERE id = 2`).Scan(&newPurged))
		if newPurged.Valid {
			t.Fatal("a newer contact got purged_at")
		}
		msgs, err := s.ChatMessages(ctx, 1, 0)
		must(t, err)
		if len(msgs) != 1 || !msgs[0].Purged || msgs[0].Text != "" {
			t.Fatalf("purged chat reads %+v", msgs)
		}
		// A second purge with the same cutoff finds nothing left.
		if res, err := s.Purge(ctx, cut); err != nil || res != (PurgeResult{}) {
			t.Fatalf("second purge: %+v %v", res, err)
		}
	})
}

// A line's own retention overrides the default: a contact of line h1 ended
// after the default cutoff is purged when h1's cutoff is later, and a line
// with a longer retention keeps its older contact.
func TestPurgeLinesPerLineRetention(t *testing.T) {
	forEachDialect(t, func(t *testing.T, tdb testDB) {
		s := tdb.open(t)
		ctx := ctxT(t)
		cut := t0.Add(24 * time.Hour)
		seedPersonal(t, s, 1, "1111", cut.Add(time.Hour), "") // line h1, after the default cutoff
		seedPersonal(t, s, 2, "2222", t0, "")                 // line h2, before the default cutoff
		must(t, s.Enqueue(ContactUpsert{ID: 2, Hotline: "h2"}))
		res, err := s.PurgeLines(ctx, cut, map[string]time.Time{"h1": cut.Add(2 * time.Hour), "h2": t0.Add(-time.Hour)})
		must(t, err)
		if res.Contacts != 1 || res.ChatMessages != 1 {
			t.Fatalf("figures %+v, want one contact", res)
		}
		db := rawText{tdb, tdb.raw(t)}
		for _, v := range personalValues("1111") {
			if hits := textHits(t, db, v); len(hits) > 0 {
				t.Errorf("%q of line h1 survives in %s", v, strings.Join(hits, ", "))
			}
		}
		for _, v := range personalValues("2222") {
			if hits := textHits(t, db, v); len(hits) == 0 {
				t.Errorf("%q of line h2 (longer retention) is gone", v)
			}
		}
	})
}
