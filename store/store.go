package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	sqlite3 "github.com/mattn/go-sqlite3"
)

// Errors returned by the store.
var (
	// ErrOverloaded: the writer queue is full; the record was not taken.
	ErrOverloaded = errors.New("store: writer queue full")
	// ErrNotDurable: the record could not be committed (storage unhealthy,
	// queue full or the caller's ctx ended). With a ctx error the outcome is
	// unknown; every write is idempotent by key so a retry is safe.
	ErrNotDurable = errors.New("store: not durable")
	// ErrClosed: the store is closed.
	ErrClosed = errors.New("store: closed")
	// ErrNotFound: no such row.
	ErrNotFound = errors.New("store: not found")
	// ErrSchemaTooNew: the database was migrated by a newer binary.
	ErrSchemaTooNew = errors.New("store: database schema is newer than this binary")
)

// Health is the writer's view of storage.
type Health struct {
	OK      bool
	Reason  string    // last failure while !OK
	Since   time.Time // when OK last changed
	Pending int       // records queued or held in memory, not yet committed
}

// Stats are cumulative counters since Open.
type Stats struct {
	Enqueued      uint64 // records accepted (Enqueue and Durable)
	Overloaded    uint64 // records refused because the queue was full
	Committed     uint64 // records committed
	Batches       uint64 // transactions committed
	Failures      uint64 // batch attempts that failed on a storage fault
	Conflicts     uint64 // batches PostgreSQL rolled back in a deadlock or serialization failure, run again
	Rejected      uint64 // records refused by the database (constraint, bad value)
	Dropped       uint64 // records lost: durable ones failed by a fault, or unflushed at Close
	DurableCalls  uint64
	DurableFailed uint64 // Durable calls that returned an error
	DurableWaitNS uint64 // total Durable wait, nanoseconds
}

// Store is the durable store. Create with Open; safe for concurrent use.
type Store struct {
	cfg     config
	dialect dialect
	path    string // SQLite file, or PostgreSQL DSN
	r       readDB // read-only pool

	mu     sync.RWMutex // guards closed against sends on q
	closed bool
	q      chan item
	quit   chan struct{}
	done   chan struct{}
	werr   error // writer's final error, read after done

	healthy atomic.Bool
	hmu     sync.Mutex
	health  Health
	pending atomic.Int64 // records accepted and not yet committed or failed

	st struct {
		enqueued, overloaded, committed, batches, failures, conflicts, rejected, dropped atomic.Uint64
		durableCalls, durableFailed, durableWait                                         atomic.Uint64
	}
}

type item struct {
	rec  Record
	done chan error // nil for Enqueue
}

// Open opens (creating if needed) the SQLite database at path, applies
// pending migrations and starts the writer. It refuses a database whose
// schema is newer than this binary knows (ErrSchemaTooNew).
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	return open(ctx, sqliteDialect, path, opts...)
}

// OpenPostgres opens the PostgreSQL database named by dsn (a libpq URL or
// key=value string, read by pgx), applies pending migrations and starts
// the writer, like Open. The database must exist; its schema is created.
func OpenPostgres(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	return open(ctx, postgresDialect, dsn, opts...)
}

// Drivers accepted by OpenDriver (the store.driver config key).
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// OpenDriver opens the store with the named driver: DriverSQLite opens the
// file source, DriverPostgres the DSN source.
func OpenDriver(ctx context.Context, driver, source string, opts ...Option) (*Store, error) {
	switch driver {
	case DriverSQLite, "":
		return Open(ctx, source, opts...)
	case DriverPostgres:
		return OpenPostgres(ctx, source, opts...)
	}
	return nil, fmt.Errorf("store: unknown driver %q (want %s or %s)", driver, DriverSQLite, DriverPostgres)
}

func open(ctx context.Context, d dialect, path string, opts ...Option) (*Store, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	s := &Store{
		cfg:     cfg,
		dialect: d,
		path:    path,
		q:       make(chan item, cfg.queueSize),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	w, err := s.openWriter(ctx)
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, w, d, cfg.now()); err != nil {
		w.Close()
		return nil, err
	}
	r, err := s.openReader()
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open read pool: %w", err)
	}
	r.SetMaxOpenConns(cfg.readers)
	r.SetMaxIdleConns(cfg.readers)
	if err := r.PingContext(ctx); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("store: open read pool: %w", err)
	}
	s.r = readDB{r}
	s.healthy.Store(true)
	s.health = Health{OK: true, Since: cfg.now()}
	go s.run(w)
	return s, nil
}

func (s *Store) writerDSN() string {
	sync := "FULL"
	if !s.cfg.syncFull {
		sync = "NORMAL"
	}
	dsn := fmt.Sprintf("file:%s?_journal_mode=WAL&_busy_timeout=%d&_txlock=immediate&_synchronous=%s&_foreign_keys=0",
		url.PathEscape(s.path), s.cfg.busyTimeout.Milliseconds(), sync)
	if s.cfg.writerDSN != nil {
		dsn = s.cfg.writerDSN(dsn)
	}
	return dsn
}

