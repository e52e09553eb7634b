package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"onecall/router"
	"onecall/store"
)

// snapshot is what a console receives on (re)connect.
type snapshot struct {
	Me          me                  `json:"me"`
	ServerTime  int64               `json:"server_time"`
	Agent       *AgentView          `json:"agent,omitempty"`
	Contacts    []ContactView       `json:"contacts"`
	WrapUp      []wrapView          `json:"wrap_up"`
	Queues      []QueueView         `json:"queues"`
	Agents      []AgentView         `json:"agents,omitempty"`
	Chart       []chartBin          `json:"chart,omitempty"`
	Reasons     []string            `json:"reasons"`
	Disposition map[string][]string `json:"dispositions"`
	Canned      map[string][]Label  `json:"canned"`
	Names       Names               `json:"names"`
	QueueInfo   []QueueInfo         `json:"queue_info"`
	// DispositionRequired lists the queues whose contacts need a saved
	// disposition before Ready.
	DispositionRequired []string `json:"disposition_required"`
	// CanMute: the call controls can mute the agent toward the citizen.
	CanMute bool `json:"can_mute"`
	// AgentsTotal is the supervisor's whole agent list; when it exceeds
	// Agents (the first screen's worth, by id), an "agents" message with
	// the rest follows the snapshot at once. AgentCounts counts all of
	// them by state for the first screen's figures.
	AgentsTotal int            `json:"agents_total,omitempty"`
	AgentCounts map[string]int `json:"agent_counts,omitempty"`
	rest        []AgentView    // the agents after the first screen's worth, not sent in the snapshot
}

// snapFirstAgents is how many agents (by id) a supervisor's snapshot
// carries itself: the wallboard's first screen draws 100 rows.
const snapFirstAgents = 100

type me struct {
	User    string `json:"user"`
	Display string `json:"display"`
	Role    string `json:"role"`
}

type wrapView struct {
	Contact  uint64 `json:"contact"`
	Number   string `json:"number"`
	Channel  string `json:"channel"`
	Queue    string `json:"queue"`
	Citizen  string `json:"citizen,omitempty"`
	Closed   int64  `json:"closed"`             // unix ms
	Required bool   `json:"required,omitempty"` // disposition required before Ready
}

func (s *Service) snapshotLocked(sess *session) snapshot {
	sn := snapshot{
		Me:         me{User: sess.User, Display: sess.Display, Role: sess.Role},
		ServerTime: unixMS(s.now()), Queues: s.m.queueList(), Reasons: s.opts.NotReadyReasons,
		Disposition: s.opts.Dispositions, Canned: s.opts.CannedResponses, WrapUp: []wrapView{}, Names: s.opts.Names,
		QueueInfo:           s.opts.Queues,
		DispositionRequired: []string{},
	}
	_, sn.CanMute = s.opts.Calls.(CallMuter)
	for q, req := range s.opts.DispositionRequired {
		if req {
			sn.DispositionRequired = append(sn.DispositionRequired, q)
		}
	}
	sort.Strings(sn.DispositionRequired)
	if sess.Role == RoleAgent {
		a := *s.m.agent(router.AgentID(sess.User))
		sn.Agent = &a
		sn.Contacts = s.m.contactList(func(c *ContactView) bool { return c.Agent == sess.User })
		for _, w := range s.wrap[router.AgentID(sess.User)] {
			sn.WrapUp = append(sn.WrapUp, wrapView{Contact: uint64(w.Contact), Number: w.Number, Channel: w.Channel,
				Queue: w.Queue, Citizen: w.Citizen, Closed: unixMS(w.Closed), Required: w.Required})
		}
	} else {
		sn.Agents = s.m.agentList()
		sn.AgentsTotal = len(sn.Agents)
		if len(sn.Agents) > snapFirstAgents {
			sn.Agents, sn.rest = sn.Agents[:snapFirstAgents:snapFirstAgents], sn.Agents[snapFirstAgents:]
			sn.AgentCounts = make(map[string]int, len(s.m.byState))
			for _, a := range sn.Agents {
				sn.AgentCounts[a.State]++
			}
			for _, a := range sn.rest {
				sn.AgentCounts[a.State]++
			}
		}
		sn.Chart = s.m.chart()
		sn.Contacts = []ContactView{}
	}
	return sn
}

