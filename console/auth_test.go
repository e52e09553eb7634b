package console

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestPasswordHashRoundTrip(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("not a PHC argon2id string: %s", h)
	}
	if !CheckPassword(h, "correct horse") {
		t.Fatal("right password rejected")
	}
	for _, bad := range []string{"correct hors", "", "Correct horse"} {
		if CheckPassword(h, bad) {
			t.Fatalf("wrong password %q accepted", bad)
		}
	}
	h2, _ := HashPassword("correct horse")
	if h == h2 {
		t.Fatal("same salt twice")
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=19456,t=2,p=1$AAAA$AAAA", "$argon2id$v=19$m=99999999,t=2,p=1$AAAA$AAAA",
		strings.Replace(h, "$v=19$", "$v=18$", 1)} {
		if CheckPassword(bad, "correct horse") {
			t.Fatalf("malformed hash %q matched", bad)
		}
	}
	if _, err := HashPassword("abc"); err == nil {
		t.Fatal("3-character password accepted")
	}
}

func TestSIPHA1(t *testing.T) {
	md5hex, shahex := SIPHA1("agent01", "onecall", "demo")
	// echo -n agent01:onecall:demo | md5sum / sha256sum
	if md5hex != "b9c978027a49db9e8cfe18fbc5080214" {
		t.Fatalf("md5 %s", md5hex)
	}
	if shahex != "d454995d211d978368152d146e4410b4cf9fc24f5ee7eb2f182d8f280bada1a2" {
		t.Fatalf("sha256 %s", shahex)
	}
	m2, _ := SIPHA1("agent01", "onecall", "demo2")
	if m2 == md5hex {
		t.Fatal("password not in HA1")
	}
}

func TestLoginLockoutAndReset(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	if code := c.login("nobody", "demo"); code != http.StatusUnauthorized {
		t.Fatalf("unknown user: %d", code)
	}
	for i := 0; i < 4; i++ {
		if code := c.login("agent02", "wrong"); code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, code)
		}
	}
	if code := c.login("agent02", "wrong"); code != http.StatusLocked {
		t.Fatalf("5th failure should lock: %d", code)
	}
	if code := c.login("agent02", "demo"); code != http.StatusLocked {
		t.Fatalf("locked account accepted the right password: %d", code)
	}
	// An admin resets the password, which unlocks.
	admin := e.signedIn("admin")
	if code, b := admin.api("POST", "/api/users/agent02/password", map[string]string{"password": "new pass 2026"}); code != 200 {
		t.Fatalf("reset: %d %s", code, b)
	}
	if code := c.login("agent02", "new pass 2026"); code != 200 {
		t.Fatalf("after reset: %d", code)
	}
	// Successful sign-ins clear the failure count.
	for i := 0; i < 4; i++ {
		c.login("agent01", "wrong")
	}
	if code := c.login("agent01", "demo"); code != 200 {
		t.Fatalf("agent01: %d", code)
	}
	for i := 0; i < 4; i++ {
		if code := c.login("agent01", "wrong"); code != http.StatusUnauthorized {
			t.Fatalf("failure count not reset: attempt %d -> %d", i, code)
		}
	}
}

func TestSessionCookieFlags(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.SecureCookies = true })
	resp, err := http.Post(e.srv.URL+"/api/login", "application/json", strings.NewReader(`{"username":"agent01","password":"demo"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cs := resp.Cookies()
	if len(cs) != 1 || !cs[0].HttpOnly || !cs[0].Secure || cs[0].SameSite != http.SameSiteStrictMode || cs[0].Name != sessionCookie {
		t.Fatalf("cookie %+v", cs)
	}
	resp, err = http.Post(e.srv.URL+"/api/login", "application/json", strings.NewReader(`{"username":"agent01","password":"demo","extra":1}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("unknown field: %d", resp.StatusCode)
	}
}

