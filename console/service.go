package console

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"onecall/router"
)

// ChatLine is one line of a chat transcript.
type ChatLine struct {
	Seq      int64     `json:"seq"`
	Sender   string    `json:"sender"` // citizen | agent | system
	SenderID string    `json:"sender_id,omitempty"`
	Text     string    `json:"text"`
	Sent     time.Time `json:"sent"`
}

// ChatAgent is what the console needs from the chat service (package
// console/chatbridge adapts *chat.Service). Subscribe delivers the citizen's
// events of one contact in order until cancel is called; the console
// subscribes while the chat is connected to an agent or followed.
type ChatAgent interface {
	AgentSend(ctx context.Context, contact router.ContactID, agent router.AgentID, text string) (int64, error)
	AgentTyping(contact router.ContactID, agent router.AgentID) error
	AgentRead(contact router.ContactID, agent router.AgentID, seq int64) error
	EndByAgent(ctx context.Context, contact router.ContactID, agent router.AgentID) error
	Transcript(ctx context.Context, contact router.ContactID) ([]ChatLine, error)
	Subscribe(contact router.ContactID, fn func(ChatEvent)) (cancel func())
}

// CallControl is what the console needs from the SIP service. Audio stays on
// the agent's SIP phone; these act on the bridged call. Transfer is a blind
// transfer of the call to a queue, an agent or an outside number: the agent
// leg ends, the call moves and routing learns it (router.ContactTransferred
// with By and Note). It returns ErrNoOutside when outside numbers are not
// available and ErrCallGone when the call is not connected any more.
type CallControl interface {
	Hold(ctx context.Context, contact router.ContactID) error
	Resume(ctx context.Context, contact router.ContactID) error
	Hangup(ctx context.Context, contact router.ContactID) error
	Transfer(ctx context.Context, contact router.ContactID, to router.TransferTarget, by router.AgentID, note string) error
}

// CallMuter is implemented by call controls that can mute the agent: the
// agent's audio stops reaching the citizen (the agent still hears the
// citizen) until Unmute. The console offers mute only when Calls has it.
type CallMuter interface {
	Mute(ctx context.Context, contact router.ContactID) error
	Unmute(ctx context.Context, contact router.ContactID) error
}

// ChatEvent is something that happened in a chat on the citizen's side,
// delivered through ChatAgent.Subscribe or (*Service).CitizenEvent.
type ChatEvent struct {
	Contact router.ContactID
	// Kind: message | typing | read | delivered | left | detached | resumed
	// | ended | resync (events were dropped: reload the transcript).
	Kind   string
	Seq    int64  // message seq ("message"), last seq read ("read"/"delivered")
	Sender string // message author: citizen | system (default citizen)
	Text   string
	Sent   time.Time
}

// Options configure the Service. Zero values get defaults.
type Options struct {
	Chat  ChatAgent   // nil: chat commands answer "chat unavailable"
	Calls CallControl // nil: call controls answer "calls unavailable"
	// Reports serves GET /api/reports to supervisors and admins (nil: 404).
	Reports http.Handler
	// AllowedOrigins lists Origin values accepted on the WebSocket and on
	// state-changing requests besides the request's own host.
	AllowedOrigins []string
	Realm          string // SIP digest realm for password changes (default "onecall")
	MaskNumbers    bool   // mask caller numbers to the last four digits
	// SecureCookies forces the Secure flag on the session cookie (TLS
	// terminated by a proxy); it is always set when the request came over TLS.
	SecureCookies bool
	// NotReadyReasons are the codes agents may pick (default break, lunch,
	// training, meeting, admin).
	NotReadyReasons []string
	// Dispositions per hotline number; "*" applies to every hotline.
	Dispositions map[string][]string
	// CannedResponses per hotline number; "*" applies to every hotline.
	CannedResponses map[string][]Label
	// Names are what the agent view shows instead of internal ids: queue,
	// line, IVR/topic and disposition labels in Korean and English.
	Names Names
	// DispositionRequired lists the queues whose contacts need a saved
	// disposition before the agent may be Ready again.
	DispositionRequired map[string]bool
	// OutsideTransfers tells consoles that Calls.Transfer takes outside
	// numbers (transfer_targets "outside").
	OutsideTransfers bool
	Logger           *slog.Logger
	Clock            func() time.Time
	// SessionTTL is the idle lifetime of a sign-in (default 12h).
	SessionTTL time.Duration
	// LockAfter failed sign-ins lock an account for LockFor (default 5, 15m).
	LockAfter int
	LockFor   time.Duration
	// LogoutGrace: an agent whose console stays disconnected this long is
	// logged out of routing (default 2m).
	LogoutGrace time.Duration
	// SendQueue bounds each connection's outgoing queue (default 256).
	SendQueue int
	// MsgRate and MsgBurst limit console messages per connection (default 20/s, 40).
	MsgRate  float64
	MsgBurst int
	// Queues describes the configured queues (names, SL target, center and
	// institution) for the wallboard and the agent view.
	Queues []QueueInfo
	// LoginsPerMinute bounds sign-in attempts per source address (default 10).
	LoginsPerMinute int
	// HashSlots bounds concurrent password hashes, 19 MiB each (default 4).
	HashSlots int
	// ScheduledCallbacks counts a queue's callbacks waiting for their next
	// attempt (outside routing until then); the wallboard shows them as
	// pending. nil: none.
	ScheduledCallbacks func(queue string) int
	// Presence, when set (a cluster node), is told when an agent's console
	// connects here (here true) and when this service logged the agent out
	// because the console stayed away past LogoutGrace (here false), so the
	// cluster knows which node holds whose console. It is called with the
	// service's lock held: it must not block.
	Presence func(agent router.AgentID, here bool)
	// Elsewhere, when set (a cluster node), reports whether agent's console
	// is connected to another node now: then the console that went away
	// from this node logs nobody out when its grace ends.
	Elsewhere func(agent router.AgentID) bool
}

