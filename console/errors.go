package console

import (
	"context"
	"errors"
	"fmt"

	"onecall/router"
	"onecall/server"
)

// codedError is an error with a stable code the console translates
// (i18n key "e_<code>"); the text is the English fallback.
type codedError struct {
	code string
	msg  string
	ko   string // Korean text, when the server has one (coded)
}

func (e *codedError) Error() string { return e.msg }

func codedf(code, format string, args ...any) error {
	return &codedError{code: code, msg: fmt.Sprintf(format, args...)}
}

// errorCode is the code of err for the wire: a codedError's own, the
// engine's sentinel errors by kind, "" otherwise (the client shows the text).
func errorCode(err error) string {
	var ce *codedError
	if errors.As(err, &ce) {
		return ce.code
	}
	for _, m := range []struct {
		err  error
		code string
	}{
		{router.ErrUnknownQueue, "unknown_queue"}, {router.ErrUnknownAgent, "unknown_agent"},
		{router.ErrUnknownContact, "unknown_contact"}, {router.ErrInvalidState, "invalid_state"},
		{router.ErrQueueFull, "queue_full"}, {server.ErrBusy, "busy"},
		{context.DeadlineExceeded, "timeout"}, {errForbidden, "forbidden"},
	} {
		if errors.Is(err, m.err) {
			return m.code
		}
	}
	return ""
}

// Sentinels the console's collaborators return (the app maps sip's errors
// onto them) and the console maps to codes.
var (
	// ErrNoOutside: transfers to outside numbers are not available.
	ErrNoOutside = errors.New("transfer to an outside number is not available")
	// ErrNumberNotAllowed: the line's transfer_numbers do not list it.
	ErrNumberNotAllowed = errors.New("the line does not allow transfers to that number")
	// ErrOutsideFailed: the outside number was dialled but not reached
	// (busy, no answer, failure); the citizen is back with the agent.
	ErrOutsideFailed = errors.New("the outside number was not reached")
	// ErrCallGone: the call ended or is no longer connected to an agent.
	ErrCallGone = errors.New("the call is no longer connected")
)

// msgText is the wire form of a coded error's text (docs/console-protocol.md,
// "Error codes"): the client may show it when it has no translation of its
// own for the code.
type msgText struct {
	KO string `json:"ko"`
	EN string `json:"en"`
}

