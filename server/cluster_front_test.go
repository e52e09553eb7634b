package server

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"onecall/router"
)

// A forwarded event's answer keeps its commands and the identity of its
// error (errors.Is on the follower as on the leader); the fan-out keeps an
// entry's sequence and commands.
func TestClusterFrontWire(t *testing.T) {
	at := time.Unix(1_700_000_000, 0).UTC()
	cmds := []router.Command{
		router.Offer{Contact: 7, Agent: "agent01", Channel: router.Chat, Queue: "q1", Deadline: at},
		router.ContactClosed{Contact: 7, Channel: router.Chat, Reason: router.EndAbandoned, Agent: "agent01", At: at},
	}
	for _, tc := range []struct {
		name string
		err  error
		is   []error
		not  []error
	}{
		{"ok", nil, nil, nil},
		{"unknown contact", fmt.Errorf("contact 7: %w", router.ErrUnknownContact), []error{router.ErrUnknownContact},
			[]error{router.ErrInvalidState, ErrBusy}},
		{"no agent free", router.ErrNoAgentFree, []error{router.ErrNoAgentFree, router.ErrInvalidState}, []error{ErrBusy}},
		{"busy", busyIfNotLeader(ErrNotLeader), []error{ErrBusy, ErrNotLeader}, []error{router.ErrInvalidState}},
		{"other", errors.New("disk on fire"), nil, []error{ErrBusy}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := encodeReply(cmds, tc.err)
			if err != nil {
				t.Fatal(err)
			}
			got, rerr, err := decodeReply(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, cmds) {
				t.Errorf("commands %v, want %v", got, cmds)
			}
			if (rerr == nil) != (tc.err == nil) || (rerr != nil && rerr.Error() != tc.err.Error()) {
				t.Fatalf("error %v, want %v", rerr, tc.err)
			}
			for _, e := range tc.is {
				if !errors.Is(rerr, e) {
					t.Errorf("errors.Is(%v, %v) false", rerr, e)
				}
			}
			for _, e := range tc.not {
				if errors.Is(rerr, e) {
					t.Errorf("errors.Is(%v, %v) true", rerr, e)
				}
			}
		})
	}
	b, err := encodeEntryCommands(42, cmds)
	if err != nil {
		t.Fatal(err)
	}
	seq, got, err := decodeEntryCommands(b)
	if err != nil || seq != 42 || !reflect.DeepEqual(got, cmds) {
		t.Fatalf("entry: %d %v %v, want 42 %v", seq, got, err, cmds)
	}
	for _, bad := range [][]byte{nil, {1}, b[:len(b)-1], append(append([]byte(nil), b...), 0)} {
		if _, _, err := decodeEntryCommands(bad); err == nil {
			t.Errorf("decodeEntryCommands(%x) succeeded", bad)
		}
	}
}