func (o *Options) defaults() {
	if o.Realm == "" {
		o.Realm = "onecall"
	}
	if len(o.NotReadyReasons) == 0 {
		o.NotReadyReasons = []string{"break", "lunch", "training", "meeting", "admin"}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if o.LockAfter <= 0 {
		o.LockAfter = 5
	}
	if o.LockFor <= 0 {
		o.LockFor = 15 * time.Minute
	}
	if o.LogoutGrace <= 0 {
		o.LogoutGrace = 2 * time.Minute
	}
	if o.SendQueue <= 0 {
		o.SendQueue = 256
	}
	if o.MsgRate <= 0 {
		o.MsgRate = 20
	}
	if o.MsgBurst <= 0 {
		o.MsgBurst = 40
	}
	if o.LoginsPerMinute <= 0 {
		o.LoginsPerMinute = 10
	}
	if o.HashSlots <= 0 {
		o.HashSlots = 4
	}
}

// hubAPI is the part of server.Hub the console uses.
type hubAPI interface {
	Submit(ev router.Event) error
	Do(ctx context.Context, ev router.Event) ([]router.Command, error)
	Now() time.Time
}

// Service is the console: HTTP handler, WebSocket hub for consoles, and a
// server.Sink. Create it with New before the hub runs.
type Service struct {
	hub      hubAPI
	st       Store
	opts     Options
	log      *slog.Logger
	mux      *http.ServeMux
	sessions *sessions
	guard    *loginGuard
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	mu      sync.Mutex
	m       *mirror
	seq     uint64
	conns   map[string]*conn // live console per username
	supers  map[*conn]struct{}
	follows map[router.ContactID]map[*conn]struct{}
	wrap    map[router.AgentID][]wrapItem // contacts awaiting a disposition
	forced  map[router.AgentID]forcedState
	grace   map[router.AgentID]*time.Timer
	gone    map[router.AgentID]time.Time // when an agent's console went away (reconciler)
	subs    map[router.ContactID]func()  // chat subscriptions; nil value = pending
	closed  bool
	out     chan outMsg // events to the dispatcher
}

type wrapItem struct {
	Contact  router.ContactID
	Number   string
	Channel  string
	Queue    string
	Citizen  string // as shown: the name the citizen gave, or the (masked) number
	Closed   time.Time
	Required bool // the queue requires a disposition before Ready
	// Transferred: the agent transferred the contact away; its disposition
	// goes into the contact's history, not over the final agent's.
	Transferred bool
}

// forcedState is a not-ready a supervisor set on an agent; it holds until
// the agent or a supervisor changes the state explicitly.
type forcedState struct {
	By     router.AgentID
	Reason string
}

// newService builds the Service on any hubAPI (New passes *server.Hub).
func newService(h hubAPI, st Store, opts Options) (*Service, error) {
	if h == nil || st == nil {
		return nil, errors.New("console: hub and store are required")
	}
	opts.defaults()
	ctx, cancel := context.WithCancel(context.Background())
	log := opts.Logger.With("component", "console")
	sdb, _ := st.(SessionStore) // *store.Store: sign-ins survive a restart
	s := &Service{
		hub: h, st: st, opts: opts, log: log,
		sessions: newSessions(opts.SessionTTL, sdb, log),
		guard:    newLoginGuard(opts),
		ctx:      ctx, cancel: cancel,
		m:       newMirror(opts.MaskNumbers),
		conns:   make(map[string]*conn),
		supers:  make(map[*conn]struct{}),
		follows: make(map[router.ContactID]map[*conn]struct{}),
		wrap:    make(map[router.AgentID][]wrapItem),
		forced:  make(map[router.AgentID]forcedState),
		grace:   make(map[router.AgentID]*time.Timer),
		gone:    make(map[router.AgentID]time.Time),
		subs:    make(map[router.ContactID]func()),
		out:     make(chan outMsg, 8192),
	}
	s.m.scheduled = opts.ScheduledCallbacks
	s.routes()
	s.wg.Add(1)
	go s.dispatch()
	return s, nil
}

func (s *Service) now() time.Time { return s.opts.Clock() }

// ServeHTTP serves /console, /console/static/..., /api/..., /ws/console and
// redirects / to /console.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Referrer-Policy", "same-origin")
	w.Header().Set("Content-Security-Policy", consoleCSP) // every response, static files included
	s.mux.ServeHTTP(w, r)
}

