package app

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"onecall/internal/testpeers"
)

// Black-box tests of the documented limits.* keys against the real App
// (shipped configs, demo roster), each key set low in a copy of onecall.yaml.

// startWith starts the App on a copy of the shipped configs whose
// onecall.yaml has each "old" line replaced by "new".
func startWith(t *testing.T, repl ...string) *App {
	t.Helper()
	dir := fsConfig(t, "", repl...)
	return startAppIn(t, dir, filepath.Join(dir, "data"))
}

// from returns an HTTP client whose connections come from loopback ip.
func from(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
}

func wsFrom(ip string) *websocket.Dialer {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &websocket.Dialer{NetDialContext: d.DialContext, HandshakeTimeout: 5 * time.Second}
}

func loginCode(t *testing.T, c *http.Client, base, user, pw string) int {
	t.Helper()
	resp, err := c.Post(base+"/api/login", "application/json", strings.NewReader(fmt.Sprintf(`{"username":%q,"password":%q}`, user, pw)))
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// chatCitizen is one citizen chat WebSocket.
type chatCitizen struct {
	t  *testing.T
	ws *websocket.Conn
}

func startChat(t *testing.T, d *websocket.Dialer, base string) *chatCitizen {
	t.Helper()
	ws, _, err := d.Dial("ws"+strings.TrimPrefix(base, "http")+"/ws/chat", nil)
	if err != nil {
		t.Fatalf("dial chat: %v", err)
	}
	t.Cleanup(func() { ws.Close() })
	return &chatCitizen{t: t, ws: ws}
}

func (c *chatCitizen) send(f map[string]any) {
	c.t.Helper()
	if err := c.ws.WriteJSON(f); err != nil {
		c.t.Fatalf("chat write: %v", err)
	}
}

// next returns the next frame of one of types (others are skipped).
func (c *chatCitizen) next(types ...string) map[string]any {
	c.t.Helper()
	_ = c.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var f map[string]any
		if err := c.ws.ReadJSON(&f); err != nil {
			c.t.Fatalf("chat read (waiting for %v): %v", types, err)
		}
		for _, ty := range types {
			if f["type"] == ty {
				return f
			}
		}
	}
}

// begin sends start and returns "started" or the error frame.
func (c *chatCitizen) begin(phone string) map[string]any {
	c.send(map[string]any{"type": "start", "number": "110", "lang": "ko", "name": "", "phone": phone}) // 110 is open 24/7
	return c.next("started", "error")
}