type contactArgs struct {
	Contact     uint64 `json:"contact"`
	Reason      string `json:"reason"`
	Text        string `json:"text"`
	Seq         int64  `json:"seq"`
	Queue       string `json:"queue"`
	Agent       string `json:"agent"`
	Note        string `json:"note"`
	Target      string `json:"target"`
	Number      string `json:"number"`
	Disposition string `json:"disposition"`
	Notes       string `json:"notes"`
	Then        string `json:"then"` // after wrap-up: "ready" or a not-ready reason
	State       string `json:"state"`
	Next        bool   `json:"next"`
	Priority    *int   `json:"priority"`
	Citizen     string `json:"citizen"`
	Mode        string `json:"mode"`     // follow on a voice call: listen, whisper, barge
	Language    string `json:"language"` // interpret: an interpreter of this language from its queue
}

var errForbidden = errors.New("not allowed for your role")

func (s *Service) handle(c *conn, m clientMsg) (any, error) {
	var a contactArgs
	if len(m.Args) > 0 {
		if err := json.Unmarshal(m.Args, &a); err != nil {
			return nil, fmt.Errorf("bad arguments for %q: %s", m.Cmd, shortErr(err))
		}
	}
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	user := router.AgentID(c.sess.User)
	isAgent := c.sess.Role == RoleAgent
	super := func() error {
		if isAgent {
			return errForbidden
		}
		return nil
	}
	agentOnly := func() error {
		if !isAgent {
			return errors.New("only agents take contacts")
		}
		return nil
	}
	switch m.Cmd {
	case "ping":
		return map[string]int64{"server_time": unixMS(s.now())}, nil
	case "resync":
		s.mu.Lock()
		s.sendSnapshotLocked(c)
		s.mu.Unlock()
		return nil, nil
	case "state":
		if err := agentOnly(); err != nil {
			return nil, err
		}
		s.mu.Lock()
		offline := s.m.agent(user).State == "offline"
		pending := s.pendingRequiredLocked(user)
		s.mu.Unlock()
		if pending != 0 && a.State == "ready" {
			return nil, codedf("wrap_up_pending", "save the disposition of contact %d before Ready", pending)
		}
		if offline && (a.State == "ready" || a.State == "not_ready") {
			// Back from "log out": log in to routing again first.
			if err := s.do(ctx, router.AgentLoggedIn{Agent: user, Ready: a.State == "ready"}); err != nil || a.State == "ready" {
				return nil, err
			}
		}
		err := s.requestState(ctx, user, a.State, a.Reason, a.Next, "")
		if errors.Is(err, router.ErrLoggedOut) && !offline && (a.State == "ready" || a.State == "not_ready") {
			// Logged out of routing while a contact still ran (the console
			// was away past its grace): the agent is back, so log in again.
			// Refused, the agent stayed out until the contact ended, then
			// offline with the console open (the stuck-state hunt).
			err = s.do(ctx, router.AgentLoggedIn{Agent: user, Ready: a.State == "ready"})
			if err == nil && a.State != "ready" {
				err = s.requestState(ctx, user, a.State, a.Reason, a.Next, "")
			}
		}
		if err != nil {
			return nil, err
		}
		s.unforce(user) // the agent's own explicit choice
		return nil, nil
	case "logout":
		if err := agentOnly(); err != nil {
			return nil, err
		}
		return nil, s.do(ctx, router.AgentLoggedOut{Agent: user})
	case "accept":
		if err := s.ownContact(agentOnly, user, a.Contact, "offered"); err != nil {
			return nil, err
		}
		return nil, s.do(ctx, router.OfferAccepted{Contact: router.ContactID(a.Contact), Agent: user})
	case "reject":
		if err := s.ownContact(agentOnly, user, a.Contact, "offered"); err != nil {
			return nil, err
		}
		return nil, s.do(ctx, router.OfferRejected{Contact: router.ContactID(a.Contact), Agent: user, Reason: clip(a.Reason, 100)})
	case "send":
		if err := s.ownContact(agentOnly, user, a.Contact, "talking"); err != nil {
			return nil, err
		}
		return s.agentSend(ctx, user, router.ContactID(a.Contact), a.Text)
	case "typing", "read":
		if err := s.ownContact(agentOnly, user, a.Contact, "talking"); err != nil {
			return nil, err
		}
		if s.opts.Chat == nil {
			return nil, errors.New("chat unavailable")
		}
		if m.Cmd == "typing" {
			return nil, s.opts.Chat.AgentTyping(router.ContactID(a.Contact), user)
		}
		return nil, s.opts.Chat.AgentRead(router.ContactID(a.Contact), user, a.Seq)
	case "end":
		if err := s.ownContact(agentOnly, user, a.Contact, "talking"); err != nil {
			return nil, err
		}
		return nil, s.endContact(ctx, user, router.ContactID(a.Contact))
	case "transfer":
		if err := agentOnly(); err != nil {
			return nil, err
		}
		return nil, s.transfer(ctx, user, a)
	case "interpret", "interpret_drop":
		if err := agentOnly(); err != nil {
			return nil, err
		}
		return s.interpret(ctx, m.Cmd, user, a)
	case "transfer_targets":
		return s.targets(ctx, user), nil
	case "consult":
		if err := agentOnly(); err != nil {
			return nil, err
		}
		return nil, s.consult(ctx, user, a)
	case "consult_cancel", "consult_complete", "conference":
		if err := agentOnly(); err != nil {
			return nil, err
		}
		step := map[string]router.ConsultStep{"consult_cancel": router.ConsultCancelled,
			"consult_complete": router.ConsultCompleted, "conference": router.ConsultConference}[m.Cmd]
		return nil, s.consultEnd(ctx, user, a, step)
	case "contact_history":
		return s.contactHistory(ctx, c.sess, router.ContactID(a.Contact))
	case "mute", "unmute":
		if err := s.ownContact(agentOnly, user, a.Contact, "talking"); err != nil {
			return nil, err
		}
		mu, ok := s.opts.Calls.(CallMuter)
		if !ok {
			return nil, errors.New("mute unavailable")
		}
		id := router.ContactID(a.Contact)
		op := mu.Unmute
		if m.Cmd == "mute" {
			op = mu.Mute
		}
		if err := op(ctx, id); err != nil {
			return nil, err
		}
		s.setMuted(id, m.Cmd == "mute")
		return nil, nil
	case "hold", "resume", "hangup":
		if err := s.ownContact(agentOnly, user, a.Contact, "talking"); err != nil {
			return nil, err
		}
		if s.opts.Calls == nil {
			return nil, errors.New("calls unavailable")
		}
		id := router.ContactID(a.Contact)
		switch m.Cmd {
		case "hold", "resume":
			op := s.opts.Calls.Resume
			if m.Cmd == "hold" {
				op = s.opts.Calls.Hold
			}
			if err := op(ctx, id); err != nil {
				return nil, err
			}
			s.setHeld(id, m.Cmd == "hold")
			return nil, nil
		}
		return nil, s.opts.Calls.Hangup(ctx, id)
	case "wrapup":
		if err := agentOnly(); err != nil {
			return nil, err
		}
		return s.wrapUp(ctx, user, a)
	case "wrapup_done":
		if err := agentOnly(); err != nil {
			return nil, err
		}
		s.mu.Lock()
		pending := s.pendingRequiredLocked(user)
		s.mu.Unlock()
		if pending != 0 {
			return nil, codedf("wrap_up_pending", "save the disposition of contact %d first", pending)
		}
		return nil, s.do(ctx, router.WrapUpDone{Agent: user})
	case "history":
		if err := agentOnly(); err != nil {
			return nil, err
		}
		return s.history(ctx, user, router.ContactID(a.Contact))
	case "transcript":
		return s.transcript(ctx, c.sess, router.ContactID(a.Contact))
	// Supervisor commands.
	case "force_state":
		if err := super(); err != nil {
			return nil, err
		}
		if err := s.requestState(ctx, router.AgentID(a.Agent), a.State, a.Reason, a.Next, user); err != nil {
			return nil, err
		}
		if a.State == "not_ready" {
			s.force(router.AgentID(a.Agent), forcedState{By: user, Reason: a.Reason})
		} else {
			s.unforce(router.AgentID(a.Agent))
		}
		return nil, nil
	case "force_logout":
		if err := super(); err != nil {
			return nil, err
		}
		return nil, s.do(ctx, router.AgentLoggedOut{Agent: router.AgentID(a.Agent), By: user})
	case "move":
		if err := super(); err != nil {
			return nil, err
		}
		if a.Queue == "" && a.Priority == nil {
			return nil, errors.New("move needs a queue or a priority")
		}
		return nil, s.do(ctx, router.ContactMoved{Contact: router.ContactID(a.Contact), ToQueue: a.Queue, Priority: a.Priority, By: user})
	case "follow", "unfollow":
		if err := super(); err != nil {
			return nil, err
		}
		if id := router.ContactID(a.Contact); s.isVoice(id) {
			return s.monitor(id, user, a.Mode, m.Cmd == "unfollow") // monitor.go
		}
		return s.follow(ctx, c, router.ContactID(a.Contact), m.Cmd == "follow")
	case "waiting":
		if err := super(); err != nil {
			return nil, err
		}
		return s.waiting(ctx, a.Queue), nil
	case "agents":
		if err := super(); err != nil {
			return nil, err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.m.agentList(), nil
	case "chart":
		if err := super(); err != nil {
			return nil, err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.m.chart(), nil
	case "":
		return nil, errors.New("missing cmd")
	}
	return nil, fmt.Errorf("unknown command %q", clip(m.Cmd, 40))
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// do submits ev and waits for the engine's verdict.
func (s *Service) do(ctx context.Context, ev router.Event) error {
	_, err := s.hub.Do(ctx, ev)
	return err
}

// ownContact checks that contact is live and held by agent in want state
// ("offered" or "talking").
func (s *Service) ownContact(check func() error, agent router.AgentID, id uint64, want string) error {
	if err := check(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.m.contacts[router.ContactID(id)]
	if c == nil || c.Agent != string(agent) {
		return fmt.Errorf("contact %d is not yours", id)
	}
	if c.State != want {
		return fmt.Errorf("contact %d is %s, not %s", id, c.State, want)
	}
	return nil
}

func (s *Service) requestState(ctx context.Context, agent router.AgentID, state, reason string, next bool, by router.AgentID) error {
	if agent == "" {
		return errors.New("missing agent")
	}
	ev := router.AgentStateRequested{Agent: agent, Next: next, By: by}
	switch state {
	case "ready":
		ev.State = router.Ready
	case "not_ready":
		ev.State = router.NotReady
		ok := false
		for _, r := range s.opts.NotReadyReasons {
			ok = ok || r == reason
		}
		if !ok && !(by != "" && reason != "") {
			return fmt.Errorf("unknown not-ready reason %q", clip(reason, 40))
		}
		ev.Reason = clip(reason, 40)
	case "offline":
		return s.do(ctx, router.AgentLoggedOut{Agent: agent, By: by})
	default:
		return fmt.Errorf("unknown state %q (ready, not_ready)", clip(state, 20))
	}
	return s.do(ctx, ev)
}

// loginAgent logs an agent into routing when their console connects. An
// agent the engine does not know yet is first defined from the user record.
func (s *Service) loginAgent(agent router.AgentID) {
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	if _, err := s.hub.Do(ctx, router.AgentLoggedIn{Agent: agent}); err == nil || ctx.Err() != nil {
		return
	}
	u, err := s.st.UserByName(ctx, string(agent))
	if err != nil || u.Disabled {
		return
	}
	if _, err := s.hub.Do(ctx, router.AgentUpserted{Agent: agentDef(u.Username, u.Skills, u.VoiceCap, u.ChatCap, u.Disabled)}); err != nil {
		s.log.Warn("define agent", "agent_id", agent, "err", err)
		return
	}
	if _, err := s.hub.Do(ctx, router.AgentLoggedIn{Agent: agent}); err != nil {
		s.log.Warn("agent login", "agent_id", agent, "err", err)
	}
}

func agentDef(name string, skills map[string]int, voice, chat int, disabled bool) router.AgentDef {
	return router.AgentDef{ID: router.AgentID(name), Skills: skills, Voice: routerCap(voice), Chat: routerCap(chat), Disabled: disabled}
}

// AgentDef is the routing definition of a stored user. Stored capacities
// are explicit (0 = none); the router reads 0 as "default" and a negative
// value as none.
func AgentDef(u store.User) router.AgentDef {
	return agentDef(u.Username, u.Skills, u.VoiceCap, u.ChatCap, u.Disabled)
}

func routerCap(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}

func (s *Service) agentSend(ctx context.Context, agent router.AgentID, id router.ContactID, text string) (any, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, errors.New("empty message")
	}
	if len([]rune(text)) > maxChatText {
		return nil, fmt.Errorf("message longer than %d characters", maxChatText)
	}
	if s.opts.Chat == nil {
		return nil, errors.New("chat unavailable")
	}
	seq, err := s.opts.Chat.AgentSend(ctx, id, agent, text)
	if err != nil {
		return nil, err
	}
	ev := chatEventView{Contact: uint64(id), Kind: "message", Seq: seq, Sender: "agent", SenderID: string(agent),
		Text: text, Sent: unixMS(s.now())}
	s.mu.Lock()
	var targets []*conn
	for f := range s.follows[id] {
		targets = append(targets, f)
	}
	s.emitLocked("chat", ev, targets)
	s.mu.Unlock()
	return map[string]int64{"seq": seq}, nil
}

func (s *Service) endContact(ctx context.Context, agent router.AgentID, id router.ContactID) error {
	s.mu.Lock()
	ch := s.m.contacts[id].Channel
	s.mu.Unlock()
	if ch == "voice" && s.opts.Calls != nil {
		return s.opts.Calls.Hangup(ctx, id)
	}
	if ch == "chat" && s.opts.Chat != nil {
		return s.opts.Chat.EndByAgent(ctx, id, agent)
	}
	return s.do(ctx, router.ContactEnded{Contact: id, Reason: router.EndCompleted})
}

func (s *Service) follow(ctx context.Context, c *conn, id router.ContactID, on bool) (any, error) {
	s.mu.Lock()
	if !on {
		delete(s.follows[id], c)
		s.mu.Unlock()
		return nil, nil
	}
	v := s.m.contacts[id]
	if v == nil || v.Channel != "chat" {
		s.mu.Unlock()
		return nil, fmt.Errorf("contact %d is not a live chat", id)
	}
	if s.follows[id] == nil {
		s.follows[id] = make(map[*conn]struct{})
	}
	s.follows[id][c] = struct{}{}
	s.mu.Unlock()
	if s.opts.Chat == nil {
		return []ChatLine{}, nil
	}
	return s.opts.Chat.Transcript(ctx, id)
}

func (s *Service) transcript(ctx context.Context, sess *session, id router.ContactID) (any, error) {
	if s.opts.Chat == nil {
		return nil, errors.New("chat unavailable")
	}
	if sess.Role == RoleAgent && !s.mayRead(ctx, router.AgentID(sess.User), id) {
		return nil, fmt.Errorf("contact %d is not yours", id)
	}
	lines, err := s.opts.Chat.Transcript(ctx, id)
	if lines == nil {
		lines = []ChatLine{}
	}
	return lines, err
}

// querier is server.Hub's Query, used when available for the engine's
// own view of a queue (positions, effective priorities, reasons).
type querier interface {
	Query(ctx context.Context, fn func(e *router.Engine)) error
}

// waiting lists the live contacts of queue ("" = all): the mirror's view,
// completed with the engine's positions, priorities and reasons.
func (s *Service) waiting(ctx context.Context, queue string) []ContactView {
	s.mu.Lock()
	list := s.m.contactList(func(v *ContactView) bool { return queue == "" || v.Queue == queue })
	s.mu.Unlock()
	q, ok := s.hub.(querier)
	if !ok || queue == "" {
		return list
	}
	var ws []router.ContactView
	if err := q.Query(ctx, func(e *router.Engine) { ws = e.Waiting(queue) }); err != nil {
		return list
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m.withPlaces(list, ws)
}

// withPlaces completes list (the mirror's contacts of a queue) with ws, the
// engine's waiting contacts of that queue in line: their positions,
// priorities and reasons; those the mirror has not seen yet (arrived
// before this console started, or their commands still on their way) are
// added. A contact the mirror shows waiting that the engine does not list
// has no place in line (pinned to an agent, parked, or offered or ended
// by commands still on their way): its position is cleared, not left at
// the last announced one.
func (m *mirror) withPlaces(list []ContactView, ws []router.ContactView) []ContactView {
	idx := make(map[uint64]int, len(list))
	for i := range list {
		idx[list[i].ID] = i
		if list[i].State == "waiting" {
			list[i].Position = 0
		}
	}
	for _, w := range ws {
		i, ok := idx[uint64(w.ID)]
		if !ok {
			list = append(list, ContactView{ID: uint64(w.ID), Channel: channelName(w.Channel), Queue: w.Queue,
				State: contactStateName(w.State), Citizen: m.citizen(w.Channel, w.Citizen), Arrived: unixMS(w.Arrived)})
			i = len(list) - 1
		}
		list[i].Position, list[i].Priority = w.Position, w.Priority
		if w.Reason != "" {
			list[i].Reason = w.Reason
		}
	}
	return list
}

// force records a supervisor's not-ready on agent and tells the agent
// (agent_state with forced_by).
func (s *Service) force(agent router.AgentID, f forcedState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.m.agent(agent)
	if a.State == "offline" {
		return
	}
	s.forced[agent] = f
	a.ForcedBy = string(f.By)
	s.emitLocked("agent_state", *a, s.agentTargets(agent))
}

func (s *Service) unforce(agent router.AgentID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.forced[agent]; !ok {
		return
	}
	delete(s.forced, agent)
	a := s.m.agent(agent)
	a.ForcedBy = ""
	s.emitLocked("agent_state", *a, s.agentTargets(agent))
}

// setMuted marks a call muted (since now) or unmuted and tells the agent
// and supervisors, so the console shows the muted state with its timer.
func (s *Service) setMuted(id router.ContactID, muted bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.m.contacts[id]
	if v == nil {
		return
	}
	v.Muted = 0
	if muted {
		v.Muted = unixMS(s.now())
	}
	s.emitLocked("contact_state", *v, s.agentTargets(router.AgentID(v.Agent)))
}

// SetHeld is setHeld for a hold the console did not ask for (the agent's
// phone held or resumed the citizen: sip.Options.HoldChanged).
func (s *Service) SetHeld(id router.ContactID, held bool) { s.setHeld(id, held) }

// setHeld marks a call held (since now) or resumed and tells the agent and
// supervisors, so the console shows the held state with its timer.
func (s *Service) setHeld(id router.ContactID, held bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.m.contacts[id]
	if v == nil {
		return
	}
	v.Held = 0
	if held {
		v.Held = unixMS(s.now())
	}
	s.emitLocked("contact_state", *v, s.agentTargets(router.AgentID(v.Agent)))
}
