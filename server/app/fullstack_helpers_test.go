package app

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"onecall/internal/testpeers"
	"onecall/router"
	"onecall/store"
)

// Helpers for the full-stack voice tests: the real App (router, store, SIP
// service, registrar, shipped configs with the demo roster) against real
// peers, baresip as the agent's phone and SIPp as the citizen. Everything
// listens on 127.0.0.1 and every wait is bounded by a deadline.

// fsApp is one running App with its JSON log kept for assertions.
type fsApp struct {
	*App
	name string // in the file ONECALL_TEST_LOGS gets
	logs *testpeers.Buffer
	stop func() // Shutdown, its error reported on the test (the first time)
}

// stopFirst has the App shut down before the peers started so far stop
// (t.Cleanup runs the last registered first): it hangs up its calls on
// phones that still answer. A phone killed first leaves its call's BYE
// unanswered, and Shutdown waits out its drains (10 s).
func (a *fsApp) stopFirst(t *testing.T) { t.Cleanup(a.stop) }

// fsStart starts the real App on dataDir with the shipped configs in demo
// mode; Shutdown runs at cleanup (a second Shutdown is a no-op).
func fsStart(t *testing.T, dataDir string) *fsApp {
	t.Helper()
	return fsStartAt(t, "../../configs", dataDir)
}

// fsStartAt is fsStart with another configuration (fsConfig).
func fsStartAt(t *testing.T, configPath, dataDir string) *fsApp {
	t.Helper()
	return fsStartOpts(t, configPath, dataDir, nil)
}

// fsStartOpts is fsStartAt with the options edited by edit (nil: none).
func fsStartOpts(t *testing.T, configPath, dataDir string, edit func(*Options)) *fsApp {
	t.Helper()
	logs := &testpeers.Buffer{}
	opts := Options{
		ConfigPath:   configPath,
		DataDir:      dataDir,
		HTTPAddr:     "127.0.0.1:0",
		SIPAddr:      "127.0.0.1:0",
		Demo:         true,
		Logger:       slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
		DrainTimeout: time.Second,
	}
	if edit != nil {
		edit(&opts)
	}
	a, err := New(t.Context(), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := a.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	fa := &fsApp{App: a, name: "node", logs: logs}
	fa.stop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := a.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	}
	t.Cleanup(func() {
		fa.stop()
		if t.Failed() {
			fa.dumpLog(t)
		}
	})
	return fa
}

// dumpLog prints the tail of the node's log without NATS's route dial
// errors (a stopped peer's fill it once a second per route) and, when
// ONECALL_TEST_LOGS names a directory, writes the whole log there.
func (a *fsApp) dumpLog(t *testing.T) {
	t.Helper()
	all := a.logs.String()
	if dir := os.Getenv("ONECALL_TEST_LOGS"); dir != "" {
		name := filepath.Join(dir, strings.NewReplacer("/", "_").Replace(t.Name())+"-"+a.name+".log")
		if err := os.WriteFile(name, []byte(all), 0o644); err != nil {
			t.Logf("log not written: %v", err)
		} else {
			t.Logf("onecall log written to %s", name)
		}
	}
	var b strings.Builder
	dials := 0
	for line := range strings.Lines(all) {
		if strings.Contains(line, "Error trying to connect to route") {
			dials++
			continue
		}
		b.WriteString(line)
	}
	s := b.String()
	if len(s) > 16000 {
		s = s[len(s)-16000:]
	}
	t.Logf("onecall log (tail, %d route dial errors left out):\n%s", dials, s)
}

// logRecords returns the JSON log records whose msg is msg.
func (a *fsApp) logRecords(msg string) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(a.logs.String()))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// callEndedLog waits for the "call ended" log record of contact id: the
// call's record is committed before that line is written, so a test that
// read the record may be a moment ahead of it.
func (a *fsApp) callEndedLog(t *testing.T, id uint64) map[string]any {
	t.Helper()
	var ended map[string]any
	testpeers.WaitFor(t, 5*time.Second, fmt.Sprintf("the \"call ended\" log record of contact %d", id), func() bool {
		for _, m := range a.logRecords("call ended") {
			if uint64(fsNum(m, "contact_id")) == id {
				ended = m
			}
		}
		return ended != nil
	})
	return ended
}

func (a *fsApp) sipUDP() string {
	udp, _ := a.SIPAddrs()
	return udp
}

// agent returns the routing view of an agent (ok false if unknown).
func (a *fsApp) agent(t *testing.T, id router.AgentID) (router.AgentView, bool) {
	t.Helper()
	var v router.AgentView
	var ok bool
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := a.Hub().Query(ctx, func(e *router.Engine) { v, ok = e.Agent(id) }); err != nil {
		t.Fatalf("hub query agent %s: %v", id, err)
	}
	return v, ok
}

