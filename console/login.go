package console

import (
	"net/http"
	"time"
)

type loginReq struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type sessionResp struct {
	User    string `json:"user"`
	Display string `json:"display"`
	Role    string `json:"role"`
	CSRF    string `json:"csrf"`
}

// dummyHash equalises sign-in time for unknown users (same parameters as
// HashPassword).
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$J9bC0Dq3D8Vv8lX5a2qg0j6lq8v1lEw3Jxq6cD8y0xE"

// apiLogin signs in. See limits.go for the order of the checks; known and
// unknown usernames, disabled accounts and wrong passwords take one path
// and get one answer.
func (s *Service) apiLogin(w http.ResponseWriter, r *http.Request) {
	if !s.originOK(r) {
		fail(w, http.StatusForbidden, "origin not allowed")
		return
	}
	src := sourceOf(r)
	now := s.now()
	if d, ok := s.guard.allowSource(src, now); !ok {
		retryAfter(w, d)
		fail(w, http.StatusTooManyRequests, "too many sign-ins from this address; try again later")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	var req loginReq
	if err := decode(r, &req); err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	if len(req.Username) > 64 || len(req.Password) > 1024 {
		fail(w, http.StatusBadRequest, "username or password too long")
		return
	}
	if d, ok := s.guard.locked(src, req.Username, now); ok {
		retryAfter(w, d)
		fail(w, http.StatusLocked, "too many failed sign-ins; try again later")
		return
	}
	ctx := r.Context()
	u, err := s.st.UserByName(ctx, req.Username)
	if err != nil && !isNotFound(err) {
		s.log.Error("sign-in lookup", "err", err)
		fail(w, http.StatusServiceUnavailable, "try again")
		return
	}
	known := err == nil
	hash := dummyHash
	if known {
		hash = u.PasswordHash
	}
	var match bool
	if !s.guard.hash(func() { match = CheckPassword(hash, req.Password) }) {
		w.Header().Set("Retry-After", "1")
		fail(w, http.StatusServiceUnavailable, "sign-in busy; try again")
		return
	}
	if !known || u.Disabled || !match {
		locked := s.guard.failed(src, req.Username, now)
		s.log.Info("sign-in failed", "user", clip(req.Username, 64), "source", src, "locked", locked)
		s.audit(AuditEntry{Actor: clip(req.Username, 64), Action: "sign_in_failed", Source: src})
		if locked {
			retryAfter(w, s.opts.LockFor)
			fail(w, http.StatusLocked, "too many failed sign-ins; try again later")
			return
		}
		fail(w, http.StatusUnauthorized, "wrong username or password")
		return
	}
	s.guard.succeeded(src, u.Username, now)
	display := u.DisplayName
	if display == "" {
		display = u.Username
	}
	sess := s.sessions.create(u.Username, display, u.Role, now)
	s.audit(AuditEntry{Actor: u.Username, Role: u.Role, Action: "sign_in", Source: src})
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: sess.Token, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.secure(r), MaxAge: int(s.opts.SessionTTL / time.Second)})
	writeJSON(w, http.StatusOK, sessionResp{User: sess.User, Display: sess.Display, Role: sess.Role, CSRF: sess.CSRF})
}
