package chat

import (
	"slices"
	"testing"
	"time"
)

// A slow console subscriber never blocks the chat: events beyond
// SubBuffer are dropped and the subscriber later gets an EventResync;
// cancel stops delivery.
func TestSlowSubscriberGetsResync(t *testing.T) {
	h := &fakeHub{}
	opts := testOptions()
	opts.SubBuffer = 2
	s, err := newService(h, newMem(), opts, func(error) bool { return false })
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h.sink = s.deliver
	cv := startMem(t, s, h, newPeer())
	release := make(chan struct{})
	got := make(chan Event, 100)
	cancel := s.Subscribe(cv.id, func(ev Event) {
		<-release
		got <- ev
	})
	done := make(chan struct{})
	go func() { // publishing 10 events must not block on the stuck subscriber
		defer close(done)
		for i := range 10 {
			cv.mu.Lock()
			cv.publish(Event{Kind: EventRead, Seq: int64(i + 1)})
			cv.mu.Unlock()
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("publish blocked on a slow subscriber")
	}
	close(release)
	// Some reads were delivered (those taken or buffered), the rest were
	// dropped; once the subscriber has room again, the next event it gets is
	// preceded by a resync.
	var kinds []EventKind
	deadline := time.After(5 * time.Second)
	for {
		cv.mu.Lock()
		cv.publish(Event{Kind: EventTyping})
		cv.mu.Unlock()
		select {
		case ev := <-got:
			kinds = append(kinds, ev.Kind)
			for len(got) > 0 {
				kinds = append(kinds, (<-got).Kind)
			}
		case <-deadline:
			t.Fatalf("events %v", kinds)
		}
		if i := slices.Index(kinds, EventTyping); i >= 0 {
			if i == 0 || kinds[i-1] != EventResync || slices.Contains(kinds[:slices.Index(kinds, EventResync)], EventTyping) {
				t.Fatalf("want reads, resync, typing: %v", kinds)
			}
			break
		}
	}
	cancel()
	cancel() // idempotent
	cv.mu.Lock()
	n := len(cv.subs)
	cv.mu.Unlock()
	if n != 0 {
		t.Fatal("cancel left the subscriber registered")
	}
}
