package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
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
	js jetstream.JetStream

	mu   sync.Mutex // serialises appends; guards tail
	tail uint64
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

// AppendAfter adds data only if the stream's last sequence is expect.
func (l *Log) AppendAfter(ctx context.Context, expect uint64, data []byte) (uint64, error) {
	seq, err := l.appendAfter(ctx, expect, data)
	if err == nil {
		l.advance(seq)
	}
	return seq, err
}

func (l *Log) appendAfter(ctx context.Context, expect uint64, data []byte) (uint64, error) {
	ack, err := l.js.Publish(ctx, EventSubject, data, jetstream.WithExpectLastSequence(expect))
	if err != nil {
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
			return 0, fmt.Errorf("%w: expected %d: %v", ErrBehind, expect, err)
		}
		return 0, fmt.Errorf("cluster: append: %w", err)
	}
	return ack.Sequence, nil
}

// LastSeq asks the stream for its last sequence (0 when empty).
func (l *Log) LastSeq(ctx context.Context) (uint64, error) {
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
	cons, err := l.js.OrderedConsumer(ctx, EventStream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{EventSubject},
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    from,
	})
	if err != nil {
		return fmt.Errorf("cluster: read: %w", err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("cluster: read: %w", err)
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	defer it.Stop()
	next := from
	for {
		msg, err := it.Next()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("cluster: read: %w", err)
		}
		md, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("cluster: read: %w", err)
		}
		seq := md.Sequence.Stream
		if seq < next {
			continue
		}
		if seq > next {
			return fmt.Errorf("%w: want %d, stream starts at %d", ErrGap, next, seq)
		}
		if err := fn(seq, msg.Data()); err != nil {
			return err
		}
		l.advance(seq)
		next = seq + 1
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