// Close cuts every console (close code 4009) and stops timers.
func (s *Service) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	for _, c := range s.conns {
		c.kill(closeShutdown, "server shutting down")
	}
	for _, t := range s.grace {
		t.Stop()
	}
	for id := range s.subs {
		s.unsubscribeLocked(id)
	}
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
}

// PhoneRegistered tells consoles whether the agent's SIP phone is
// registered. The sip service calls it on REGISTER / expiry.
func (s *Service) PhoneRegistered(agent router.AgentID, registered bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.m.agent(agent)
	a.Phone = registered
	s.emitLocked("agent_state", *a, s.agentTargets(agent))
}

// AgentState is the agent's routing state as consoles see it ("offline",
// "ready", "not_ready", ...).
func (s *Service) AgentState(agent router.AgentID) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.m.agents[agent]; a != nil {
		return a.State
	}
	return "offline"
}

// CitizenEvent passes what a citizen did in a chat (message, typing, read,
// left) to the console of the agent handling the contact and to supervisors
// following it. It never blocks. The chat service calls it.
func (s *Service) CitizenEvent(ev ChatEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.m.contacts[ev.Contact]
	var targets []*conn
	if c != nil && c.Agent != "" {
		if a := s.conns[c.Agent]; a != nil {
			targets = append(targets, a)
		}
	}
	for f := range s.follows[ev.Contact] {
		targets = append(targets, f)
	}
	if len(targets) == 0 {
		return
	}
	sender := ev.Sender
	if sender == "" {
		sender = "citizen"
	}
	s.emitLocked("chat", chatEventView{Contact: uint64(ev.Contact), Kind: ev.Kind, Seq: ev.Seq,
		Sender: sender, Text: ev.Text, Sent: unixMS(ev.Sent)}, targets)
}

// transferredEvent tells the agent who gave a contact away (and
// supervisors) that it is transferred; with WrapUp it is in their wrap-up.
type transferredEvent struct {
	Contact  uint64       `json:"contact"`
	Channel  string       `json:"channel"`
	Transfer TransferView `json:"transfer"`
	WrapUp   bool         `json:"wrap_up"`
}

type chatEventView struct {
	Contact  uint64 `json:"contact"`
	Kind     string `json:"kind"`
	Seq      int64  `json:"seq,omitempty"`
	Sender   string `json:"sender"`
	SenderID string `json:"sender_id,omitempty"`
	Text     string `json:"text,omitempty"`
	Sent     int64  `json:"sent,omitempty"`
}

