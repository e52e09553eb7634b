package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// readN reads entries from seq from on nd until it has n of them.
func readN(t *testing.T, nd *Node, from uint64, n int) (seqs []uint64, data []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	stop := errors.New("enough")
	err := nd.Log().Read(ctx, from, func(seq uint64, d []byte) error {
		seqs = append(seqs, seq)
		data = append(data, string(d))
		if len(seqs) == n {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("%s read from %d: got %d of %d entries: %v", nd.ID(), from, len(seqs), n, err)
	}
	return seqs, data
}

func TestLogAppendReadOrderR3(t *testing.T) {
	tc := newTestCluster(t, 3)
	tc.startAll()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	lead := tc.node(0).Log()
	for i := 1; i <= 100; i++ {
		seq, err := lead.Append(ctx, fmt.Appendf(nil, "ev-%d", i))
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		if seq != uint64(i) {
			t.Fatalf("append %d got seq %d", i, seq)
		}
	}
	for _, i := range []int{1, 2} {
		seqs, data := readN(t, tc.node(i), 1, 100)
		for k := range seqs {
			if seqs[k] != uint64(k+1) || data[k] != fmt.Sprintf("ev-%d", k+1) {
				t.Fatalf("n%d entry %d: seq %d data %q", i+1, k, seqs[k], data[k])
			}
		}
		// readN's function failed on entry 100 (to stop): it does not count.
		if got := tc.node(i).Log().Tail(); got != 99 {
			t.Fatalf("n%d tail %d, want 99", i+1, got)
		}
	}

	// A node that has not read everything cannot append: n3 read up to
	// 100, n1 appends 101, so n3's append expecting 100 fails.
	if _, err := lead.Append(ctx, []byte("ev-101")); err != nil {
		t.Fatal(err)
	}
	if _, err := tc.node(2).Log().Append(ctx, []byte("stale")); !errors.Is(err, ErrBehind) {
		t.Fatalf("stale append: got %v, want ErrBehind", err)
	}
	// After catching up it can.
	last, err := tc.node(2).Log().ReadTo(ctx, 101, func(uint64, []byte) error { return nil })
	if err != nil || last != 101 {
		t.Fatalf("ReadTo: %d %v", last, err)
	}
	if seq, err := tc.node(2).Log().Append(ctx, []byte("ev-102")); err != nil || seq != 102 {
		t.Fatalf("append after catch-up: %d %v", seq, err)
	}

	// Snapshots: none yet, then a blob of several chunks
	// saved on one node and loaded on another.
	if _, _, err := tc.node(1).Snapshots().Load(ctx); !errors.Is(err, ErrNoSnapshot) {
		t.Fatalf("load before save: %v", err)
	}
	blob := bytes.Repeat([]byte("snapshot!"), 50_000) // 450 KB: four 128 KB chunks
	if err := tc.node(0).Snapshots().Save(ctx, 100, blob); err != nil {
		t.Fatal(err)
	}
	if err := tc.node(0).Snapshots().Save(ctx, 102, append(blob, '2')); err != nil {
		t.Fatal(err)
	}
	seq, got, err := tc.node(1).Snapshots().Load(ctx)
	if err != nil || seq != 102 || !bytes.Equal(got, append(blob, '2')) {
		t.Fatalf("load: seq %d, %d bytes, %v", seq, len(got), err)
	}

	// Purge before a snapshot: reading from a purged sequence reports the gap.
	if err := tc.node(0).Log().Purge(ctx, 100); err != nil {
		t.Fatal(err)
	}
	err = tc.node(1).Log().Read(ctx, 50, func(uint64, []byte) error { return nil })
	if !errors.Is(err, ErrGap) {
		t.Fatalf("read purged: got %v, want ErrGap", err)
	}
	seqs, _ := readN(t, tc.node(1), 100, 3)
	if seqs[0] != 100 || seqs[2] != 102 {
		t.Fatalf("read after purge: %v", seqs)
	}
}

func TestLogFollowerCatchesUpAfterRestart(t *testing.T) {
	tc := newTestCluster(t, 3)
	tc.startAll()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	lead := tc.node(0).Log()
	for i := 1; i <= 20; i++ {
		if _, err := lead.Append(ctx, fmt.Appendf(nil, "ev-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	readN(t, tc.node(2), 1, 20)
	tc.stop(2)
	// Two of three still have quorum: appends go on without n3.
	for i := 21; i <= 50; i++ {
		if _, err := lead.Append(ctx, fmt.Appendf(nil, "ev-%d", i)); err != nil {
			t.Fatalf("append %d with n3 down: %v", i, err)
		}
	}
	// n3 comes back with its store dir and catches up from where it was.
	if err := tc.start(2, tc.config(2)); err != nil {
		t.Fatalf("restart n3: %v\n%s", err, tc.logs[2])
	}
	seqs, data := readN(t, tc.node(2), 21, 30)
	for k, s := range seqs {
		if s != uint64(21+k) || data[k] != fmt.Sprintf("ev-%d", 21+k) {
			t.Fatalf("catch-up entry %d: seq %d %q", k, s, data[k])
		}
	}
	// n3's own replica has them: stop n1 and n2's reads go through n3.
	tc.stop(0)
	seqs, _ = readN(t, tc.node(1), 1, 50)
	if seqs[49] != 50 {
		t.Fatalf("read with n1 down: last %d", seqs[49])
	}
}

func TestLogSingleNodeR1(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nd, err := Start(ctx, Config{NodeID: "solo", DataDir: dir, Secret: "x", SchemaVersion: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer nd.Close()
	for i := 1; i <= 5; i++ {
		if _, err := nd.Log().Append(ctx, fmt.Appendf(nil, "%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	seqs, _ := readN(t, nd, 3, 3)
	if seqs[0] != 3 || seqs[2] != 5 {
		t.Fatalf("seqs %v", seqs)
	}
	el := nd.Campaign(nil)
	waitFor(t, 5*time.Second, "single node to lead", el.IsLeader)
}

func TestLogAppendBatch(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nd, err := Start(ctx, Config{NodeID: "solo", DataDir: t.TempDir(), Secret: "x", SchemaVersion: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer nd.Close()
	var batch [][]byte
	for i := 1; i <= 50; i++ {
		batch = append(batch, fmt.Appendf(nil, "ev-%d", i))
	}
	last, err := nd.Log().AppendBatch(ctx, batch)
	if err != nil || last != 50 {
		t.Fatalf("batch: last %d, %v", last, err)
	}
	_, data := readN(t, nd, 1, 50)
	for i, d := range data {
		if d != fmt.Sprintf("ev-%d", i+1) {
			t.Fatalf("entry %d: %q", i+1, d)
		}
	}
	// Someone else appends: the next batch fails whole with ErrBehind.
	if _, err := nd.Log().AppendAfter(ctx, 50, []byte("other")); err != nil {
		t.Fatal(err)
	}
	other := &Log{js: nd.js, tail: 50}
	if last, err := other.AppendBatch(ctx, batch[:3]); !errors.Is(err, ErrBehind) {
		t.Fatalf("stale batch: last %d, %v", last, err)
	}
	if n, _ := nd.Log().LastSeq(ctx); n != 51 {
		t.Fatalf("stream has %d entries, want 51", n)
	}
}

// An append whose acknowledgement was lost is tried again with the same
// data after the same sequence: the stream keeps one copy and answers with
// its sequence. Other data after that sequence, or another node's Log,
// still gets ErrBehind.
func TestLogRetriedAppendStoredOnce(t *testing.T) {
	tc := newTestCluster(t, 1)
	tc.startAll()
	nd := tc.node(0)
	ctx := t.Context()
	l := nd.Log()
	first, err := l.appendAfter(ctx, 0, []byte("ev-1"))
	if err != nil || first != 1 {
		t.Fatalf("append: %d, %v", first, err)
	}
	// The retry: the tail was never advanced, so it expects 0 again.
	again, err := l.appendAfter(ctx, 0, []byte("ev-1"))
	if err != nil || again != 1 {
		t.Fatalf("retried append: seq %d, %v; want 1 and no error", again, err)
	}
	if _, err := l.appendAfter(ctx, 0, []byte("ev-2")); !errors.Is(err, ErrBehind) {
		t.Fatalf("other data after 0: %v, want ErrBehind", err)
	}
	other := &Log{js: nd.js}
	if _, err := other.appendAfter(ctx, 0, []byte("ev-1")); !errors.Is(err, ErrBehind) {
		t.Fatalf("another Log's same data after 0: %v, want ErrBehind", err)
	}
	if n, _ := l.LastSeq(ctx); n != 1 {
		t.Fatalf("stream has %d entries, want 1", n)
	}
}
