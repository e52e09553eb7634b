package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jmoiron/sqlx"
)

// Record is one write for the writer goroutine. The implementations are the
// exported record types of this package.
type Record interface {
	apply(*wtx) error
}

// wtx is a batch transaction with a per-batch prepared statement cache
// (SQLite; pgx caches PostgreSQL's prepared statements per connection).
type wtx struct {
	tx    batchTx
	d     dialect
	now   time.Time
	stmts map[string]*sqlx.Stmt
	// PostgreSQL: the batch's connection, and the statements queued by
	// send for one round trip (nil when each statement runs at once:
	// SQLite, and a batch redone isolated).
	conn *sqlx.Conn
	pipe *pgx.Batch
}

// send runs a statement whose result the record does not need. On
// PostgreSQL it is queued and sent with the batch's other statements in
// one round trip, at the commit or before the next statement that needs a
// result; a refusal then surfaces there (errRetryIsolated) and the batch
// is redone isolated, one statement at a time. On SQLite it is exec.
func (t *wtx) send(query string, args ...any) error {
	if t.pipe == nil {
		_, err := t.exec(query, args...)
		return err
	}
	t.pipe.Queue(t.tx.Rebind(query), args...)
	return nil
}

// flush sends the queued statements.
func (t *wtx) flush() error {
	if t.pipe == nil || t.pipe.Len() == 0 {
		return nil
	}
	b := t.pipe
	t.pipe = &pgx.Batch{}
	if err := sendPipeline(t.conn, b); err != nil {
		if isFault(err) {
			return err
		}
		return errRetryIsolated
	}
	return nil
}

