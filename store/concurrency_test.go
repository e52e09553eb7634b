package store

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"
)

// Many goroutines mixing Durable and Enqueue: every accepted record is
// committed once, Durable waits are observed and counted.
func TestConcurrentWriters(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db testDB) {
		var observed atomic.Int64
		s := db.open(t, WithDurableObserver(func(time.Duration) { observed.Add(1) }))
		ctx := ctxT(t)
		const writers, each = 8, 200
		var wg sync.WaitGroup
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func(c uint64) {
				defer wg.Done()
				for i := int64(1); i <= each; i++ {
					if i%2 == 0 {
						if err := s.Durable(ctx, ChatMessage{Contact: c, Seq: i, SenderKind: SenderAgent, Sent: t0}); err != nil {
							t.Error(err)
							return
						}
					} else if err := s.Enqueue(ChatMessage{Contact: c, Seq: i, SenderKind: SenderCitizen, Sent: t0}); err != nil {
						t.Error(err)
						return
					}
					if i%50 == 0 {
						if _, err := s.LastChatSeq(ctx, c); err != nil {
							t.Error(err)
							return
						}
					}
				}
			}(uint64(w + 1))
		}
		wg.Wait()
		must(t, s.Durable(ctx, ContactEvent{At: t0, State: "barrier"}))
		for c := uint64(1); c <= writers; c++ {
			msgs, err := s.ChatMessages(ctx, c, 0)
			must(t, err)
			if len(msgs) != each {
				t.Fatalf("contact %d: %d messages, want %d", c, len(msgs), each)
			}
		}
		st := s.Stats()
		want := uint64(writers*each + 1)
		if st.Enqueued != want || st.Committed != want || st.DurableCalls != uint64(writers*each/2+1) ||
			observed.Load() != int64(st.DurableCalls) || st.DurableWaitNS == 0 || st.Batches == 0 || st.Batches >= want {
			t.Fatalf("stats %+v observed %d", st, observed.Load())
		}
		if h := s.Health(); !h.OK || h.Pending != 0 {
			t.Fatalf("health %+v", h)
		}
	})
}

func FuzzMaskNumber(f *testing.F) {
	for _, s := range []string{"01012345678", "+82-10-1234-5678", "sip:110@x", "", "12", "가나다1234567"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		m := MaskNumber(s)
		in, out := []rune(s), []rune(m)
		if len(in) != len(out) {
			t.Fatalf("length changed: %q -> %q", s, m)
		}
		digits := 0
		for _, r := range in {
			if r >= '0' && r <= '9' {
				digits++
			}
		}
		kept := 0
		for i, r := range out {
			isDigit := in[i] >= '0' && in[i] <= '9'
			switch {
			case !isDigit && r != in[i]:
				t.Fatalf("non-digit changed at %d: %q -> %q", i, s, m)
			case isDigit && r != '*':
				kept++
				if r != in[i] {
					t.Fatalf("digit altered: %q -> %q", s, m)
				}
			}
		}
		if (digits <= 4 && kept != 0) || (digits > 4 && kept != 4) {
			t.Fatalf("%q -> %q keeps %d of %d digits", s, m, kept, digits)
		}
	})
}
