package cluster

import (
	"context"
	"encoding/binary"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkLogAppendR3 appends through the R3 stream of three in-process
// nodes (one at a time, as the leader does) while a follower reads; it
// reports appends per second and the latency from Append's call to the
// follower's delivery (p50, p99).
//
//	go test -run '^$' -bench LogAppendR3 -benchtime 5000x ./cluster/
func BenchmarkLogAppendR3(b *testing.B) {
	tc := newTestCluster(b, 3)
	tc.startAll()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lead, follower := tc.node(0).Log(), tc.node(1).Log()
	if _, err := lead.Append(ctx, make([]byte, 8)); err != nil { // warm up
		b.Fatal(err)
	}
	var mu sync.Mutex
	var lat []time.Duration
	delivered := make(chan uint64, 1)
	go func() {
		_ = follower.Read(ctx, 2, func(seq uint64, data []byte) error {
			sent := time.Unix(0, int64(binary.BigEndian.Uint64(data)))
			mu.Lock()
			lat = append(lat, time.Since(sent))
			mu.Unlock()
			select {
			case delivered <- seq:
			default:
			}
			return nil
		})
	}()
	payload := make([]byte, 200) // about one routing event
	var last uint64
	start := time.Now()
	for b.Loop() {
		binary.BigEndian.PutUint64(payload, uint64(time.Now().UnixNano()))
		seq, err := lead.Append(ctx, payload)
		if err != nil {
			b.Fatal(err)
		}
		last = seq
	}
	elapsed := time.Since(start)
	deadline := time.After(30 * time.Second)
	for follower.Tail() < last {
		select {
		case <-delivered:
		case <-deadline:
			b.Fatal(errors.New("follower did not catch up"))
		}
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lat)
	n := len(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "appends/s")
	b.ReportMetric(float64(lat[n/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[n*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkLogAppendBatchR3 appends batches of 32 entries (pipelined, each
// with its expected sequence) through the R3 stream; it reports entries
// per second.
//
//	go test -run '^$' -bench LogAppendBatchR3 -benchtime 300x ./cluster/
func BenchmarkLogAppendBatchR3(b *testing.B) {
	tc := newTestCluster(b, 3)
	tc.startAll()
	ctx := context.Background()
	lead := tc.node(0).Log()
	batch := make([][]byte, 32)
	for i := range batch {
		batch[i] = make([]byte, 200)
	}
	start := time.Now()
	for b.Loop() {
		if _, err := lead.AppendBatch(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/time.Since(start).Seconds(), "entries/s")
}
