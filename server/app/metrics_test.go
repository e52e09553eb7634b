package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"onecall/internal/testpeers"
)

// scrape reads /metrics at base (http://host:port) with an optional token.
func scrape(t *testing.T, base, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// sample returns the value of the sample line that starts with series
// (name{labels} exactly as exposed), or -1.
func sample(body, series string) float64 {
	for _, line := range strings.Split(body, "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err == nil {
				return v
			}
		}
	}
	return -1
}

// TestMetricsCountRealCalls drives two real chats (citizens' WebSockets,
// agent02's console) and two real calls (SIPp citizens, a baresip agent
// phone) through the real server: on each channel one abandoned in the
// queue, one answered. /metrics counts exactly those contacts per queue,
// line and channel, shows the queue's agents by state and the registrar's
// bindings, and passes promtool's lint; while a chat waits, the queue
// shows it waiting and its longest wait growing.
func TestMetricsCountRealCalls(t *testing.T) {
	a := fsStart(t, t.TempDir())
	base := "http://" + a.HTTPAddr()
	lbl := `{channel="voice",line="` + fsHotline + `",queue="gen-110"}`

	// Chats first, while no agent is ready: one citizen leaves the queue,
	// the next is answered on agent02's console and ended by the agent.
	chatLbl := `{channel="chat",line="` + fsHotline + `",queue="gen-110"}`
	dialer := &websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	left := startChat(t, dialer, base)
	if f := left.begin(""); f["type"] != "started" {
		t.Fatalf("chat not started: %v", f)
	}
	testpeers.WaitFor(t, 10*time.Second, "the chat waiting, its wait growing", func() bool {
		_, body := scrape(t, base, "")
		return sample(body, `onecall_queue_waiting{queue="gen-110"}`) == 1 &&
			sample(body, `onecall_queue_longest_wait_seconds{queue="gen-110"}`) > 0
	})
	left.send(map[string]any{"type": "end"})
	testpeers.WaitFor(t, 10*time.Second, "the chat's abandon counted", func() bool {
		_, body := scrape(t, base, "")
		return sample(body, "onecall_contacts_abandoned_total"+chatLbl) == 1
	})
	con := a.fsSignIn(t, "agent02")
	con.mustCall("state", map[string]any{"state": "ready"})
	cit := startChat(t, dialer, base)
	started := cit.begin("")
	if started["type"] != "started" {
		t.Fatalf("chat not started: %v", started)
	}
	chatID := uint64(started["contact"].(float64))
	isChat := func(d json.RawMessage) bool {
		var v struct {
			ID uint64 `json:"id"`
		}
		return json.Unmarshal(d, &v) == nil && v.ID == chatID
	}
	con.event("offer", isChat)
	con.mustCall("accept", map[string]any{"contact": chatID})
	con.event("connected", isChat)
	cit.next("agent_joined")
	con.mustCall("end", map[string]any{"contact": chatID})
	cit.next("ended")
	// agent02 leaves the queue: the calls below are for agent01's phone.
	con.mustCall("state", map[string]any{"state": "not_ready", "reason": "break"})
	var chatBody string
	testpeers.WaitFor(t, 10*time.Second, "the answered chat's handle time observed", func() bool {
		_, chatBody = scrape(t, base, "")
		return sample(chatBody, `onecall_contact_handle_seconds_count{channel="chat",queue="gen-110"}`) == 1
	})
	for series, want := range map[string]float64{
		"onecall_contacts_offered_total" + chatLbl:                                                    2,
		"onecall_contacts_answered_total" + chatLbl:                                                   1,
		"onecall_contacts_answered_within_sl_total" + chatLbl:                                         1,
		"onecall_contacts_abandoned_total" + chatLbl:                                                  1,
		"onecall_contacts_offered_total" + lbl:                                                        0,
		`onecall_contacts_closed_total{channel="chat",line="110",queue="gen-110",reason="abandoned"}`: 1,
		`onecall_contacts_closed_total{channel="chat",line="110",queue="gen-110",reason="completed"}`: 1,
		`onecall_contact_answer_wait_seconds_count{channel="chat",queue="gen-110"}`:                   1,
	} {
		if got := sample(chatBody, series); got != want && !(want == 0 && got == -1) {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}

	abandon := fsStartSipp(t, a.sipUDP(), fsHotline, fsCitizen{From: "01033334444", Audio: true, HoldFor: 2000})
	if err := abandon.Wait(t, 20*time.Second); err != nil {
		t.Fatalf("abandoning citizen: %v", err)
	}
	testpeers.WaitFor(t, 10*time.Second, "the abandon counted", func() bool {
		_, body := scrape(t, base, "")
		return sample(body, "onecall_contacts_abandoned_total"+lbl) == 1
	})

	tone := filepath.Join(t.TempDir(), "tone.wav")
	if out, err := exec.Command("sox", "-n", "-r", "8000", "-c", "1", "-b", "16", tone, "synth", "2", "sine", "700").CombinedOutput(); err != nil {
		t.Fatalf("sox: %v %s", err, out)
	}
	testpeers.StartBaresip(t, testpeers.BaresipOptions{User: "agent01", Registrar: a.sipUDP(),
		Password: "demo", Speech: tone, Quit: 90 * time.Second})
	waitReady(t, a, "agent01")
	answered := fsStartSipp(t, a.sipUDP(), fsHotline, fsCitizen{From: "01011112222", Audio: true, WaitBye: 30000})
	if err := answered.Wait(t, 40*time.Second); err != nil {
		t.Fatalf("answered citizen: %v", err)
	}
	var body string
	testpeers.WaitFor(t, 10*time.Second, "the answered call's handle time observed", func() bool {
		_, body = scrape(t, base, "")
		return sample(body, `onecall_contact_handle_seconds_count{channel="voice",queue="gen-110"}`) == 1
	})
	for series, want := range map[string]float64{
		"onecall_contacts_offered_total" + lbl:                                                         2,
		"onecall_contacts_answered_total" + lbl:                                                        1,
		"onecall_contacts_answered_within_sl_total" + lbl:                                              1,
		"onecall_contacts_abandoned_total" + lbl:                                                       1,
		"onecall_contacts_short_abandoned_total" + lbl:                                                 1, // 2 s < metrics.short_abandon 5 s
		`onecall_contacts_closed_total{channel="voice",line="110",queue="gen-110",reason="abandoned"}`: 1,
		`onecall_contacts_closed_total{channel="voice",line="110",queue="gen-110",reason="completed"}`: 1,
		`onecall_contact_answer_wait_seconds_count{channel="voice",queue="gen-110"}`:                   1,
		`onecall_queue_waiting{queue="gen-110"}`:                                                       0,
		"onecall_sip_bindings":                                                                         1,
	} {
		if got := sample(body, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	if sample(body, `onecall_queue_agents{queue="gen-110",state="ready"}`)+
		sample(body, `onecall_queue_agents{queue="gen-110",state="wrap-up"}`) < 1 {
		t.Errorf("agent01 is neither ready nor in wrap-up on gen-110:\n%s", grepLines(body, "onecall_queue_agents{queue=\"gen-110\""))
	}
	if strings.Contains(body, "01011112222") || strings.Contains(body, "contact_id") {
		t.Error("metrics carry a citizen's number or a contact id: cardinality must stay per queue/line/channel")
	}
	cmd := exec.Command("promtool", "check", "metrics")
	cmd.Stdin = bytes.NewReader([]byte(body))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// TestMetricsTokenAndSeparateListener: with metrics.listen and
// metrics.token set, /metrics leaves the public listener, and the private
// one wants the bearer token.
func TestMetricsTokenAndSeparateListener(t *testing.T) {
	dir := t.TempDir()
	cfg := copyConfigs(t, dir, func(server string) string {
		return strings.Replace(server, "metrics:\n  listen: \"\"", "metrics:\n  listen: \"127.0.0.1:0\"", 1)
	}, func(server string) string {
		return strings.Replace(server, "  token: \"\"", "  token: \"0123456789abcdef-scraper\"", 1)
	})
	a, err := New(t.Context(), Options{ConfigPath: cfg, DataDir: t.TempDir(), HTTPAddr: "127.0.0.1:0", SIPAddr: "127.0.0.1:0", Demo: true,
		Logger:       slog.New(slog.DiscardHandler),
		DrainTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = a.Shutdown(ctx)
	})
	if code, _ := scrape(t, "http://"+a.HTTPAddr(), ""); code == http.StatusOK {
		t.Fatalf("public listener still serves /metrics (%d)", code)
	}
	priv := "http://" + a.MetricsAddr()
	if a.MetricsAddr() == "" || a.MetricsAddr() == a.HTTPAddr() {
		t.Fatalf("metrics address %q", a.MetricsAddr())
	}
	if code, _ := scrape(t, priv, ""); code != http.StatusUnauthorized {
		t.Fatalf("no token: %d, want 401", code)
	}
	if code, _ := scrape(t, priv, "wrong-token-wrong-token"); code != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d, want 401", code)
	}
	code, body := scrape(t, priv, "0123456789abcdef-scraper")
	if code != http.StatusOK || sample(body, `onecall_queue_waiting{queue="gen-110"}`) != 0 {
		t.Fatalf("with token: %d\n%.400s", code, body)
	}
}

// copyConfigs copies the shipped configs into dir, passing onecall.yaml
// through each edit, and returns dir. An edit that changes nothing fails
// the test (the shipped file no longer has what the test expects).
func copyConfigs(t *testing.T, dir string, edits ...func(string) string) string {
	t.Helper()
	if err := os.CopyFS(dir, os.DirFS("../../configs")); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "onecall.yaml")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i, e := range edits {
		n := e(s)
		if n == s {
			t.Fatalf("config edit %d changed nothing", i)
		}
		s = n
	}
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}
