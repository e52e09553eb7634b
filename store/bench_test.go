package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"onecall/internal/pgtest"
)

// BenchmarkWriteRate measures sustained group-commit throughput of contact
// events and chat messages (half each) through Enqueue, synchronous=FULL.
//
//	go test -run '^$' -bench WriteRate -benchtime 200000x ./store/
func BenchmarkWriteRate(b *testing.B) {
	for _, linger := range []time.Duration{2 * time.Millisecond, 0} {
		b.Run(fmt.Sprintf("linger=%v", linger), func(b *testing.B) {
			writeRate(b, openTest(b, filepath.Join(b.TempDir(), "rate.db"), WithBatch(1024, linger)))
		})
	}
}

// BenchmarkWriteRateDialects is BenchmarkWriteRate on each dialect: SQLite
// (synchronous=FULL) and a local PostgreSQL over loopback TCP with fsync
// and synchronous_commit on (its own server, started by the benchmark).
//
//	go test -run '^$' -bench WriteRateDialects -benchtime 200000x ./store/
func BenchmarkWriteRateDialects(b *testing.B) {
	srv, err := pgtest.Start(pgtest.Durable())
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Stop()
	for _, d := range []dialect{sqliteDialect, postgresDialect} {
		b.Run(d.String(), func(b *testing.B) {
			src := filepath.Join(b.TempDir(), "rate.db")
			if d == postgresDialect {
				src = srv.Database(b)
			}
			writeRate(b, testDB{d: d, source: src}.open(b))
		})
	}
}

func writeRate(b *testing.B, s *Store) {
	ctx := context.Background()
	text := "안녕하세요, 과태료 납부 기한을 연장할 수 있나요?"
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		var rec Record
		c := uint64(i/20 + 1)
		if i%2 == 0 {
			rec = ContactEvent{Contact: c, At: t0.Add(time.Duration(i) * time.Millisecond), State: "talking", Queue: "labor", Agent: "kim"}
		} else {
			rec = ChatMessage{Contact: c, Seq: int64(i), SenderKind: SenderCitizen, SenderID: "web:x", Text: text, Sent: t0}
		}
		for {
			err := s.Enqueue(rec)
			if err == nil {
				break
			}
			if !errors.Is(err, ErrOverloaded) {
				b.Fatal(err)
			}
			// Queue full: give the writer the CPU instead of spinning
			// (2 shared cores).
			<-time.After(200 * time.Microsecond)
		}
	}
	must(b, s.Durable(ctx, ContactEvent{Contact: 0, At: t0, State: "barrier"}))
	el := time.Since(start)
	b.StopTimer()
	st := s.Stats()
	b.ReportMetric(float64(b.N)/el.Seconds(), "rows/s")
	b.ReportMetric(float64(st.Committed)/float64(st.Batches), "rows/batch")
}

// BenchmarkDurableLatency offers chat messages through Durable at a fixed
// rate (2,000 and 5,000/s for 3 s, with the default 2 ms linger and with none; one goroutine per message as chat
// connections would) and reports p50/p99/max wait. Bounded: rate x 3 s
// messages per iteration.
//
//	go test -run '^$' -bench DurableLatency -benchtime 1x ./store/
func BenchmarkDurableLatency(b *testing.B) {
	for _, linger := range []time.Duration{2 * time.Millisecond, 0} {
		for _, rate := range []int{2000, 5000} {
			b.Run(fmt.Sprintf("rate=%d/linger=%v", rate, linger), func(b *testing.B) {
				for range b.N {
					durableLoad(b, openTest(b, filepath.Join(b.TempDir(), "lat.db"), WithBatch(1024, linger)), rate, 3*time.Second)
				}
			})
		}
	}
}

// BenchmarkDurableLatencySustained runs 2,000/s for 15 s so that WAL
// auto-checkpoints (every ~4 MB of WAL) fall inside the measurement.
//
//	go test -run '^$' -bench DurableLatencySustained -benchtime 1x ./store/
func BenchmarkDurableLatencySustained(b *testing.B) {
	for range b.N {
		durableLoad(b, openTest(b, filepath.Join(b.TempDir(), "lat.db")), 2000, 15*time.Second)
	}
}

