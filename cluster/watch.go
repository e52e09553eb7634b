package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// KVWatch follows every key of a KV bucket as nats.go's KeyValue.WatchAll
// does (the last value of each key, then nil, then every change), with the
// log reader's consumer (Log.Read): nats.go's watch is an ordered consumer
// with 5 s idle heartbeats, so a watch whose consumer was on a server
// killed with -9 noticed only after two missed heartbeats and then waited
// up to 10 s to create another one (a creation sent while the cluster had
// no meta leader is dropped): a node's view of the shared registrations,
// chat owners and node maps lagged 10-20 s behind a kill. This watch hears
// from its consumer every readHeartbeat, creates another one at once with
// each attempt bounded (readCreateTimeout, then readCreateSlow), and goes
// on from the last revision it delivered, so it misses no change.
//
// It implements jetstream.KeyWatcher. Updates is closed after Stop (or
// when ctx ends); the goroutine reading it must keep reading until then or
// call Stop.
type KVWatch struct {
	js      jetstream.JetStream
	bucket  string
	stream  string
	prefix  string
	log     *slog.Logger
	updates chan jetstream.KeyValueEntry
	cancel  context.CancelFunc
	done    chan struct{}
}

// WatchKV starts a KVWatch of bucket (which must exist) until ctx ends or
// Stop. It returns at once; creating the consumer is retried as long as
// the watch lives. log may be nil.
func WatchKV(ctx context.Context, js jetstream.JetStream, bucket string, log *slog.Logger) *KVWatch {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &KVWatch{js: js, bucket: bucket, stream: "KV_" + bucket, prefix: "$KV." + bucket + ".",
		log: log.With("bucket", bucket), updates: make(chan jetstream.KeyValueEntry, 256), cancel: cancel,
		done: make(chan struct{})}
	go w.run(ctx)
	return w
}

// Updates implements jetstream.KeyWatcher.
func (w *KVWatch) Updates() <-chan jetstream.KeyValueEntry { return w.updates }

// Stop implements jetstream.KeyWatcher: it ends the watch and waits for its
// goroutine (which deletes its consumer in the background).
func (w *KVWatch) Stop() error {
	w.cancel()
	<-w.done
	return nil
}

func (w *KVWatch) run(ctx context.Context) {
	defer close(w.done)
	defer close(w.updates)
	st := watchState{initial: true}
	var lost time.Time
	for fails := 0; ; fails++ {
		err := w.follow(ctx, &st, fails, &lost)
		if ctx.Err() != nil {
			return
		}
		if lost.IsZero() {
			lost = time.Now()
			w.log.Info("cluster: bucket watch has no consumer; creating one", "after_revision", st.last, "err", err)
		}
		if !sleep(ctx, readRetry) {
			return
		}
	}
}

// watchState is where a watch is: still delivering the initial values
// (restarted from the start if its consumer is lost meanwhile), and the
// last revision delivered.
type watchState struct {
	initial bool
	last    uint64
}

// follow runs one consumer until it fails or ctx ends.
func (w *KVWatch) follow(ctx context.Context, st *watchState, fails int, lost *time.Time) error {
	timeout := readCreateTimeout
	if fails >= readSlowAfter {
		timeout = readCreateSlow
	}
	cfg := jetstream.ConsumerConfig{
		FilterSubjects:    []string{w.prefix + ">"},
		DeliverPolicy:     jetstream.DeliverLastPerSubjectPolicy,
		AckPolicy:         jetstream.AckNonePolicy,
		InactiveThreshold: readInactive,
		Replicas:          1,
		MemoryStorage:     true,
	}
	if !st.initial {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, st.last+1
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	cons, err := w.js.CreateConsumer(cctx, w.stream, cfg)
	cancel()
	if err != nil {
		return fmt.Errorf("cluster: watch %s: %w", w.bucket, err)
	}
	info := cons.CachedInfo()
	defer func() {
		go func() { // its server may be gone: do not wait for it
			dctx, cancel := context.WithTimeout(context.Background(), readCreateSlow)
			_ = w.js.DeleteConsumer(dctx, w.stream, info.Name)
			cancel()
		}()
	}()
	it, err := cons.Messages(jetstream.PullHeartbeat(readHeartbeat), jetstream.WithMessagesErrOnMissingHeartbeat(true))
	if err != nil {
		return fmt.Errorf("cluster: watch %s: %w", w.bucket, err)
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	defer it.Stop()
	if !lost.IsZero() {
		w.log.Info("cluster: bucket watch has a new consumer", "after_revision", st.last,
			"without_consumer", time.Since(*lost).Round(time.Millisecond))
		*lost = time.Time{}
	}
	if st.initial && info.NumPending == 0 {
		if !w.send(ctx, nil) {
			return ctx.Err()
		}
		st.initial = false
	}
	var delivered uint64
	for {
		msg, err := it.Next()
		if err != nil {
			return fmt.Errorf("cluster: watch %s: %w", w.bucket, err)
		}
		md, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("cluster: watch %s: %w", w.bucket, err)
		}
		if md.Sequence.Consumer != delivered+1 {
			return fmt.Errorf("cluster: watch %s: delivery %d after %d", w.bucket, md.Sequence.Consumer, delivered)
		}
		delivered = md.Sequence.Consumer
		if md.Sequence.Stream <= st.last && !st.initial {
			continue
		}
		e := &kvEntry{bucket: w.bucket, value: msg.Data(), revision: md.Sequence.Stream, created: md.Timestamp,
			delta: md.NumPending, op: kvOp(msg.Headers())}
		subj := msg.Subject()
		if len(subj) <= len(w.prefix) {
			continue
		}
		e.key = subj[len(w.prefix):]
		if !w.send(ctx, e) {
			return ctx.Err()
		}
		st.last = max(st.last, md.Sequence.Stream)
		if st.initial && md.NumPending == 0 {
			if !w.send(ctx, nil) {
				return ctx.Err()
			}
			st.initial = false
		}
	}
}

func (w *KVWatch) send(ctx context.Context, e jetstream.KeyValueEntry) bool {
	select {
	case w.updates <- e:
		return true
	case <-ctx.Done():
		return false
	}
}

// kvOp reads a KV message's operation as nats.go does.
func kvOp(h map[string][]string) jetstream.KeyValueOp {
	get := func(k string) string {
		if v := h[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	switch get("KV-Operation") {
	case "DEL":
		return jetstream.KeyValueDelete
	case "PURGE":
		return jetstream.KeyValuePurge
	}
	switch get(jetstream.MarkerReasonHeader) {
	case "MaxAge", "Purge":
		return jetstream.KeyValuePurge
	case "Remove":
		return jetstream.KeyValueDelete
	}
	return jetstream.KeyValuePut
}

// kvEntry is one delivered KV entry.
type kvEntry struct {
	bucket, key string
	value       []byte
	revision    uint64
	created     time.Time
	delta       uint64
	op          jetstream.KeyValueOp
}

func (e *kvEntry) Bucket() string                  { return e.bucket }
func (e *kvEntry) Key() string                     { return e.key }
func (e *kvEntry) Value() []byte                   { return e.value }
func (e *kvEntry) Revision() uint64                { return e.revision }
func (e *kvEntry) Created() time.Time              { return e.created }
func (e *kvEntry) Delta() uint64                   { return e.delta }
func (e *kvEntry) Operation() jetstream.KeyValueOp { return e.op }
