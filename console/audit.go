package console

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"onecall/store"
)

// The audit trail: sign-ins (and failed ones), user and role changes,
// password resets, forced states and logouts, moves, reads of a citizen's
// data (contact, transcript, history, follow), audit exports and the
// retention purges. Entries are written durably before the answer that
// reports the action; admins read them with GET /api/audit (JSON),
// GET /api/audit.csv and the console page /console/audit.

// AuditEntry is one line of the audit trail.
type AuditEntry = store.AuditEntry

// AuditStore is the audit part of *store.Store; a Store without it keeps
// the trail in the log only.
type AuditStore interface {
	AppendAudit(ctx context.Context, e AuditEntry) error
	Audit(ctx context.Context, q store.AuditQuery) ([]AuditEntry, error)
}

// auditDetail encodes kv pairs as a JSON object.
func auditDetail(kv ...any) string {
	m := make(map[string]any, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		k, _ := kv[i].(string)
		m[k] = kv[i+1]
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// audit appends e durably (bounded by sessionIO); a failure is logged at
// error level with the entry, so the action is never silently unrecorded.
func (s *Service) audit(e AuditEntry) {
	if e.At.IsZero() {
		e.At = s.now()
	}
	as, ok := s.st.(AuditStore)
	if !ok {
		s.log.Info("audit", "actor", e.Actor, "action", e.Action, "target", e.Target, "detail", e.Detail)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), sessionIO)
	defer cancel()
	if err := as.AppendAudit(ctx, e); err != nil {
		s.log.Error("audit entry not stored", "actor", e.Actor, "action", e.Action, "target", e.Target,
			"detail", e.Detail, "err", err)
	}
}

// auditBy is an entry by the session's user.
func auditBy(sess *session, r *http.Request, action, target string, kv ...any) AuditEntry {
	e := AuditEntry{Actor: sess.User, Role: sess.Role, Action: action, Target: target}
	if r != nil {
		e.Source = sourceOf(r)
	}
	if len(kv) > 0 {
		e.Detail = auditDetail(kv...)
	}
	return e
}

// auditedCmds maps console commands to audit actions.
var auditedCmds = map[string]string{
	"force_state":  "force_state",
	"force_logout": "force_logout",
	"move":         "move",
	"transcript":   "transcript_read",
	"history":      "history_read",
	"follow":       "listen",
	"unfollow":     "listen_end",
}

// auditCmd records a console command that succeeded, when it is audited.
func (s *Service) auditCmd(c *conn, m clientMsg, err error) {
	action, ok := auditedCmds[m.Cmd]
	if !ok || err != nil {
		return
	}
	var a contactArgs
	_ = json.Unmarshal(m.Args, &a)
	e := auditBy(c.sess, nil, action, "", "via", "ws")
	e.Source = c.src
	switch m.Cmd {
	case "force_state":
		e.Target = "agent:" + a.Agent
		e.Detail = auditDetail("via", "ws", "state", a.State, "reason", a.Reason)
	case "force_logout":
		e.Target = "agent:" + a.Agent
	case "move":
		e.Target = "contact:" + strconv.FormatUint(a.Contact, 10)
		pr := ""
		if a.Priority != nil {
			pr = strconv.Itoa(*a.Priority)
		}
		e.Detail = auditDetail("via", "ws", "queue", a.Queue, "priority", pr)
	case "follow", "unfollow":
		// A voice call's mode is the action (monitor.go): listen, whisper, barge.
		if m.Cmd == "follow" && (a.Mode == "whisper" || a.Mode == "barge") {
			e.Action = a.Mode
		}
		e.Target = "contact:" + strconv.FormatUint(a.Contact, 10)
		if a.Mode != "" {
			e.Detail = auditDetail("via", "ws", "mode", a.Mode)
		}
	default:
		e.Target = "contact:" + strconv.FormatUint(a.Contact, 10)
	}
	s.audit(e)
}

// parseAuditQuery reads from, to (RFC 3339 or unix ms), actor, action,
// before and limit.
func parseAuditQuery(r *http.Request) (store.AuditQuery, string) {
	q := r.URL.Query()
	var aq store.AuditQuery
	parseT := func(k string) (time.Time, bool) {
		v := q.Get(k)
		if v == "" {
			return time.Time{}, true
		}
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return time.UnixMilli(n), true
		}
		t, err := time.Parse(time.RFC3339, v)
		return t, err == nil
	}
	var ok bool
	if aq.From, ok = parseT("from"); !ok {
		return aq, "from is RFC 3339 or unix ms"
	}
	if aq.To, ok = parseT("to"); !ok {
		return aq, "to is RFC 3339 or unix ms"
	}
	aq.Actor, aq.Action = clip(q.Get("actor"), 64), clip(q.Get("action"), 64)
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return aq, "before is an entry id"
		}
		aq.BeforeID = n
	}
	aq.Limit = 200
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return aq, "limit is 1..10000"
		}
		aq.Limit = n
	}
	return aq, ""
}

// auditView is an entry as the API shows it.
type auditView struct {
	AuditEntry
	At int64 `json:"at"` // unix ms
}

func (s *Service) apiAudit(w http.ResponseWriter, r *http.Request, sess *session) {
	s.serveAudit(w, r, sess, false)
}

func (s *Service) apiAuditCSV(w http.ResponseWriter, r *http.Request, sess *session) {
	s.serveAudit(w, r, sess, true)
}

func (s *Service) serveAudit(w http.ResponseWriter, r *http.Request, sess *session, asCSV bool) {
	as, ok := s.st.(AuditStore)
	if !ok {
		fail(w, http.StatusServiceUnavailable, "no audit store")
		return
	}
	q, msg := parseAuditQuery(r)
	if msg != "" {
		fail(w, http.StatusBadRequest, msg)
		return
	}
	if asCSV && r.URL.Query().Get("limit") == "" {
		q.Limit = 10000
	}
	es, err := as.Audit(r.Context(), q)
	if err != nil {
		fail(w, http.StatusServiceUnavailable, "store unavailable")
		return
	}
	if asCSV {
		s.audit(auditBy(sess, r, "audit_export", "", "rows", len(es)))
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="onecall-audit.csv"`)
		w.Header().Set("Cache-Control", "no-store")
		cw := csv.NewWriter(w)
		_ = cw.Write([]string{"id", "at", "actor", "role", "action", "target", "detail", "source"})
		for _, e := range es {
			_ = cw.Write([]string{strconv.FormatInt(e.ID, 10), e.At.UTC().Format(time.RFC3339Nano), csvSafe(e.Actor),
				e.Role, e.Action, csvSafe(e.Target), csvSafe(e.Detail), e.Source})
		}
		cw.Flush()
		return
	}
	out := make([]auditView, len(es))
	for i, e := range es {
		out[i] = auditView{AuditEntry: e, At: e.At.UnixMilli()}
	}
	writeJSON(w, http.StatusOK, out)
}

// csvSafe defuses spreadsheet formulas in text a stranger may have chosen
// (a username tried at sign-in).
func csvSafe(v string) string {
	if v != "" && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@' || v[0] == '\t' || v[0] == '\r') {
		return "'" + v
	}
	return v
}
