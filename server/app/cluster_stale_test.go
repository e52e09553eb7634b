package app

import (
	"testing"
	"time"

	"onecall/internal/testpeers"
	"onecall/router"
	"onecall/server"
	"onecall/store"
)

// A chat stored as waiting that routing never took (its node died as it
// started it) is ended by the leader, once; a contact routing holds is
// left alone (three real Apps on PostgreSQL).
func TestClusterStaleStoredContactEnded(t *testing.T) {
	nodes := startClusterWith(t, "", func(o *Options) { o.testStaleEvery = 200 * time.Millisecond })
	lead := leaderOf(t, nodes, 20*time.Second)
	ctx := t.Context()
	// A routed chat, stored by the leader's sink as waiting.
	held := router.ContactID(2<<server.ContactIDNodeShift | 900)
	if _, err := lead.Front().Do(ctx, router.ContactArrived{Contact: held, Channel: router.Chat, Number: fsHotline,
		Arrived: time.Now().Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	stale := uint64(2<<server.ContactIDNodeShift | 901)
	if err := lead.st.Durable(ctx, store.ContactUpsert{ID: stale, Channel: "chat", Hotline: fsHotline, State: "waiting",
		Arrived: time.Now().Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	testpeers.WaitFor(t, 20*time.Second, "the stale chat ended by the leader", func() bool {
		c, err := lead.st.Contact(ctx, stale)
		return err == nil && c.State == store.StateEnded && c.EndReason == store.EndReasonStale
	})
	evs, err := lead.st.ContactEvents(ctx, stale)
	if err != nil || len(evs) != 1 {
		t.Fatalf("events %+v %v, want one ended", evs, err)
	}
	c, err := lead.st.Contact(ctx, uint64(held))
	if err != nil || c.State == store.StateEnded {
		t.Fatalf("the routed chat %+v %v was ended", c, err)
	}
}
