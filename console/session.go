package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"onecall/store"
)

// Roles.
const (
	RoleAgent      = "agent"
	RoleSupervisor = "supervisor"
	RoleAdmin      = "admin"
)

func validRole(r string) bool { return r == RoleAgent || r == RoleSupervisor || r == RoleAdmin }

const sessionCookie = "onecall_console"

// session is one sign-in. Fields other than expires and saved are
// immutable.
type session struct {
	Token   string
	User    string
	Display string
	Role    string
	CSRF    string
	expires time.Time // guarded by sessions.mu
	saved   time.Time // expiry last written to the SessionStore; guarded by sessions.mu
}

// SessionStore keeps sign-ins across restarts (*store.Store has it): the
// console stores each token's SHA-256, never the token.
type SessionStore interface {
	SaveSession(ctx context.Context, cs store.ConsoleSession) error
	SessionByHash(ctx context.Context, hash string, now time.Time) (store.ConsoleSession, error)
	DeleteSession(ctx context.Context, hash string) error
	DeleteUserSessions(ctx context.Context, user string) error
}

// sessions is the session table: in memory, written through to db when
// there is one, so that a restart signs nobody out (consoles reconnect with
// their cookie). A session slides: each use extends it by ttl; the store
// learns of an extension once it has moved by ttl/8.
type sessions struct {
	ttl time.Duration
	db  SessionStore // nil: memory only (a restart signs everyone out)
	log *slog.Logger
	mu  sync.Mutex
	m   map[string]*session
}

// sessionIO bounds one session write or read.
const sessionIO = 3 * time.Second

func newSessions(ttl time.Duration, db SessionStore, log *slog.Logger) *sessions {
	return &sessions{ttl: ttl, db: db, log: log, m: make(map[string]*session)}
}

func randToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("console: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// tokenHash is what the store keeps of a token.
func tokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

func (ss *sessions) create(user, display, role string, now time.Time) *session {
	s := &session{Token: randToken(), User: user, Display: display, Role: role, CSRF: randToken(), expires: now.Add(ss.ttl)}
	s.saved = s.expires
	ss.mu.Lock()
	for k, v := range ss.m { // prune expired sign-ins opportunistically
		if now.After(v.expires) {
			delete(ss.m, k)
		}
	}
	ss.m[s.Token] = s
	ss.mu.Unlock()
	ss.save(s, s.expires)
	return s
}

// save writes s with expiry exp through to the store (best effort: a
// failure leaves the sign-in valid until a restart).
func (ss *sessions) save(s *session, exp time.Time) {
	cs := store.ConsoleSession{TokenHash: tokenHash(s.Token), User: s.User, Display: s.Display, Role: s.Role, CSRF: s.CSRF, Expires: exp}
	ss.write("console session not stored; it ends at a restart", func(ctx context.Context) error {
		return ss.db.SaveSession(ctx, cs)
	}, "agent_id", s.User)
}

// write runs one store write, bounded by sessionIO; a failure is logged
// with msg and args.
func (ss *sessions) write(msg string, f func(ctx context.Context) error, args ...any) {
	if ss.db == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), sessionIO)
	defer cancel()
	if err := f(ctx); err != nil {
		ss.log.Warn(msg, append(args, "err", err)...)
	}
}

// get returns the live session for token and extends it. A token unknown
// in memory is looked up in the store (a sign-in from before a restart).
func (ss *sessions) get(token string, now time.Time) *session {
	ss.mu.Lock()
	s := ss.m[token]
	if s != nil && now.After(s.expires) {
		delete(ss.m, token)
		ss.mu.Unlock()
		return nil
	}
	if s == nil {
		ss.mu.Unlock()
		if s = ss.load(token, now); s == nil {
			return nil
		}
		ss.mu.Lock()
		if cur := ss.m[token]; cur != nil {
			s = cur // loaded twice at once: keep the first
		} else {
			ss.m[token] = s
		}
	}
	s.expires = now.Add(ss.ttl)
	var persist time.Time
	if s.expires.Sub(s.saved) > ss.ttl/8 {
		s.saved = s.expires
		persist = s.expires
	}
	ss.mu.Unlock()
	if !persist.IsZero() {
		ss.save(s, persist)
	}
	return s
}

func (ss *sessions) load(token string, now time.Time) *session {
	if ss.db == nil || token == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), sessionIO)
	defer cancel()
	cs, err := ss.db.SessionByHash(ctx, tokenHash(token), now)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			ss.log.Warn("console session lookup failed", "err", err)
		}
		return nil
	}
	return &session{Token: token, User: cs.User, Display: cs.Display, Role: cs.Role, CSRF: cs.CSRF,
		expires: cs.Expires, saved: cs.Expires}
}

func (ss *sessions) drop(token string) {
	ss.mu.Lock()
	delete(ss.m, token)
	ss.mu.Unlock()
	ss.write("console session not deleted from the store", func(ctx context.Context) error {
		return ss.db.DeleteSession(ctx, tokenHash(token))
	})
}

// dropUser ends every session of user (disabled account, password reset).
func (ss *sessions) dropUser(user string) {
	ss.mu.Lock()
	for k, v := range ss.m {
		if v.User == user {
			delete(ss.m, k)
		}
	}
	ss.mu.Unlock()
	ss.write("console sessions not deleted from the store", func(ctx context.Context) error {
		return ss.db.DeleteUserSessions(ctx, user)
	}, "agent_id", user)
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
