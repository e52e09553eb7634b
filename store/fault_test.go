package store

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func countEvents(t *testing.T, s *Store, contact uint64) int {
	t.Helper()
	ev, err := s.ContactEvents(context.Background(), contact)
	must(t, err)
	return len(ev)
}

// A read-only database file: the writer keeps records, reports the fault,
// Durable fails fast, and everything lands once the file is writable again.
func TestFaultReadOnlyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ro.db")
	s0 := openTest(t, path)
	must(t, s0.Close())

	var ro atomic.Bool
	ro.Store(true)
	logs := &countHandler{}
	s := openTest(t, path, WithBackoff(2*time.Millisecond, 20*time.Millisecond), WithLogger(slog.New(logs)),
		withWriterDSN(func(d string) string {
			if ro.Load() {
				return d + "&mode=ro"
			}
			return d
		}))
	for i := 0; i < 50; i++ {
		must(t, s.Enqueue(ContactEvent{Contact: 1, At: t0.Add(time.Duration(i) * time.Millisecond), State: "waiting"}))
	}
	eventually(t, 5*time.Second, "unhealthy", func() bool { return !s.Health().OK })
	h := s.Health()
	if !strings.Contains(strings.ToLower(h.Reason), "readonly") && !strings.Contains(strings.ToLower(h.Reason), "read-only") {
		t.Errorf("health reason %q", h.Reason)
	}
	if h.Pending != 50 {
		t.Errorf("pending %d, want 50", h.Pending)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	err := s.Durable(ctx, ChatMessage{Contact: 1, Seq: 1, SenderKind: SenderCitizen, Sent: t0})
	if !errors.Is(err, ErrNotDurable) {
		t.Fatalf("Durable while read-only: %v", err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("Durable took %v to fail", d)
	}
	// Enqueue still accepted while failing.
	must(t, s.Enqueue(ContactEvent{Contact: 1, At: t0, State: "offered"}))
	eventually(t, 5*time.Second, "failures counted", func() bool { return s.Stats().Failures >= 2 })

	ro.Store(false)
	eventually(t, 5*time.Second, "recovery", func() bool { h := s.Health(); return h.OK && h.Pending == 0 })
	if n := countEvents(t, s, 1); n != 51 {
		t.Fatalf("events after recovery %d, want 51", n)
	}
	must(t, s.Durable(context.Background(), ChatMessage{Contact: 1, Seq: 1, SenderKind: SenderCitizen, Sent: t0}))
	if e, i := logs.errors.Load(), logs.infos.Load(); e != 1 || i != 1 {
		t.Errorf("want one error log (fault) and one info log (recovery) for %d failures, got %d errors, %d infos",
			s.Stats().Failures, e, i)
	}
	must(t, s.Close())
	integrityOK(t, path)
}

// countHandler counts log records by level.
type countHandler struct{ errors, infos atomic.Int64 }

func (h *countHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countHandler) Handle(_ context.Context, r slog.Record) error {
	switch {
	case r.Level >= slog.LevelError:
		h.errors.Add(1)
	case r.Level == slog.LevelInfo:
		h.infos.Add(1)
	}
	return nil
}
func (h *countHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countHandler) WithGroup(string) slog.Handler      { return h }

// Another process holding the write lock (BEGIN IMMEDIATE): busy is a
// fault; Durable fails within its ctx; the backlog commits after release.
func TestFaultExternalWriteLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock.db")
	s := openTest(t, path, WithBusyTimeout(20*time.Millisecond), WithBackoff(2*time.Millisecond, 20*time.Millisecond))
	must(t, s.Durable(ctxT(t), ContactEvent{Contact: 1, At: t0, State: "waiting"}))

	db := rawDB(t, path, "?_busy_timeout=0")
	conn, err := db.Conn(context.Background())
	must(t, err)
	defer conn.Close()
	_, err = conn.ExecContext(context.Background(), "BEGIN IMMEDIATE")
	must(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = s.Durable(ctx, ContactEvent{Contact: 1, At: t0, State: "offered"})
	if !errors.Is(err, ErrNotDurable) {
		t.Fatalf("Durable under external lock: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Durable took %v", d)
	}
	for i := 0; i < 10; i++ {
		must(t, s.Enqueue(ContactEvent{Contact: 2, At: t0.Add(time.Duration(i) * time.Millisecond), State: "waiting"}))
	}
	eventually(t, 5*time.Second, "unhealthy", func() bool { return !s.Health().OK })
	// Reads keep working while the writer is blocked.
	if n := countEvents(t, s, 1); n != 1 {
		t.Fatalf("read under lock: %d", n)
	}
	_, err = conn.ExecContext(context.Background(), "ROLLBACK")
	must(t, err)
	eventually(t, 5*time.Second, "recovery", func() bool { h := s.Health(); return h.OK && h.Pending == 0 })
	if n := countEvents(t, s, 2); n != 10 {
		t.Fatalf("backlog committed %d, want 10", n)
	}
	// The Durable that failed is not committed later: its caller was told.
	if n := countEvents(t, s, 1); n != 1 {
		t.Fatalf("failed Durable record was committed: %d events", n)
	}

	// With only Durable traffic (refused while unhealthy) the writer must
	// still find out by itself that storage is back.
	_, err = conn.ExecContext(context.Background(), "BEGIN IMMEDIATE")
	must(t, err)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	if err := s.Durable(ctx2, ContactEvent{Contact: 3, At: t0}); !errors.Is(err, ErrNotDurable) {
		t.Fatalf("Durable under second lock: %v", err)
	}
	eventually(t, 5*time.Second, "unhealthy again", func() bool { return !s.Health().OK })
	_, err = conn.ExecContext(context.Background(), "ROLLBACK")
	must(t, err)
	eventually(t, 5*time.Second, "recovery without backlog", func() bool { return s.Health().OK })
	must(t, s.Durable(ctxT(t), ContactEvent{Contact: 3, At: t0}))
}

// A long-running outside reader holding a WAL snapshot must not stop
// writes.
func TestFaultExternalReaderSnapshot(t *testing.T) {
	path := filepath.Join(t.TempDir(), "reader.db")
	s := openTest(t, path)
	ctx := ctxT(t)
	must(t, s.Durable(ctx, ContactEvent{Contact: 1, At: t0, State: "waiting"}))
	db := rawDB(t, path, "?mode=ro")
	conn, err := db.Conn(ctx)
	must(t, err)
	defer conn.Close()
	_, err = conn.ExecContext(ctx, "BEGIN")
	must(t, err)
	var before int
	must(t, conn.QueryRowContext(ctx, `SELECT count(*) FROM contact_events`).Scan(&before))
	for i := 0; i < 2000; i++ {
		must(t, s.Enqueue(ContactEvent{Contact: 2, At: t0.Add(time.Duration(i) * time.Millisecond), State: "waiting", Reason: strings.Repeat("x", 100)}))
	}
	must(t, s.Durable(ctx, ContactEvent{Contact: 2, At: t0, State: "last"}))
	if !s.Health().OK {
		t.Fatalf("unhealthy with an outside reader: %+v", s.Health())
	}
	var during int
	must(t, conn.QueryRowContext(ctx, `SELECT count(*) FROM contact_events`).Scan(&during))
	if during != before {
		t.Fatalf("outside reader's snapshot moved: %d -> %d", before, during)
	}
	_, err = conn.ExecContext(ctx, "COMMIT")
	must(t, err)
	if n := countEvents(t, s, 2); n != 2001 {
		t.Fatalf("events %d", n)
	}
}

// Disk full on a 4 MiB tmpfs: records stay in memory, Durable fails fast,
// and after space is freed everything accepted is committed; the database
// passes integrity_check.
func TestFaultDiskFull(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs (tests need root): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount: %v: %s", err, out)
		}
	})
	path := filepath.Join(dir, "full.db")
	s, err := Open(context.Background(), path, WithBackoff(2*time.Millisecond, 20*time.Millisecond), WithBatch(32, 0))
	must(t, err)
	t.Cleanup(func() { s.Close() })
	must(t, s.Durable(ctxT(t), ContactEvent{Contact: 1, At: t0, State: "waiting"}))

	// Fill the filesystem.
	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	must(t, err)
	var fs syscall.Statfs_t
	must(t, syscall.Statfs(dir, &fs))
	// Room for some commits before the fault. Once the filler is removed the
	// 4 MiB hold every accepted message twice (WAL and database), which 1 MiB
	// did not when the fault was seen late (CI: 128 messages, ~720 KB).
	leave := int64(256 << 10)
	if free := int64(fs.Bavail) * int64(fs.Bsize); free > leave {
		must(t, f.Truncate(0))
		_, err := f.Write(make([]byte, free-leave))
		must(t, err)
	}
	f.Close()

	text := strings.Repeat("민원 내용 ", 400) // ~5 KB
	accepted := 0
	for i := 0; i < 2000 && s.Health().OK; i++ {
		if err := s.Enqueue(ChatMessage{Contact: 2, Seq: int64(i + 1), SenderKind: SenderCitizen, Text: text, Sent: t0}); err == nil {
			accepted++
		}
		if i%32 == 31 {
			// Let the writer catch up so the fault shows within the bound.
			eventually(t, 5*time.Second, "writer progress", func() bool { return s.Health().Pending < 64 || !s.Health().OK })
		}
	}
	eventually(t, 5*time.Second, "disk-full fault", func() bool { return !s.Health().OK })
	t.Logf("fault after %d messages: %s", accepted, s.Health().Reason)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.Durable(ctx, ContactEvent{Contact: 1, At: t0, State: "x"}); !errors.Is(err, ErrNotDurable) {
		t.Fatalf("Durable on full disk: %v", err)
	}
	must(t, os.Remove(filler))
	eventually(t, 10*time.Second, "recovery", func() bool { h := s.Health(); return h.OK && h.Pending == 0 })
	last, err := s.LastChatSeq(context.Background(), 2)
	must(t, err)
	msgs, err := s.ChatMessages(context.Background(), 2, 0)
	must(t, err)
	if accepted < 10 {
		t.Errorf("only %d messages fitted before the fault; filler too large?", accepted)
	}
	if int(last) != accepted || len(msgs) != accepted {
		t.Fatalf("stored %d messages (last seq %d), accepted %d", len(msgs), last, accepted)
	}
	if s.Stats().Failures == 0 {
		t.Fatal("no failure counted")
	}
	must(t, s.Close())
	integrityOK(t, path)
}