func (s *Store) readerDSN() string {
	return fmt.Sprintf("file:%s?mode=ro&_busy_timeout=5000", url.PathEscape(s.path))
}

// openWriter opens the single read-write connection.
func (s *Store) openWriter(ctx context.Context) (*sqlx.DB, error) {
	var w *sqlx.DB
	var err error
	if s.dialect == postgresDialect {
		w, err = openPostgres(s.path, false)
	} else {
		w, err = sqlx.Open("sqlite3", s.writerDSN())
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", s.where(), err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open %s: %w", s.where(), err)
	}
	return w, nil
}

// openReader opens the read-only pool (not yet connected).
func (s *Store) openReader() (*sqlx.DB, error) {
	if s.dialect == postgresDialect {
		return openPostgres(s.path, true)
	}
	return sqlx.Open("sqlite3", s.readerDSN())
}

// Enqueue hands rec to the writer without waiting. It never blocks: it
// returns ErrOverloaded when the queue is full and ErrClosed after Close.
func (s *Store) Enqueue(rec Record) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	s.pending.Add(1)
	select {
	case s.q <- item{rec: rec}:
		s.st.enqueued.Add(1)
		return nil
	default:
		s.pending.Add(-1)
		s.st.overloaded.Add(1)
		return ErrOverloaded
	}
}

// Durable returns once rec is committed (group-committed with the other
// records of its batch). While storage is unhealthy it fails at once with
// ErrNotDurable; when ctx ends first it returns ErrNotDurable wrapping the
// ctx error. Database refusals (constraint, invalid value) are returned as
// they are.
func (s *Store) Durable(ctx context.Context, rec Record) error {
	start := time.Now()
	err := s.durable(ctx, rec)
	d := time.Since(start)
	s.st.durableCalls.Add(1)
	s.st.durableWait.Add(uint64(d))
	if err != nil {
		s.st.durableFailed.Add(1)
	}
	if s.cfg.observe != nil {
		s.cfg.observe(d)
	}
	return err
}

func (s *Store) durable(ctx context.Context, rec Record) error {
	if !s.healthy.Load() {
		return fmt.Errorf("%w: %s", ErrNotDurable, s.Health().Reason)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrNotDurable, err)
	}
	it := item{rec: rec, done: make(chan error, 1)}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	s.pending.Add(1)
	select {
	case s.q <- it:
		s.st.enqueued.Add(1)
	default:
		s.pending.Add(-1)
		s.mu.RUnlock()
		s.st.overloaded.Add(1)
		return fmt.Errorf("%w: %w", ErrNotDurable, ErrOverloaded)
	}
	s.mu.RUnlock()
	select {
	case err := <-it.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrNotDurable, ctx.Err())
	}
}

// exec runs fn on the writer connection inside a savepoint of the next batch
// and waits for the commit. Used by the synchronous operations.
func (s *Store) exec(ctx context.Context, fn func(*wtx) error) error {
	return s.Durable(ctx, funcRecord{fn: fn})
}

// Health reports the writer's state.
func (s *Store) Health() Health {
	s.hmu.Lock()
	h := s.health
	s.hmu.Unlock()
	h.Pending = int(max(0, s.pending.Load()))
	return h
}

// Stats returns cumulative counters.
func (s *Store) Stats() Stats {
	return Stats{
		Enqueued:      s.st.enqueued.Load(),
		Overloaded:    s.st.overloaded.Load(),
		Committed:     s.st.committed.Load(),
		Batches:       s.st.batches.Load(),
		Failures:      s.st.failures.Load(),
		Conflicts:     s.st.conflicts.Load(),
		Rejected:      s.st.rejected.Load(),
		Dropped:       s.st.dropped.Load(),
		DurableCalls:  s.st.durableCalls.Load(),
		DurableFailed: s.st.durableFailed.Load(),
		DurableWaitNS: s.st.durableWait.Load(),
	}
}

// Close stops accepting records, flushes the queue (retrying storage faults
// for up to the close timeout) and closes the database. It returns an error
// if records had to be dropped.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		<-s.done
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.quit)
	<-s.done
	rerr := s.r.Close()
	if s.werr != nil {
		return s.werr
	}
	return rerr
}

// isFault reports whether err is a storage fault (retry later) rather than a
// refusal of one record.
func isFault(err error) bool {
	var rj rejectError
	if errors.As(err, &rj) {
		return false
	}
	if errors.Is(err, ErrNotFound) {
		return false
	}
	if f, ok := pgFault(err); ok {
		return f
	}
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code {
		case sqlite3.ErrConstraint, sqlite3.ErrMismatch, sqlite3.ErrRange, sqlite3.ErrTooBig, sqlite3.ErrError:
			return false
		}
		return true
	}
	return true
}

// rejectError marks an error as a refusal of one record.
type rejectError struct{ err error }

func (e rejectError) Error() string { return e.err.Error() }
func (e rejectError) Unwrap() error { return e.err }

func reject(format string, a ...any) error { return rejectError{fmt.Errorf("store: "+format, a...)} }
