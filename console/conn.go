package console

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"onecall/router"
)

const (
	maxMessage   = 16 << 10 // bytes per console message
	maxChatText  = 4000     // characters per chat message
	writeTimeout = 10 * time.Second
	pongWait     = 60 * time.Second
	pingEvery    = 25 * time.Second
)

// conn is one console WebSocket. push never blocks; a full queue kills the
// connection (the browser reconnects and resyncs from a snapshot).
type conn struct {
	s       *Service
	ws      *websocket.Conn
	sess    *session
	send    chan []byte
	done    chan struct{}
	once    sync.Once
	code    int    // set once before done closes
	text    string // close reason
	limiter *rate.Limiter
	// snapped closes once the first snapshot is queued on send: commands
	// are answered only after it, so the snapshot is always first.
	snapped  chan struct{}
	snapOnce sync.Once
	src      string // client address, for the audit trail
}

func (c *conn) push(b []byte) {
	select {
	case <-c.done:
		return
	default:
	}
	select {
	case c.send <- b:
	default:
		c.kill(closeSlow, "too slow; resync")
	}
}

func (c *conn) kill(code int, text string) {
	c.once.Do(func() {
		c.code, c.text = code, text
		close(c.done)
	})
}

var wsBufferPool = &sync.Pool{}

func (s *Service) upgrader() *websocket.Upgrader {
	return &websocket.Upgrader{
		ReadBufferSize:  1024,
		WriteBufferSize: 4096,
		WriteBufferPool: writePool{},
		CheckOrigin:     s.originOK,
	}
}

// writePool lets idle connections hold no write buffer.
type writePool struct{}

func (writePool) Get() any  { return wsBufferPool.Get() }
func (writePool) Put(v any) { wsBufferPool.Put(v) }

// serveWS upgrades an authenticated console. The CSRF token must be passed
// as ?csrf= so a cross-site page cannot open a console with the cookie.
func (s *Service) serveWS(w http.ResponseWriter, r *http.Request) {
	sess := s.sessionOf(r)
	if sess == nil {
		http.Error(w, "sign in first", http.StatusUnauthorized)
		return
	}
	if !csrfOK(sess, r.URL.Query().Get("csrf")) {
		http.Error(w, "bad csrf token", http.StatusForbidden)
		return
	}
	if !s.originOK(r) {
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return
	}
	ws, err := s.upgrader().Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade answered
	}
	ws.SetReadLimit(maxMessage)
	c := &conn{s: s, ws: ws, sess: sess, send: make(chan []byte, s.opts.SendQueue), done: make(chan struct{}),
		limiter: rate.NewLimiter(rate.Limit(s.opts.MsgRate), s.opts.MsgBurst), snapped: make(chan struct{}), src: sourceOf(r)}
	if sess.Role == RoleAgent {
		// Log in to routing (not ready) before the snapshot and before any
		// command is read: the console's own login can never land after
		// the agent's first "state ready".
		s.mu.Lock()
		offline := s.m.agent(router.AgentID(sess.User)).State == "offline"
		s.mu.Unlock()
		if offline {
			s.loginAgent(router.AgentID(sess.User))
		}
	}
	if !s.register(c) {
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(closeShutdown, "shutting down"), time.Now().Add(time.Second))
		ws.Close()
		return
	}
	go c.writeLoop()
	go c.readLoop()
}

// register makes c the live console of its user, taking over an older one,
// and queues the snapshot first, atomically with event fan-out.
func (s *Service) register(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if old := s.conns[c.sess.User]; old != nil {
		s.unregisterLocked(old)
		old.kill(closeTakenOver, "taken over by another window")
	}
	s.wg.Add(2) // under mu with closed checked: never races Close's Wait
	s.conns[c.sess.User] = c
	if c.sess.Role != RoleAgent {
		s.supers[c] = struct{}{}
	}
	agent := router.AgentID(c.sess.User)
	if t := s.grace[agent]; t != nil {
		t.Stop()
		delete(s.grace, agent)
	}
	delete(s.gone, agent)
	if c.sess.Role == RoleAgent {
		s.m.agent(agent).Online = true
		if s.opts.Presence != nil {
			s.opts.Presence(agent, true)
		}
	}
	s.sendSnapshotLocked(c)
	if c.sess.Role == RoleAgent {
		s.emitLocked("agent_state", *s.m.agent(agent), s.superList())
	}
	return true
}