func (t *wtx) exec(query string, args ...any) (int64, error) {
	if err := t.flush(); err != nil {
		return 0, err
	}
	if t.d == postgresDialect {
		res, err := t.tx.Exec(query, args...)
		if err != nil {
			return 0, err
		}
		return res.RowsAffected()
	}
	st, ok := t.stmts[query]
	if !ok {
		var err error
		st, err = t.tx.Preparex(query)
		if err != nil {
			return 0, err
		}
		t.stmts[query] = st
	}
	res, err := st.Exec(args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// funcRecord runs fn inside a savepoint, so a refused operation leaves no
// partial writes in the batch.
type funcRecord struct{ fn func(*wtx) error }

func (f funcRecord) apply(t *wtx) error {
	if _, err := t.tx.Exec("SAVEPOINT op"); err != nil {
		return err
	}
	if err := f.fn(t); err != nil {
		if isFault(err) {
			return err
		}
		if _, rerr := t.tx.Exec("ROLLBACK TO op"); rerr != nil {
			return rerr
		}
		if _, rerr := t.tx.Exec("RELEASE op"); rerr != nil {
			return rerr
		}
		return err
	}
	_, err := t.tx.Exec("RELEASE op")
	return err
}

// run is the writer goroutine. It owns w and pending.
func (s *Store) run(w *sqlx.DB) {
	defer close(s.done)
	var (
		pending  []item
		backoff  time.Duration
		deadline time.Time // set once quit is seen
		quitting bool
	)
	for {
		// Wait for work.
		if len(pending) == 0 {
			if quitting {
				pending = s.drainNow(pending)
				if len(pending) == 0 {
					break
				}
			} else if backoff == 0 {
				select {
				case it := <-s.q:
					pending = append(pending, it)
				case <-s.quit:
					quitting = true
					deadline = time.Now().Add(s.cfg.closeTimeout)
					continue
				}
			}
			// else: storage is unhealthy and nothing is waiting; commit an
			// empty batch, which writes the probe row, to learn whether it
			// has recovered (Durable callers are refused until then).
		}
		pending = s.fill(pending, quitting)

		n := min(len(pending), s.cfg.batchN)
		err := s.commitBatch(w, pending[:n])
		// PostgreSQL: a deadlock with another writer on the same rows
		// (each node of a cluster writes its own records) rolled the
		// batch back; it is not a storage fault: run it again at once.
		for try := 1; try <= conflictRetries && pgConflict(err); try++ {
			s.st.conflicts.Add(1)
			time.Sleep(time.Duration(try) * conflictPause)
			err = s.commitBatch(w, pending[:n])
		}
		if err == nil {
			for i := range pending[:n] {
				pending[i] = item{}
			}
			k := copy(pending, pending[n:])
			pending = pending[:k]
			if backoff != 0 {
				s.setHealthy()
				backoff = 0
			}
			continue
		}

		// Storage fault: keep Enqueue'd records, fail Durable ones.
		s.st.failures.Add(1)
		s.setFault(err)
		pending = s.failDurable(pending, err)
		if quitting && time.Now().After(deadline) {
			break
		}
		if backoff == 0 {
			backoff = s.cfg.backoffMin
		} else {
			backoff = min(2*backoff, s.cfg.backoffMax)
		}
		pending = s.wait(pending, backoff, &quitting, &deadline)
		// Retry on a fresh connection: a read-only or broken handle does
		// not heal by itself.
		w.Close()
		if nw, oerr := s.openWriter(context.Background()); oerr == nil {
			w = nw
		}
	}
	pending = s.drainNow(pending)
	if len(pending) > 0 {
		lost := len(pending)
		s.st.dropped.Add(uint64(lost))
		for _, it := range pending {
			if it.done != nil {
				it.done <- ErrClosed
			}
		}
		s.werr = fmt.Errorf("store: close: %d records not flushed: %s", lost, s.Health().Reason)
		s.cfg.logger.Error("store closed with unflushed records", "records", lost)
	}
	s.pending.Store(0)
	w.Close()
}

// drainNow takes everything currently queued.
func (s *Store) drainNow(pending []item) []item {
	for {
		select {
		case it := <-s.q:
			pending = append(pending, it)
		default:
			return pending
		}
	}
}

// fill adds queued records up to the batch size, lingering up to batchEvery
// for more unless quitting.
func (s *Store) fill(pending []item, quitting bool) []item {
	for len(pending) < s.cfg.batchN {
		select {
		case it := <-s.q:
			pending = append(pending, it)
			continue
		default:
		}
		break
	}
	if len(pending) >= s.cfg.batchN || s.cfg.batchEvery <= 0 || quitting {
		return pending
	}
	t := time.NewTimer(s.cfg.batchEvery)
	defer t.Stop()
	for len(pending) < s.cfg.batchN {
		select {
		case it := <-s.q:
			pending = append(pending, it)
		case <-t.C:
			return pending
		case <-s.quit:
			return pending
		}
	}
	return pending
}

// wait sleeps for d while still taking queued records into pending (up to
// maxPending); Durable records taken meanwhile fail at once.
func (s *Store) wait(pending []item, d time.Duration, quitting *bool, deadline *time.Time) []item {
	t := time.NewTimer(d)
	defer t.Stop()
	quit := s.quit
	if *quitting {
		quit = nil
	}
	for {
		q := s.q
		if len(pending) >= s.cfg.maxPending {
			q = nil
		}
		select {
		case <-t.C:
			return pending
		case <-quit:
			*quitting = true
			*deadline = time.Now().Add(s.cfg.closeTimeout)
			quit = nil
		case it := <-q:
			if it.done != nil {
				s.st.dropped.Add(1)
				s.pending.Add(-1)
				it.done <- fmt.Errorf("%w: %s", ErrNotDurable, s.Health().Reason)
				continue
			}
			pending = append(pending, it)
		}
	}
}

// failDurable answers every Durable record in pending with ErrNotDurable and
// removes it: its caller was told, so it must not be committed later.
func (s *Store) failDurable(pending []item, cause error) []item {
	out := pending[:0]
	for _, it := range pending {
		if it.done != nil {
			s.st.dropped.Add(1)
			s.pending.Add(-1)
			it.done <- fmt.Errorf("%w: %v", ErrNotDurable, cause)
			continue
		}
		out = append(out, it)
	}
	for i := len(out); i < len(pending); i++ {
		pending[i] = item{}
	}
	return out
}

// conflictRetries bounds how often a batch that PostgreSQL rolled back in
// a deadlock or serialization failure runs again before it counts as a
// storage fault; each retry waits conflictPause more than the last, so
// that two writers that deadlocked do not meet again.
const (
	conflictRetries = 5
	conflictPause   = 5 * time.Millisecond
)

// commitBatch commits batch; on PostgreSQL a refused statement aborted the
// transaction, and the batch is redone with each record in its own
// savepoint.
func (s *Store) commitBatch(w *sqlx.DB, batch []item) error {
	err := s.commit(w, batch, false)
	if errors.Is(err, errRetryIsolated) {
		err = s.commit(w, batch, true)
	}
	return err
}

// errRetryIsolated: a record was refused by PostgreSQL, which aborts the
// whole transaction; the batch is rolled back to be redone isolated.
var errRetryIsolated = errors.New("store: batch aborted by a refused record")

// commit applies batch in one transaction (BEGIN IMMEDIATE on SQLite, a
// READ COMMITTED transaction on PostgreSQL). A storage fault rolls the
// whole batch back and is returned; a record refused by the database is
// answered with its error and the batch goes on. On PostgreSQL a statement
// error aborts the transaction, so the first refusal returns
// errRetryIsolated and the caller redoes the batch with isolated set: each
// record then runs in its own savepoint (the fast path needs none).
func (s *Store) commit(w *sqlx.DB, batch []item, isolated bool) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("store: writer panic: %v", r)
		}
	}()
	pg := s.dialect == postgresDialect
	var conn *sqlx.Conn
	var tx *sqlx.Tx
	if pg {
		// The pipeline needs the transaction's own connection.
		if conn, err = w.Connx(context.Background()); err != nil {
			return err
		}
		defer conn.Close()
		tx, err = conn.BeginTxx(context.Background(), nil)
	} else {
		tx, err = w.Beginx()
	}
	if err != nil {
		return err
	}
	t := &wtx{d: s.dialect, now: s.cfg.now(), stmts: make(map[string]*sqlx.Stmt, 8), conn: conn}
	if pg && !isolated {
		t.pipe = &pgx.Batch{}
	}
	t.tx = batchTx{Tx: tx, before: t.flush}
	var refused map[int]error
	if len(batch) == 0 {
		if _, err := t.tx.Exec(`INSERT INTO writer_probe (id, at) VALUES (1, ?)
			ON CONFLICT (id) DO UPDATE SET at = excluded.at`, t.now.UnixMilli()); err != nil {
			tx.Rollback()
			return err
		}
	}
	for i, it := range batch {
		if aerr := s.apply(t, it.rec, isolated); aerr != nil {
			if isFault(aerr) {
				tx.Rollback()
				return aerr
			}
			if _, dbErr := pgFault(aerr); pg && dbErr && !isolated {
				tx.Rollback()
				return errRetryIsolated
			}
			if refused == nil {
				refused = make(map[int]error)
			}
			refused[i] = aerr
		}
	}
	if err := t.flush(); err != nil {
		tx.Rollback()
		return err
	}
	for _, st := range t.stmts {
		st.Close()
	}
	if err := tx.Commit(); err != nil {
		tx.Rollback()
		return err
	}
	s.st.batches.Add(1)
	s.pending.Add(-int64(len(batch)))
	s.st.committed.Add(uint64(len(batch) - len(refused)))
	for i, it := range batch {
		rerr := refused[i]
		if rerr != nil {
			s.st.rejected.Add(1)
			if it.done == nil {
				s.cfg.logger.Warn("store: record refused", "err", rerr)
			}
		}
		if it.done != nil {
			it.done <- rerr
		}
	}
	return nil
}

