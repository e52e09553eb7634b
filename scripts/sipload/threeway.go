package main

// -threeway / -recorded (with -serve, issue 11): the mixed load of three-way
// and recorded two-party calls. -recorded citizens call 1332, the shipped
// line with recording on (consent announcement, then routed to the finance
// queue and recorded to the data dir). -threeway citizens call 110; the
// agents who serve 110 (agent0001..: only they have the general skill in
// the generated roster) each have their console open over WebSocket, and
// on every "connected" event the console asks `interpret` to the outside
// number 1345: onecall dials it through the outbound trunk, which is the
// agent phones' SIPp UAS (it answers and echoes), and mixes citizen, agent
// and interpreter. The -bprobes probes call 110 too and so are three-way
// calls as well: their arrival interval is the mixer's send interval.

import (
	"bytes"
	"context"
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

// interpNumber is the outside number the consoles bring in as interpreter
// (listed in line 110's transfer_numbers by writeServeConfig).
const interpNumber = "1345"

// interpreters counts the consoles' interpret requests and their outcome.
type interpreters struct {
	asked, joined atomic.Int64
	mu            sync.Mutex
	failed        map[string]int // error code -> count
}

func (s *interpreters) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("interpret asked %d, interpreter joined %d, refused %v", s.asked.Load(), s.joined.Load(), s.failed)
}

// openConsoles signs agent0001..n in (POST /api/login) and opens their
// console WebSockets; each asks `interpret` on every call connected to it.
// The returned function closes them.
func openConsoles(ctx context.Context, base string, n int, st *interpreters) (func(), error) {
	st.failed = map[string]int{}
	var conns []*websocket.Conn
	closeAll := func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}
	for i := 1; i <= n; i++ {
		ws, err := signIn(base, benchAgent(i))
		if err != nil {
			closeAll()
			return nil, err
		}
		conns = append(conns, ws)
		go watchConsole(ctx, ws, st)
	}
	return closeAll, nil
}

func signIn(base, user string) (*websocket.Conn, error) {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	body, _ := json.Marshal(map[string]string{"username": user, "password": "demo"})
	resp, err := hc.Post(base+"/api/login", "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("login %s: %w", user, err)
	}
	var sess struct {
		CSRF string `json:"csrf"`
	}
	err = json.NewDecoder(resp.Body).Decode(&sess)
	resp.Body.Close()
	if resp.StatusCode != 200 || err != nil {
		return nil, fmt.Errorf("login %s: %d %v", user, resp.StatusCode, err)
	}
	d := websocket.Dialer{Jar: jar, HandshakeTimeout: 10 * time.Second}
	ws, _, err := d.Dial("ws"+strings.TrimPrefix(base, "http")+"/ws/console?csrf="+sess.CSRF, http.Header{"Origin": {base}})
	if err != nil {
		return nil, fmt.Errorf("console %s: %w", user, err)
	}
	return ws, nil
}

// watchConsole reads one console until it closes; on "connected" it asks
// for the interpreter (the reply comes once the interpreter answered).
func watchConsole(ctx context.Context, ws *websocket.Conn, st *interpreters) {
	var id int64
	for ctx.Err() == nil {
		var m struct {
			T    string          `json:"t"`
			Kind string          `json:"kind"`
			Cmd  string          `json:"cmd"`
			Code string          `json:"code"`
			Data json.RawMessage `json:"data"`
		}
		if err := ws.ReadJSON(&m); err != nil {
			return
		}
		switch {
		case m.T == "event" && m.Kind == "connected":
			var v struct {
				ID uint64 `json:"id"`
			}
			if json.Unmarshal(m.Data, &v) != nil || v.ID == 0 {
				continue
			}
			id++
			st.asked.Add(1)
			args, _ := json.Marshal(map[string]any{"contact": v.ID, "number": interpNumber})
			if err := ws.WriteJSON(map[string]any{"id": id, "cmd": "interpret", "args": json.RawMessage(args)}); err != nil {
				return
			}
		case m.T == "reply" && m.Cmd == "interpret":
			st.joined.Add(1)
		case m.T == "error" && m.Cmd == "interpret":
			st.mu.Lock()
			st.failed[m.Code]++
			st.mu.Unlock()
		}
	}
}
