package cluster

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// Log is the append-only replicated event log: the JetStream stream
// ONECALL_EVENTS (R3 on three nodes, file storage). Sequences start at 1
// and have no gaps unless a prefix was purged after a snapshot.
//
// The Log tracks its tail: the highest sequence this node has appended or
// been delivered by Read. Append expects the stream's last sequence to be
// that tail, so a node that has not read everything (a deposed leader, or a
// new one that has not caught up) cannot append.
type Log struct {
	js  jetstream.JetStream
	log *slog.Logger // nil: slog.Default()

	mu   sync.Mutex // serialises appends; guards tail
	tail uint64

	idOnce sync.Once
	id     string // this Log's prefix of message ids (msgID)
}

func (l *Log) logger() *slog.Logger {
	if l.log == nil {
		return slog.Default()
	}
	return l.log
}

// Tail is the highest sequence this node has appended or read.
func (l *Log) Tail() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.tail
}

func (l *Log) advance(seq uint64) {
	l.mu.Lock()
	if seq > l.tail {
		l.tail = seq
	}
	l.mu.Unlock()
}

// Append adds data after the tail and returns its sequence. It fails with
// ErrBehind when the stream holds entries past the tail: read them first.
// Only the leader appends; pass the leadership context so the call ends
// with the lease.
func (l *Log) Append(ctx context.Context, data []byte) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	seq, err := l.appendAfter(ctx, l.tail, data)
	if err == nil {
		l.tail = seq
	}
	return seq, err
}

// AppendBatch appends entries atomically (a JetStream atomic batch, up to
// 1,000 entries): all land contiguous right after the tail, or none does
// (ErrBehind when the stream holds entries past the tail). It returns the
// sequence of the last entry.
func (l *Log) AppendBatch(ctx context.Context, entries [][]byte) (uint64, error) {
	if len(entries) == 0 {
		return l.Tail(), nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	nc := l.js.Conn()
	id := nuid.Next()
	for i, data := range entries {
		m := &nats.Msg{Subject: EventSubject, Header: nats.Header{}, Data: data}
		m.Header.Set("Nats-Batch-Id", id)
		m.Header.Set("Nats-Batch-Sequence", strconv.Itoa(i+1))
		if i == 0 {
			m.Header.Set(jetstream.ExpectedLastSeqHeader, strconv.FormatUint(l.tail, 10))
		}
		if i < len(entries)-1 {
			if err := nc.PublishMsg(m); err != nil {
				return 0, fmt.Errorf("cluster: append: %w", err)
			}
			continue
		}
		m.Header.Set("Nats-Batch-Commit", "1")
		ack, err := l.js.PublishMsg(ctx, m)
		if err != nil {
			return 0, appendErr(l.tail, err)
		}
		l.tail = ack.Sequence
	}
	return l.tail, nil
}

func appendErr(expect uint64, err error) error {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
		return fmt.Errorf("%w: expected %d: %v", ErrBehind, expect, err)
	}
	return fmt.Errorf("cluster: append: %w", err)
}

// AppendAfter adds data only if the stream's last sequence is expect.
func (l *Log) AppendAfter(ctx context.Context, expect uint64, data []byte) (uint64, error) {
	seq, err := l.appendAfter(ctx, expect, data)
	if err == nil {
		l.advance(seq)
	}
	return seq, err
}

func (l *Log) appendAfter(ctx context.Context, expect uint64, data []byte) (uint64, error) {
	id := l.msgID(expect, data)
	ack, err := l.js.Publish(ctx, EventSubject, data, jetstream.WithExpectLastSequence(expect), jetstream.WithMsgID(id))
	if err != nil {
		err = appendErr(expect, err)
		if errors.Is(err, ErrBehind) && l.storedAt(ctx, expect+1, id) {
			return expect + 1, nil
		}
		return 0, err
	}
	return ack.Sequence, nil
}

