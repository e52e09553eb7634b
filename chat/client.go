package chat

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"onecall/router"
	"onecall/server"
)

type outItem struct {
	data []byte
	seq  int64
}

// client is one citizen WebSocket connection. It has one reader goroutine;
// a writer goroutine runs only while frames are queued (idle connections
// hold no writer goroutine and no write buffer), and a ping timer.
type client struct {
	s  *Service
	ws *websocket.Conn
	ip string

	wmu         sync.Mutex // guards the fields below
	queue       []outItem  // bounded by Options.SendBuffer
	writing     bool       // a writer goroutine is running
	closed      bool
	finished    bool
	closeCode   int
	closeReason string
	ping        *time.Timer

	mu sync.Mutex // guards cv
	cv *conv

	frames *rate.Limiter // frames from the citizen; reader goroutine only
}

func (s *Service) serveWS(w http.ResponseWriter, r *http.Request) {
	if s.closed.Load() {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered (403 for a foreign origin)
	}
	ip, _, _ := net.SplitHostPort(r.RemoteAddr)
	c := &client{s: s, ws: ws, ip: ip, frames: rate.NewLimiter(frameRate, frameBurst)}
	s.mu.Lock()
	s.clients[c] = struct{}{}
	s.mu.Unlock()
	c.wmu.Lock()
	c.ping = time.AfterFunc(s.opts.PingEvery, c.sendPing)
	c.wmu.Unlock()
	// A fresh goroutine reads, so the HTTP server's connection state and
	// stack are released now.
	go c.reader()
}

func (c *client) sendPing() {
	c.wmu.Lock()
	closed := c.closed
	c.wmu.Unlock()
	if closed {
		return
	}
	if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.s.opts.WriteTimeout)); err != nil {
		c.close(CloseSlowConsumer, "ping failed")
		return
	}
	c.wmu.Lock()
	if !c.closed {
		c.ping.Reset(c.s.opts.PingEvery)
	}
	c.wmu.Unlock()
}

// send queues a frame without blocking; a full queue cuts the peer off.
func (c *client) send(frame []byte, seq int64) bool {
	c.wmu.Lock()
	if c.closed {
		c.wmu.Unlock()
		return false
	}
	if len(c.queue) >= c.s.opts.SendBuffer {
		c.wmu.Unlock()
		c.close(CloseSlowConsumer, "send buffer full; resume")
		return false
	}
	c.queue = append(c.queue, outItem{frame, seq})
	if !c.writing {
		c.writing = true
		go c.writer()
	}
	c.wmu.Unlock()
	return true
}

// close ends the connection once: queued frames are flushed (unless the
// peer is too slow), then the close frame is sent and the socket closed.
func (c *client) close(code int, reason string) {
	c.wmu.Lock()
	if c.closed {
		c.wmu.Unlock()
		return
	}
	c.closed = true
	c.closeCode, c.closeReason = code, reason
	if c.ping != nil {
		c.ping.Stop()
	}
	if code == CloseSlowConsumer || code == CloseShutdown {
		// Do not wait long for a stuck write.
		_ = c.ws.UnderlyingConn().SetWriteDeadline(time.Now().Add(time.Second))
	}
	if code == CloseSlowConsumer {
		c.queue = nil
	}
	if !c.writing {
		c.writing = true
		go c.writer()
	}
	c.wmu.Unlock()
}

func (c *client) writer() {
	for {
		c.wmu.Lock()
		if len(c.queue) == 0 {
			if c.closed && !c.finished {
				c.finished = true
				code, reason := c.closeCode, c.closeReason
				c.wmu.Unlock()
				_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
				_ = c.ws.Close()
				return
			}
			c.writing = false
			c.wmu.Unlock()
			return
		}
		it := c.queue[0]
		c.queue[0] = outItem{}
		c.queue = c.queue[1:]
		if len(c.queue) == 0 {
			c.queue = nil // release the backing array while idle
		}
		closed := c.closed
		c.wmu.Unlock()
		if !closed {
			_ = c.ws.SetWriteDeadline(time.Now().Add(c.s.opts.WriteTimeout))
		}
		if err := c.ws.WriteMessage(websocket.TextMessage, it.data); err != nil {
			c.close(CloseSlowConsumer, "write failed")
			c.wmu.Lock()
			c.queue = nil
			c.finished = true
			c.writing = false
			c.wmu.Unlock()
			_ = c.ws.Close()
			return
		}
		if it.seq > 0 {
			c.delivered(it.seq)
		}
	}
}

