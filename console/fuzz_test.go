package console

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"onecall/router"
	"onecall/store"
)

func TestMaskNumber(t *testing.T) {
	for in, want := range map[string]string{
		"010-1234-5678":                 "***-****-5678",
		"01012345678":                   "*******5678",
		"+82 10 1234 5678":              "+** ** **** 5678",
		"sip:01012345678@10.0.0.1:5060": "sip:*******5678@10.0.0.1:5060",
		"tel:0212345678":                "tel:******5678",
		"chat:7f3a":                     "chat:7f3a",
		"1234":                          "1234",
		"":                              "",
	} {
		if got := maskNumber(in); got != want {
			t.Errorf("maskNumber(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzMaskNumber(f *testing.F) {
	for _, s := range []string{"010-1234-5678", "sip:0101@x", "tel:", "", "+82 (10) 1234"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m := maskNumber(s)
		if strings.Count(m, "") != strings.Count(s, "") {
			t.Fatalf("length changed: %q -> %q", s, m)
		}
	})
}

func FuzzParseSkills(f *testing.F) {
	for _, s := range []string{"labor=4,ko=5", "", "x=9", "=,=", "a=1,,b=2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseSkills(s)
		if err != nil {
			return
		}
		for k, v := range m {
			if k == "" || v < 1 || v > 5 {
				t.Fatalf("accepted %q=%d from %q", k, v, s)
			}
		}
	})
}

func FuzzCheckPasswordMalformed(f *testing.F) {
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA")
	f.Add("$argon2id$v=19$m=0,t=0,p=0$$")
	f.Fuzz(func(t *testing.T, hash string) {
		CheckPassword(hash, "pw") // must not panic or allocate without bound
	})
}

// FuzzClientMessage: any bytes from a browser get an error or a reply, never
// a panic (the envelope and every command's arguments), for every role.
func FuzzClientMessage(f *testing.F) {
	for _, s := range []string{`{"cmd":"state","args":{"state":"ready"}}`, `{"cmd":"send","args":{"contact":1,"text":"x"}}`,
		`{"cmd":"move","args":{"contact":1,"priority":null}}`, `{"cmd":"wrapup","args":{"contact":1}}`, `{}`, `[`,
		`{"cmd":"transcript","args":[]}`, `{"cmd":"history","args":{"contact":18446744073709551615}}`, `{"cmd":"follow","args":{"contact":1}}`} {
		f.Add([]byte(s))
	}
	st, err := store.Open(context.Background(), f.TempDir()+"/fuzz.db")
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	h := &scriptHub{ch: make(chan router.Event, 16)}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-h.ch:
			case <-stop:
				return
			}
		}
	}()
	svc, err := newService(h, st, Options{Chat: newFakeChat(), Calls: &fakeCalls{}})
	if err != nil {
		f.Fatal(err)
	}
	defer svc.Close()
	svc.Deliver([]router.Command{offerCmd(1, "agent01"), router.Connected{Contact: 1, Agent: "agent01", Channel: router.Chat, Queue: "labor"}})
	var conns []*conn
	for _, role := range []string{RoleAgent, RoleSupervisor, RoleAdmin} {
		conns = append(conns, &conn{s: svc, sess: &session{User: "agent01", Role: role}, send: make(chan []byte, 4), done: make(chan struct{})})
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var m clientMsg
		if json.Unmarshal(data, &m) != nil {
			return
		}
		for _, c := range conns {
			_, _ = svc.handle(c, m)
		}
	})
}

func TestCallRecordsAPI(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MaskNumbers = true })
	now := time.Now()
	if err := e.st.Durable(context.Background(), store.CallRecord{CallID: "abc@x", Contact: 5, From: "sip:01012345678@10.0.0.1",
		To: "sip:1350@onecall", Started: now, Answered: now.Add(time.Second), Ended: now.Add(time.Minute), HangupCause: "normal",
		Legs: []store.CallLeg{{Role: "citizen", URI: "sip:01012345678@10.0.0.1", Started: now}}}); err != nil {
		t.Fatal(err)
	}
	sup := e.signedIn("super01")
	code, b := sup.api("GET", "/api/calls?limit=10", nil)
	if code != 200 || !strings.Contains(string(b), `"sip:*******5678@10.0.0.1"`) || strings.Contains(string(b), "01012345678") || !strings.Contains(string(b), `"abc@x"`) {
		t.Fatalf("calls: %d %s", code, b)
	}
	if code, _ := sup.api("GET", "/api/calls?limit=0", nil); code != http.StatusBadRequest {
		t.Fatalf("bad limit: %d", code)
	}
	if code, _ := e.signedIn("agent01").api("GET", "/api/calls", nil); code != http.StatusForbidden {
		t.Fatalf("agent calls: %d", code)
	}
}
