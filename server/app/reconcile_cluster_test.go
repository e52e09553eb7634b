package app

import (
	"io"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"onecall/router"
	"onecall/server"
)

// fakeChats and fakeConsoles are a node's live chats and gone consoles.
type fakeChats struct {
	live  map[router.ContactID]bool
	ended []router.ContactID
}

func (f *fakeChats) LiveContacts() map[router.ContactID]bool { return f.live }
func (f *fakeChats) EndOrphan(id router.ContactID) bool {
	f.ended = append(f.ended, id)
	return true
}

type fakeConsoles struct {
	mu     sync.Mutex
	gone   map[router.AgentID]time.Time
	forgot []router.AgentID
}

func (f *fakeConsoles) GoneConsoles() map[router.AgentID]time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.gone)
}

func (f *fakeConsoles) ForgetGone(a router.AgentID, _ time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.gone, a)
	f.forgot = append(f.forgot, a)
}
func (f *fakeConsoles) LogoutGrace() time.Duration { return time.Second }

// On a cluster, node 2's reconciler repairs only what node 2 owns: its own
// voice contact without a call, the chat the owners table puts on it, the
// agent whose console left it. Node 3's call (no SIP call here, of
// course), the chat that moved to node 3 though node 2 allocated it, and
// the agent whose console is now live on node 3 are left alone.
func TestReconcilerRepairsOnlyWhatItsNodeOwns(t *testing.T) {
	q := router.QueueDef{ID: "q", Skills: []router.SkillReq{{Skill: "s", Min: 1}}, MaxWaiting: 100, MaxWait: time.Hour}
	var ags []router.AgentDef
	for _, id := range []router.AgentID{"a1", "a2", "a3", "a4"} {
		ags = append(ags, router.AgentDef{ID: id, Skills: map[string]int{"s": 1}, Voice: 1, Chat: 2})
	}
	e, err := router.New(router.Config{Queues: []router.QueueDef{q}, Agents: ags,
		Hotlines: []router.HotlineDef{{Number: "110", DefaultQueue: "q", Schedule: router.Schedule{Always: true}}}})
	if err != nil {
		t.Fatal(err)
	}
	hub := server.NewHub(e, server.WithNode(2), server.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	ctx := t.Context()
	go func() { _ = hub.Run(ctx) }()
	do := func(ev router.Event) {
		t.Helper()
		if _, err := hub.Do(ctx, ev); err != nil {
			t.Fatalf("%T: %v", ev, err)
		}
	}
	id := func(node uint16, n uint64) router.ContactID {
		return router.ContactID(uint64(node)<<server.ContactIDNodeShift | n)
	}
	voice2, voice3 := id(2, 1), id(3, 1)
	chat2, chatMoved, chat3 := id(2, 2), id(2, 3), id(3, 2)
	for _, c := range []router.ContactArrived{
		{Contact: voice2, Channel: router.Voice, Number: "110"},
		{Contact: voice3, Channel: router.Voice, Number: "110"},
		{Contact: chat2, Channel: router.Chat, Number: "110"},
		{Contact: chatMoved, Channel: router.Chat, Number: "110"},
		{Contact: chat3, Channel: router.Chat, Number: "110"},
	} {
		do(c)
	}
	do(router.AgentLoggedIn{Agent: "a3"})
	do(router.AgentLoggedIn{Agent: "a4"})

	chats := &fakeChats{live: map[router.ContactID]bool{}} // none of them is live on node 2
	gone := time.Now().Add(-time.Hour)
	cons := &fakeConsoles{gone: map[router.AgentID]time.Time{"a3": gone, "a4": gone}}
	r := newReconciler(hub, 50*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)),
		liveSides{calls: func() map[router.ContactID]bool { return nil }, chats: chats, cons: cons})
	r.owns = ownership{node: 2,
		chatOwner: func(c router.ContactID) (uint16, bool) {
			switch c {
			case chatMoved:
				return 3, true // its citizen resumed on node 3
			case chat2:
				return 2, true
			}
			return 0, false
		},
		consoleNode: func(a router.AgentID) (uint16, bool) { return 3, a == "a4" }, // a4 signed in again on node 3
	}
	for range 3 {
		r.sweep(ctx)
	}
	if _, err := hub.Do(ctx, router.Tick{}); err != nil { // the repairs were submitted: let them apply
		t.Fatal(err)
	}
	var live []router.ContactID
	var a3, a4 router.AgentView
	if err := hub.Query(ctx, func(e *router.Engine) {
		for _, c := range append(e.LiveContacts(router.Voice), e.LiveContacts(router.Chat)...) {
			live = append(live, c.ID)
		}
		a3, _ = e.Agent("a3")
		a4, _ = e.Agent("a4")
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(live)
	if want := []router.ContactID{chatMoved, voice3, chat3}; !slices.Equal(live, want) {
		t.Errorf("live contacts %v, want %v (node 2's voice and chat repaired, the others left)", live, want)
	}
	if a3.LoggedIn {
		t.Error("a3, whose console left node 2, is still logged in")
	}
	if !a4.LoggedIn {
		t.Error("a4, whose console is live on node 3, was logged out by node 2")
	}
}
