package main

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"onecall/store"
)

// The shipped example forecast plans every interval with the shipped
// queues' targets; the 10-12 h peak needs more agents than 8 h; the HTML
// report draws one line per queue plus the total.
func TestStaffingPlansTheExampleForecast(t *testing.T) {
	html := filepath.Join(t.TempDir(), "plan.html")
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"staffing", "--config", "../../configs",
		"--forecast", "../../docs/examples/forecast.csv", "--html", html}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	recs, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1+3*48 || recs[0][5] != "agents" {
		t.Fatalf("%d rows, header %v", len(recs), recs[0])
	}
	need := map[string]int{}
	for _, r := range recs[1:] {
		n, err := strconv.Atoi(r[5])
		if err != nil {
			t.Fatal(err)
		}
		sl, _ := strconv.ParseFloat(r[6], 64)
		if sl < 0.8 {
			t.Errorf("%s %s planned below target: SL %v", r[0], r[1], sl)
		}
		need[r[0]+" "+r[1][11:16]] = n
	}
	if need["gen-110 10:00"] <= need["gen-110 08:00"] || need["gen-110 08:00"] == 0 {
		t.Fatalf("gen-110 needs %d at 08:00 and %d at 10:00", need["gen-110 08:00"], need["gen-110 10:00"])
	}
	b, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(b), "<polyline"); got != 4 {
		t.Fatalf("%d lines in the chart, want 4 (total + 3 queues)", got)
	}
	for _, want := range []string{"정부민원안내(110) (gen-110)", "<svg", "agents · 상담사", "peak", "total / 합계"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("HTML report lacks %q", want)
		}
	}
	errOut.Reset()
	if code := run(t.Context(), []string{"staffing", "--config", "../../configs"}, &out, &errOut); code != 2 ||
		!strings.Contains(errOut.String(), "--forecast") {
		t.Fatalf("no forecast: exit %d, %q", code, errOut.String())
	}
	bad := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(bad, []byte("queue,start,contacts,aht_seconds\nno-such-queue,2026-12-07 10:00,5,60\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	errOut.Reset()
	if code := run(t.Context(), []string{"staffing", "--config", "../../configs", "--forecast", bad}, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), `unknown queue "no-such-queue"`) {
		t.Fatalf("unknown queue: exit %d, %q", code, errOut.String())
	}
}

// A planner asks what a surge needs: --surge 1350:20:10-12 multiplies the
// forecast of 1350's queue (labor-1350) twenty-fold between 10 and 12 h;
// those intervals need many more agents, still planned to target, and
// every other interval is the plan without the surge.
func TestStaffingForASurge(t *testing.T) {
	plan := func(extra ...string) map[string][]string {
		t.Helper()
		var out, errOut bytes.Buffer
		args := append([]string{"staffing", "--config", "../../configs", "--forecast", "../../docs/examples/forecast.csv"}, extra...)
		if code := run(t.Context(), args, &out, &errOut); code != 0 {
			t.Fatalf("%v: exit %d: %s", extra, code, errOut.String())
		}
		recs, err := csv.NewReader(&out).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		m := map[string][]string{}
		for _, r := range recs[1:] {
			m[r[0]+" "+r[1][11:16]] = r
		}
		return m
	}
	base, surged := plan(), plan("--surge", "1350:20:10-12")
	if len(base) != 3*48 || len(surged) != len(base) {
		t.Fatalf("%d and %d intervals", len(base), len(surged))
	}
	changed := 0
	for k, b := range base {
		s := surged[k]
		inSurge := strings.HasPrefix(k, "labor-1350 10:") || strings.HasPrefix(k, "labor-1350 11:")
		if !inSurge {
			if strings.Join(s, ",") != strings.Join(b, ",") {
				t.Errorf("%s changed outside the surge: %v -> %v", k, b, s)
			}
			continue
		}
		bc, _ := strconv.ParseFloat(b[2], 64)
		sc, _ := strconv.ParseFloat(s[2], 64)
		ba, _ := strconv.Atoi(b[5])
		sa, _ := strconv.Atoi(s[5])
		sl, _ := strconv.ParseFloat(s[6], 64)
		if sc != 20*bc || sa < 10*ba || sl < 0.8 {
			t.Errorf("%s: contacts %v -> %v, agents %d -> %d, SL %v", k, bc, sc, ba, sa, sl)
		}
		changed++
	}
	if changed != 8 {
		t.Fatalf("%d intervals in the surge, want 8 (10:00-11:45)", changed)
	}
	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"staffing", "--config", "../../configs", "--forecast", "../../docs/examples/forecast.csv",
		"--surge", "9999:2:10-12"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), `no such line or queue`) {
		t.Fatalf("unknown line: exit %d, %q", code, errOut.String())
	}
}

