package store

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// PurgeRecordings deletes the recordings of a line's contacts ended before
// its cutoff (file and path), keeps their size and duration, leaves other
// lines, newer contacts and every other personal field alone, and a second
// run finds nothing. Recording returns the latest recording still kept.
func TestPurgeRecordingsPerLine(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		dir := t.TempDir()
		ctx := ctxT(t)
		cut := t0.Add(24 * time.Hour)
		seed := func(id uint64, line string, ended time.Time) string {
			p := filepath.Join(dir, line+"-"+string(rune('a'+id))+".wav")
			must(t, os.WriteFile(p, []byte("RIFF"), 0o600))
			must(t, s.Enqueue(ContactUpsert{ID: id, Channel: "voice", Hotline: line, Queue: "q1", Citizen: "010-1234-5678",
				State: "ended", Arrived: ended.Add(-time.Hour), Ended: ended, EndReason: "completed"}))
			must(t, s.Durable(ctx, CallRecord{CallID: "c", Contact: id, From: "sip:010", Started: ended.Add(-time.Hour), Ended: ended,
				RecordingPath: p, RecordingBytes: 4, RecordingDuration: 1500 * time.Millisecond}))
			return p
		}
		old := seed(1, "1332", t0)
		fresh := seed(2, "1332", cut.Add(time.Hour))
		other := seed(3, "110", t0)

		got, err := s.Recording(ctx, 1)
		must(t, err)
		if got.Path != old || got.Bytes != 4 || got.Duration != 1500*time.Millisecond {
			t.Fatalf("Recording(1) = %+v", got)
		}
		n, err := s.PurgeRecordings(ctx, map[string]time.Time{"1332": cut})
		must(t, err)
		if n != 1 {
			t.Fatalf("purged %d recordings, want 1", n)
		}
		if _, err := os.Stat(old); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("old recording of 1332 still on disk: %v", err)
		}
		for _, p := range []string{fresh, other} {
			if _, err := os.Stat(p); err != nil {
				t.Fatalf("recording %s removed: %v", p, err)
			}
		}
		if _, err := s.Recording(ctx, 1); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Recording(1) after the purge: %v, want ErrNotFound", err)
		}
		if r, err := s.Recording(ctx, 3); err != nil || r.Path != other {
			t.Fatalf("Recording(3) = %+v, %v", r, err)
		}
		c, err := s.Contact(ctx, 1)
		must(t, err)
		if c.Citizen == "" {
			t.Fatal("the recording purge cleared the contact's other personal data")
		}
		recs, err := s.CallRecords(ctx, 10)
		must(t, err)
		for _, r := range recs {
			if r.Contact == 1 && (r.RecordingPath != "" || r.RecordingBytes != 4 || r.RecordingDuration != 1500*time.Millisecond) {
				t.Fatalf("purged call record: %+v; want no path, size and duration kept", r)
			}
		}
		if n, err := s.PurgeRecordings(ctx, map[string]time.Time{"1332": cut}); err != nil || n != 0 {
			t.Fatalf("second purge: %d, %v; want 0", n, err)
		}
	})
}
