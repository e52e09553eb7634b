package server

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"onecall/router"
)

// Log is the replicated, ordered log of routing entries a cluster's
// replicas apply (cluster.Log over a JetStream stream; MemLog in tests).
// Sequence numbers start at 1 and grow by one per entry.
type Log interface {
	// Append adds data at the end and returns its sequence number. Only the
	// leader appends.
	Append(ctx context.Context, data []byte) (seq uint64, err error)
	// Read calls fn with every entry from sequence from on, in order,
	// waiting for new ones, until ctx ends (it returns ctx's error) or fn
	// returns an error (it returns that error).
	Read(ctx context.Context, from uint64, fn func(seq uint64, data []byte) error) error
}

// Entry is one routing event in the log with the time it is applied at
// (every replica applies it at this time, so all decide the same), the
// node that appended it and that node's request number (0 = none), which
// lets the node answer the request that waits for it (Replica.Do).
type Entry struct {
	At     time.Time
	Origin uint16
	Req    uint64
	Event  router.Event
}

// ErrEntry wraps every entry decoding failure.
var ErrEntry = errors.New("server: bad log entry")

const (
	entryVersion = 1
	batchVersion = 2
)

// AppendBatch appends the encoding of several entries that travel as one
// log entry (the leader batches what queued up while its previous append
// was on its way): a version byte, the count and each entry's length and
// AppendEntry encoding, all uvarints.
func AppendBatch(dst []byte, es []Entry) ([]byte, error) {
	if len(es) == 1 {
		return AppendEntry(dst, es[0])
	}
	dst = append(dst, batchVersion)
	dst = binary.AppendUvarint(dst, uint64(len(es)))
	var one []byte
	for _, e := range es {
		var err error
		if one, err = AppendEntry(one[:0], e); err != nil {
			return dst, err
		}
		dst = binary.AppendUvarint(dst, uint64(len(one)))
		dst = append(dst, one...)
	}
	return dst, nil
}

// DecodeBatch decodes a log entry written by AppendBatch or AppendEntry.
func DecodeBatch(b []byte) ([]Entry, error) {
	if len(b) > 0 && b[0] == entryVersion {
		e, err := DecodeEntry(b)
		if err != nil {
			return nil, err
		}
		return []Entry{e}, nil
	}
	if len(b) == 0 || b[0] != batchVersion {
		return nil, fmt.Errorf("%w: unknown version", ErrEntry)
	}
	b = b[1:]
	n, k := binary.Uvarint(b)
	if k <= 0 || n == 0 || n > uint64(len(b)) {
		return nil, fmt.Errorf("%w: bad batch count", ErrEntry)
	}
	b = b[k:]
	out := make([]Entry, 0, n)
	for range n {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			return nil, fmt.Errorf("%w: bad batch length", ErrEntry)
		}
		e, err := DecodeEntry(b[k : k+int(l)])
		if err != nil {
			return nil, err
		}
		out = append(out, e)
		b = b[k+int(l):]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: trailing bytes after the batch", ErrEntry)
	}
	return out, nil
}

// AppendEntry appends e's encoding to dst: a version byte, the time in unix
// nanoseconds (8 bytes), the origin (2 bytes), the request number (uvarint)
// and the event in the router codec.
func AppendEntry(dst []byte, e Entry) ([]byte, error) {
	dst = append(dst, entryVersion)
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.At.UnixNano()))
	dst = binary.BigEndian.AppendUint16(dst, e.Origin)
	dst = binary.AppendUvarint(dst, e.Req)
	return router.AppendEvent(dst, e.Event)
}

// DecodeEntry decodes an encoding written by AppendEntry. Times come back
// in UTC.
func DecodeEntry(b []byte) (Entry, error) {
	if len(b) < 11 || b[0] != entryVersion {
		return Entry{}, fmt.Errorf("%w: short or unknown version", ErrEntry)
	}
	e := Entry{
		At:     time.Unix(0, int64(binary.BigEndian.Uint64(b[1:9]))).UTC(),
		Origin: binary.BigEndian.Uint16(b[9:11]),
	}
	req, n := binary.Uvarint(b[11:])
	if n <= 0 {
		return Entry{}, fmt.Errorf("%w: bad request number", ErrEntry)
	}
	e.Req = req
	ev, err := router.DecodeEvent(b[11+n:])
	if err != nil {
		return Entry{}, fmt.Errorf("%w: %w", ErrEntry, err)
	}
	e.Event = ev
	return e, nil
}

// MemLog is an in-memory Log for tests and benchmarks: one process, no
// replication. Safe for concurrent use.
type MemLog struct {
	mu      sync.Mutex
	entries [][]byte
	grew    chan struct{} // closed and replaced on every append
}

// NewMemLog returns an empty log.
func NewMemLog() *MemLog { return &MemLog{grew: make(chan struct{})} }

// Append implements Log.
func (l *MemLog) Append(ctx context.Context, data []byte) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, data)
	close(l.grew)
	l.grew = make(chan struct{})
	return uint64(len(l.entries)), nil
}

// Last returns the sequence number of the last entry (0 when empty).
func (l *MemLog) Last() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return uint64(len(l.entries))
}

// Read implements Log.
func (l *MemLog) Read(ctx context.Context, from uint64, fn func(seq uint64, data []byte) error) error {
	if from == 0 {
		from = 1
	}
	for {
		l.mu.Lock()
		batch := l.entries[min(int(from-1), len(l.entries)):]
		grew := l.grew
		l.mu.Unlock()
		for _, data := range batch {
			if err := fn(from, data); err != nil {
				return err
			}
			from++
		}
		if len(batch) > 0 {
			continue
		}
		select {
		case <-grew:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