// BenchmarkDurableLatencyDialects offers 2,000 chat messages/s through
// Durable for 3 s on each dialect (default 2 ms linger): SQLite
// (synchronous=FULL) and PostgreSQL with fsync and synchronous_commit on
// over loopback TCP.
//
//	go test -run '^$' -bench DurableLatencyDialects -benchtime 1x ./store/
func BenchmarkDurableLatencyDialects(b *testing.B) {
	srv, err := pgtest.Start(pgtest.Durable())
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Stop()
	for _, d := range []dialect{sqliteDialect, postgresDialect} {
		b.Run(d.String(), func(b *testing.B) {
			for range b.N {
				src := filepath.Join(b.TempDir(), "lat.db")
				if d == postgresDialect {
					src = srv.Database(b)
				}
				durableLoad(b, testDB{d: d, source: src}.open(b), 2000, 3*time.Second)
			}
		})
	}
}

func durableLoad(b *testing.B, s *Store, rate int, dur time.Duration) {
	pacedDurable(b, s, rate, dur, nil, func(i int) Record {
		return ChatMessage{Contact: uint64(i%500 + 1), Seq: int64(i), SenderKind: SenderCitizen,
			Text: strings.Repeat("가", 40), Sent: t0}
	})
	st := s.Stats()
	b.ReportMetric(float64(st.Committed)/float64(st.Batches), "rows/batch")
}

