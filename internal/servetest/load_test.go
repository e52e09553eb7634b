package servetest

import "testing"

// SIPp's error log (lines run together, as SIPp writes them): each kind
// of failure is read with its call, and whether it came before the answer.
func TestCallFailures(t *testing.T) {
	text := "2026-12-07\t16:05:50.216324\t1796659550.216324: Overload warning: the minor watchdog timer 500ms has been tripped (504), 112 trips remaining." +
		"2026-12-07\t16:06:09.196731\t1796659569.196731: Call-Id: 412-12962@127.0.0.1, receive timeout on message kamailio-citizen:2 without label to jump to (ontimeout attribute): aborting call" +
		"2026-12-07\t16:05:41.000000\t1796659541.000000: Aborting call on unexpected message for Call-Id '7-12962@127.0.0.1': while expecting '200' (index 4), received 'SIP/2.0 503 Service Unavailable" +
		"2026-12-07\t16:05:42.000000\t1796659542.000000: retransmission timeout for Call-Id '9-12962@127.0.0.1'" +
		"2026-12-07\t16:05:43.000000\t1796659543.000000: unexpected BYE for call: 11-12962@127.0.0.1"
	got := map[string]CallFailure{}
	callFailures(text, got)
	want := map[string]CallFailure{
		"412-12962@127.0.0.1": {Why: "receive timeout at index 2", BeforeAnswer: true},
		"7-12962@127.0.0.1":   {Why: "503 at index 4", BeforeAnswer: true},
		"9-12962@127.0.0.1":   {Why: "retransmission timeout"},
		"11-12962@127.0.0.1":  {Why: "BYE from the node"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: %+v, want %+v", id, got[id], w)
		}
	}
}
