//go:build chat_nohub

package chat

import (
	"context"
	"testing"

	"onecall/router"
)

// Built with -tags chat_nohub while the routing engine is not available:
// the fake hub stands in for server.Hub + router.

type hubEnv struct {
	h *fakeHub
}

func newHubEnv(t testing.TB, cfg *envConfig, firstID uint64) *hubEnv {
	return &hubEnv{h: &fakeHub{next: router.ContactID(firstID), busy: cfg.busy, closed: map[string]bool{"1345": true}}}
}

func (e *hubEnv) service(opts Options, be backend) (*Service, error) {
	s, err := newService(e.h, be, opts, func(err error) bool { return err == errFakeBusy })
	if err == nil {
		e.h.sink = s.deliver
	}
	return s, err
}

func (e *hubEnv) accept(t *testing.T, c router.ContactID, a router.AgentID) {
	t.Helper()
	if _, err := e.h.Do(context.Background(), router.OfferAccepted{Contact: c, Agent: a}); err != nil {
		t.Fatal(err)
	}
}

func (e *hubEnv) routed(c router.ContactID) []router.Event { return e.h.eventsOf(c) }

func (e *hubEnv) stop() {}

func (e *hubEnv) Do(ctx context.Context, ev router.Event) ([]router.Command, error) {
	return e.h.Do(ctx, ev)
}
