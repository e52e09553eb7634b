package console

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"

	"onecall/router"
	"onecall/server"
	"onecall/store"
)

//go:embed web
var webFS embed.FS

const maxBody = 64 << 10

func (s *Service) routes() {
	mux := http.NewServeMux()
	static, _ := fs.Sub(webFS, "web")
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console", http.StatusFound)
	})
	mux.HandleFunc("GET /console", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		http.ServeFileFS(w, r, static, "index.html")
	})
	mux.Handle("GET /console/static/", http.StripPrefix("/console/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /ws/console", s.serveWS)

	mux.HandleFunc("POST /api/login", s.apiLogin)
	mux.HandleFunc("POST /api/logout", s.authed("", s.apiLogout))
	mux.HandleFunc("GET /api/session", s.authed("", s.apiSession))
	mux.HandleFunc("GET /api/me/state", s.authed(RoleAgent, s.apiMyState))
	mux.HandleFunc("POST /api/me/state", s.authed(RoleAgent, s.apiSetMyState))
	mux.HandleFunc("GET /api/queues", s.authed(RoleSupervisor, s.apiQueues))
	mux.HandleFunc("GET /api/queues/{queue}/waiting", s.authed(RoleSupervisor, s.apiWaiting))
	mux.HandleFunc("GET /api/agents", s.authed(RoleSupervisor, s.apiAgents))
	mux.HandleFunc("POST /api/agents/{agent}/state", s.authed(RoleSupervisor, s.apiForceState))
	mux.HandleFunc("POST /api/agents/{agent}/logout", s.authed(RoleSupervisor, s.apiForceLogout))
	mux.HandleFunc("POST /api/contacts/{id}/move", s.authed(RoleSupervisor, s.apiMove))
	mux.HandleFunc("POST /api/contacts/{id}/monitor", s.authed(RoleSupervisor, s.apiMonitor))
	mux.HandleFunc("GET /api/contacts/{id}", s.authed("", s.apiContact))
	mux.HandleFunc("GET /api/contacts", s.authed(RoleSupervisor, s.apiContactsByCitizen))
	mux.HandleFunc("GET /api/calls", s.authed(RoleSupervisor, s.apiCalls))
	if s.opts.Reports != nil {
		mux.HandleFunc("GET /api/reports", s.authed(RoleSupervisor, func(w http.ResponseWriter, r *http.Request, sess *session) {
			// Written before the report is served, like every audited read.
			s.audit(auditBy(sess, r, "report_export", "", "query", r.URL.RawQuery))
			s.opts.Reports.ServeHTTP(w, r)
		}))
	}
	mux.HandleFunc("GET /api/wallboard/agent-states", s.authed(RoleSupervisor, s.apiAgentStates))
	mux.HandleFunc("GET /api/users", s.authed(RoleAdmin, s.apiUsers))
	mux.HandleFunc("POST /api/users", s.authed(RoleAdmin, s.apiCreateUser))
	mux.HandleFunc("POST /api/users/{name}", s.authed(RoleAdmin, s.apiUpdateUser))
	mux.HandleFunc("POST /api/users/{name}/password", s.authed(RoleAdmin, s.apiResetPassword))
	s.auditRoutes(mux)
	s.recordingRoutes(mux)
	s.mux = mux
}

type apiError struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, msg string) { writeJSON(w, status, apiError{Error: msg}) }

// hubError maps hub and engine errors to HTTP statuses.
func hubError(w http.ResponseWriter, err error) {
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	case errors.Is(err, server.ErrBusy):
		fail(w, http.StatusServiceUnavailable, "busy, retry")
	case errors.Is(err, server.ErrStopped), errors.Is(err, context.DeadlineExceeded):
		fail(w, http.StatusServiceUnavailable, err.Error())
	case errors.Is(err, errForbidden):
		fail(w, http.StatusForbidden, err.Error())
	default:
		fail(w, http.StatusConflict, err.Error())
	}
}

