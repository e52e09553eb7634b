package app

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// A console over the real App's HTTP and WebSocket, for the full-stack
// tests: sign in, then commands with replies and events, each wait bounded.

type fsConsole struct {
	t       *testing.T
	ws      *websocket.Conn
	msgs    chan fsMsg
	id      int64
	backlog []fsMsg
}

type fsMsg struct {
	T     string            `json:"t"`
	Kind  string            `json:"kind"`
	ID    int64             `json:"id"`
	Cmd   string            `json:"cmd"`
	Error string            `json:"error"`
	Code  string            `json:"code"`
	Text  map[string]string `json:"text"`
	Data  json.RawMessage   `json:"data"`
}

// fsSignIn signs user in (demo password) and opens its console.
func (a *fsApp) fsSignIn(t *testing.T, user string) *fsConsole {
	t.Helper()
	base := "http://" + a.HTTPAddr()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	body, _ := json.Marshal(map[string]string{"username": user, "password": "demo"})
	resp, err := hc.Post(base+"/api/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	var sess struct {
		CSRF string `json:"csrf"`
	}
	err = json.NewDecoder(resp.Body).Decode(&sess)
	resp.Body.Close()
	if resp.StatusCode != 200 || err != nil {
		t.Fatalf("login %s: %d %v", user, resp.StatusCode, err)
	}
	d := websocket.Dialer{Jar: jar, HandshakeTimeout: 5 * time.Second}
	ws, _, err := d.Dial("ws"+strings.TrimPrefix(base, "http")+"/ws/console?csrf="+sess.CSRF, http.Header{"Origin": {base}})
	if err != nil {
		t.Fatalf("console %s: %v", user, err)
	}
	c := &fsConsole{t: t, ws: ws, msgs: make(chan fsMsg, 1024)}
	go func() {
		defer close(c.msgs)
		for {
			var m fsMsg
			if err := ws.ReadJSON(&m); err != nil {
				return
			}
			c.msgs <- m
		}
	}()
	t.Cleanup(func() { ws.Close() })
	c.next("snapshot", func(m fsMsg) bool { return m.T == "snapshot" })
	return c
}

func (c *fsConsole) next(what string, pred func(fsMsg) bool) fsMsg {
	c.t.Helper()
	for i, m := range c.backlog {
		if pred(m) {
			c.backlog = append(c.backlog[:i:i], c.backlog[i+1:]...)
			return m
		}
	}
	deadline := time.After(20 * time.Second)
	for {
		select {
		case m, ok := <-c.msgs:
			if !ok {
				c.t.Fatalf("waiting for %s: console connection closed", what)
			}
			if pred(m) {
				return m
			}
			c.backlog = append(c.backlog, m)
		case <-deadline:
			c.t.Fatalf("timeout waiting for %s", what)
		}
	}
}

// event waits for an event of kind whose data matches pred (nil: any).
func (c *fsConsole) event(kind string, pred func(json.RawMessage) bool) json.RawMessage {
	c.t.Helper()
	return c.next("event "+kind, func(m fsMsg) bool {
		return m.T == "event" && m.Kind == kind && (pred == nil || pred(m.Data))
	}).Data
}

// connected waits for the next "connected" event and returns its contact
// id.
func (c *fsConsole) connected() uint64 {
	c.t.Helper()
	var v struct {
		ID uint64 `json:"id"`
	}
	if err := json.Unmarshal(c.event("connected", nil), &v); err != nil || v.ID == 0 {
		c.t.Fatalf("connected event without a contact id (%v)", err)
	}
	return v.ID
}

// call sends cmd and returns its reply or error message.
func (c *fsConsole) call(cmd string, args any) fsMsg {
	c.t.Helper()
	c.id++
	id := c.id
	b, _ := json.Marshal(args)
	if err := c.ws.WriteJSON(map[string]any{"id": id, "cmd": cmd, "args": json.RawMessage(b)}); err != nil {
		c.t.Fatalf("write %s: %v", cmd, err)
	}
	return c.next("reply to "+cmd, func(m fsMsg) bool { return (m.T == "reply" || m.T == "error") && m.ID == id })
}

func (c *fsConsole) mustCall(cmd string, args any) json.RawMessage {
	c.t.Helper()
	m := c.call(cmd, args)
	if m.T != "reply" {
		c.t.Fatalf("%s %v: %s (%s)", cmd, args, m.Error, m.Code)
	}
	return m.Data
}