// pacedDurable writes rate records a second for dur, each with Durable from
// its own goroutine (before, when set, runs first, in the pacing loop), and
// reports the latency quantiles of the durable writes.
func pacedDurable(b *testing.B, s *Store, rate int, dur time.Duration, before func(i int), rec func(i int) Record) {
	total := rate * int(dur/time.Second)
	lat := make([]time.Duration, total)
	errs := make([]error, total)
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	sent := 0
	for sent < total {
		<-tick.C
		due := min(total, int(time.Since(start).Seconds()*float64(rate)))
		for ; sent < due; sent++ {
			if before != nil {
				before(sent)
			}
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				r := rec(i)
				t := time.Now()
				errs[i] = s.Durable(ctx, r)
				lat[i] = time.Since(t)
			}(sent)
		}
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	b.ReportMetric(float64(q(0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(q(0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
}

// BenchmarkGrowthPer1000Contacts measures database size for 1,000
// contacts of a typical mix: 70 % voice (contact row, 5 events, a CDR),
// 30 % chat (contact row, 5 events, 20 messages of ~40 Korean characters).
//
//	go test -run '^$' -bench Growth -benchtime 1x ./store/
func BenchmarkGrowthPer1000Contacts(b *testing.B) {
	for range b.N {
		dir := b.TempDir()
		path := filepath.Join(dir, "growth.db")
		s := openTest(b, path)
		size := func() int64 {
			var n int64
			for _, suf := range []string{"", "-wal"} {
				if fi, err := os.Stat(path + suf); err == nil {
					n += fi.Size()
				}
			}
			return n
		}
		checkpoint := func() {
			db := rawDB(b, path, "")
			if _, err := db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
				b.Fatal(err)
			}
			db.Close()
		}
		fill := func(from, n int) {
			for i := from; i < from+n; i++ {
				id := uint64(i + 1)
				at := t0.Add(time.Duration(i) * time.Second)
				ch := "voice"
				if i%10 < 3 {
					ch = "chat"
				}
				recs := []Record{ContactUpsert{ID: id, Channel: ch, Hotline: "1350", Queue: "labor", Citizen: "01012345678",
					Agent: "agent0042", State: "ended", Arrived: at, Offered: at.Add(20 * time.Second), Answered: at.Add(25 * time.Second),
					Ended: at.Add(5 * time.Minute), EndReason: "completed", Wait: 25 * time.Second, Handle: 275 * time.Second,
					Attrs: map[string]string{"lang": "ko", "ivr": "2"}}}
				for _, st := range []string{"waiting", "offered", "talking", "wrapup", "ended"} {
					recs = append(recs, ContactEvent{Contact: id, At: at, State: st, Queue: "labor", Agent: "agent0042"})
				}
				if ch == "chat" {
					for seq := int64(1); seq <= 20; seq++ {
						recs = append(recs, ChatMessage{Contact: id, Seq: seq, SenderKind: SenderCitizen, SenderID: "web:abcdef",
							Text: strings.Repeat("민원", 20), Sent: at, Delivered: at, Read: at})
					}
				} else {
					recs = append(recs, CallRecord{CallID: fmt.Sprintf("%d@trunk.example", id), Contact: id, From: "sip:01012345678@trunk",
						To: "sip:1350@onecall", Codec: "PCMA", Started: at, Answered: at.Add(25 * time.Second), Ended: at.Add(5 * time.Minute),
						HangupCause: "normal_clearing", Legs: []CallLeg{{Role: "citizen", URI: "sip:01012345678@trunk", Started: at},
							{Role: "agent", URI: "sip:agent0042@10.0.0.1", Started: at.Add(20 * time.Second)}},
						RTP: RTPStats{PacketsSent: 13750, PacketsReceived: 13700, PacketsLost: 3, JitterMs: 2.5}})
				}
				for _, r := range recs {
					for s.Enqueue(r) != nil {
						runtime.Gosched()
					}
				}
			}
			must(b, s.Durable(context.Background(), ContactEvent{At: t0, State: "barrier"}))
		}
		fill(0, 1000) // warm: schema and first pages
		checkpoint()
		before := size()
		fill(1000, 10000)
		checkpoint()
		after := size()
		b.ReportMetric(float64(after-before)/10, "bytes/1000contacts")
	}
}

// BenchmarkCallRecordDurable is what a call's end waits for since the
// call's node commits its record before the end event (sip's
// persistRecord): Store.Durable of one call record (two legs) at an
// offered rate of call ends, on each dialect (SQLite synchronous=FULL,
// PostgreSQL with fsync and synchronous_commit on over loopback), default
// 2 ms linger, with contact events enqueued beside them as the routing
// side writes them.
//
//	go test -run '^$' -bench CallRecordDurable -benchtime 1x ./store/
func BenchmarkCallRecordDurable(b *testing.B) {
	srv, err := pgtest.Start(pgtest.Durable())
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Stop()
	for _, d := range []dialect{sqliteDialect, postgresDialect} {
		for _, rate := range []int{20, 200} {
			b.Run(fmt.Sprintf("%s/ends=%d/s", d, rate), func(b *testing.B) {
				for range b.N {
					src := filepath.Join(b.TempDir(), "cdr.db")
					if d == postgresDialect {
						src = srv.Database(b)
					}
					callRecordLoad(b, testDB{d: d, source: src}.open(b), rate, 3*time.Second)
				}
			})
		}
	}
}

func callRecordLoad(b *testing.B, s *Store, rate int, dur time.Duration) {
	// The routing side's records of each call, queued as usual.
	queued := func(i int) {
		for k := range 5 {
			_ = s.Enqueue(ContactEvent{Contact: uint64(i + 1), At: t0.Add(time.Duration(k) * time.Second), State: "talking"})
		}
	}
	pacedDurable(b, s, rate, dur, queued, func(i int) Record {
		now := time.Now()
		return CallRecord{CallID: fmt.Sprintf("call-%d@10.0.0.1", i), Contact: uint64(i + 1), From: "01012345678", To: "110",
			Codec: "PCMA", Started: now.Add(-3 * time.Minute), Answered: now.Add(-2 * time.Minute), Ended: now,
			HangupCause: "citizen-bye", RTP: RTPStats{PacketsSent: 9000, PacketsReceived: 9000},
			Legs: []CallLeg{{Role: "citizen", URI: "sip:01012345678", CallID: "c", Started: now.Add(-3 * time.Minute), Ended: now},
				{Role: "agent", URI: "sip:agent01@10.0.0.2", CallID: "a", Started: now.Add(-2 * time.Minute), Ended: now}}}
	})
}
