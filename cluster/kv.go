package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// EnsureKeyValue creates or updates a KV bucket, retrying until ctx ends.
// Nodes that start together all create the same replicated buckets; one
// JetStream API request can time out while the meta leader settles, so
// each attempt gets its own short deadline instead of taking ctx's whole.
func EnsureKeyValue(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	for {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		kv, err := js.CreateOrUpdateKeyValue(actx, cfg)
		cancel()
		if err == nil {
			return kv, nil
		}
		if errors.Is(err, jetstream.ErrInvalidBucketName) || errors.Is(err, jetstream.ErrBucketExists) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("bucket %s: %w (last: %v)", cfg.Bucket, ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
