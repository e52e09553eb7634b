package servetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Console is an agent's console connection to one node.
type Console struct {
	WS   *websocket.Conn
	Snap map[string]any
	User string
	Node *Node

	sendMu sync.Mutex
	id     int
	w      *watch
}

// OpenConsole signs user in on node n and opens the console WebSocket;
// the snapshot is kept.
func OpenConsole(t testing.TB, n *Node, user, password string) *Console {
	t.Helper()
	c, err := DialConsole(n, user, password)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.WS.Close() })
	return c
}

// DialConsole is OpenConsole returning its error (for use off the test's
// goroutine and while nodes die); the caller closes WS.
func DialConsole(n *Node, user, password string) (*Console, error) {
	base := n.Base()
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	body, _ := json.Marshal(map[string]string{"username": user, "password": password})
	req, _ := http.NewRequest(http.MethodPost, base+"/api/login", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", base)
	res, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("login %s on %s: %w", user, n.Name, err)
	}
	var login struct{ CSRF string }
	err = json.NewDecoder(res.Body).Decode(&login)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("login %s on %s: %d %v", user, n.Name, res.StatusCode, err)
	}
	u, _ := url.Parse(base)
	h := http.Header{"Origin": {base}}
	for _, ck := range jar.Cookies(u) {
		h.Add("Cookie", ck.Name+"="+ck.Value)
	}
	ws, _, err := websocket.DefaultDialer.Dial("ws://127.0.0.1:"+strconv.Itoa(n.HTTP)+"/ws/console?csrf="+url.QueryEscape(login.CSRF), h)
	if err != nil {
		return nil, fmt.Errorf("console websocket on %s: %w", n.Name, err)
	}
	k := &Console{WS: ws, User: user, Node: n}
	m, err := k.Next(15 * time.Second)
	if err != nil {
		ws.Close()
		return nil, err
	}
	if m["t"] != "snapshot" {
		ws.Close()
		return nil, fmt.Errorf("first console message %v", m)
	}
	k.Snap, _ = m["data"].(map[string]any)
	return k, nil
}

// Next reads the next message within d.
func (k *Console) Next(d time.Duration) (map[string]any, error) {
	_ = k.WS.SetReadDeadline(time.Now().Add(d))
	var m map[string]any
	if err := k.WS.ReadJSON(&m); err != nil {
		return nil, fmt.Errorf("console %s read: %w", k.User, err)
	}
	return m, nil
}

// Read reads the next message, failing the test after 15 s.
func (k *Console) Read(t testing.TB) map[string]any {
	t.Helper()
	m, err := k.Next(15 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Phone reports the snapshot's "SIP phone registered" flag of the agent.
func (k *Console) Phone() bool {
	a, _ := k.Snap["agent"].(map[string]any)
	p, _ := a["phone"].(bool)
	return p
}

// AgentState is the snapshot's state of the agent ("" when it has none).
func (k *Console) AgentState() string {
	a, _ := k.Snap["agent"].(map[string]any)
	s, _ := a["state"].(string)
	return s
}

// Send sends a command without waiting for its reply; it returns the
// command's id.
func (k *Console) Send(cmd string, args map[string]any) (int, error) {
	k.sendMu.Lock()
	defer k.sendMu.Unlock()
	k.id++
	return k.id, k.WS.WriteJSON(map[string]any{"id": k.id, "cmd": cmd, "args": args})
}

// Do sends a command and waits for its reply, skipping events.
func (k *Console) Do(t testing.TB, cmd string, args map[string]any) map[string]any {
	t.Helper()
	m, err := k.Try(cmd, args, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Try sends a command and waits for its reply, handing the events read
// meanwhile to ev (if not nil). A reply other than "reply" is an error.
func (k *Console) Try(cmd string, args map[string]any, ev func(map[string]any)) (map[string]any, error) {
	id, err := k.Send(cmd, args)
	if err != nil {
		return nil, err
	}
	for {
		m, err := k.Next(15 * time.Second)
		if err != nil {
			return nil, err
		}
		if mid, _ := m["id"].(float64); int(mid) == id {
			if m["t"] != "reply" {
				return m, fmt.Errorf("%s: %s", cmd, strings.TrimSpace(fmt.Sprint(m)))
			}
			return m, nil
		}
		if ev != nil {
			ev(m)
		}
	}
}
