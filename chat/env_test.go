package chat

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"onecall/router"
	"onecall/store"
)

type envConfig struct {
	opts Options
	busy bool
}

// testEnv is the real chat server on port 0 over the real store.
type testEnv struct {
	t      testing.TB
	cfg    envConfig
	path   string
	st     *store.Store
	faults *faultStore
	hub    *hubEnv
	svc    *Service
	srv    *httptest.Server
}

// faultStore is the real store with switchable faults: unhealthy health
// reports and failing Durable writes.
type faultStore struct {
	*store.Store
	sick        atomic.Bool
	failDurable atomic.Bool
}

func (f *faultStore) Health() store.Health {
	if f.sick.Load() {
		return store.Health{OK: false, Reason: "disk full"}
	}
	return f.Store.Health()
}

func (f *faultStore) Durable(ctx context.Context, rec store.Record) error {
	if f.failDurable.Load() {
		return store.ErrNotDurable
	}
	return f.Store.Durable(ctx, rec)
}

func newEnv(t testing.TB, mods ...func(*envConfig)) *testEnv {
	t.Helper()
	cfg := envConfig{opts: testOptions()}
	for _, m := range mods {
		m(&cfg)
	}
	e := &testEnv{t: t, cfg: cfg, path: filepath.Join(t.TempDir(), "onecall.db")}
	e.open()
	t.Cleanup(e.close)
	return e
}

func (e *testEnv) open() {
	t := e.t
	t.Helper()
	st, err := store.Open(context.Background(), e.path, store.WithBatch(64, time.Millisecond))
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	e.st = st
	first, err := st.MaxContactID(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	e.hub = newHubEnv(t, &e.cfg, first)
	e.faults = &faultStore{Store: st}
	svc, err := e.hub.service(e.cfg.opts, storeBackend{e.faults})
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	e.srv = httptest.NewServer(svc)
}

func (e *testEnv) close() {
	if e.srv == nil {
		return
	}
	e.srv.CloseClientConnections()
	e.srv.Close()
	e.svc.Close()
	e.hub.stop()
	if err := e.st.Close(); err != nil {
		e.t.Errorf("store close: %v", err)
	}
	e.srv = nil
}

// restart stops everything and opens it again on the same database file.
func (e *testEnv) restart() {
	e.close()
	e.open()
}

func (e *testEnv) wsURL() string { return "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/ws/chat" }

// wsClient is a protocol-level test client.
type wsClient struct {
	t  *testing.T
	c  *websocket.Conn
	fr []map[string]any // frames read but not yet expected
}

func (e *testEnv) dial(t *testing.T) *wsClient {
	t.Helper()
	c, resp, err := websocket.DefaultDialer.Dial(e.wsURL(), nil)
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	t.Cleanup(func() { c.Close() })
	return &wsClient{t: t, c: c}
}

func (c *wsClient) send(v any) {
	c.t.Helper()
	if err := c.c.WriteJSON(v); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *wsClient) read(d time.Duration) (map[string]any, error) {
	_ = c.c.SetReadDeadline(time.Now().Add(d))
	_, data, err := c.c.ReadMessage()
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		c.t.Fatalf("server sent bad JSON %q: %v", data, err)
	}
	return m, nil
}

// expect returns the next frame of type typ, skipping others (kept for
// later expects); fails after 5 s.
func (c *wsClient) expect(typ string) map[string]any {
	c.t.Helper()
	for i, f := range c.fr {
		if f["type"] == typ {
			c.fr = append(c.fr[:i], c.fr[i+1:]...)
			return f
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		f, err := c.read(time.Until(deadline))
		if err != nil {
			c.t.Fatalf("waiting for %q: %v (pending %v)", typ, err, c.fr)
		}
		if f["type"] == typ {
			return f
		}
		c.fr = append(c.fr, f)
	}
	c.t.Fatalf("no %q frame in time (pending %v)", typ, c.fr)
	return nil
}

// expectText returns the next "msg" frame with this text.
func (c *wsClient) expectText(text string) map[string]any {
	c.t.Helper()
	for range 100 {
		if m := c.expect("msg"); m["text"] == text {
			return m
		}
	}
	c.t.Fatalf("no message %q", text)
	return nil
}

// expectClose reads until the server closes and returns the close code.
func (c *wsClient) expectClose() int {
	c.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		_, err := c.read(time.Until(deadline))
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		c.t.Fatalf("connection ended without close frame: %v", err)
	}
	c.t.Fatal("not closed in time")
	return 0
}

func (c *wsClient) start(number, topic string) (router.ContactID, string) {
	c.t.Helper()
	c.send(map[string]any{"type": "start", "number": number, "topic": topic, "lang": "ko", "name": "홍길동", "phone": "010-1234-5678"})
	f := c.expect("started")
	return router.ContactID(f["contact"].(float64)), f["token"].(string)
}

func num(f map[string]any, k string) int64 {
	v, _ := f[k].(float64)
	return int64(v)
}

// eventually polls cond until it holds or 5 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

func httpGet(t *testing.T, url string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp, b.String()
}

func routerID(n uint64) router.ContactID { return router.ContactID(n) }

// convsSnapshot lists the live chats (tests).
func (s *Service) convsSnapshot() map[router.ContactID]*conv {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[router.ContactID]*conv, len(s.convs))
	for k, v := range s.convs {
		out[k] = v
	}
	return out
}