// Deliver folds commands into the mirror and fans events out to consoles.
// Called on the hub goroutine; never blocks.
func (s *Service) Deliver(cmds []router.Command) {
	now := s.hub.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var stats []QueueView
	for _, cmd := range cmds {
		switch c := cmd.(type) {
		case router.QueueStats:
			s.m.apply(c, now)
			stats = append(stats, *s.m.queues[c.Stats.Queue])
		case router.Offer:
			s.m.apply(c, now)
			v := *s.m.contacts[c.Contact]
			s.emitLocked("offer", v, s.agentTargets(c.Agent))
		case router.OfferWithdrawn:
			s.m.apply(c, now)
			s.emitLocked("offer_withdrawn", map[string]any{"contact": c.Contact, "agent": c.Agent, "reason": c.Reason},
				s.agentTargets(c.Agent))
		case router.Connected:
			s.m.apply(c, now)
			v := *s.m.contacts[c.Contact]
			s.emitLocked("connected", v, s.agentTargets(c.Agent))
			if c.Channel == router.Chat {
				s.subscribeLocked(c.Contact)
			}
		case router.Transferred:
			s.m.apply(c, now)
			if v := s.m.contacts[c.Contact]; v != nil && c.From != "" && c.Talked {
				s.closedTalkingLocked(c.From, v, now, true)
			}
			s.emitLocked("transferred", transferredEvent{Contact: uint64(c.Contact), Channel: channelName(c.Channel),
				Transfer: transferView(c), WrapUp: c.From != "" && c.Talked}, s.agentTargets(c.From))
		case router.ConsultChanged:
			s.consultChangedLocked(c)
		case router.ContactClosed:
			prev := c.Agent
			if v := s.m.contacts[c.Contact]; v != nil && v.Agent != "" && prev == "" {
				prev = router.AgentID(v.Agent)
			}
			if v := s.m.contacts[c.Contact]; v != nil && prev != "" && v.State == "talking" {
				s.closedTalkingLocked(prev, v, now, false)
			}
			s.m.apply(c, now)
			targets := s.agentTargets(prev) // followers are supervisors: included
			delete(s.follows, c.Contact)
			s.unsubscribeLocked(c.Contact)
			s.emitLocked("contact_closed", map[string]any{"contact": c.Contact, "channel": channelName(c.Channel),
				"reason": endReasonName(c.Reason), "agent": prev}, targets)
		case router.ContactStateChanged:
			var prev string
			if v := s.m.contacts[c.Contact]; v != nil {
				prev = v.Agent
			}
			s.m.apply(c, now)
			var targets []*conn
			if v := s.m.contacts[c.Contact]; v != nil {
				view := *v
				if prev != "" && prev != view.Agent {
					if a := s.conns[prev]; a != nil {
						targets = append(targets, a)
					}
				}
				s.emitLocked("contact_state", view, append(targets, s.agentTargets(router.AgentID(view.Agent))...))
			} else {
				s.emitLocked("contact_state", ContactView{ID: uint64(c.Contact), State: contactStateName(c.State),
					Queue: c.Queue, Since: unixMS(c.At)}, s.superList())
			}
		case router.AgentStateChanged:
			s.m.apply(c, now)
			if c.State == router.Offline {
				delete(s.wrap, c.Agent)
			}
			if c.State == router.Offline || c.State == router.Ready {
				delete(s.forced, c.Agent)
			}
			s.m.agents[c.Agent].ForcedBy = string(s.forced[c.Agent].By)
			s.emitLocked("agent_state", *s.m.agents[c.Agent], s.agentTargets(c.Agent))
		case router.Overflowed, router.Announce:
			s.m.apply(c, now)
			var id router.ContactID
			if o, ok := c.(router.Overflowed); ok {
				id = o.Contact
			} else {
				id = c.(router.Announce).Contact
			}
			if v := s.m.contacts[id]; v != nil {
				s.emitLocked("contact_state", *v, s.superList())
			}
		}
	}
	if len(stats) > 0 {
		// One message per batch to every console: agents show queue totals too.
		all := make([]*conn, 0, len(s.conns))
		for _, c := range s.conns {
			all = append(all, c)
		}
		s.emitLocked("queue_stats", stats, all)
	}
}

// closedTalkingLocked puts a contact the agent was talking to into their
// wrap-up list. When its queue requires a disposition before Ready, the
// agent is held not-ready (reason wrap_up_pending) after the wrap-up until
// it is saved — unless a supervisor already holds them not-ready. Called
// on the hub goroutine: Submit never blocks. s.mu held.
// transferred: the agent transferred it away (its disposition goes into
// the contact's history).
func (s *Service) closedTalkingLocked(agent router.AgentID, v *ContactView, now time.Time, transferred bool) {
	cit := v.Citizen
	if n := v.Attrs["name"]; n != "" {
		cit = n
	}
	w := wrapItem{Contact: router.ContactID(v.ID), Number: v.Number, Channel: v.Channel, Queue: v.Queue,
		Citizen: cit, Closed: now, Required: s.opts.DispositionRequired[v.Queue], Transferred: transferred}
	s.pushWrapLocked(agent, w)
	if !w.Required {
		return
	}
	if _, forced := s.forced[agent]; forced {
		return
	}
	if err := s.hub.Submit(router.AgentStateRequested{Agent: agent, State: router.NotReady, Reason: ReasonWrapUpPending, Next: true}); err != nil {
		s.log.Warn("hold agent for disposition", "agent_id", agent, "err", err)
	}
}

// ReasonWrapUpPending is the not-ready reason of an agent held until a
// required disposition is saved.
const ReasonWrapUpPending = "wrap_up_pending"