// apply runs one record; isolated wraps it in a savepoint rolled back if
// the record is refused.
func (s *Store) apply(t *wtx, rec Record, isolated bool) error {
	if !isolated {
		return rec.apply(t)
	}
	if _, err := t.tx.Exec("SAVEPOINT rec"); err != nil {
		return err
	}
	err := rec.apply(t)
	if err != nil && !isFault(err) {
		if _, rerr := t.tx.Exec("ROLLBACK TO rec"); rerr != nil {
			return rerr
		}
	}
	if err != nil && isFault(err) {
		return err
	}
	if _, rerr := t.tx.Exec("RELEASE rec"); rerr != nil {
		return rerr
	}
	return err
}

func (s *Store) setFault(err error) {
	s.healthy.Store(false)
	s.hmu.Lock()
	defer s.hmu.Unlock()
	was := s.health.OK
	s.health.Reason = err.Error()
	if was {
		s.health.OK = false
		s.health.Since = s.cfg.now()
		s.cfg.logger.Error("store: storage unhealthy; keeping records in memory and retrying", "err", err)
	}
}

func (s *Store) setHealthy() {
	s.hmu.Lock()
	defer s.hmu.Unlock()
	if !s.health.OK {
		s.cfg.logger.Info("store: storage recovered", "unhealthy_for", s.cfg.now().Sub(s.health.Since))
		s.health = Health{OK: true, Since: s.cfg.now()}
	}
	s.healthy.Store(true)
}