// errorText holds the Korean and English text of the codes the server
// words itself; %q and %d take the arguments given to coded.
var errorText = map[string][2]string{
	"transfer_no_target":          {"전환할 대기열, 상담사 또는 번호를 하나만 고르세요.", "Choose exactly one queue, agent or number to transfer to."},
	"transfer_bad_target":         {"전환 대상 %q을(를) 알 수 없습니다 (queue:, agent:, number:).", "Unknown transfer target %q (want queue:, agent: or number:)."},
	"transfer_unknown_queue":      {"대기열 %q이(가) 없습니다.", "There is no queue %q."},
	"transfer_unknown_agent":      {"상담사 %q이(가) 없습니다.", "There is no agent %q."},
	"transfer_self":               {"자기 자신에게는 전환할 수 없습니다.", "You cannot transfer a contact to yourself."},
	"transfer_bad_number":         {"%q은(는) 올바른 전화번호가 아닙니다.", "%q is not a valid phone number."},
	"transfer_no_outside":         {"외부 번호로 전환하는 기능은 아직 사용할 수 없습니다.", "Transfers to outside numbers are not available yet."},
	"transfer_number_not_allowed": {"이 회선은 %q(으)로 전환할 수 없습니다.", "This line does not allow transfers to %q."},
	"transfer_outside_failed":     {"외부 번호에 연결되지 않았습니다 (통화 중, 무응답 또는 실패). 통화는 다시 상담사에게 연결됩니다.", "The outside number was not reached (busy, no answer or failure); the call is back with you."},
	"transfer_chat_number":        {"채팅은 외부 번호로 전환할 수 없습니다.", "A chat cannot be transferred to a phone number."},
	"transfer_not_talking":        {"상담 중인 연락만 전환할 수 있습니다.", "Only a contact you are talking with can be transferred."},
	"transfer_call_gone":          {"통화가 이미 끝났거나 연결되어 있지 않습니다.", "The call has ended or is not connected."},
	"transfer_busy":               {"지금은 전환할 수 없습니다. 잠시 후 다시 시도하세요.", "The transfer could not be done now; try again shortly."},
	"interpret_bad_number":        {"%q은(는) 올바른 전화번호가 아닙니다.", "%q is not a valid phone number."},
	"interpret_no_outside":        {"통역 연결(외부 번호)을 사용할 수 없습니다.", "Interpreters at outside numbers are not available."},
	"interpret_not_allowed":       {"이 회선은 %q(으)로 통역을 연결할 수 없습니다.", "This line does not allow calling %q."},
	"interpret_failed":            {"통역사에게 연결되지 않았습니다 (통화 중, 무응답 또는 실패). 통화는 그대로 이어집니다.", "The interpreter was not reached (busy, no answer or failure); your call goes on."},
	"interpret_already":           {"이미 통역사가 통화에 있습니다.", "An interpreter is already on the call."},
	"interpret_none":              {"통화에 통역사가 없습니다.", "There is no interpreter on the call."},
	"interpret_no_language":       {"%q 통역 대기열이 없습니다.", "No interpreter queue serves %q."},
	"interpret_not_voice":         {"통역 3자 통화는 음성 통화에서만 됩니다.", "A three-way call with an interpreter needs a voice call."},
	"three_way_drop_first":        {"먼저 통역사를 내보내세요.", "Drop the interpreter first."},
	"transfer_note_too_long":      {"메모는 500자까지 쓸 수 있습니다.", "The note is limited to 500 characters."},
	"calls_unavailable":           {"통화 기능을 사용할 수 없습니다.", "Calls are unavailable."},
	"contact_not_yours":           {"연락 %d은(는) 본인의 연락이 아닙니다.", "Contact %d is not yours."},
	"consult_unavailable":         {"협의 전환 기능을 사용할 수 없습니다.", "Consult transfers are unavailable."},
	"consult_not_talking":         {"상담 중인 음성 통화만 협의 전환할 수 있습니다.", "Only a voice call you are talking on can be consulted."},
	"consult_active":              {"이미 협의 중입니다. 먼저 완료하거나 취소하세요.", "A consult is already running; complete or cancel it first."},
	"consult_none":                {"진행 중인 협의가 없습니다.", "There is no consult on this call."},
	"consult_ringing":             {"상대가 아직 받지 않았습니다. 취소만 할 수 있습니다.", "The consulted party has not answered yet; you can only cancel."},
	"consult_no_agent_free":       {"지금 받을 수 있는 상담사가 없습니다.", "No agent is free to take the consult now."},
	"consult_no_conference":       {"3자 통화를 지금 사용할 수 없습니다.", "The conference is not available now."},
}

// coded builds the coded error code with its ko/en text (errorText).
func coded(code string, args ...any) error {
	t, ok := errorText[code]
	if !ok {
		t, ok = monitorText[code]
	}
	if !ok {
		return &codedError{code: code, msg: code}
	}
	return &codedError{code: code, msg: fmt.Sprintf(t[1], args...), ko: fmt.Sprintf(t[0], args...)}
}

// errorMsg is the wire error for err answering cmd id.
func errorMsg(id int64, cmd string, err error) serverMsg {
	m := serverMsg{T: "error", ID: id, Cmd: cmd, Error: err.Error(), Code: errorCode(err)}
	var ce *codedError
	if errors.As(err, &ce) && ce.ko != "" {
		m.Text = &msgText{KO: ce.ko, EN: ce.msg}
	}
	return m
}
