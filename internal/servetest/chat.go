package servetest

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/gorilla/websocket"
)

// Chat is a citizen's chat WebSocket on one node (docs/chat-protocol.md).
type Chat struct {
	WS      *websocket.Conn
	Contact uint64
	Token   string
	LastSeq int64
	Node    *Node
	// Ended is set once the server said the chat ended.
	Ended bool
}

// ChatFrame is a server frame of the chat protocol (the fields the tests
// read).
type ChatFrame struct {
	Type     string `json:"type"`
	Contact  uint64 `json:"contact"`
	Token    string `json:"token"`
	State    string `json:"state"`
	Seq      int64  `json:"seq"`
	ID       string `json:"id"`
	From     string `json:"from"`
	Text     string `json:"text"`
	Position int    `json:"position"`
	Reason   string `json:"reason"`
	Code     string `json:"code"`
	Message  string `json:"message"`
	Messages []struct {
		Seq  int64  `json:"seq"`
		From string `json:"from"`
		Text string `json:"text"`
	} `json:"messages"`
}

func dialChat(n *Node) (*websocket.Conn, error) {
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	ws, _, err := d.Dial("ws://127.0.0.1:"+strconv.Itoa(n.HTTP)+"/ws/chat", nil)
	if err != nil {
		return nil, fmt.Errorf("chat websocket on %s: %w", n.Name, err)
	}
	return ws, nil
}

// StartChat opens a chat on node n to number (topic "" picks the line's
// choice for lang) and waits for "started" within d.
func StartChat(n *Node, number, topic, lang string, d time.Duration) (*Chat, error) {
	ws, err := dialChat(n)
	if err != nil {
		return nil, err
	}
	c := &Chat{WS: ws, Node: n}
	if err := ws.WriteJSON(map[string]any{"type": "start", "number": number, "topic": topic, "lang": lang}); err != nil {
		ws.Close()
		return nil, err
	}
	f, err := c.Until(d, "started")
	if err != nil {
		ws.Close()
		return nil, err
	}
	c.Contact, c.Token = f.Contact, f.Token
	return c, nil
}

// Resume reattaches the chat on node n (any node of a cluster) with its
// token and last seen seq, and waits for "resumed"; the history frames
// that follow are left for Next.
func (c *Chat) Resume(n *Node, d time.Duration) error {
	ws, err := dialChat(n)
	if err != nil {
		return err
	}
	if c.WS != nil {
		c.WS.Close()
	}
	c.WS, c.Node = ws, n
	if err := ws.WriteJSON(map[string]any{"type": "resume", "token": c.Token, "last_seq": c.LastSeq}); err != nil {
		return err
	}
	_, err = c.Until(d, "resumed")
	return err
}

// Next reads the next frame within d, keeping LastSeq.
func (c *Chat) Next(d time.Duration) (ChatFrame, error) {
	_ = c.WS.SetReadDeadline(time.Now().Add(d))
	var f ChatFrame
	_, b, err := c.WS.ReadMessage()
	if err != nil {
		return f, fmt.Errorf("chat %d read: %w", c.Contact, err)
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return f, fmt.Errorf("chat %d: %w: %s", c.Contact, err, b)
	}
	switch f.Type {
	case "ended":
		c.Ended = true
	case "msg", "ack":
		c.LastSeq = max(c.LastSeq, f.Seq)
	case "history":
		for _, m := range f.Messages {
			c.LastSeq = max(c.LastSeq, m.Seq)
		}
	}
	return f, nil
}

// Until reads frames until one of type typ (an "error" frame is an
// error) within d.
func (c *Chat) Until(d time.Duration, typ string) (ChatFrame, error) {
	deadline := time.Now().Add(d)
	for {
		f, err := c.Next(time.Until(deadline))
		if err != nil {
			return f, err
		}
		if f.Type == typ {
			return f, nil
		}
		if f.Type == "error" {
			return f, fmt.Errorf("chat %d: error %s: %s", c.Contact, f.Code, f.Message)
		}
	}
}

// Say sends a message and waits for its ack (the message is stored)
// within d; it returns the message's seq.
func (c *Chat) Say(text, id string, d time.Duration) (int64, error) {
	if err := c.WS.WriteJSON(map[string]any{"type": "msg", "text": text, "id": id}); err != nil {
		return 0, err
	}
	deadline := time.Now().Add(d)
	for {
		f, err := c.Until(time.Until(deadline), "ack")
		if err != nil {
			return 0, err
		}
		if f.ID == id {
			return f.Seq, nil
		}
	}
}

// Close closes the WebSocket (the chat lives on for its grace period).
func (c *Chat) Close() {
	if c.WS != nil {
		c.WS.Close()
	}
}
