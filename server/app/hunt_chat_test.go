package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// The chat side of the stuck-state hunt: citizens' chat WebSockets that
// end, close, vanish without a close frame, fall silent (no pongs) or drop
// and resume, while agents' consoles accept every chat offer, send, end,
// transfer chats back to the queue and drop (then sign in again).

// chatPlan is what one chat citizen does once started.
type chatPlan int

const (
	chatEnd    chatPlan = iota // "end", then a close frame
	chatClose                  // a close frame, no "end" (detached: left after the grace)
	chatVanish                 // the TCP connection closed without a close frame
	chatSilent                 // no more frames nor pongs, connection open
	chatResume                 // vanish, resume on a new connection, then end or vanish
	chatWait                   // wait for the agent's end (bounded), then "end"
)

func (p chatPlan) String() string {
	return [...]string{"end", "close", "vanish", "silent", "resume", "wait"}[p]
}

// huntChat is one citizen's chat over the real /ws/chat.
type huntChat struct {
	dial    *websocket.Dialer
	url     string
	ws      *websocket.Conn
	token   string
	lastSeq atomic.Int64
	silent  atomic.Bool
	ended   chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
}

func (c *huntChat) end() { c.once.Do(func() { close(c.ended) }) }

// startHuntChat dials from ip (each citizen its own source: the per-source
// start limits stay out of the way) and starts a chat on 110.
func startHuntChat(ip, base string) (*huntChat, error) {
	c := &huntChat{dial: wsFrom(ip), url: "ws" + strings.TrimPrefix(base, "http") + "/ws/chat", ended: make(chan struct{})}
	f, err := c.connect(map[string]any{"type": "start", "number": "110", "lang": "ko", "name": "", "phone": ""}, "started")
	if err != nil {
		return nil, err
	}
	c.token, _ = f["token"].(string)
	return c, nil
}

// connect opens a connection, sends first and waits for want (5 s).
func (c *huntChat) connect(first map[string]any, want string) (map[string]any, error) {
	ws, _, err := c.dial.Dial(c.url, nil)
	if err != nil {
		return nil, err
	}
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := ws.WriteJSON(first); err != nil {
		ws.Close()
		return nil, err
	}
	for {
		var f map[string]any
		if err := ws.ReadJSON(&f); err != nil {
			ws.Close()
			return nil, fmt.Errorf("waiting for %s: %w", want, err)
		}
		if f["type"] == "error" {
			ws.Close()
			return nil, fmt.Errorf("%s refused: %v", first["type"], f)
		}
		c.seen(f)
		if f["type"] == want {
			_ = ws.SetReadDeadline(time.Time{})
			ws.SetPingHandler(func(data string) error {
				if c.silent.Load() {
					return nil
				}
				return ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
			})
			c.ws = ws
			c.wg.Add(1)
			go c.read(ws)
			return f, nil
		}
	}
}

// seen keeps the highest seq shown (msg, ack, history).
func (c *huntChat) seen(f map[string]any) {
	bump := func(v any) {
		if s, ok := v.(float64); ok && int64(s) > c.lastSeq.Load() {
			c.lastSeq.Store(int64(s))
		}
	}
	bump(f["seq"])
	if ms, ok := f["messages"].([]any); ok {
		for _, m := range ms {
			if mm, ok := m.(map[string]any); ok {
				bump(mm["seq"])
			}
		}
	}
}

func (c *huntChat) read(ws *websocket.Conn) {
	defer c.wg.Done()
	for {
		var f map[string]any
		if err := ws.ReadJSON(&f); err != nil {
			return
		}
		if f["type"] == "resumed" || f["type"] == "started" {
			continue
		}
		c.seen(f)
		if f["type"] == "ended" {
			c.end()
		}
	}
}

func (c *huntChat) send(f map[string]any) { _ = c.ws.WriteJSON(f) }

// closeFrame closes with a close frame (1000), no "end".
func (c *huntChat) closeFrame() {
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	c.ws.Close()
	c.wg.Wait()
}

// vanish closes the TCP connection without a close frame.
func (c *huntChat) vanish() {
	_ = c.ws.NetConn().Close()
	c.wg.Wait()
}

// resume reattaches on a new connection with the last seq seen.
func (c *huntChat) resume() error {
	_, err := c.connect(map[string]any{"type": "resume", "token": c.token, "last_seq": c.lastSeq.Load()}, "resumed")
	return err
}

// huntConsole is an agent's console for the hunt: it accepts every chat
// offer on its own; commands are sent without waiting for replies. Nothing
// here fails the test from its goroutines.
type huntConsole struct {
	user string
	base string
	mu   sync.Mutex
	ws   *websocket.Conn
	id   int64
	wg   sync.WaitGroup
	// lastErr is the last error reply (code and message), for the log.
	lastErr atomic.Value
}

func signInHunt(base, user string) (*huntConsole, error) {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	body, _ := json.Marshal(map[string]string{"username": user, "password": "demo"})
	resp, err := hc.Post(base+"/api/login", "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	var sess struct {
		CSRF string `json:"csrf"`
	}
	err = json.NewDecoder(resp.Body).Decode(&sess)
	resp.Body.Close()
	if resp.StatusCode != 200 || err != nil {
		return nil, fmt.Errorf("login %s: %d %v", user, resp.StatusCode, err)
	}
	d := websocket.Dialer{Jar: jar, HandshakeTimeout: 5 * time.Second}
	ws, _, err := d.Dial("ws"+strings.TrimPrefix(base, "http")+"/ws/console?csrf="+sess.CSRF, http.Header{"Origin": {base}})
	if err != nil {
		return nil, err
	}
	c := &huntConsole{user: user, base: base, ws: ws}
	c.wg.Add(1)
	go c.read()
	c.cmd("state", map[string]any{"state": "ready"})
	return c, nil
}

func (c *huntConsole) cmd(cmd string, args any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.id++
	b, _ := json.Marshal(args)
	_ = c.ws.SetWriteDeadline(time.Now().Add(2 * time.Second))
	_ = c.ws.WriteJSON(map[string]any{"id": c.id, "cmd": cmd, "args": json.RawMessage(b)})
}

// read accepts every offer of a chat.
func (c *huntConsole) read() {
	defer c.wg.Done()
	for {
		var m fsMsg
		if err := c.ws.ReadJSON(&m); err != nil {
			return
		}
		if m.T == "error" {
			c.lastErr.Store(m.Cmd + ": " + m.Code + " " + m.Error)
		}
		if m.T != "event" || m.Kind != "offer" {
			continue
		}
		var v struct {
			ID      uint64 `json:"id"`
			Channel string `json:"channel"`
		}
		if json.Unmarshal(m.Data, &v) == nil && v.Channel == "chat" {
			c.cmd("accept", map[string]any{"contact": v.ID})
		}
	}
}

// drop cuts the console's connection without a close frame.
func (c *huntConsole) drop() {
	_ = c.ws.NetConn().Close()
	c.wg.Wait()
}