func decode(r *http.Request, v any) error {
	d := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return errors.New("bad json: " + shortErr(err))
	}
	return nil
}

// authed wraps a handler: session required, role at least minRole
// (agent < supervisor < admin, but agent-only routes need exactly agent),
// CSRF header and Origin on state-changing methods.
func (s *Service) authed(role string, h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess := s.sessionOf(r)
		if sess == nil {
			fail(w, http.StatusUnauthorized, "sign in first")
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if !s.originOK(r) {
				fail(w, http.StatusForbidden, "origin not allowed")
				return
			}
			if !csrfOK(sess, r.Header.Get("X-CSRF-Token")) {
				fail(w, http.StatusForbidden, "bad csrf token")
				return
			}
		}
		switch role {
		case RoleAgent:
			if sess.Role != RoleAgent {
				fail(w, http.StatusForbidden, "agents only")
				return
			}
		case RoleSupervisor:
			if sess.Role != RoleSupervisor && sess.Role != RoleAdmin {
				fail(w, http.StatusForbidden, "supervisors only")
				return
			}
		case RoleAdmin:
			if sess.Role != RoleAdmin {
				fail(w, http.StatusForbidden, "admins only")
				return
			}
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		h(w, r, sess)
	}
}

func (s *Service) apiLogout(w http.ResponseWriter, r *http.Request, sess *session) {
	s.sessions.drop(sess.Token)
	s.mu.Lock()
	if c := s.conns[sess.User]; c != nil && c.sess.Token == sess.Token {
		c.kill(closeSignedOut, "signed out")
	}
	agent := router.AgentID(sess.User)
	if t := s.grace[agent]; t != nil {
		t.Stop()
		delete(s.grace, agent)
	}
	delete(s.gone, agent)
	loggedIn := sess.Role == RoleAgent && s.m.agent(agent).State != "offline"
	s.mu.Unlock()
	if loggedIn {
		// Signing out ends routing at once: no "Ready (away)" seat that
		// keeps receiving offers for the logout grace.
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		err := s.do(ctx, router.AgentLoggedOut{Agent: agent})
		cancel()
		if err != nil {
			s.log.Warn("sign-out: routing logout", "agent_id", agent, "err", err)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.secure(r), MaxAge: -1})
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (s *Service) apiSession(w http.ResponseWriter, r *http.Request, sess *session) {
	writeJSON(w, http.StatusOK, sessionResp{User: sess.User, Display: sess.Display, Role: sess.Role, CSRF: sess.CSRF})
}

func (s *Service) apiMyState(w http.ResponseWriter, r *http.Request, sess *session) {
	s.mu.Lock()
	a := *s.m.agent(router.AgentID(sess.User))
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, a)
}

type stateReq struct {
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
	Next   bool   `json:"next,omitempty"`
}

func (s *Service) apiSetMyState(w http.ResponseWriter, r *http.Request, sess *session) {
	var req stateReq
	if err := decode(r, &req); err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	hubError(w, s.requestState(r.Context(), router.AgentID(sess.User), req.State, req.Reason, req.Next, ""))
}

func (s *Service) apiQueues(w http.ResponseWriter, r *http.Request, sess *session) {
	s.mu.Lock()
	q := s.m.queueList()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, q)
}

func (s *Service) apiWaiting(w http.ResponseWriter, r *http.Request, sess *session) {
	writeJSON(w, http.StatusOK, s.waiting(r.Context(), r.PathValue("queue")))
}

func (s *Service) apiAgents(w http.ResponseWriter, r *http.Request, sess *session) {
	s.mu.Lock()
	l := s.m.agentList()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, l)
}

func (s *Service) apiForceState(w http.ResponseWriter, r *http.Request, sess *session) {
	var req stateReq
	if err := decode(r, &req); err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	err := s.requestState(r.Context(), router.AgentID(r.PathValue("agent")), req.State, req.Reason, req.Next, router.AgentID(sess.User))
	if err == nil {
		s.audit(auditBy(sess, r, "force_state", "agent:"+r.PathValue("agent"), "state", req.State, "reason", req.Reason))
	}
	hubError(w, err)
}

