package app

import (
	"strings"
	"testing"
	"time"

	"onecall/store"
)

// TestInfoDTMFNeedsTheDialog: SIP INFO DTMF reaches a call only with the
// dialog's Call-ID, both tags and from the citizen's own address. A
// stranger at 127.0.0.2 who knows the Call-ID and the tags, and a forger
// at the citizen's address with made-up tags, get 481 and the call stays
// up (issue 17, defect 10: key 1 would have booked a callback and hung the
// caller up); each refusal is counted in /metrics.
func TestInfoDTMFNeedsTheDialog(t *testing.T) {
	// An outbound trunk makes 110 offer callbacks, so a forged key 1 would
	// book one and hang the caller up (none is dialled: no key 1 gets in).
	a := fsStartAt(t, fsConfig(t, "", "  trunks: []\n  # - name: carrier-a",
		"  trunks: [{name: carrier, address: \"127.0.0.1:9\"}]\n  # - name: carrier-a"), t.TempDir())
	citizen := newRawUA(t, "127.0.0.1", a.sipUDP())
	d := citizen.invite(fsHotline, "01099998888")
	citizen.waitRTP(5 * time.Second)

	stranger := newRawUA(t, "127.0.0.2", a.sipUDP())
	if code := stranger.info(d, d.fromTag, d.toTag, "1"); code != 481 {
		t.Fatalf("INFO from 127.0.0.2 with the dialog's tags: %d, want 481", code)
	}
	if code := citizen.info(d, "madeup", d.toTag, "1"); code != 481 {
		t.Fatalf("INFO with a made-up From tag: %d, want 481", code)
	}
	if code := citizen.info(d, d.fromTag, "madeup", "1"); code != 481 {
		t.Fatalf("INFO with a made-up To tag: %d, want 481", code)
	}
	if code := stranger.reinvite(d, d.fromTag, d.toTag); code != 481 {
		t.Fatalf("re-INVITE from 127.0.0.2 with the dialog's tags: %d, want 481", code)
	}
	// The call is still up: no BYE comes, and a matching INFO is taken.
	if m := citizen.recv(1500 * time.Millisecond); m != nil && strings.HasPrefix(m.String(), "BYE") {
		t.Fatalf("the server hung up after forged INFOs:\n%s", m)
	}
	if booked, err := a.Store().Callbacks(t.Context(), store.CallbackBooked); err != nil || len(booked) != 0 {
		t.Fatalf("callbacks booked after forged INFOs: %+v %v", booked, err)
	}
	if code := citizen.info(d, d.fromTag, d.toTag, "5"); code != 200 {
		t.Fatalf("INFO on the dialog from the citizen: %d, want 200", code)
	}
	_, body := get(t, "http://"+a.HTTPAddr()+"/metrics")
	if !strings.Contains(body, `onecall_sip_dropped_total{reason="wrong_dialog"} 4`) {
		t.Fatalf("/metrics lacks 4 wrong_dialog drops:\n%s", grepLines(body, "onecall_sip_dropped_total"))
	}
	if code := citizen.bye(d); code != 200 {
		t.Fatalf("BYE: %d", code)
	}
}

// grepLines keeps the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