func (s *Service) unregisterLocked(c *conn) {
	if s.conns[c.sess.User] == c {
		delete(s.conns, c.sess.User)
		if c.sess.Role == RoleAgent {
			agent := router.AgentID(c.sess.User)
			a := s.m.agent(agent)
			a.Online = false
			s.emitLocked("agent_state", *a, s.superList())
			if !s.closed && a.State != "offline" {
				s.grace[agent] = time.AfterFunc(s.opts.LogoutGrace, func() { s.graceExpired(agent) })
				s.gone[agent] = s.now()
			}
		}
	}
	delete(s.supers, c)
	for id, fs := range s.follows {
		delete(fs, c)
		if len(fs) == 0 {
			delete(s.follows, id)
		}
	}
}

func (s *Service) graceExpired(agent router.AgentID) {
	s.mu.Lock()
	_, back := s.conns[string(agent)]
	delete(s.grace, agent)
	s.mu.Unlock()
	if !back && s.opts.Elsewhere != nil && s.opts.Elsewhere(agent) {
		s.log.Info("console gone from this node, live on another", "agent_id", agent)
		s.mu.Lock()
		delete(s.gone, agent)
		s.mu.Unlock()
		return
	}
	if !back {
		s.log.Info("console gone; logging agent out", "agent_id", agent)
		_ = s.hub.Submit(router.AgentLoggedOut{Agent: agent})
		if s.opts.Presence != nil {
			s.opts.Presence(agent, false)
		}
	}
}

func (c *conn) writeLoop() {
	defer c.s.wg.Done()
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	defer c.ws.Close()
	for {
		select { // a killed connection stops writing data at once
		case <-c.done:
			c.writeClose()
			return
		default:
		}
		select {
		case b := <-c.send:
			c.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
			if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
				c.kill(websocket.CloseAbnormalClosure, "write failed")
				return
			}
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeTimeout)); err != nil {
				c.kill(websocket.CloseAbnormalClosure, "ping failed")
				return
			}
		case <-c.done:
			c.writeClose()
			return
		case <-c.s.ctx.Done():
			_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(closeShutdown, "shutting down"),
				time.Now().Add(time.Second))
			return
		}
	}
}

// writeClose sends the close frame for the kill reason (not for transport
// failures). Called on the writer goroutine after done closed.
func (c *conn) writeClose() {
	if c.code == websocket.CloseAbnormalClosure || c.code == 0 {
		return
	}
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(c.code, c.text), time.Now().Add(time.Second))
}

func (c *conn) readLoop() {
	defer c.s.wg.Done()
	defer func() {
		c.s.mu.Lock()
		c.s.unregisterLocked(c)
		c.s.mu.Unlock()
		c.kill(websocket.CloseAbnormalClosure, "read ended")
	}()
	c.ws.SetReadDeadline(time.Now().Add(pongWait))
	c.ws.SetPongHandler(func(string) error { return c.ws.SetReadDeadline(time.Now().Add(pongWait)) })
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		c.ws.SetReadDeadline(time.Now().Add(pongWait))
		select {
		case <-c.done:
			return
		case <-c.snapped: // the snapshot is queued before any reply
		}
		var m clientMsg
		if err := json.Unmarshal(data, &m); err != nil {
			c.reply(serverMsg{T: "error", Cmd: "", Error: "malformed message: " + shortErr(err)})
			continue
		}
		if !c.limiter.Allow() {
			c.reply(serverMsg{T: "error", ID: m.ID, Cmd: m.Cmd, Error: "rate limited"})
			continue
		}
		if s := c.s.sessions.get(c.sess.Token, c.s.now()); s == nil {
			c.kill(closeSignedOut, "signed out")
			return
		}
		data2, err := c.s.handle(c, m)
		c.s.auditCmd(c, m, err)
		if err != nil {
			c.reply(errorMsg(m.ID, m.Cmd, err))
			continue
		}
		c.reply(serverMsg{T: "reply", ID: m.ID, Cmd: m.Cmd, Data: data2})
	}
}

func (c *conn) reply(m serverMsg) {
	b, err := json.Marshal(m)
	if err != nil {
		return
	}
	c.push(b)
}

func shortErr(err error) string {
	s := err.Error()
	if len(s) > 120 {
		s = s[:120]
	}
	return s
}