func (s *Service) apiForceLogout(w http.ResponseWriter, r *http.Request, sess *session) {
	err := s.do(r.Context(), router.AgentLoggedOut{Agent: router.AgentID(r.PathValue("agent")), By: router.AgentID(sess.User)})
	if err == nil {
		s.audit(auditBy(sess, r, "force_logout", "agent:"+r.PathValue("agent")))
	}
	hubError(w, err)
}

type moveReq struct {
	Queue    string `json:"queue,omitempty"`
	Priority *int   `json:"priority,omitempty"`
}

func (s *Service) apiMove(w http.ResponseWriter, r *http.Request, sess *session) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		fail(w, http.StatusBadRequest, "bad contact id")
		return
	}
	var req moveReq
	if err := decode(r, &req); err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	if req.Queue == "" && req.Priority == nil {
		fail(w, http.StatusBadRequest, "move needs a queue or a priority")
		return
	}
	err = s.do(r.Context(), router.ContactMoved{Contact: router.ContactID(id), ToQueue: req.Queue, Priority: req.Priority, By: router.AgentID(sess.User)})
	if err == nil {
		s.audit(auditBy(sess, r, "move", "contact:"+r.PathValue("id"), "queue", req.Queue, "priority", req.Priority))
	}
	hubError(w, err)
}

// apiContact: supervisors see any contact; agents only theirs (live, in
// wrap-up, or earlier contacts of a citizen they are serving).
func (s *Service) apiContact(w http.ResponseWriter, r *http.Request, sess *session) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		fail(w, http.StatusBadRequest, "bad contact id")
		return
	}
	if sess.Role == RoleAgent && !s.mayRead(r.Context(), router.AgentID(sess.User), router.ContactID(id)) {
		fail(w, http.StatusNotFound, "no such contact")
		return
	}
	c, err := s.st.Contact(r.Context(), id)
	if err != nil {
		if isNotFound(err) {
			fail(w, http.StatusNotFound, "no such contact")
			return
		}
		fail(w, http.StatusServiceUnavailable, "store unavailable")
		return
	}
	out := struct {
		HistoryItem
		Transcript []ChatLine `json:"transcript,omitempty"`
	}{HistoryItem: historyItem(c)}
	if c.Channel == "chat" && s.opts.Chat != nil {
		out.Transcript, _ = s.opts.Chat.Transcript(r.Context(), router.ContactID(id))
	}
	s.audit(auditBy(sess, r, "contact_read", "contact:"+r.PathValue("id"), "transcript", out.Transcript != nil))
	writeJSON(w, http.StatusOK, out)
}

func (s *Service) apiContactsByCitizen(w http.ResponseWriter, r *http.Request, sess *session) {
	cit := r.URL.Query().Get("citizen")
	if cit == "" {
		fail(w, http.StatusBadRequest, "citizen required")
		return
	}
	cs, err := s.st.ContactsByCitizen(r.Context(), cit, 50)
	if err != nil {
		fail(w, http.StatusServiceUnavailable, "store unavailable")
		return
	}
	out := make([]HistoryItem, 0, len(cs))
	for _, c := range cs {
		out = append(out, historyItem(c))
	}
	s.audit(auditBy(sess, r, "history_read", "citizen:"+maskNumber(clip(cit, 64)), "contacts", len(out)))
	writeJSON(w, http.StatusOK, out)
}

// UserView is an account as the admin API shows it (never the hashes).
type UserView struct {
	Username    string         `json:"username"`
	DisplayName string         `json:"display_name"`
	Role        string         `json:"role"`
	Disabled    bool           `json:"disabled"`
	Skills      map[string]int `json:"skills"`
	VoiceCap    int            `json:"voice_cap"`
	ChatCap     int            `json:"chat_cap"`
	Locked      bool           `json:"locked"`
}

