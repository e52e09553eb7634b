package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"onecall/router"
)

// Supervisor voice tools. "follow" is how a supervisor listens in: on a
// chat it streams the conversation to the console (as it always did), on a
// voice call it rings the supervisor's own registered phone and adds it to
// the call in a mode: listen (nobody hears the supervisor), whisper (only
// the agent does) or barge (a three-way call). "follow" again with another
// mode switches on the same phone call, "unfollow" (or hanging up the
// phone) ends it. Supervisors and admins only; each use is in the audit
// trail (listen, whisper, barge, listen_end) and, written by the SIP
// service, in the contact's history (supervisor_listen, supervisor_whisper,
// supervisor_barge, supervisor_left).

// CallMonitor is the supervisor part of the SIP service; Options.Calls
// provides it when it implements it. Mode is "listen", "whisper" or
// "barge". Errors: ErrMonitorNoPhone, ErrMonitorNoAnswer, ErrMonitorBusy,
// ErrMonitorRejected, ErrMonitored, ErrMonitorElsewhere, ErrNotMonitoring,
// ErrCallGone.
type CallMonitor interface {
	Monitor(ctx context.Context, contact router.ContactID, by router.AgentID, mode string) error
	StopMonitor(ctx context.Context, contact router.ContactID, by router.AgentID) error
}

// Sentinels of CallMonitor (the app maps sip's errors onto them).
var (
	ErrMonitorNoPhone   = errors.New("the supervisor's phone is not registered")
	ErrMonitorNoAnswer  = errors.New("the supervisor's phone did not answer")
	ErrMonitorBusy      = errors.New("the supervisor's phone is busy")
	ErrMonitorRejected  = errors.New("the supervisor's phone refused the call")
	ErrMonitored        = errors.New("another supervisor is on this call")
	ErrMonitorElsewhere = errors.New("the supervisor is on another call")
	ErrNotMonitoring    = errors.New("the supervisor is not on this call")
)

// monitorModes are the modes of "follow" on a voice call.
var monitorModes = map[string]bool{"listen": true, "whisper": true, "barge": true}

// monitorWait bounds a "follow" on a voice call: ringing the supervisor's
// phone (sip.offer_timeout, 15 s by default) within the connection's 60 s
// read deadline.
const monitorWait = 40 * time.Second

// MonitorView is a supervisor on a call (ContactView.Monitor).
type MonitorView struct {
	By    string `json:"by"`
	Mode  string `json:"mode"`  // listen | whisper | barge
	Since int64  `json:"since"` // unix ms, this mode
}

// monitorEventView is the "monitor" event: a supervisor leg started,
// changed mode (previous set) or ended (mode "", reason set).
type monitorEventView struct {
	Contact  uint64 `json:"contact"`
	By       string `json:"by"`
	Agent    string `json:"agent,omitempty"`
	Mode     string `json:"mode,omitempty"`
	Previous string `json:"previous,omitempty"`
	Reason   string `json:"reason,omitempty"`
	At       int64  `json:"at"`
}

// monitorReply answers "follow" on a voice call.
type monitorReply struct {
	Contact uint64 `json:"contact"`
	Mode    string `json:"mode"`
}

// monitorText words the monitor_* error codes (see errorText).
var monitorText = map[string][2]string{
	"monitor_bad_mode":  {"모드 %q을(를) 알 수 없습니다 (listen, whisper, barge).", "Unknown mode %q (listen, whisper or barge)."},
	"monitor_not_voice": {"연락 %d은(는) 진행 중인 통화나 채팅이 아닙니다.", "Contact %d is not a live call or chat."},
	"monitor_no_phone":  {"등록된 전화기가 없습니다. 전화기를 등록한 뒤 다시 시도하세요.", "Your phone is not registered; register it and try again."},
	"monitor_no_answer": {"전화기가 응답하지 않았습니다.", "Your phone did not answer."},
	"monitor_busy":      {"전화기가 통화 중입니다.", "Your phone is busy."},
	"monitor_rejected":  {"전화기가 호출을 거절했습니다.", "Your phone refused the call."},
	"monitor_taken":     {"다른 관리자가 이미 이 통화에 참여하고 있습니다.", "Another supervisor is already on this call."},
	"monitor_elsewhere": {"이미 다른 통화를 모니터링하고 있습니다. 먼저 중지하세요.", "You are already on another call; stop that first."},
	"monitor_not_on":    {"이 통화를 모니터링하고 있지 않습니다.", "You are not on this call."},
	"monitor_call_gone": {"통화가 끝났거나 상담사와 연결되어 있지 않습니다.", "The call has ended or is not connected to an agent."},
	"monitor_consult":   {"상담사가 협의 통화 중이거나 통역사를 호출하는 중입니다. 끝난 뒤 다시 시도하세요.", "The agent is in a consult or an interpreter is being called; try again when it ends."},
	"monitor_busy_try":  {"지금은 할 수 없습니다. 잠시 후 다시 시도하세요.", "This could not be done now; try again shortly."},
}

