package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"
)

// Roles.
const (
	RoleAgent      = "agent"
	RoleSupervisor = "supervisor"
	RoleAdmin      = "admin"
)

func validRole(r string) bool { return r == RoleAgent || r == RoleSupervisor || r == RoleAdmin }

const sessionCookie = "onecall_console"

// session is one sign-in. Fields other than expires are immutable.
type session struct {
	Token   string
	User    string
	Display string
	Role    string
	CSRF    string
	expires time.Time // guarded by sessions.mu
}

// sessions is the in-memory session table (a restart signs everyone out).
type sessions struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]*session
}

func newSessions(ttl time.Duration) *sessions {
	return &sessions{ttl: ttl, m: make(map[string]*session)}
}

func randToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("console: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func (ss *sessions) create(user, display, role string, now time.Time) *session {
	s := &session{Token: randToken(), User: user, Display: display, Role: role, CSRF: randToken(), expires: now.Add(ss.ttl)}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for k, v := range ss.m { // prune expired sign-ins opportunistically
		if now.After(v.expires) {
			delete(ss.m, k)
		}
	}
	ss.m[s.Token] = s
	return s
}

// get returns the live session for token and extends it.
func (ss *sessions) get(token string, now time.Time) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[token]
	if s == nil {
		return nil
	}
	if now.After(s.expires) {
		delete(ss.m, token)
		return nil
	}
	s.expires = now.Add(ss.ttl)
	return s
}

func (ss *sessions) drop(token string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.m, token)
}

// dropUser ends every session of user (disabled account, password reset).
func (ss *sessions) dropUser(user string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for k, v := range ss.m {
		if v.User == user {
			delete(ss.m, k)
		}
	}
}

// sessionOf returns the request's session or nil.
func (s *Service) sessionOf(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	return s.sessions.get(c.Value, s.now())
}

func csrfOK(sess *session, token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(sess.CSRF), []byte(token)) == 1
}

// originOK accepts requests without Origin (non-browser clients cannot ride a
// victim's cookie cross-site because of SameSite=Strict) or with an Origin
// equal to the request host or listed in AllowedOrigins.
func (s *Service) originOK(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	for _, a := range s.opts.AllowedOrigins {
		if o == a {
			return true
		}
	}
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	return o == scheme+r.Host
}
