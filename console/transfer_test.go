package console

import (
	"errors"
	"testing"

	"onecall/router"
)

// TestParseTarget: the button's fields and the target string name the same
// targets; anything but exactly one target is a coded refusal.
func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		args contactArgs
		want router.TransferTarget
		code string
	}{
		{contactArgs{Queue: "gen-110"}, router.TransferTarget{Queue: "gen-110"}, ""},
		{contactArgs{Target: "queue:gen-110"}, router.TransferTarget{Queue: "gen-110"}, ""},
		{contactArgs{Target: "gen-110"}, router.TransferTarget{Queue: "gen-110"}, ""},
		{contactArgs{Agent: "agent02"}, router.TransferTarget{Agent: "agent02"}, ""},
		{contactArgs{Target: "agent:agent02"}, router.TransferTarget{Agent: "agent02"}, ""},
		{contactArgs{Number: "02-1234-5678"}, router.TransferTarget{Number: "0212345678"}, ""},
		{contactArgs{Target: "number:+82 2 1345"}, router.TransferTarget{Number: "+8221345"}, ""},
		{contactArgs{Target: "0212345678"}, router.TransferTarget{Number: "0212345678"}, ""},
		{contactArgs{}, router.TransferTarget{}, "transfer_no_target"},
		{contactArgs{Queue: "gen-110", Agent: "agent02"}, router.TransferTarget{}, "transfer_no_target"},
		{contactArgs{Target: "queue:gen-110", Queue: "x"}, router.TransferTarget{}, "transfer_no_target"},
		{contactArgs{Target: "sip:evil"}, router.TransferTarget{}, "transfer_bad_target"},
		{contactArgs{Target: "queue:"}, router.TransferTarget{}, "transfer_bad_target"},
		{contactArgs{Number: "12"}, router.TransferTarget{}, "transfer_bad_number"},
		{contactArgs{Number: "1345;evil"}, router.TransferTarget{}, "transfer_bad_number"},
		{contactArgs{Number: "123456789012345678901"}, router.TransferTarget{}, "transfer_bad_number"},
	} {
		got, err := parseTarget(tc.args)
		var ce *codedError
		switch {
		case tc.code == "" && err != nil:
			t.Errorf("%+v: %v", tc.args, err)
		case tc.code != "" && (!errors.As(err, &ce) || ce.code != tc.code || ce.ko == ""):
			t.Errorf("%+v: error %v, want code %s with ko/en text", tc.args, err, tc.code)
		case got != tc.want:
			t.Errorf("%+v: %+v, want %+v", tc.args, got, tc.want)
		}
	}
}

// TestTransferErrorCodes: the collaborators' errors become codes with text.
func TestTransferErrorCodes(t *testing.T) {
	to := router.TransferTarget{Queue: "q"}
	for err, code := range map[error]string{
		ErrNoOutside:             "transfer_no_outside",
		ErrCallGone:              "transfer_call_gone",
		router.ErrUnknownQueue:   "transfer_unknown_queue",
		router.ErrUnknownAgent:   "transfer_unknown_agent",
		router.ErrInvalidState:   "transfer_call_gone",
		router.ErrUnknownContact: "transfer_call_gone",
	} {
		m := errorMsg(1, "transfer", transferError(err, to))
		if m.Code != code || m.Text == nil || m.Text.KO == "" || m.Text.EN == "" {
			t.Errorf("%v: %+v, want code %s with ko/en text", err, m, code)
		}
	}
}
