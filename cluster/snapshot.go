package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// snapshotName is the object that holds the latest engine snapshot.
const snapshotName = "engine"

// Snapshots keeps the latest snapshot blob with the log sequence it covers,
// in the object store onecall_snapshots (chunked, so a blob may exceed the
// NATS message size). The sequence is in the object's metadata, which the
// store writes with the object's info after the chunks: a reader sees the
// blob and its sequence together. A Save replaces the previous snapshot.
type Snapshots struct {
	js jetstream.JetStream
}

// Save stores blob as the snapshot covering the log up to and including seq.
func (s *Snapshots) Save(ctx context.Context, seq uint64, blob []byte) error {
	obs, err := s.js.ObjectStore(ctx, SnapshotBucket)
	if err != nil {
		return fmt.Errorf("cluster: snapshot: %w", err)
	}
	meta := jetstream.ObjectMeta{
		Name:     snapshotName,
		Metadata: map[string]string{"seq": strconv.FormatUint(seq, 10)},
	}
	if _, err := obs.Put(ctx, meta, bytes.NewReader(blob)); err != nil {
		return fmt.Errorf("cluster: snapshot: %w", err)
	}
	return nil
}

// Load returns the latest snapshot and the sequence it covers, or
// ErrNoSnapshot. A read that overlaps a Save on another node can mix the
// replaced object's description with chunks already purged (a digest
// mismatch); Load then reads again, a few times.
func (s *Snapshots) Load(ctx context.Context) (uint64, []byte, error) {
	for try := 1; ; try++ {
		seq, blob, err := s.load(ctx)
		if !errors.Is(err, jetstream.ErrDigestMismatch) || try == loadTries {
			return seq, blob, err
		}
		select {
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

const loadTries = 5

func (s *Snapshots) load(ctx context.Context) (uint64, []byte, error) {
	obs, err := s.js.ObjectStore(ctx, SnapshotBucket)
	if err != nil {
		return 0, nil, fmt.Errorf("cluster: snapshot: %w", err)
	}
	res, err := obs.Get(ctx, snapshotName)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return 0, nil, ErrNoSnapshot
	}
	if err != nil {
		return 0, nil, fmt.Errorf("cluster: snapshot: %w", err)
	}
	defer res.Close()
	info, err := res.Info()
	if err != nil {
		return 0, nil, fmt.Errorf("cluster: snapshot: %w", err)
	}
	seq, err := strconv.ParseUint(info.Metadata["seq"], 10, 64)
	if err != nil {
		return 0, nil, fmt.Errorf("cluster: snapshot: bad seq %q", info.Metadata["seq"])
	}
	blob, err := io.ReadAll(res)
	if err != nil {
		return 0, nil, fmt.Errorf("cluster: snapshot: %w", err)
	}
	return seq, blob, nil
}
