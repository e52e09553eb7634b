package store

import (
	"log/slog"
	"time"
)

// Option configures Open.
type Option func(*config)

type config struct {
	logger       *slog.Logger
	batchN       int
	batchEvery   time.Duration
	queueSize    int
	maxPending   int
	busyTimeout  time.Duration
	backoffMin   time.Duration
	backoffMax   time.Duration
	closeTimeout time.Duration
	readers      int
	syncFull     bool
	now          func() time.Time
	observe      func(time.Duration)
	writerDSN    func(string) string // tests: rewrite the writer DSN (e.g. mode=ro)
}

func defaultConfig() config {
	return config{
		logger:       slog.New(slog.DiscardHandler),
		batchN:       1024,
		batchEvery:   2 * time.Millisecond,
		queueSize:    1 << 16,
		maxPending:   1 << 16,
		busyTimeout:  2 * time.Second,
		backoffMin:   10 * time.Millisecond,
		backoffMax:   2 * time.Second,
		closeTimeout: 10 * time.Second,
		readers:      4,
		syncFull:     true,
		now:          time.Now,
	}
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithBatch bounds a batch (one transaction) to n records and lets the
// writer linger up to every after taking the first record, to gather more
// before committing. Defaults: 1024, 2ms. Lingering caps the commit (fsync)
// rate at 1/every, which keeps Durable's tail latency low when the disk is
// contended (docs/benchmarks.md); every = 0 commits as soon as the
// queue is momentarily empty (lowest median latency at low load).
func WithBatch(n int, every time.Duration) Option {
	return func(c *config) {
		if n > 0 {
			c.batchN = n
		}
		if every >= 0 {
			c.batchEvery = every
		}
	}
}

// WithQueueSize bounds the writer's inbound queue (Enqueue returns
// ErrOverloaded when it is full). Default 65536.
func WithQueueSize(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.queueSize = n
		}
	}
}

// WithMaxPending bounds the records kept in memory while storage is failing.
// Default 65536. Once reached the writer stops taking from the queue, so
// Enqueue starts returning ErrOverloaded.
func WithMaxPending(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxPending = n
		}
	}
}

// WithBusyTimeout sets SQLite's busy_timeout for the writer (default 2s):
// how long a commit waits for a lock held by another process before the
// batch counts as failed.
func WithBusyTimeout(d time.Duration) Option { return func(c *config) { c.busyTimeout = d } }

// WithBackoff sets the retry backoff bounds after a failed batch
// (default 10ms .. 2s, doubling).
func WithBackoff(min, max time.Duration) Option {
	return func(c *config) { c.backoffMin, c.backoffMax = min, max }
}

// WithCloseTimeout bounds how long Close keeps retrying to flush (default 10s).
func WithCloseTimeout(d time.Duration) Option { return func(c *config) { c.closeTimeout = d } }

// WithReaders sets the read pool size (default 4).
func WithReaders(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.readers = n
		}
	}
}

// WithSyncNormal uses synchronous=NORMAL instead of FULL: commits survive a
// process crash but the last ones may be lost on power failure.
func WithSyncNormal() Option { return func(c *config) { c.syncFull = false } }

// WithClock sets the clock used for health timestamps and bookkeeping
// columns (created_at, updated_at). Default time.Now.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithDurableObserver is called with every Durable wait (from call to
// commit or failure), e.g. to feed a Prometheus histogram. It must be fast.
func WithDurableObserver(f func(time.Duration)) Option { return func(c *config) { c.observe = f } }