// contact returns the routing view of a contact (ok false once forgotten).
func (a *fsApp) contact(t *testing.T, id router.ContactID) (router.ContactView, bool) {
	t.Helper()
	var v router.ContactView
	var ok bool
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := a.Hub().Query(ctx, func(e *router.Engine) { v, ok = e.Contact(id) }); err != nil {
		t.Fatalf("hub query contact %d: %v", id, err)
	}
	return v, ok
}

// callRecordTo polls the store for the CDR of a call to number.
func (a *fsApp) callRecordTo(t *testing.T, d time.Duration, number string) store.CallRecord {
	t.Helper()
	var rec store.CallRecord
	testpeers.WaitFor(t, d, "call record to "+number+" in the store", func() bool {
		recs, err := a.Store().CallRecords(t.Context(), 20)
		if err != nil {
			t.Fatalf("CallRecords: %v", err)
		}
		for _, r := range recs {
			if r.To == number {
				rec = r
				return true
			}
		}
		return false
	})
	return rec
}

// endedContact polls the store until the contact row is ended.
func fsEndedContact(t *testing.T, st *store.Store, d time.Duration, id uint64) store.Contact {
	t.Helper()
	var c store.Contact
	deadline := time.Now().Add(d)
	for {
		var err error
		c, err = st.Contact(t.Context(), id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Contact(%d): %v", id, err)
		}
		if err == nil && c.State == router.Ended.String() && c.EndReason != "" {
			checkContactTimes(t, c)
			return c
		}
		if time.Now().After(deadline) {
			evs, _ := st.ContactEvents(t.Context(), id)
			t.Fatalf("contact %d not ended in the store within %s: row %+v (err %v); history %+v", id, d, c, err, evs)
		}
		<-time.After(50 * time.Millisecond)
	}
}

// checkContactTimes reports (without stopping the test) an ended contact
// row whose timestamps are missing or out of order.
func checkContactTimes(t *testing.T, c store.Contact) {
	t.Helper()
	if c.Arrived.IsZero() || c.Ended.IsZero() {
		t.Errorf("contact %d row: arrived %v ended %v; want both set (see .agents/fullstack-findings.md F1, F2)",
			c.ID, c.Arrived, c.Ended)
		return
	}
	if c.Ended.Before(c.Arrived) {
		t.Errorf("contact %d row: ended %v before arrived %v", c.ID, c.Ended, c.Arrived)
	}
}

// fsCitizen is the scenario data of testdata/citizen.xml.
type fsCitizen struct {
	From    string
	Audio   bool // speak g711a.pcap after the ACK
	HoldFor int  // ms before the citizen's BYE (when WaitBye is 0)
	WaitBye int  // ms; > 0: wait for the server's BYE instead
	// Echo sends back every RTP packet received (SIPp -rtp_echo): what an
	// agent hears of its own tone is what reached the citizen.
	Echo bool
}

// fsStartSipp starts SIPp as a citizen calling number at remote with
// testdata/citizen.xml.
func fsStartSipp(t *testing.T, remote, number string, c fsCitizen) *testpeers.SIPp {
	t.Helper()
	var args []string
	if c.Echo {
		args = append(args, "-rtp_echo")
	}
	return testpeers.StartSIPp(t, testpeers.SIPpOptions{Scenario: filepath.Join("testdata", "citizen.xml"), Data: c,
		Remote: remote, Service: number, Timeout: 45 * time.Second, Args: args})
}

// fsNum reads a JSON number attribute of a log record.
func fsNum(m map[string]any, k string) float64 {
	f, _ := m[k].(float64)
	return f
}

// waitReady waits until each of ids is logged in and ready: its phone
// registered (the demo roster logs an agent in on its phone's REGISTER).
func waitReady(t *testing.T, a *fsApp, ids ...router.AgentID) {
	t.Helper()
	testpeers.WaitFor(t, 15*time.Second, fmt.Sprint(ids, " ready after their phones registered"), func() bool {
		for _, id := range ids {
			if v, ok := a.agent(t, id); !ok || !v.LoggedIn || v.State != router.Ready {
				return false
			}
		}
		return true
	})
}

// waitWrapUp waits until agent id is in wrap-up with no contact left.
func waitWrapUp(t *testing.T, a *fsApp, id router.AgentID, d time.Duration) {
	t.Helper()
	testpeers.WaitFor(t, d, string(id)+" in wrap-up with no contact", func() bool {
		ag, _ := a.agent(t, id)
		return ag.State == router.WrapUp && len(ag.Active) == 0
	})
}
