package sip

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"onecall/internal/testpeers"
	"onecall/router"
	"onecall/store"
)

// fakeHub is a tiny stand-in for server.Hub + router.Engine: one owner
// goroutine, an inbox, and a routing rule good enough for the wire tests
// (offer to the agents in order; a rejected offer goes to the next agent).
type fakeHub struct {
	inbox chan fakeReq
	sink  interface{ Deliver([]router.Command) }
	next  uint64
	mu    sync.Mutex
	evs   []router.Event
	seen  chan router.Event
	// routing state (owner goroutine only)
	agents   []router.AgentID
	offerFor time.Duration
	tried    map[router.ContactID]int
	onEvent  func(ev router.Event) []router.Command // optional override
	busy     atomic.Bool                            // inbox "full": Submit/Do fail
}

type fakeReq struct {
	ev    router.Event
	cmds  []router.Command // inject: deliver these as if the engine emitted them
	reply chan fakeRes
}

type fakeRes struct {
	cmds []router.Command
	err  error
}

var errFakeBusy = fmt.Errorf("fake hub: inbox full")

func newFakeHub(agents ...router.AgentID) *fakeHub {
	return &fakeHub{inbox: make(chan fakeReq, 256), agents: agents, tried: map[router.ContactID]int{},
		seen: make(chan router.Event, 256), offerFor: 5 * time.Second}
}

func (h *fakeHub) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-h.inbox:
			if r.ev == nil {
				h.sink.Deliver(r.cmds)
				continue
			}
			h.mu.Lock()
			h.evs = append(h.evs, r.ev)
			h.mu.Unlock()
			select {
			case h.seen <- r.ev:
			default:
			}
			cmds := h.apply(r.ev)
			if len(cmds) > 0 && h.sink != nil {
				h.sink.Deliver(cmds)
			}
			if r.reply != nil {
				r.reply <- fakeRes{cmds: cmds}
			}
		}
	}
}

func (h *fakeHub) offerNext(id router.ContactID) []router.Command {
	i := h.tried[id]
	if i >= len(h.agents) {
		return nil
	}
	h.tried[id] = i + 1
	return []router.Command{router.Offer{Contact: id, Agent: h.agents[i], Channel: router.Voice, Queue: "q",
		Deadline: time.Now().Add(h.offerFor)}}
}

func (h *fakeHub) apply(ev router.Event) []router.Command {
	if h.onEvent != nil {
		if cmds := h.onEvent(ev); cmds != nil {
			return cmds
		}
	}
	switch e := ev.(type) {
	case router.ContactArrived:
		return h.offerNext(e.Contact)
	case router.OfferRejected:
		return h.offerNext(e.Contact)
	case router.ContactTransferred:
		return h.offerNext(e.Contact)
	case router.OfferAccepted:
		return []router.Command{router.Connected{Contact: e.Contact, Agent: e.Agent, Channel: router.Voice}}
	}
	return nil
}

func (h *fakeHub) Submit(ev router.Event) error {
	if h.busy.Load() {
		return errFakeBusy
	}
	select {
	case h.inbox <- fakeReq{ev: ev}:
		return nil
	default:
		return fmt.Errorf("busy")
	}
}

func (h *fakeHub) Do(ctx context.Context, ev router.Event) ([]router.Command, error) {
	if h.busy.Load() {
		return nil, errFakeBusy
	}
	r := fakeReq{ev: ev, reply: make(chan fakeRes, 1)}
	select {
	case h.inbox <- r:
	default:
		return nil, fmt.Errorf("busy")
	}
	select {
	case res := <-r.reply:
		return res.cmds, res.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (h *fakeHub) inject(cmds ...router.Command) { h.inbox <- fakeReq{cmds: cmds} }

func (h *fakeHub) has(f func(router.Event) bool) bool {
	for _, ev := range h.events() {
		if f(ev) {
			return true
		}
	}
	return false
}

func (h *fakeHub) NewContactID() router.ContactID {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.next++
	return router.ContactID(h.next)
}

func (h *fakeHub) Now() time.Time { return time.Now() }

func (h *fakeHub) events() []router.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]router.Event(nil), h.evs...)
}

