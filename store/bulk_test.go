package store

import (
	"errors"
	"testing"
	"time"
)

// LoadContacts writes finished contacts as the writer would have left
// them (wait and handle derived the same way, the booked callback beside
// the contact), and refuses a call holding an id already stored without
// writing any of its contacts.
func TestLoadContacts(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := ctxT(t)
		arr := t0.Add(time.Hour)
		must(t, s.LoadContacts(ctx, []LoadedContact{
			{ID: 1, Channel: "voice", Hotline: "110", Queue: "gen-110", Agent: "agent01", State: "ended", Arrived: arr,
				Answered: arr.Add(12 * time.Second), Ended: arr.Add(5 * time.Minute), EndReason: "completed",
				Disposition: "resolved", Transfers: 2},
			{ID: 2, Channel: "voice", Hotline: "110", Queue: "gen-110", State: "ended", Arrived: arr,
				Ended: arr.Add(30 * time.Second), EndReason: "abandoned"},
			{ID: 3, Channel: "voice", Hotline: "110", Queue: "gen-110", State: "callback-booked", Arrived: arr,
				Ended: arr.Add(40 * time.Second), EndReason: "callback", Wait: 7 * time.Second,
				Callback: &Callback{CitizenNumber: "01012345678", Hotline: "110", Queue: "gen-110", Arrived: arr,
					Booked: arr.Add(40 * time.Second), Status: CallbackDone, Attempts: 2}},
		}))
		for _, want := range []struct {
			id           uint64
			wait, handle time.Duration
		}{{1, 12 * time.Second, 288 * time.Second}, {2, 30 * time.Second, 0}, {3, 7 * time.Second, 0}} {
			c, err := s.Contact(ctx, want.id)
			must(t, err)
			if c.Wait != want.wait || c.Handle != want.handle || !c.Arrived.Equal(arr) {
				t.Errorf("contact %d: wait %v handle %v arrived %v, want %v %v %v", want.id, c.Wait, c.Handle, c.Arrived,
					want.wait, want.handle, arr)
			}
		}
		cbs, err := s.Callbacks(ctx, CallbackDone)
		must(t, err)
		if len(cbs) != 1 || cbs[0].Contact != 3 || cbs[0].Attempts != 2 || cbs[0].CitizenNumber != "01012345678" {
			t.Fatalf("callbacks %+v", cbs)
		}
		var transfers int
		must(t, s.ReportContacts(ctx, arr, arr.Add(time.Hour), func(rc ReportContact) error {
			transfers += rc.Transfers
			return nil
		}))
		if transfers != 2 {
			t.Fatalf("transfers %d, want 2", transfers)
		}
		err = s.LoadContacts(ctx, []LoadedContact{{ID: 4, State: "ended", Arrived: arr}, {ID: 1, State: "ended", Arrived: arr}})
		if err == nil {
			t.Fatal("a load with a stored id was accepted")
		}
		if _, err := s.Contact(ctx, 4); !errors.Is(err, ErrNotFound) {
			t.Fatalf("contact 4 of the refused load: %v, want ErrNotFound", err)
		}
		// The writer goes on after the refusal.
		must(t, s.Durable(ctx, ContactUpsert{ID: 5, State: "waiting", Arrived: arr}))
	})
}