func (c *client) delivered(seq int64) {
	c.mu.Lock()
	cv := c.cv
	c.mu.Unlock()
	if cv == nil {
		return
	}
	cv.mu.Lock()
	cv.publish(Event{Kind: EventDelivered, Seq: seq})
	cv.mu.Unlock()
}

func (c *client) conv() *conv {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cv
}

func (c *client) reader() {
	s := c.s
	defer func() {
		c.close(websocket.CloseNormalClosure, "")
		if cv := c.conv(); cv != nil {
			cv.mu.Lock()
			cv.detached(c)
			cv.mu.Unlock()
		}
		s.mu.Lock()
		delete(s.clients, c)
		s.mu.Unlock()
	}()
	// A frame may carry a text of MaxTextBytes, JSON-escaped (up to 6x).
	c.ws.SetReadLimit(int64(s.opts.MaxTextBytes)*6 + 1024)
	_ = c.ws.SetReadDeadline(time.Now().Add(s.opts.StartTimeout))
	live := 2*s.opts.PingEvery + s.opts.WriteTimeout
	c.ws.SetPongHandler(func(string) error {
		if c.conv() != nil {
			_ = c.ws.SetReadDeadline(time.Now().Add(live))
		}
		return nil
	})
	for {
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			if c.conv() == nil && isTimeout(err) {
				c.close(CloseNoStart, "start or resume expected")
			}
			return
		}
		if !c.frames.Allow() {
			c.close(websocket.ClosePolicyViolation, "too many frames")
			return
		}
		if typ != websocket.TextMessage {
			c.send(errFrame("bad_frame", "binary frames are not supported; send JSON text frames"), 0)
			continue
		}
		if !utf8.Valid(data) {
			c.close(websocket.CloseInvalidFramePayloadData, "invalid UTF-8")
			return
		}
		var f in
		if err := json.Unmarshal(data, &f); err != nil {
			c.send(errFrame("bad_json", "malformed JSON frame"), 0)
			continue
		}
		if !c.handle(f) {
			return
		}
		if c.conv() != nil { // started: from now on pongs and frames keep it alive
			_ = c.ws.SetReadDeadline(time.Now().Add(live))
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// handle dispatches one frame; false closes the connection.
func (c *client) handle(f in) bool {
	s := c.s
	cv := c.conv()
	switch f.Type {
	case "ping":
		c.send(encode(out{Type: "pong"}), 0)
		return true
	case "start":
		if cv != nil {
			c.send(errFrame("already_started", "this connection already has a chat"), 0)
			return true
		}
		c.start(f)
		return true
	case "resume":
		if cv != nil {
			c.send(errFrame("already_started", "this connection already has a chat"), 0)
			return true
		}
		return c.resume(f)
	case "msg", "typing", "read", "end", "callback", "leave_message", "rate":
		if cv == nil {
			c.send(errFrame("not_started", "send start or resume first"), 0)
			return true
		}
	default:
		c.send(encode(out{Type: "error", Code: "unknown_type", Message: "unknown frame type: " + truncate(f.Type, 40)}), 0)
		return true
	}
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	switch f.Type {
	case "msg":
		c.message(ctx, cv, f, false)
	case "leave_message":
		c.message(ctx, cv, f, true)
	case "typing":
		cv.mu.Lock()
		if now := s.now(); !cv.ended && now.Sub(cv.lastTyping) >= time.Second { // at most 1/s reaches the console
			cv.lastTyping = now
			cv.publish(Event{Kind: EventTyping})
		}
		cv.mu.Unlock()
	case "read":
		cv.mu.Lock()
		if f.Seq > cv.citRead && f.Seq <= cv.lastSeq { // only an advance reaches the agent
			cv.citRead = f.Seq
			cv.publish(Event{Kind: EventRead, Seq: f.Seq})
		}
		cv.mu.Unlock()
	case "end":
		cv.mu.Lock()
		if !cv.ended {
			cv.abandonLocked("citizen_ended")
		}
		cv.mu.Unlock()
	case "callback":
		c.callback(ctx, cv, f)
	case "rate":
		c.rate(cv, f)
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func (c *client) start(f in) {
	s := c.s
	if ok, reason := s.be.healthy(); !ok {
		c.send(encode(out{Type: "error", Code: "unavailable", Message: "new chats are temporarily unavailable: " + reason}), 0)
		return
	}
	if wait, ok := s.allowNewChat(c.ip); !ok {
		c.send(encode(out{Type: "error", Code: "rate_limited", Message: "too many new chats from this address", RetryAfterS: wait}), 0)
		return
	}
	if !s.reserveChat() {
		c.send(encode(out{Type: "error", Code: "busy", Message: "all lines are busy; please try again shortly", RetryAfterS: 30}), 0)
		return
	}
	reserved := true
	defer func() {
		if reserved {
			s.live.Add(-1)
		}
	}()
	hl, topic, ok := s.lookup(f.Number, f.Topic)
	if !ok {
		c.send(encode(out{Type: "error", Code: "unknown_number", Message: "unknown hotline or topic"}), 0)
		return
	}
	lang := pageLang(hl, f.Lang)
	if f.Topic == "" {
		// No topic picked: the line's choice for the citizen's language.
		for _, t := range hl.Topics {
			if t.Language != "" && t.Language == lang {
				topic = t
				break
			}
		}
	}
	name := strings.TrimSpace(f.Name)
	phone := strings.TrimSpace(f.Phone)
	if len(name) > 64 {
		c.send(encode(out{Type: "error", Code: "too_large", Message: "name is longer than 64 bytes", Limit: 64}), 0)
		return
	}
	if phone != "" && !validPhone(phone) {
		c.send(errFrame("bad_phone", "phone must be 8 to 15 digits"), 0)
		return
	}
	token, hash, err := newToken()
	if err != nil {
		c.send(errFrame("internal", "try again"), 0)
		return
	}
	rec := contactRec{
		ID: s.hub.NewContactID(), Number: hl.Number, Queue: topic.Queue, Topic: topic.ID,
		Language: lang, Name: name, Phone: phone, State: "waiting", Arrived: s.now(), ResumeHash: hash,
	}
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	if err := s.be.saveContact(ctx, rec, true); err != nil {
		c.send(encode(out{Type: "error", Code: "unavailable", Message: "new chats are temporarily unavailable: not stored"}), 0)
		return
	}
	if err := s.claim(ctx, rec.ID); err != nil {
		s.log.Warn("chat not claimed", "contact_id", rec.ID, "err", err)
		rec.State, rec.EndReason, rec.Ended = "ended", "busy", s.now()
		_ = s.be.saveContact(ctx, rec, false)
		c.send(encode(out{Type: "error", Code: "unavailable", Message: "new chats are temporarily unavailable: try again"}), 0)
		return
	}
	cv := s.newConv(rec)
	cv.mu.Lock()
	defer cv.mu.Unlock()
	s.mu.Lock()
	s.convs[rec.ID] = cv
	s.byHash[hash] = rec.ID
	s.mu.Unlock()
	// While the cluster elects a routing leader the arrival is sent again
	// (server.Arrive); a refusal routing may have taken is withdrawn.
	if _, _, err := server.Arrive(ctx, s.hub, s.arrival(rec), nil, s.log.With("contact_id", uint64(rec.ID))); err != nil {
		s.mu.Lock()
		delete(s.convs, rec.ID)
		delete(s.byHash, hash)
		s.mu.Unlock()
		rec.State, rec.EndReason, rec.Ended = "ended", "busy", s.now()
		_ = s.be.saveContact(ctx, rec, false)
		if s.isBusy(err) {
			c.send(encode(out{Type: "error", Code: "busy", Message: "all lines are busy; please try again shortly", RetryAfterS: 30}), 0)
		} else {
			s.log.Warn("chat not routed", "contact_id", rec.ID, "err", err)
			c.send(errFrame("routing_refused", "this chat could not be routed"), 0)
		}
		return
	}
	reserved = false // the conv holds it now; finish gives it back
	c.mu.Lock()
	c.cv = cv
	c.mu.Unlock()
	cv.attach(c)
	// A ContactClosed may already be queued; the loop applies it after us.
	c.send(encode(out{Type: "started", V: ProtocolVersion, Contact: uint64(rec.ID), Token: token, State: "waiting", Number: rec.Number, Lang: lang}), 0)
}

func validPhone(p string) bool {
	n := 0
	for _, r := range p {
		switch {
		case r >= '0' && r <= '9':
			n++
		case r == '-' || r == ' ' || r == '+':
		default:
			return false
		}
	}
	return n >= 8 && n <= 15
}

func (c *client) resume(f in) bool {
	s := c.s
	if !validToken(f.Token) {
		c.send(errFrame("bad_token", "resume token unknown or expired"), 0)
		c.close(CloseBadToken, "bad token")
		return false
	}
	hash := hashToken(f.Token)
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	s.mu.Lock()
	cv := s.convs[s.byHash[hash]]
	s.mu.Unlock()
	if cv == nil {
		rec, err := s.be.contactByHash(ctx, hash)
		if err == nil && rec.ResumeHash == hash {
			// Claimed before it is taken back: in a cluster no other node
			// holds it (or acts on it) from here on.
			if err := s.claim(ctx, rec.ID); err != nil {
				s.log.Warn("chat not claimed", "contact_id", rec.ID, "err", err)
				c.send(errFrame("unavailable", "try again"), 0)
				return true
			}
			cv, err = s.recoverRec(ctx, rec)
			if err != nil && cv == nil {
				c.send(errFrame("unavailable", "try again"), 0)
				return true
			}
		}
	} else if cv.rec.ResumeHash == hash {
		if err := s.claim(ctx, cv.id); err != nil {
			s.log.Warn("chat not claimed", "contact_id", cv.id, "err", err)
			c.send(errFrame("unavailable", "try again"), 0)
			return true
		}
	}
	if cv == nil || cv.rec.ResumeHash != hash {
		c.send(errFrame("bad_token", "resume token unknown or expired"), 0)
		c.close(CloseBadToken, "bad token")
		return false
	}
	cv.mu.Lock()
	defer cv.mu.Unlock()
	if cv.ended && s.now().After(cv.rec.Ended.Add(s.opts.ResumeTTL)) {
		c.send(errFrame("bad_token", "resume token unknown or expired"), 0)
		c.close(CloseBadToken, "expired")
		return false
	}
	c.mu.Lock()
	c.cv = cv
	c.mu.Unlock()
	cv.attach(c)
	r := out{Type: "resumed", V: ProtocolVersion, Contact: uint64(cv.id), State: cv.stateName(), Alias: cv.alias,
		Number: cv.rec.Number, Lang: cv.rec.Language, Seq: cv.lastSeq, Callback: cv.callbackOffered, Rated: cv.rated}
	if cv.ended {
		r.Reason = cv.rec.EndReason
		r.Offline = offlineReason(cv.rec.EndReason) && !cv.everTalked
	}
	c.send(encode(r), 0)
	if f.LastSeq < cv.lastSeq {
		msgs, err := s.be.messages(ctx, cv.id, max(f.LastSeq, 0))
		if err != nil {
			c.send(errFrame("unavailable", "history not available; resume again"), 0)
			c.close(websocket.CloseTryAgainLater, "history unavailable")
			return false
		}
		s.fillAliasesLocked(cv, msgs)
		for len(msgs) > 0 {
			n := min(len(msgs), 50)
			h := out{Type: "history", Messages: make([]wireMsg, n)}
			for i := range n {
				h.Messages[i] = toWire(msgs[i])
			}
			if !c.send(encode(h), 0) {
				return false
			}
			msgs = msgs[n:]
		}
	}
	if !cv.ended && cv.rec.State == "waiting" && cv.position > 0 {
		c.send(cv.queueFrame(), 0)
	}
	if !cv.ended {
		cv.publish(Event{Kind: EventResumed})
		cv.resetIdle()
	}
	return true
}

// fillAliasesLocked is fillAliases for a conv whose mu is held.
func (s *Service) fillAliasesLocked(cv *conv, msgs []Message) {
	cache := map[string]string{}
	for i := range msgs {
		m := &msgs[i]
		if m.Sender != SenderAgent || m.Alias != "" {
			continue
		}
		a, ok := cache[m.SenderID]
		if !ok {
			a = cv.alias
			if m.SenderID != string(cv.rec.Agent) || a == "" {
				a = s.alias(router.AgentID(m.SenderID), cv.rec.Language)
			}
			cache[m.SenderID] = a
		}
		m.Alias = a
	}
}

func (c *client) message(ctx context.Context, cv *conv, f in, leave bool) {
	s := c.s
	text := f.Text
	if strings.TrimSpace(text) == "" {
		c.send(encode(out{Type: "error", Code: "empty", ID: f.ID, Message: "empty message"}), 0)
		return
	}
	if len(text) > s.opts.MaxTextBytes {
		c.send(encode(out{Type: "error", Code: "too_large", ID: f.ID, Limit: s.opts.MaxTextBytes,
			Message: "message is larger than the limit of " + itoa(s.opts.MaxTextBytes) + " bytes"}), 0)
		return
	}
	cv.mu.Lock()
	defer cv.mu.Unlock()
	offline := cv.ended && offlineReason(cv.rec.EndReason) && !cv.everTalked
	switch {
	case leave && !(offline || (!cv.ended && cv.rec.State == "waiting")):
		c.send(encode(out{Type: "error", Code: "bad_state", ID: f.ID, Message: "a message can be left only while waiting or when closed"}), 0)
		return
	case !leave && cv.ended:
		c.send(encode(out{Type: "error", Code: "ended", ID: f.ID, Message: "this chat has ended"}), 0)
		return
	}
	if r := cv.limiter.ReserveN(s.now(), 1); !r.OK() || r.DelayFrom(s.now()) > 0 {
		wait := 1
		if r.OK() {
			wait = int(r.DelayFrom(s.now())/time.Second) + 1
			r.CancelAt(s.now())
		}
		c.send(encode(out{Type: "error", Code: "rate_limited", ID: f.ID, RetryAfterS: wait, Message: "you are sending messages too fast"}), 0)
		return
	}
	m, err := cv.commit(ctx, Message{Sender: SenderCitizen, Text: text})
	if err != nil {
		c.send(encode(out{Type: "error", Code: "not_saved", ID: f.ID, Message: "message not saved; send it again"}), 0)
		return
	}
	c.send(encode(out{Type: "ack", ID: f.ID, Seq: m.Seq, Sent: m.Sent.UTC().Format(time.RFC3339Nano)}), 0)
	if !leave {
		cv.resetIdle()
		return
	}
	cv.system(ctx, sysText(cv.rec.Language, "message"))
	if !cv.ended {
		cv.abandonLocked("message_left")
	}
}

func (c *client) callback(ctx context.Context, cv *conv, f in) {
	s := c.s
	phone := strings.TrimSpace(f.Phone)
	cv.mu.Lock()
	defer cv.mu.Unlock()
	if !s.callbacksOn(cv.rec.Number) {
		// Never book what will not be placed: this line has no outbound
		// trunk or its callbacks are off (crisis lines).
		c.send(errFrame("callback_unavailable", "this line does not place callbacks; leave a message instead"), 0)
		return
	}
	if phone == "" {
		phone = cv.rec.Phone
	}
	if !validPhone(phone) {
		c.send(errFrame("bad_phone", "phone must be 8 to 15 digits"), 0)
		return
	}
	offline := cv.ended && offlineReason(cv.rec.EndReason) && !cv.everTalked
	waiting := !cv.ended && cv.rec.State == "waiting"
	if !offline && !waiting {
		c.send(errFrame("bad_state", "a callback can be booked only while waiting or when closed"), 0)
		return
	}
	if err := s.be.callback(ctx, cv.id, cv.rec.Number, phone, cv.rec.Name, s.now()); err != nil {
		c.send(errFrame("not_saved", "callback not booked; try again"), 0)
		return
	}
	if waiting {
		if _, err := s.hub.Do(ctx, router.CallbackRequested{Contact: cv.id, Number: phone}); err != nil {
			s.log.Warn("callback not routed", "contact_id", cv.id, "err", err)
		}
	}
	cv.rec.Phone = phone
	c.send(encode(out{Type: "callback_booked", Text: phone}), 0)
	cv.system(ctx, sysText(cv.rec.Language, "callback", phone))
	if waiting {
		cv.finish("callback")
	}
}

func (c *client) rate(cv *conv, f in) {
	s := c.s
	cv.mu.Lock()
	defer cv.mu.Unlock()
	switch {
	case !cv.ended:
		c.send(errFrame("bad_state", "rate the chat after it ends"), 0)
	case cv.rated:
		c.send(errFrame("already_rated", "this chat was already rated"), 0)
	case f.Score < 1 || f.Score > 5:
		c.send(errFrame("bad_score", "score must be 1 to 5"), 0)
	case len(f.Comment) > s.opts.MaxTextBytes:
		c.send(encode(out{Type: "error", Code: "too_large", Limit: s.opts.MaxTextBytes, Message: "comment is larger than the limit of " + itoa(s.opts.MaxTextBytes) + " bytes"}), 0)
	default:
		if err := s.be.rating(cv.id, f.Score, f.Comment, s.now()); err != nil {
			c.send(errFrame("not_saved", "rating not saved; try again"), 0)
			return
		}
		cv.rated = true
		c.send(encode(out{Type: "rated"}), 0)
	}
}

// pageLang is the citizen's page language: ko, en or one the line serves;
// anything else reads as ko.
func pageLang(hl Hotline, lang string) string {
	if lang == "ko" || lang == "en" {
		return lang
	}
	for _, l := range hl.Languages {
		if l == lang {
			return lang
		}
	}
	return "ko"
}
