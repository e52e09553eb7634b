package app

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"testing"
	"time"

	"onecall/store"
)

// login signs in to the console API and returns a client carrying the
// session cookie.
func login(t *testing.T, base, user, password string) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	body, _ := json.Marshal(map[string]string{"username": user, "password": password})
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/api/login", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", base)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login %s: %d", user, resp.StatusCode)
	}
	return c
}

func getBody(t *testing.T, c *http.Client, url string) (int, string, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// The reports API of the real server: supervisors get the day's figures
// from the store as CSV, JSON or HTML; agents and strangers get none; bad
// parameters get a clear 400.
func TestReportsAPI(t *testing.T) {
	a := fsStart(t, t.TempDir())
	base := "http://" + a.HTTPAddr()
	kst := time.FixedZone("KST", 9*3600)
	arr := time.Date(2026, 12, 7, 10, 5, 0, 0, kst)
	for _, r := range []store.Record{
		store.ContactUpsert{ID: 900001, Channel: "voice", Hotline: "110", Queue: "gen-110", Citizen: "01012345678", State: "waiting", Arrived: arr},
		store.ContactUpsert{ID: 900001, State: "talking", Agent: "agent01", Answered: arr.Add(12 * time.Second)},
		store.ContactUpsert{ID: 900001, State: "ended", Ended: arr.Add(212 * time.Second), EndReason: "completed"},
	} {
		if err := a.Store().Durable(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	url := base + "/api/reports?from=2026-12-07&by=queue&every=1h&format=csv"
	if code, _, _ := getBody(t, http.DefaultClient, url); code != http.StatusUnauthorized {
		t.Fatalf("anonymous: %d, want 401", code)
	}
	if code, _, _ := getBody(t, login(t, base, "agent01", "demo"), url); code != http.StatusForbidden {
		t.Fatalf("agent: %d, want 403", code)
	}
	sup := login(t, base, "super01", "demo")
	code, ctype, body := getBody(t, sup, url)
	if code != http.StatusOK || ctype != "text/csv; charset=utf-8" {
		t.Fatalf("supervisor csv: %d %s\n%s", code, ctype, body)
	}
	recs, err := csv.NewReader(bytes.NewReader([]byte(body))).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("csv %v: %q", err, body)
	}
	if r := recs[1]; r[0] != "2026-12-07T10:00:00+09:00" || r[1] != "gen-110" || r[2] != "1" || r[3] != "1" || r[6] != "1.0000" ||
		r[7] != "12.0" || r[8] != "200.0" {
		t.Fatalf("row %v: want gen-110 at 10 h, 1 offered and answered, SL 1, ASA 12 s, AHT 200 s", r)
	}
	if bytes.Contains([]byte(body), []byte("01012345678")) {
		t.Fatal("a report carries a citizen's number")
	}
	audit, err := a.Store().Audit(t.Context(), store.AuditQuery{Action: "report_export"})
	if err != nil || len(audit) != 1 || audit[0].Actor != "super01" {
		t.Fatalf("audit trail of the export: %+v %v; want one report_export by super01 (the agent's 403 is not one)", audit, err)
	}
	code, _, body = getBody(t, sup, base+"/api/reports?from=2026-12-07&format=html")
	if code != http.StatusOK || !bytes.Contains([]byte(body), []byte("<svg")) || !bytes.Contains([]byte(body), []byte("정부민원안내(110) (gen-110)")) {
		t.Fatalf("html: %d\n%.500s", code, body)
	}
	for _, bad := range []string{"?by=citizen", "?every=5m", "?from=yesterday", "?format=pdf", "?from=2026-12-07&to=2026-12-01"} {
		code, _, body := getBody(t, sup, base+"/api/reports"+bad)
		if code != http.StatusBadRequest || !bytes.Contains([]byte(body), []byte(`"error"`)) {
			t.Errorf("%s: %d %s, want 400 with an error code", bad, code, body)
		}
	}
}