func TestCSRFAndOrigin(t *testing.T) {
	e := newEnv(t)
	c := e.signedIn("agent01")
	if code, _ := c.do("POST", "/api/me/state", stateReq{State: "ready"}, nil); code != http.StatusForbidden {
		t.Fatalf("no csrf header: %d", code)
	}
	if code, _ := c.do("POST", "/api/me/state", stateReq{State: "ready"}, map[string]string{"X-CSRF-Token": "forged"}); code != http.StatusForbidden {
		t.Fatalf("forged csrf: %d", code)
	}
	if code, _ := c.do("POST", "/api/me/state", stateReq{State: "ready"}, map[string]string{"X-CSRF-Token": c.csrf, "Origin": "https://evil.example"}); code != http.StatusForbidden {
		t.Fatalf("cross origin: %d", code)
	}
	if code, b := c.api("POST", "/api/me/state", stateReq{State: "bogus"}); code != http.StatusConflict {
		t.Fatalf("bad state: %d %s", code, b)
	}
	// WebSocket: csrf token and Origin required.
	good := c.csrf
	c.csrf = "forged"
	if _, resp, err := c.dial(); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("ws with forged csrf: %v", err)
	}
	c.csrf = good
	u := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/ws/console?csrf=" + c.csrf
	hdr := http.Header{"Origin": {"https://evil.example"}}
	d := wsDialer(c)
	if _, resp, err := d.Dial(u, hdr); err == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("ws from evil origin accepted: %v", err)
	}
	// Logout ends the session.
	if code, _ := c.api("POST", "/api/logout", nil); code != 200 {
		t.Fatalf("logout: %d", code)
	}
	if code, _ := c.api("GET", "/api/session", nil); code != http.StatusUnauthorized {
		t.Fatalf("session after logout: %d", code)
	}
}

func TestRoles(t *testing.T) {
	e := newEnv(t)
	anon := e.client()
	agent := e.signedIn("agent01")
	sup := e.signedIn("super01")
	admin := e.signedIn("admin")
	cases := []struct {
		c      *client
		method string
		path   string
		want   int
	}{
		{anon, "GET", "/api/queues", 401},
		{anon, "GET", "/api/session", 401},
		{agent, "GET", "/api/queues", 403},
		{agent, "GET", "/api/agents", 403},
		{agent, "POST", "/api/agents/agent02/logout", 403},
		{agent, "GET", "/api/users", 403},
		{agent, "GET", "/api/contacts/999", 404},
		{agent, "GET", "/api/me/state", 200},
		{sup, "GET", "/api/queues", 200},
		{sup, "GET", "/api/agents", 200},
		{sup, "GET", "/api/users", 403},
		{sup, "GET", "/api/me/state", 403},
		{admin, "GET", "/api/users", 200},
	}
	for _, tc := range cases {
		if code, b := tc.c.api(tc.method, tc.path, nil); code != tc.want {
			t.Errorf("%s %s as %q: %d, want %d (%s)", tc.method, tc.path, tc.c.user, code, tc.want, b)
		}
	}
	// A citizen chat token (or any other cookie) never opens the console.
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/session", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: "citizen-chat-token"})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("foreign token: %d", resp.StatusCode)
	}
	// An agent's WebSocket refuses supervisor commands but stays open.
	ws := agent.mustDial()
	ws.snapshot()
	if m := ws.call("force_logout", map[string]string{"agent": "agent02"}); m.T != "error" || !strings.Contains(m.Error, "not allowed") {
		t.Fatalf("agent force_logout: %+v", m)
	}
	if m := ws.call("waiting", map[string]string{"queue": "labor"}); m.T != "error" {
		t.Fatalf("agent waiting: %+v", m)
	}
	ws.mustCall("ping", nil)
}

func TestAdminUsers(t *testing.T) {
	e := newEnv(t)
	admin := e.signedIn("admin")
	code, b := admin.api("POST", "/api/users", map[string]any{"username": "agent77", "role": "agent", "password": "pw1234 long enough",
		"skills": map[string]int{"labor": 3}, "chat_cap": 2})
	if code != 200 {
		t.Fatalf("create: %d %s", code, b)
	}
	if code, _ := admin.api("POST", "/api/users", map[string]any{"username": "agent77", "role": "agent", "password": "pw1234 long enough"}); code != 409 {
		t.Fatalf("duplicate: %d", code)
	}
	if code, _ := admin.api("POST", "/api/users", map[string]any{"username": "x y", "role": "agent", "password": "pw1234 long enough"}); code != 400 {
		t.Fatalf("bad name: %d", code)
	}
	if code, _ := admin.api("POST", "/api/users/agent77", map[string]any{"skills": map[string]int{"labor": 9}}); code != 400 {
		t.Fatalf("bad skill level: %d", code)
	}
	c := e.client()
	if code := c.login("agent77", "pw1234 long enough"); code != 200 {
		t.Fatalf("new user login: %d", code)
	}
	ws := c.mustDial()
	ws.snapshot()
	// Disabling cuts the live console and the session.
	if code, b := admin.api("POST", "/api/users/agent77", map[string]any{"disabled": true}); code != 200 {
		t.Fatalf("disable: %d %s", code, b)
	}
	if code := ws.closed(); code != closeSignedOut {
		t.Fatalf("disabled console close code %d", code)
	}
	if code, _ := c.api("GET", "/api/session", nil); code != 401 {
		t.Fatalf("disabled session: %d", code)
	}
	if code := c.login("agent77", "pw1234 long enough"); code != 401 {
		t.Fatalf("disabled login: %d", code)
	}
}