// limits.rate.http_per_second holds per source; another source is served.
func TestLimitHTTPPerSecond(t *testing.T) {
	a := startWith(t, "http_per_second: 50", "http_per_second: 5")
	base := "http://" + a.HTTPAddr()
	c := from("127.0.0.2")
	codes := map[int]int{}
	for i := 0; i < 20; i++ {
		resp, err := c.Get(base + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes[resp.StatusCode]++
		if resp.StatusCode == 429 && resp.Header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
	}
	if codes[429] < 10 || codes[200] < 5 {
		t.Fatalf("20 requests at once with http_per_second 5: %v", codes)
	}
	resp, err := from("127.0.0.3").Get(base + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("another source: %v %v", resp, err)
	}
	resp.Body.Close()
	// WebSocket upgrades count too.
	if _, resp, err := wsFrom("127.0.0.2").Dial("ws://"+a.HTTPAddr()+"/ws/chat", nil); err == nil || resp == nil || resp.StatusCode != 429 {
		t.Fatalf("ws upgrade over the rate: %v %v", resp, err)
	}
}

// limits.rate.logins_per_minute holds per source on the real server.
func TestLimitLoginsPerMinute(t *testing.T) {
	a := startWith(t, "logins_per_minute: 10", "logins_per_minute: 2")
	base := "http://" + a.HTTPAddr()
	c := from("127.0.0.2")
	for i := 0; i < 2; i++ {
		if code := loginCode(t, c, base, "agent01", "wrong password"); code != 401 {
			t.Fatalf("attempt %d: %d", i, code)
		}
	}
	if code := loginCode(t, c, base, "agent01", "demo"); code != 429 {
		t.Fatalf("3rd sign-in in a minute: %d", code)
	}
	if code := loginCode(t, from("127.0.0.3"), base, "agent01", "demo"); code != 200 {
		t.Fatalf("another source: %d", code)
	}
}

// limits.rate.chat_starts_per_minute holds per source, with resident memory
// flat under a bounded flood of starts, and a citizen from elsewhere served.
func TestLimitChatStartsPerMinute(t *testing.T) {
	a := startWith(t, "chat_starts_per_minute: 10", "chat_starts_per_minute: 2", "http_per_second: 50", "http_per_second: 1000")
	base := "http://" + a.HTTPAddr()
	before := testpeers.RSSKiB(t)
	d := wsFrom("127.0.0.2")
	var started, limited int
	for i := 0; i < 200; i++ {
		c := startChat(t, d, base)
		f := c.begin("")
		switch {
		case f["type"] == "started":
			started++
		case f["code"] == "rate_limited":
			limited++
		default:
			t.Fatalf("start %d: %v", i, f)
		}
		c.ws.Close()
	}
	after := testpeers.RSSKiB(t)
	t.Logf("200 chat starts from one source: %d started, %d rate_limited; RSS %d -> %d KiB", started, limited, before, after)
	if started != 2 {
		t.Fatalf("chat_starts_per_minute 2 let %d chats start", started)
	}
	if after-before > 64*1024 {
		t.Fatalf("RSS grew %d MiB", (after-before)/1024)
	}
	if f := startChat(t, wsFrom("127.0.0.3"), base).begin(""); f["type"] != "started" {
		t.Fatalf("a citizen from another source: %v", f)
	}
}

// limits.rate.chat_messages_per_minute holds per chat.
func TestLimitChatMessagesPerMinute(t *testing.T) {
	a := startWith(t, "chat_messages_per_minute: 30", "chat_messages_per_minute: 3")
	c := startChat(t, wsFrom("127.0.0.2"), "http://"+a.HTTPAddr())
	if f := c.begin(""); f["type"] != "started" {
		t.Fatalf("start: %v", f)
	}
	acks, limited := 0, 0
	for i := 0; i < 6; i++ {
		c.send(map[string]any{"type": "msg", "id": "m" + strconv.Itoa(i), "text": "안녕하세요 " + strconv.Itoa(i)})
		f := c.next("ack", "error")
		if f["type"] == "ack" {
			acks++
		} else if f["code"] == "rate_limited" {
			limited++
		} else {
			t.Fatalf("msg %d: %v", i, f)
		}
	}
	if acks != 3 || limited != 3 {
		t.Fatalf("chat_messages_per_minute 3: %d acked, %d limited", acks, limited)
	}
}

// limits.max_chats: a start beyond it is answered busy; when one ends, a
// new chat starts.
func TestLimitMaxChats(t *testing.T) {
	a := startWith(t, "max_chats: 50000", "max_chats: 2")
	base := "http://" + a.HTTPAddr()
	c1 := startChat(t, wsFrom("127.0.0.2"), base)
	c2 := startChat(t, wsFrom("127.0.0.3"), base)
	for _, c := range []*chatCitizen{c1, c2} {
		if f := c.begin(""); f["type"] != "started" {
			t.Fatalf("start: %v", f)
		}
	}
	if f := startChat(t, wsFrom("127.0.0.4"), base).begin(""); f["code"] != "busy" {
		t.Fatalf("3rd chat with max_chats 2: %v", f)
	}
	c1.send(map[string]any{"type": "end"})
	c1.next("ended")
	if f := startChat(t, wsFrom("127.0.0.5"), base).begin(""); f["type"] != "started" {
		t.Fatalf("after one ended: %v", f)
	}
}

// limits.connections_per_source: connections beyond the cap are closed at
// once; another source connects. Plain HTTP and WebSocket alike.
func TestLimitConnectionsPerSource(t *testing.T) {
	a := startWith(t, "connections_per_source: 500", "connections_per_source: 3")
	addr := a.HTTPAddr()
	var held []net.Conn
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
	for i := 0; i < 2; i++ {
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	ws, _, err := wsFrom("127.0.0.2").Dial("ws://"+addr+"/ws/chat", nil)
	if err != nil {
		t.Fatalf("3rd connection (websocket): %v", err)
	}
	defer ws.Close()
	extra, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = extra.SetReadDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(extra, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	if _, err := bufio.NewReader(extra).ReadString('\n'); err == nil || isTimeout(err) {
		t.Fatalf("4th connection from one source was served: %v", err)
	}
	extra.Close()
	if _, _, err := wsFrom("127.0.0.2").Dial("ws://"+addr+"/ws/chat", nil); err == nil {
		t.Fatal("a websocket over the cap connected")
	}
	resp, err := from("127.0.0.3").Get("http://" + addr + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("another source: %v", err)
	}
	resp.Body.Close()
	// Closing one frees its slot.
	held[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		line, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if err == nil && strings.Contains(line, "200") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot not freed: %q %v", line, err)
		}
	}
	for _, c := range held[1:] {
		c.Close()
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// limits.http_read_timeout cuts a body trickled byte by byte, and
// limits.http_idle_timeout closes an idle keep-alive connection.
func TestLimitHTTPTimeouts(t *testing.T) {
	a := startWith(t, "http_read_timeout: 30s", "http_read_timeout: 1s", "http_idle_timeout: 2m", "http_idle_timeout: 1s")
	c, err := net.Dial("tcp", a.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	fmt.Fprintf(c, "POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{")
	cut := false
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for i := 0; i < 40 && !cut; i++ {
		<-tick.C
		if _, err := c.Write([]byte(" ")); err != nil {
			cut = true
		}
		_ = c.SetReadDeadline(time.Now().Add(time.Millisecond))
		var b [512]byte
		if n, err := c.Read(b[:]); n > 0 || (err != nil && !isTimeout(err)) {
			cut = true
		}
	}
	if !cut {
		t.Fatalf("a trickled body was held open for %v", time.Since(start))
	}
	if el := time.Since(start); el > 4*time.Second {
		t.Fatalf("trickled body cut after %v, want about 1s", el)
	}
	// Idle keep-alive.
	k, err := net.Dial("tcp", a.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	fmt.Fprintf(k, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(k)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	_ = k.SetReadDeadline(time.Now().Add(5 * time.Second))
	idleStart := time.Now()
	if _, err := br.ReadByte(); err == nil || isTimeout(err) {
		t.Fatalf("idle keep-alive connection not closed within 5s: %v", err)
	}
	t.Logf("idle connection closed after %v", time.Since(idleStart))
}

// Defect 11: the chat's static folder answers 404 or 400, never 500.
func TestChatStaticBadPaths(t *testing.T) {
	a := startApp(t, filepath.Join(t.TempDir(), "d"))
	base := "http://" + a.HTTPAddr()
	for _, p := range []string{"/chat/static/", "/chat/static/%c0%ae%c0%ae/x", "/chat/static/..%2f..%2fgo.mod", "/chat/static/nope.js", "/chat/static/%ff"} {
		code, _ := get(t, base+p)
		if code != 404 && code != 400 {
			t.Errorf("GET %s = %d, want 404 or 400", p, code)
		}
	}
	if code, _ := get(t, base+"/chat/static/chat.js"); code != 200 {
		t.Fatalf("chat.js: %d", code)
	}
}

// Defects 6 and 9 on the real server: a chat claiming a phone number links
// no history and shows the claim as unverified, masked for supervisors.
func TestChatPhoneClaimIsNotIdentity(t *testing.T) {
	a := startWith(t)
	base := "http://" + a.HTTPAddr()
	st := a.Store()
	// An earlier verified contact of the citizen 01055551234 (a call).
	sup := from("127.0.0.1")
	if code := loginCode(t, sup, base, "super01", "demo"); code != 200 {
		t.Fatalf("super01: %d", code)
	}
	c := startChat(t, wsFrom("127.0.0.2"), base)
	f := c.begin("010-5555-1234")
	if f["type"] != "started" {
		t.Fatalf("start: %v", f)
	}
	id := uint64(f["contact"].(float64))
	var row struct{ Citizen string }
	deadline := time.Now().Add(5 * time.Second)
	for {
		ct, err := st.Contact(t.Context(), id)
		if err == nil {
			row.Citizen = ct.Citizen
			if ct.Attrs["phone_unverified"] != "010-5555-1234" || ct.Attrs["phone"] != "" {
				t.Fatalf("stored attrs %v", ct.Attrs)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("contact %d not stored: %v", id, err)
		}
		<-time.After(20 * time.Millisecond)
	}
	if strings.Contains(row.Citizen, "5555") || !strings.HasPrefix(row.Citizen, "chat:") {
		t.Fatalf("chat identity is the claimed phone: %q", row.Citizen)
	}
	// Supervisors see the chat waiting with the claim masked.
	var qs []struct {
		Queue string `json:"queue"`
	}
	resp, err := sup.Get(base + "/api/queues")
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&qs)
	resp.Body.Close()
	seen := false
	for _, q := range qs {
		resp, err := sup.Get(base + "/api/queues/" + q.Queue + "/waiting")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), "5555-1234") || strings.Contains(string(b), "55551234") {
			t.Fatalf("waiting list of %s shows the number: %s", q.Queue, b)
		}
		seen = seen || strings.Contains(string(b), fmt.Sprintf(`"id":%d`, id))
	}
	if !seen {
		t.Fatalf("chat %d in no waiting list", id)
	}
	var all []map[string]any
	resp, err = sup.Get(base + "/api/contacts?citizen=01055551234")
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&all)
	resp.Body.Close()
	for _, h := range all {
		if uint64(h["id"].(float64)) == id {
			t.Fatalf("the claimed number links the chat to the number's history: %v", all)
		}
	}
}

// consoleAgent signs agent in from 127.0.0.1 and opens its console.
func consoleAgent(t *testing.T, base, user string) *websocket.Conn {
	t.Helper()
	c := from("127.0.0.1")
	resp, err := c.Post(base+"/api/login", "application/json", strings.NewReader(fmt.Sprintf(`{"username":%q,"password":"demo"}`, user)))
	if err != nil {
		t.Fatal(err)
	}
	var s struct{ CSRF string }
	_ = json.NewDecoder(resp.Body).Decode(&s)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("login %s: %d", user, resp.StatusCode)
	}
	d := websocket.Dialer{Jar: c.Jar, HandshakeTimeout: 5 * time.Second}
	hdr := http.Header{}
	hdr.Set("Origin", base)
	ws, _, err := d.Dial("ws"+strings.TrimPrefix(base, "http")+"/ws/console?csrf="+s.CSRF, hdr)
	if err != nil {
		t.Fatalf("console: %v", err)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

type consoleMsg struct {
	T    string          `json:"t"`
	Kind string          `json:"kind"`
	ID   int64           `json:"id"`
	Data json.RawMessage `json:"data"`
}

// consoleReader feeds a console's messages into a channel.
func consoleReader(ws *websocket.Conn) <-chan consoleMsg {
	ch := make(chan consoleMsg, 4096)
	go func() {
		defer close(ch)
		for {
			var m consoleMsg
			if err := ws.ReadJSON(&m); err != nil {
				return
			}
			ch <- m
		}
	}()
	return ch
}

// consoleWait reads console messages until pred matches or d passes;
// reads counts the chat "read" events seen on the way.
func consoleWait(t *testing.T, ch <-chan consoleMsg, d time.Duration, reads *int, pred func(consoleMsg) bool) bool {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case m, ok := <-ch:
			if !ok {
				t.Fatal("console connection closed")
			}
			if m.Kind == "chat" && strings.Contains(string(m.Data), `"kind":"read"`) {
				*reads++
			}
			if pred(m) {
				return true
			}
		case <-timer.C:
			return false
		}
	}
}

func consoleNext(t *testing.T, ch <-chan consoleMsg, what string, reads *int, pred func(consoleMsg) bool) consoleMsg {
	t.Helper()
	var got consoleMsg
	if !consoleWait(t, ch, 15*time.Second, reads, func(m consoleMsg) bool { got = m; return pred(m) }) {
		t.Fatalf("console: no %s", what)
	}
	return got
}

// Defect 5: a citizen flooding frames (20,000 read receipts) is cut off
// alone; the agent's console stays connected and sees one read receipt.
func TestCitizenFrameFloodSparesTheAgent(t *testing.T) {
	a := startWith(t)
	base := "http://" + a.HTTPAddr()
	agent := consoleAgent(t, base, "agent01")
	in := consoleReader(agent)
	reads := 0
	consoleNext(t, in, "snapshot", &reads, func(m consoleMsg) bool { return m.T == "snapshot" })
	if err := agent.WriteJSON(map[string]any{"id": 1, "cmd": "state", "args": map[string]any{"state": "ready"}}); err != nil {
		t.Fatal(err)
	}
	if m := consoleNext(t, in, "ready reply", &reads, func(m consoleMsg) bool { return m.ID == 1 }); m.T != "reply" {
		t.Fatalf("ready: %+v", m)
	}
	cit := startChat(t, wsFrom("127.0.0.2"), base)
	f := cit.begin("")
	if f["type"] != "started" {
		t.Fatalf("start: %v", f)
	}
	id := f["contact"].(float64)
	consoleNext(t, in, "offer", &reads, func(m consoleMsg) bool {
		if m.Kind != "offer" {
			t.Logf("console: %s %s %.300s", m.T, m.Kind, m.Data)
		}
		return m.Kind == "offer"
	})
	if err := agent.WriteJSON(map[string]any{"id": 2, "cmd": "accept", "args": map[string]any{"contact": id}}); err != nil {
		t.Fatal(err)
	}
	consoleNext(t, in, "connected", &reads, func(m consoleMsg) bool { return m.Kind == "connected" })
	// The console follows the chat a moment after connecting: typing
	// (passed at most once a second) shows when it does.
	following := false
	for i := 0; i < 15 && !following; i++ {
		cit.send(map[string]any{"type": "typing"})
		following = consoleWait(t, in, 1200*time.Millisecond, &reads, func(m consoleMsg) bool {
			return m.Kind == "chat" && strings.Contains(string(m.Data), `"kind":"typing"`)
		})
	}
	if !following {
		t.Fatal("the console never saw the citizen typing")
	}
	cit.send(map[string]any{"type": "msg", "id": "m1", "text": "안녕하세요"})
	cit.next("ack")
	consoleNext(t, in, "citizen message", &reads, func(m consoleMsg) bool {
		return m.Kind == "chat" && strings.Contains(string(m.Data), "안녕하세요")
	})
	before := testpeers.RSSKiB(t)
	sent := 0
	for i := 0; i < 20000; i++ {
		if err := cit.ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"read","seq":1}`)); err != nil {
			break
		}
		sent++
	}
	// The citizen's connection is closed for policy; the agent's stays.
	_ = cit.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	var closeErr error
	for closeErr == nil {
		_, _, closeErr = cit.ws.ReadMessage()
	}
	if ce, ok := closeErr.(*websocket.CloseError); !ok || ce.Code != websocket.ClosePolicyViolation {
		t.Fatalf("flooding citizen: %v, want close 1008", closeErr)
	}
	if err := agent.WriteJSON(map[string]any{"id": 3, "cmd": "ping"}); err != nil {
		t.Fatal(err)
	}
	consoleNext(t, in, "ping reply after the flood", &reads, func(m consoleMsg) bool { return m.ID == 3 })
	after := testpeers.RSSKiB(t)
	t.Logf("citizen sent %d read frames; agent saw %d read events; RSS %d -> %d KiB", sent, reads, before, after)
	if reads > 1 {
		t.Fatalf("agent saw %d read events for one message", reads)
	}
	if after-before > 64*1024 {
		t.Fatalf("RSS grew %d MiB", (after-before)/1024)
	}
	// The citizen resumes and is still served.
	c2 := startChat(t, wsFrom("127.0.0.2"), base)
	c2.send(map[string]any{"type": "resume", "token": f["token"], "last_seq": 1})
	if r := c2.next("resumed", "error"); r["type"] != "resumed" {
		t.Fatalf("resume after the flood: %v", r)
	}
}