// onecall report refuses bad arguments with usage errors and a missing
// database with a clear message (the report itself is tested in reports/
// and through the API in server/app).
func TestReportCommandErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--by", "citizen"}, 2, "want queue, line, center or agent"},
		{[]string{"--every", "5m"}, 2, "want 15m, 1h or 1d"},
		{[]string{"--from", "yesterday"}, 2, "want 2006-01-02"},
		{[]string{"--format", "pdf"}, 2, "want csv, json or html"},
		{[]string{"--data-dir", t.TempDir()}, 1, "no database at"},
	} {
		var out, errOut bytes.Buffer
		code := run(t.Context(), append([]string{"report", "--config", "../../configs"}, tc.args...), &out, &errOut)
		if code != tc.code || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%v: exit %d %q; want %d with %q", tc.args, code, errOut.String(), tc.code, tc.want)
		}
	}
}

// `staffing --history-weeks 2` plans a day from the same weekday of the
// two weeks before, read from the store: an interval where both weeks had
// 40 calls of 5 minutes on gen-110 is planned for 40 calls of 5 minutes.
func TestStaffingFromHistory(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(t.Context(), filepath.Join(dir, "onecall.db"))
	if err != nil {
		t.Fatal(err)
	}
	kst := time.FixedZone("KST", 9*3600)
	day := time.Date(2026, 12, 21, 0, 0, 0, 0, kst)
	id := uint64(0)
	for w := 1; w <= 2; w++ {
		at := day.AddDate(0, 0, -7*w).Add(10 * time.Hour)
		for i := range 40 {
			id++
			arr := at.Add(time.Duration(i) * 20 * time.Second)
			for _, r := range []store.Record{
				store.ContactUpsert{ID: id, Channel: "voice", Hotline: "110", Queue: "gen-110", State: "waiting", Arrived: arr},
				store.ContactUpsert{ID: id, State: "talking", Agent: "a1", Answered: arr.Add(10 * time.Second)},
				store.ContactUpsert{ID: id, State: "ended", Ended: arr.Add(310 * time.Second), EndReason: "completed"},
			} {
				if err := st.Durable(t.Context(), r); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"staffing", "--config", "../../configs", "--history-weeks", "2", "--day", "2026-12-21",
		"--data-dir", dir}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	recs, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[1][0] != "gen-110" || recs[1][1] != "2026-12-21T10:00:00+09:00" || recs[1][2] != "40.0" ||
		recs[1][3] != "300" {
		t.Fatalf("plan %v", recs)
	}
	// 40 calls of 5 min in 15 min is 13.3 erlangs: more agents than that.
	if n, _ := strconv.Atoi(recs[1][5]); n < 14 {
		t.Fatalf("%d agents for 13.3 erlangs", n)
	}
	errOut.Reset()
	if code := run(t.Context(), []string{"staffing", "--config", "../../configs", "--history-weeks", "2",
		"--data-dir", t.TempDir()}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "no database") {
		t.Fatalf("no database: exit %d, %q", code, errOut.String())
	}
}