func (s *Service) userView(u store.User) UserView {
	return UserView{Username: u.Username, DisplayName: u.DisplayName, Role: u.Role, Disabled: u.Disabled,
		Skills: u.Skills, VoiceCap: u.VoiceCap, ChatCap: u.ChatCap, Locked: u.LockedUntil.After(s.now()) || s.guard.accountLocked(u.Username, s.now())}
}

func (s *Service) apiUsers(w http.ResponseWriter, r *http.Request, sess *session) {
	us, err := s.st.ListUsers(r.Context())
	if err != nil {
		fail(w, http.StatusServiceUnavailable, "store unavailable")
		return
	}
	out := make([]UserView, 0, len(us))
	for _, u := range us {
		out = append(out, s.userView(u))
	}
	writeJSON(w, http.StatusOK, out)
}

type userReq struct {
	Username    string         `json:"username,omitempty"`
	DisplayName *string        `json:"display_name,omitempty"`
	Role        string         `json:"role,omitempty"`
	Password    string         `json:"password,omitempty"`
	Disabled    *bool          `json:"disabled,omitempty"`
	Skills      map[string]int `json:"skills,omitempty"`
	VoiceCap    *int           `json:"voice_cap,omitempty"`
	ChatCap     *int           `json:"chat_cap,omitempty"`
}

func (s *Service) apiCreateUser(w http.ResponseWriter, r *http.Request, sess *session) {
	var req userReq
	if err := decode(r, &req); err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	if _, err := s.st.UserByName(r.Context(), req.Username); err == nil {
		fail(w, http.StatusConflict, "user exists")
		return
	}
	if err := checkNewPassword(req.Username, req.Password); err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	u, err := newUser(req.Username, req.Role, req.Password, s.opts.Realm)
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	s.saveUser(w, r, u, req, "", sess)
}

func (s *Service) apiUpdateUser(w http.ResponseWriter, r *http.Request, sess *session) {
	var req userReq
	if err := decode(r, &req); err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	u, err := s.st.UserByName(r.Context(), r.PathValue("name"))
	if err != nil {
		fail(w, http.StatusNotFound, "no such user")
		return
	}
	prevRole := u.Role
	if req.Role != "" {
		if !validRole(req.Role) {
			fail(w, http.StatusBadRequest, "bad role")
			return
		}
		u.Role = req.Role
	}
	if req.Password != "" {
		fail(w, http.StatusBadRequest, "set a password with POST /api/users/{name}/password")
		return
	}
	s.saveUser(w, r, u, req, prevRole, sess)
}

