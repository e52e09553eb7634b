package sip

import (
	"testing"
	"time"
)

// TestByeBeforeAckIsACitizenHangup: a caller who hangs up as the call is
// answered sends its ACK and BYE at once, and the two can be read in either
// order. A BYE taken first ends the dialog while sipgo still waits for the
// ACK ("No ACK received"). That is the citizen hanging up, not a failed
// answer: the record says citizen-bye, no BYE is sent to the gone caller,
// and no call is left up.
func TestByeBeforeAckIsACitizenHangup(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, nil, nil)
	offer := sdpOffer("c=IN IP4 127.0.0.1\r\n", "m=audio 4000 RTP/AVP 8\r\n", "a=rtpmap:8 PCMA/8000")
	for i := range 3 {
		code, msg, closeSock := rawCallOrder(t, env.udp, "110", offer, true)
		if code != 200 {
			t.Fatalf("call %d: %d\n%s", i, code, msg)
		}
		rec := env.store.wait(t, 10*time.Second)
		closeSock()
		if rec.Cause != causeCitizenBye {
			t.Fatalf("call %d: cause %q, want %q (the caller's BYE came with its ACK)", i, rec.Cause, causeCitizenBye)
		}
	}
	waitFor(t, 5*time.Second, "no call up", func() bool { return env.svc.Active() == 0 })
}
