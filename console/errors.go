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