// saveUser stores u. A role change or a disabled account ends every
// session and console of the user at once (they sign in again with the
// new role); prevRole is "" for a new user.
func (s *Service) saveUser(w http.ResponseWriter, r *http.Request, u store.User, req userReq, prevRole string, sess *session) {
	if req.DisplayName != nil {
		u.DisplayName = clip(strings.TrimSpace(*req.DisplayName), 100)
	}
	if req.Disabled != nil {
		u.Disabled = *req.Disabled
	}
	if req.Skills != nil {
		for k, v := range req.Skills {
			if k == "" || len(k) > 40 || v < 1 || v > 5 {
				fail(w, http.StatusBadRequest, "skills are name: 1..5")
				return
			}
		}
		u.Skills = req.Skills
	}
	if req.VoiceCap != nil {
		if *req.VoiceCap < 0 || *req.VoiceCap > 1 {
			fail(w, http.StatusBadRequest, "voice_cap is 0 or 1")
			return
		}
		u.VoiceCap = *req.VoiceCap
	}
	if req.ChatCap != nil {
		if *req.ChatCap < 0 || *req.ChatCap > 10 {
			fail(w, http.StatusBadRequest, "chat_cap is 0..10")
			return
		}
		u.ChatCap = *req.ChatCap
	}
	if err := s.st.UpsertUser(r.Context(), u); err != nil {
		fail(w, http.StatusServiceUnavailable, "store unavailable")
		return
	}
	if u.Disabled || (prevRole != "" && prevRole != u.Role) {
		s.kickUser(u.Username)
	}
	action := "user_update"
	if prevRole == "" {
		action = "user_create"
	}
	s.audit(auditBy(sess, r, action, "user:"+u.Username, "role", u.Role, "previous_role", prevRole,
		"disabled", u.Disabled, "skills", u.Skills, "voice_cap", u.VoiceCap, "chat_cap", u.ChatCap))
	if u.Role == RoleAgent {
		if err := s.hub.Submit(router.AgentUpserted{Agent: agentDef(u.Username, u.Skills, u.VoiceCap, u.ChatCap, u.Disabled)}); err != nil {
			hubError(w, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, s.userView(u))
}

func (s *Service) kickUser(name string) {
	s.sessions.dropUser(name)
	s.mu.Lock()
	if c := s.conns[name]; c != nil {
		c.kill(closeSignedOut, "account disabled")
	}
	s.mu.Unlock()
}

func (s *Service) apiResetPassword(w http.ResponseWriter, r *http.Request, sess *session) {
	var req struct {
		Password string `json:"password"`
	}
	if err := decode(r, &req); err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	u, err := s.st.UserByName(r.Context(), r.PathValue("name"))
	if err != nil {
		fail(w, http.StatusNotFound, "no such user")
		return
	}
	if err := checkNewPassword(u.Username, req.Password); err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := setPassword(&u, req.Password, s.opts.Realm); err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := s.st.UpsertUser(r.Context(), u); err != nil {
		fail(w, http.StatusServiceUnavailable, "store unavailable")
		return
	}
	if err := s.st.ResetLoginFailures(r.Context(), u.Username); err != nil {
		fail(w, http.StatusServiceUnavailable, "store unavailable")
		return
	}
	s.guard.reset(u.Username)
	if u.Username != sess.User {
		s.kickUser(u.Username)
	}
	s.audit(auditBy(sess, r, "password_reset", "user:"+u.Username))
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// CallView is one call record (CDR) as the API shows it; caller numbers
// are masked when MaskNumbers is set.
type CallView struct {
	CallID      string          `json:"call_id"`
	Contact     uint64          `json:"contact"`
	From        string          `json:"from"`
	To          string          `json:"to"`
	Legs        []store.CallLeg `json:"legs"`
	Codec       string          `json:"codec"`
	Started     int64           `json:"started"`
	Answered    int64           `json:"answered,omitempty"`
	Ended       int64           `json:"ended,omitempty"`
	HangupCause string          `json:"hangup_cause"`
	RTP         store.RTPStats  `json:"rtp"`
}

func (s *Service) apiCalls(w http.ResponseWriter, r *http.Request, sess *session) {
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			fail(w, http.StatusBadRequest, "limit is 1..1000")
			return
		}
		limit = n
	}
	recs, err := s.st.CallRecords(r.Context(), limit)
	if err != nil {
		fail(w, http.StatusServiceUnavailable, "store unavailable")
		return
	}
	out := make([]CallView, 0, len(recs))
	for _, c := range recs {
		v := CallView{CallID: c.CallID, Contact: c.Contact, From: c.From, To: c.To, Legs: c.Legs, Codec: c.Codec,
			Started: unixMS(c.Started), Answered: unixMS(c.Answered), Ended: unixMS(c.Ended), HangupCause: c.HangupCause, RTP: c.RTP}
		if s.opts.MaskNumbers {
			v.From = maskNumber(v.From)
			for i := range v.Legs {
				if v.Legs[i].Role == "citizen" {
					v.Legs[i].URI = maskNumber(v.Legs[i].URI)
				}
			}
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Service) secure(r *http.Request) bool { return r.TLS != nil || s.opts.SecureCookies }