// ReasonConnectionLost is the not-ready reason of an agent whose console
// was on a cluster node that died: no offer goes to the empty seat while
// the agent may still come back on another node (docs/cluster.md).
const ReasonConnectionLost = "connection_lost"

func (s *Service) pushWrapLocked(a router.AgentID, w wrapItem) {
	l := append(s.wrap[a], w)
	if len(l) > 8 {
		l = l[len(l)-8:]
	}
	s.wrap[a] = l
}

// agentTargets is the agent's own console plus every supervisor.
func (s *Service) agentTargets(a router.AgentID) []*conn {
	out := s.superList()
	if a == "" {
		return out
	}
	if c := s.conns[string(a)]; c != nil && c.sess.Role == RoleAgent {
		out = append(out, c)
	}
	return out
}

func (s *Service) superList() []*conn {
	out := make([]*conn, 0, len(s.supers)+1)
	for c := range s.supers {
		out = append(out, c)
	}
	return out
}

// emitLocked encodes one event once and hands it, with its targets fixed
// now, to the dispatcher goroutine, which queues it on each connection; the
// hub goroutine never does the per-console work. Targets must not repeat a
// connection. If the dispatcher falls behind by a whole queue, every
// console is cut off (4008) and resyncs from a snapshot. s.mu held.
func (s *Service) emitLocked(kind string, data any, targets []*conn) {
	s.seq++
	if len(targets) == 0 {
		return
	}
	b, err := json.Marshal(serverMsg{T: "event", Seq: s.seq, Kind: kind, Data: data})
	if err != nil {
		s.log.Error("encode event", "kind", kind, "err", err)
		return
	}
	select {
	case s.out <- outMsg{b: b, targets: targets}:
	default:
		s.log.Warn("console dispatcher overloaded; resyncing every console")
		for _, c := range s.conns {
			c.kill(closeSlow, "overloaded; resync")
		}
	}
}

type outMsg struct {
	b       []byte
	snap    *serverMsg // encoded by the dispatcher when b is nil
	targets []*conn
}

// sendSnapshotLocked queues c's snapshot through the dispatcher: the copy is
// taken now, under s.mu and in order with event targets, but the (large,
// for supervisors) JSON encoding happens on the dispatcher, off the hub
// goroutine and off the lock. s.mu held.
func (s *Service) sendSnapshotLocked(c *conn) {
	sn := s.snapshotLocked(c.sess)
	m := &serverMsg{T: "snapshot", Seq: s.seq, Data: sn}
	select {
	case s.out <- outMsg{snap: m, targets: []*conn{c}}:
	default:
		c.kill(closeSlow, "overloaded; resync")
		return
	}
	if len(sn.rest) == 0 {
		return
	}
	// The rest of a large agent list, as of the same seq, right behind the
	// snapshot (encoded by the dispatcher after the snapshot went out):
	// the wallboard draws its first screen before reading it.
	select {
	case s.out <- outMsg{snap: &serverMsg{T: "agents", Seq: s.seq, Data: sn.rest}, targets: []*conn{c}}:
	default:
		c.kill(closeSlow, "overloaded; resync")
	}
}

// dispatch pushes events to connections in emit order.
func (s *Service) dispatch() {
	defer s.wg.Done()
	for {
		select {
		case m := <-s.out:
			if m.b == nil && m.snap != nil {
				b, err := json.Marshal(m.snap)
				if err != nil {
					s.log.Error("encode snapshot", "err", err)
					continue
				}
				m.b = b
			}
			for _, c := range m.targets {
				c.push(m.b)
			}
			if m.snap != nil {
				m.targets[0].snapOnce.Do(func() { close(m.targets[0].snapped) })
			}
		case <-s.ctx.Done():
			return
		}
	}
}

// subscribeLocked starts following the citizen's side of a chat. The chat
// service is called off the hub goroutine. s.mu held.
func (s *Service) subscribeLocked(id router.ContactID) {
	if s.opts.Chat == nil || s.closed {
		return
	}
	if _, ok := s.subs[id]; ok {
		return
	}
	s.subs[id] = nil
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		cancel := s.opts.Chat.Subscribe(id, s.CitizenEvent)
		s.mu.Lock()
		defer s.mu.Unlock()
		if fn, ok := s.subs[id]; ok && fn == nil {
			s.subs[id] = cancel
			return
		}
		cancel() // closed meanwhile
	}()
}

func (s *Service) unsubscribeLocked(id router.ContactID) {
	fn, ok := s.subs[id]
	if !ok {
		return
	}
	delete(s.subs, id)
	if fn != nil {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			fn()
		}()
	}
}