// storedAt reports whether the entry at seq is the append named id: an
// earlier attempt of this append was stored and its acknowledgement lost.
func (l *Log) storedAt(ctx context.Context, seq uint64, id string) bool {
	st, err := l.js.Stream(ctx, EventStream)
	if err != nil {
		return false
	}
	m, err := st.GetMsg(ctx, seq)
	return err == nil && m.Header.Get(jetstream.MsgIDHeader) == id
}

// msgID names an append: the same data after the same sequence from this
// Log. An append whose acknowledgement was lost (a timeout while the
// stream elected a leader) and that is tried again is refused as behind;
// when the entry after expect carries its id, it was stored after all and
// the retry answers with its sequence instead (JetStream's duplicate
// window also drops it when the stream checks ids first). Another node's
// append, or other data, has another id.
func (l *Log) msgID(expect uint64, data []byte) string {
	h := fnv.New64a()
	h.Write(data)
	return l.idPrefix() + "." + strconv.FormatUint(expect, 10) + "." + strconv.FormatUint(h.Sum64(), 16)
}

func (l *Log) idPrefix() string {
	l.idOnce.Do(func() { l.id = nuid.Next() })
	return l.id
}

// LastSeq asks the stream for its last sequence (0 when empty). It retries
// (2 s per attempt) until ctx ends: during a failover the stream may have
// no leader to answer for a few seconds.
func (l *Log) LastSeq(ctx context.Context) (uint64, error) {
	for {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		seq, err := l.lastSeq(actx)
		cancel()
		if err == nil || ctx.Err() != nil {
			return seq, err
		}
		if !sleep(ctx, 100*time.Millisecond) {
			return 0, err
		}
	}
}