// monitorError maps CallMonitor's errors to codes.
func monitorError(err error) error {
	var ce *codedError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce):
		return err
	case errors.Is(err, ErrMonitorNoPhone):
		return coded("monitor_no_phone")
	case errors.Is(err, ErrMonitorNoAnswer):
		return coded("monitor_no_answer")
	case errors.Is(err, ErrMonitorBusy):
		return coded("monitor_busy")
	case errors.Is(err, ErrMonitorRejected):
		return coded("monitor_rejected")
	case errors.Is(err, ErrMonitored):
		return coded("monitor_taken")
	case errors.Is(err, ErrMonitorElsewhere):
		return coded("monitor_elsewhere")
	case errors.Is(err, ErrNotMonitoring):
		return coded("monitor_not_on")
	case errors.Is(err, ErrCallGone):
		return coded("monitor_call_gone")
	case errors.Is(err, ErrConsultActive):
		return coded("monitor_consult")
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return coded("monitor_busy_try")
	}
	return err
}

// isVoice reports whether contact is a live voice contact.
func (s *Service) isVoice(id router.ContactID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.m.contacts[id]
	return v != nil && v.Channel == "voice"
}

// monitor puts supervisor by on a voice call in mode ("" = listen), or
// takes them off (stop).
func (s *Service) monitor(id router.ContactID, by router.AgentID, mode string, stop bool) (any, error) {
	cm, ok := s.opts.Calls.(CallMonitor)
	if !ok || s.opts.Calls == nil {
		return nil, coded("calls_unavailable")
	}
	if stop {
		ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
		defer cancel()
		return nil, monitorError(cm.StopMonitor(ctx, id, by))
	}
	if mode == "" {
		mode = "listen"
	}
	if !monitorModes[mode] {
		return nil, coded("monitor_bad_mode", clip(mode, 20))
	}
	s.mu.Lock()
	v := s.m.contacts[id]
	talking := v != nil && v.State == "talking"
	s.mu.Unlock()
	if !talking {
		return nil, coded("monitor_call_gone")
	}
	ctx, cancel := context.WithTimeout(s.ctx, monitorWait)
	defer cancel()
	if err := cm.Monitor(ctx, id, by, mode); err != nil {
		return nil, monitorError(err)
	}
	return monitorReply{Contact: uint64(id), Mode: mode}, nil
}

// MonitorChanged is the SIP service's report of a supervisor leg: mode ""
// means it ended (reason says why). Supervisors' consoles get a "monitor"
// event and the contact's monitor field; it never blocks.
func (s *Service) MonitorChanged(id router.ContactID, by, agent router.AgentID, mode, previous, reason string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ev := monitorEventView{Contact: uint64(id), By: string(by), Agent: string(agent), Mode: mode, Previous: previous,
		Reason: reason, At: unixMS(at)}
	if v := s.m.contacts[id]; v != nil {
		if mode == "" {
			v.Monitor = nil
		} else {
			v.Monitor = &MonitorView{By: string(by), Mode: mode, Since: unixMS(at)}
		}
		s.emitLocked("contact_state", *v, s.superList())
	}
	s.emitLocked("monitor", ev, s.superList())
}

// apiMonitor is POST /api/contacts/{id}/monitor {"mode"}: listen, whisper,
// barge or stop, for the signed-in supervisor's phone.
func (s *Service) apiMonitor(w http.ResponseWriter, r *http.Request, sess *session) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		fail(w, http.StatusBadRequest, "bad contact id")
		return
	}
	var req struct {
		Mode string `json:"mode"`
	}
	if err := decode(r, &req); err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	stop := req.Mode == "stop"
	if !stop && !s.isVoice(router.ContactID(id)) {
		fail(w, http.StatusNotFound, fmt.Sprintf("contact %d is not a live call", id))
		return
	}
	out, err := s.monitor(router.ContactID(id), router.AgentID(sess.User), req.Mode, stop)
	if err != nil {
		status := http.StatusConflict
		switch errorCode(err) {
		case "monitor_bad_mode":
			status = http.StatusBadRequest
		case "monitor_no_answer", "monitor_busy", "monitor_rejected", "monitor_no_phone":
			status = http.StatusBadGateway
		case "calls_unavailable", "monitor_busy_try":
			status = http.StatusServiceUnavailable
		}
		writeJSON(w, status, map[string]string{"error": err.Error(), "code": errorCode(err)})
		return
	}
	action := req.Mode
	if stop {
		action = "listen_end"
	} else if action == "" {
		action = "listen"
	}
	s.audit(auditBy(sess, r, action, "contact:"+strconv.FormatUint(id, 10), "via", "http", "channel", "voice"))
	if out == nil {
		out = map[string]bool{"ok": true}
	}
	writeJSON(w, http.StatusOK, out)
}