// waitEvent waits until an event matching f was applied.
func (h *fakeHub) waitEvent(t *testing.T, d time.Duration, what string, f func(router.Event) bool) router.Event {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		for _, ev := range h.events() {
			if f(ev) {
				return ev
			}
		}
		select {
		case <-h.seen:
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("no %s within %s; events: %#v", what, d, h.events())
	return nil
}

type staticNumbers map[string]Menu

func (n staticNumbers) Resolve(user, _ string) (string, string, Menu, bool) {
	m, ok := n[user]
	return user, "general", m, ok
}

type staticLocator struct {
	mu sync.Mutex
	m  map[string]string
}

func (l *staticLocator) set(user, uri string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.m[user] = uri
}

func (l *staticLocator) Lookup(user string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	u, ok := l.m[user]
	return u, ok
}

// records collects the calls' own records (the CDRs go to the real store).
type records struct{ ch chan callRecord }

func (r records) wait(t *testing.T, d time.Duration) callRecord {
	t.Helper()
	select {
	case rec := <-r.ch:
		return rec
	case <-time.After(d):
		t.Fatalf("no call record within %s", d)
	}
	return callRecord{}
}

// minAudio is the RTP packet count that proves audio flowed on a leg
// (0.5 s at 20 ms): the SIPp/baresip peers are paced by a VM that other
// builds share, so exact durations are not asserted.
const minAudio = 25

var defaultMenu = Menu{Choices: map[string]MenuChoice{
	"1": {Queue: "general", Language: "ko", Label: "ko"},
	"2": {Queue: "labor", Language: "ko", Label: "labor", Skills: []router.SkillReq{{Skill: "labor", Min: 2}}},
	"9": {Queue: "english", Language: "en", Label: "en"},
}, Timeout: 2 * time.Second, Retries: 1}

type testEnv struct {
	t     *testing.T
	hub   *fakeHub
	svc   *Service
	loc   *staticLocator
	store records
	db    *store.Store
	udp   string
}

func newTestEnv(t *testing.T, agents []router.AgentID, tweak func(*Options, *fakeHub)) *testEnv {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	hub := newFakeHub(agents...)
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "onecall.db"), store.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	env := &testEnv{t: t, hub: hub, loc: &staticLocator{m: map[string]string{}}, store: records{ch: make(chan callRecord, 16)}, db: db}
	opts := Options{
		ListenUDP:    "127.0.0.1:0",
		ListenTCP:    "127.0.0.1:0",
		Trunks:       nil,
		Demo:         true,
		Numbers:      staticNumbers{"1350": defaultMenu, "110": {Skip: true}},
		Locator:      env.loc,
		Store:        db,
		NoRTPTimeout: 30 * time.Second,
		Logger:       slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
	if tweak != nil {
		tweak(&opts, hub)
	}
	svc, err := New(hub, opts)
	if err != nil {
		t.Fatal(err)
	}
	svc.onRecord = func(r callRecord) { env.store.ch <- r }
	hub.sink = svc.Sink()
	go hub.run(ctx)
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Close() })
	env.svc = svc
	env.udp, _ = svc.Addr()
	return env
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// onlyCDR waits until the store holds exactly one call record and returns it.
func (env *testEnv) onlyCDR(t *testing.T) store.CallRecord {
	t.Helper()
	var cdr store.CallRecord
	waitFor(t, 5*time.Second, "CDR in the store", func() bool {
		cdrs, err := env.db.CallRecords(t.Context(), 10)
		if err != nil || len(cdrs) != 1 {
			return false
		}
		cdr = cdrs[0]
		return true
	})
	return cdr
}

// sippRun is a SIPp process started by a test.
type sippRun struct{ *testpeers.SIPp }

// startSipp runs SIPp with a rendered testdata scenario. remote "" = server mode.
func startSipp(t *testing.T, scenario string, data any, remote, service string, extra ...string) *sippRun {
	t.Helper()
	return &sippRun{testpeers.StartSIPp(t, testpeers.SIPpOptions{Scenario: filepath.Join("testdata", scenario),
		Data: data, Remote: remote, Service: service, Args: extra})}
}

// wait returns SIPp's exit error (nil = the scenario passed).
func (r *sippRun) wait(t *testing.T, d time.Duration) error {
	t.Helper()
	return r.Wait(t, d)
}

func (r *sippRun) uri(user string) string { return r.URI(user) }

type citizenParams struct {
	From        string
	LateOffer   bool
	NoAck       bool // never ACK our 2xx; expect our BYE
	Expect      int  // expected final non-2xx response (403, 404, 503)
	DTMFAfter   int  // ms after ACK
	Digit       string
	Digit2      string
	Digit2After int
	InfoDigit   string
	Audio       bool
	Reinvite    int        // ms after the audio starts: re-INVITE (session refresh), then speak again
	Hold        bool       // the re-INVITE puts us on hold (a=sendonly) and the citizen stays silent
	HoldProbes  []struct{} // then answer this many in-dialog OPTIONS
	HoldFor     int        // ms before our BYE
	WaitBye     int        // ms; >0: wait for the server's BYE instead
	MediaPort   int        // >0: the SDP's audio port (a socket of the test hears what the citizen gets)
}

type agentParams struct {
	Mode    string // "answer" (wait BYE), "bye", "reject", "ring", "vanish"
	Code    int
	HoldFor int
	WaitBye int
}