func (l *Log) lastSeq(ctx context.Context) (uint64, error) {
	s, err := l.js.Stream(ctx, EventStream)
	if err != nil {
		return 0, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.State.LastSeq, nil
}

// Read delivers the entries from sequence from (1 = the start) in order and
// without gaps, then waits for new ones, until ctx ends (it returns
// ctx.Err()) or fn fails (it returns fn's error). It returns ErrGap when
// the entries at from were purged: load a snapshot and read after it. fn
// runs on one goroutine; the tail advances after fn returns nil.
func (l *Log) Read(ctx context.Context, from uint64, fn func(seq uint64, data []byte) error) error {
	if from == 0 {
		from = 1
	}
	next := from
	var lost time.Time // when the reader last lost its consumer
	fails := 0
	for {
		err := l.readFrom(ctx, &next, fails, &lost, fn)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var fnErr fnError
		if errors.As(err, &fnErr) {
			return fnErr.err
		}
		if errors.Is(err, ErrGap) {
			return err
		}
		// The consumer could not be created or was lost (its server died,
		// or no meta or stream leader during a failover): start again
		// where we were.
		if lost.IsZero() {
			lost = time.Now()
			l.logger().Info("cluster: routing log reader has no consumer; creating one", "next", next, "err", err)
		}
		fails++
		if !sleep(ctx, readRetry) {
			return ctx.Err()
		}
	}
}

// fnError marks an error returned by Read's function.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

// The reader's timings. Its consumer lives on one server (the stream's
// leader when it was created). When that server dies the client notices
// only by missed idle heartbeats (two of them): the default 5 s heartbeat
// left followers, and a new onecall leader's commands, 10 s behind after
// a kill -9 although the election took 2 s. The reader then creates a new
// consumer itself, each attempt bounded by readCreateTimeout: nats.go's
// ordered consumer, used before, did this inside Next with a 10 s timeout
// per attempt, and a creation sent while the cluster had no meta leader
// was dropped and waited all of it (a new leader's takeover barrier was
// applied 10-11 s after it was appended).
const (
	readHeartbeat     = 500 * time.Millisecond
	readRetry         = 100 * time.Millisecond
	readCreateTimeout = time.Second
	// readCreateSlow is the longer bound once readSlowAfter attempts in a
	// row failed (a server slow to answer under load must get a chance
	// too). Not sooner: while the cluster has no meta leader (it died with
	// the killed node: 1.5-3 s to elect another) every creation fails, and
	// a 3 s attempt sent just before the election waited all of it
	// (acceptance run 61: the new leader's reader had its consumer 3.2 s
	// after the new meta leader, its takeover barrier 3.4 s late).
	readCreateSlow = 3 * time.Second
	readSlowAfter  = 6
	// readInactive lets the server drop the consumer of a reader that
	// vanished without deleting it.
	readInactive = 30 * time.Second
)

// readFrom runs one consumer from *next, advancing *next. fails is the
// number of consumers that failed in a row before this one; *lost is set
// while the reader has none.
func (l *Log) readFrom(ctx context.Context, next *uint64, fails int, lost *time.Time, fn func(seq uint64, data []byte) error) error {
	timeout := readCreateTimeout
	if fails >= readSlowAfter {
		timeout = readCreateSlow
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	cons, err := l.js.CreateConsumer(cctx, EventStream, jetstream.ConsumerConfig{
		FilterSubjects:    []string{EventSubject},
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       *next,
		AckPolicy:         jetstream.AckNonePolicy,
		InactiveThreshold: readInactive,
		Replicas:          1,
		MemoryStorage:     true,
	})
	cancel()
	if err != nil {
		return fmt.Errorf("cluster: read: %w", err)
	}
	name := cons.CachedInfo().Name
	defer func() {
		// Free the server's consumer now rather than at readInactive (its
		// server may be gone: do not wait for it).
		go func() {
			dctx, cancel := context.WithTimeout(context.Background(), readCreateSlow)
			_ = l.js.DeleteConsumer(dctx, EventStream, name)
			cancel()
		}()
	}()
	it, err := cons.Messages(jetstream.PullHeartbeat(readHeartbeat), jetstream.WithMessagesErrOnMissingHeartbeat(true))
	if err != nil {
		return fmt.Errorf("cluster: read: %w", err)
	}
	if !lost.IsZero() {
		l.logger().Info("cluster: routing log reader has a new consumer", "next", *next,
			"without_consumer", time.Since(*lost).Round(time.Millisecond))
		*lost = time.Time{}
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	defer it.Stop()
	var delivered uint64 // the consumer's delivery sequence
	for {
		msg, err := it.Next()
		if err != nil {
			return fmt.Errorf("cluster: read: %w", err)
		}
		md, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("cluster: read: %w", err)
		}
		if md.Sequence.Consumer != delivered+1 {
			// A message between was lost on its way (AckNone: never
			// redelivered): read again from *next.
			return fmt.Errorf("cluster: read: delivery %d after %d", md.Sequence.Consumer, delivered)
		}
		delivered = md.Sequence.Consumer
		seq := md.Sequence.Stream
		if seq < *next {
			continue
		}
		if seq > *next {
			return fmt.Errorf("%w: want %d, stream starts at %d", ErrGap, *next, seq)
		}
		if err := fn(seq, msg.Data()); err != nil {
			return fnError{err}
		}
		l.advance(seq)
		*next = seq + 1
	}
}

// ReadTo delivers the entries from sequence from up to the stream's last
// sequence at the time of the call, then returns: the catch-up a new
// leader does before it acts.
func (l *Log) ReadTo(ctx context.Context, from uint64, fn func(seq uint64, data []byte) error) (uint64, error) {
	last, err := l.LastSeq(ctx)
	if err != nil {
		return 0, err
	}
	if from == 0 {
		from = 1
	}
	if last < from {
		return last, nil
	}
	done := errors.New("done")
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	err = l.Read(rctx, from, func(seq uint64, data []byte) error {
		if err := fn(seq, data); err != nil {
			return err
		}
		if seq >= last {
			return done
		}
		return nil
	})
	if errors.Is(err, done) {
		l.advance(last)
		return last, nil
	}
	return 0, err
}

// Purge drops the entries before sequence keep (after a snapshot covers
// them); Read from an earlier sequence then returns ErrGap.
func (l *Log) Purge(ctx context.Context, keep uint64) error {
	s, err := l.js.Stream(ctx, EventStream)
	if err != nil {
		return err
	}
	return s.Purge(ctx, jetstream.WithPurgeSequence(keep))
}