func TestUserCommand(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var out bytes.Buffer
	run := func(args ...string) error { out.Reset(); return UserCommand(ctx, e.st, args, &out) }
	if err := run("add", "kim", "--role", "supervisor", "--password", "pw1234 long enough", "--skills", "labor=4,ko=5"); err != nil {
		t.Fatal(err)
	}
	u, err := e.st.UserByName(ctx, "kim")
	if err != nil || u.Role != "supervisor" || u.Skills["ko"] != 5 || !CheckPassword(u.PasswordHash, "pw1234 long enough") {
		t.Fatalf("added user: %+v %v", u, err)
	}
	if md5hex, _ := SIPHA1("kim", "onecall", "pw1234 long enough"); u.SIPHA1MD5 != md5hex {
		t.Fatal("SIP HA1 not stored")
	}
	if err := run("add", "kim", "--password", "pw1234 long enough"); err == nil {
		t.Fatal("duplicate add accepted")
	}
	if err := run("add", "lee", "--role", "king", "--password", "pw1234 long enough"); err == nil {
		t.Fatal("bad role accepted")
	}
	if err := run("add", "lee", "--password", "pw1234 long enough", "--skills", "labor=7"); err == nil {
		t.Fatal("bad skill accepted")
	}
	if err := run("passwd", "kim", "--password", "other one 77"); err != nil {
		t.Fatal(err)
	}
	u, _ = e.st.UserByName(ctx, "kim")
	if !CheckPassword(u.PasswordHash, "other one 77") {
		t.Fatal("passwd did not change the hash")
	}
	if err := run("disable", "kim"); err != nil {
		t.Fatal(err)
	}
	if err := run("list"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "kim") || !strings.Contains(out.String(), "disabled") || !strings.Contains(out.String(), "agent01") {
		t.Fatalf("list:\n%s", out.String())
	}
	if err := run("frobnicate"); err == nil {
		t.Fatal("unknown subcommand accepted")
	}
	if err := run("passwd", "ghost", "--password", "pw1234 long enough"); err == nil {
		t.Fatal("passwd of unknown user accepted")
	}
}

// A restart signs nobody out: a console Service started on the same store
// accepts the cookie of a sign-in made before (same user, same CSRF token);
// a sign-out, or an account signed out everywhere, stays signed out.
func TestSessionsSurviveRestart(t *testing.T) {
	e := newEnv(t)
	c := e.signedIn("agent01")
	u, _ := url.Parse(e.srv.URL)
	var token string
	for _, ck := range c.hc.Jar.Cookies(u) {
		if ck.Name == sessionCookie {
			token = ck.Value
		}
	}
	if token == "" {
		t.Fatal("no session cookie")
	}
	restart := func() *httptest.Server {
		svc, err := New(e.hub, e.st, Options{Logger: slog.New(slog.DiscardHandler), Chat: e.chat, Calls: e.calls})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(svc)
		t.Cleanup(func() { srv.Close(); svc.Close() })
		return srv
	}
	session := func(srv *httptest.Server) (int, sessionResp) {
		req, _ := http.NewRequest("GET", srv.URL+"/api/session", nil)
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: token})
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var sr sessionResp
		_ = json.NewDecoder(resp.Body).Decode(&sr)
		return resp.StatusCode, sr
	}
	if code, sr := session(restart()); code != http.StatusOK || sr.User != "agent01" || sr.CSRF != c.csrf {
		t.Fatalf("after a restart: %d %+v (csrf %q)", code, sr, c.csrf)
	}
	// The store holds the token's hash, not the token.
	if _, err := e.st.SessionByHash(t.Context(), token, time.Now()); err == nil {
		t.Fatal("the raw token opens a stored session")
	}
	if code, _ := c.api("POST", "/api/logout", nil); code != http.StatusOK {
		t.Fatalf("logout: %d", code)
	}
	if code, _ := session(restart()); code != http.StatusUnauthorized {
		t.Fatalf("signed-out session after a restart: %d", code)
	}
	// Signed out everywhere (an admin resets the password).
	c2 := e.signedIn("agent02")
	for _, ck := range c2.hc.Jar.Cookies(u) {
		if ck.Name == sessionCookie {
			token = ck.Value
		}
	}
	if code, b := e.signedIn("admin").api("POST", "/api/users/agent02/password", map[string]string{"password": "new pass 2026"}); code != 200 {
		t.Fatalf("reset: %d %s", code, b)
	}
	if code, _ := session(restart()); code != http.StatusUnauthorized {
		t.Fatalf("session of a reset account after a restart: %d", code)
	}
}
