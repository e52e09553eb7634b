package servetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"onecall/internal/testpeers"
)

// OfferProbe measures when routing offers again after a failure: it
// starts a chat every period on the live nodes (round robin) until one of
// them is offered on one of the consoles (in Watch mode), then ends every
// chat it started (the citizen leaves), so the agents' capacity is free
// again.
type OfferProbe struct {
	Number, Topic, Lang string
	Period              time.Duration // default 250 ms
}

// FirstOffer returns when the first chat started at or after since was
// offered, as a duration after since; it fails the test after d.
func (p OfferProbe) FirstOffer(t testing.TB, c *Cluster, cons []*Console, since time.Time, d time.Duration) time.Duration {
	t.Helper()
	period := p.Period
	if period == 0 {
		period = 250 * time.Millisecond
	}
	var mu sync.Mutex
	chats := map[uint64]*Chat{}
	var errs []error
	var wg sync.WaitGroup
	defer func() {
		wg.Wait()
		for _, ch := range chats {
			_ = ch.WS.WriteJSON(map[string]any{"type": "end"})
			ch.Close()
		}
	}()
	tick := time.NewTicker(period)
	defer tick.Stop()
	deadline := time.After(d)
	for i := 0; ; i++ {
		mu.Lock()
		for _, k := range cons {
			if k.w == nil {
				continue
			}
			for _, e := range k.Events("offer") {
				if chats[e.Contact()] != nil && !e.At.Before(since) {
					mu.Unlock()
					return e.At.Sub(since)
				}
			}
		}
		mu.Unlock()
		if live := c.Live(); len(live) > 0 {
			n := live[i%len(live)]
			wg.Add(1)
			go func() {
				defer wg.Done()
				ch, err := StartChat(n, p.Number, p.Topic, p.Lang, d)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
					return
				}
				chats[ch.Contact] = ch
			}()
		}
		select {
		case <-tick.C:
		case <-deadline:
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("no chat started after %s offered within %s (%d chats started, errors: %v)\n%s",
				since.Format("15:04:05.000"), d, len(chats), firstErrs(errs, 5), c.Tails(20))
			return 0
		}
	}
}

func firstErrs(errs []error, n int) string {
	if len(errs) > n {
		return fmt.Sprint(errs[:n], " ...")
	}
	return fmt.Sprint(errs)
}

// FirstOfferSince waits up to d for any offer (of any contact, to any of
// the consoles) at or after since and returns how long after since it
// came: under load, where new chats wait behind the calls in line, this
// is "offers flow again".
func FirstOfferSince(t testing.TB, cons []*Console, since time.Time, d time.Duration) time.Duration {
	t.Helper()
	var first time.Duration = -1
	testpeers.WaitFor(t, d, "an offer after "+since.Format("15:04:05.000"), func() bool {
		for _, k := range cons {
			if k.w == nil {
				continue
			}
			for _, e := range k.Events("offer") {
				if !e.At.Before(since) && (first < 0 || e.At.Sub(since) < first) {
					first = e.At.Sub(since)
				}
			}
		}
		return first >= 0
	})
	return first
}
