package reports

import (
	"bytes"
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"onecall/internal/pgtest"
	"onecall/store"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.csv")

var kst = time.FixedZone("KST", 9*3600)

// seedDay writes a deterministic working day of n contacts on three lines
// into st, through the store's own records (the same writes the server
// makes): arrivals 08-20 h, one 110 call in twelve booking a callback (placed
// and reached or not), a third of the other 110 calls abandoned after 5-60 s,
// the rest answered after 0-40 s and handled 1-10 min, some transferred.
func seedDay(t testing.TB, st *store.Store, n int, seed uint64) {
	t.Helper()
	seedDayAt(t, st, n, seed, time.Date(2026, 12, 7, 0, 0, 0, 0, kst), 1)
}

// seedDayAt seeds the day starting at midnight day, contact ids from first,
// through the store's batching writer (the records the server writes).
func seedDayAt(t testing.TB, st *store.Store, n int, seed uint64, midnight time.Time, first uint64) {
	t.Helper()
	for _, c := range dayContacts(n, seed, midnight, first) {
		for _, r := range c.records() {
			for tries := 0; st.Enqueue(r) != nil; tries++ {
				// The write queue is bounded: let it drain, as a
				// well-behaved writer would.
				if tries > 1000 {
					t.Fatal("store write queue stays full")
				}
				<-time.After(5 * time.Millisecond)
			}
		}
	}
	if err := st.Durable(context.Background(), store.ContactUpsert{ID: first + uint64(n) + 1000000}); err != nil {
		t.Fatal(err)
	}
}

// loadDayAt writes the same day as seedDayAt, each contact as it stands
// at its end, with store.LoadContacts (COPY on PostgreSQL, multi-row
// INSERTs on SQLite) in transactions of 50,000 contacts: seconds instead
// of minutes for a national day.
func loadDayAt(t testing.TB, st *store.Store, n int, seed uint64, midnight time.Time, first uint64) {
	t.Helper()
	cs := dayContacts(n, seed, midnight, first)
	batch := make([]store.LoadedContact, 0, 50000)
	for i, c := range cs {
		batch = append(batch, c.loaded())
		if len(batch) == cap(batch) || i == len(cs)-1 {
			if err := st.LoadContacts(context.Background(), batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
}

// dayContact is one seeded contact: what happened to it.
type dayContact struct {
	id                     uint64
	line, queue, ch, agent string
	arr, ans, end          time.Time
	reason, disposition    string
	transfer               bool // transferred a minute after the answer, reconnected 30 s later
	cbAttempts             int
	cbStatus               string // "" when it booked no callback
	booked                 time.Time
}

// dayContacts draws the day: arrivals 08-20 h, one 110 call in twelve
// booking a callback (placed and reached or not), a third of the other
// 110 calls abandoned after 5-60 s, the rest answered after 0-40 s and
// handled 1-10 min, some transferred.
func dayContacts(n int, seed uint64, midnight time.Time, first uint64) []dayContact {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	day := midnight.Add(8 * time.Hour)
	lines := []struct{ line, queue string }{{"110", "gen-110"}, {"1350", "labor-1350"}, {"1577-1000", "nhis"}}
	codes := []string{"resolved", "information-given", "callback-needed"}
	out := make([]dayContact, 0, n)
	for i := range n {
		l := lines[rng.IntN(len(lines))]
		c := dayContact{id: first + uint64(i), line: l.line, queue: l.queue, ch: "voice"}
		c.arr = day.Add(time.Duration(rng.Int64N(int64(12 * time.Hour)))).Truncate(time.Millisecond)
		if rng.IntN(5) == 0 {
			c.ch = "chat"
		}
		agent := fmt.Sprintf("agent%02d", 1+rng.IntN(20))
		switch {
		case l.queue == "gen-110" && rng.IntN(12) == 0:
			// Booked a callback after 20-80 s: it waits, or was placed
			// 1-3 times and reached the citizen or not.
			c.end = c.arr.Add(time.Duration(20+rng.IntN(61)) * time.Second)
			c.reason, c.booked, c.cbStatus = "callback", c.end, store.CallbackBooked
			if c.cbAttempts = rng.IntN(4); c.cbAttempts > 0 {
				c.cbStatus = []string{store.CallbackDone, store.CallbackFailed, store.CallbackDialing}[rng.IntN(3)]
			}
		case l.queue == "gen-110" && rng.IntN(3) == 0:
			c.end = c.arr.Add(time.Duration(5+rng.IntN(56)) * time.Second)
			c.reason = "abandoned"
		default:
			c.agent = agent
			c.ans = c.arr.Add(time.Duration(rng.IntN(41)) * time.Second)
			c.end = c.ans.Add(time.Duration(60+rng.IntN(540)) * time.Second)
			c.transfer = rng.IntN(10) == 0
			c.reason, c.disposition = "completed", codes[rng.IntN(len(codes))]
		}
		out = append(out, c)
	}
	return out
}

// records are the writes the server makes for c.
func (c dayContact) records() []store.Record {
	recs := []store.Record{store.ContactUpsert{ID: c.id, Channel: c.ch, Hotline: c.line, Queue: c.queue, Citizen: "01000000000",
		State: "waiting", Arrived: c.arr}}
	switch {
	case c.cbStatus != "":
		recs = append(recs, store.ContactUpsert{ID: c.id, State: "callback-booked", Ended: c.end, EndReason: c.reason},
			store.Callback{Contact: c.id, CitizenNumber: "01000000000", Hotline: c.line, Queue: c.queue, Arrived: c.arr,
				Booked: c.booked, Status: c.cbStatus, Attempts: c.cbAttempts})
	case c.ans.IsZero():
		recs = append(recs, store.ContactUpsert{ID: c.id, State: "ended", Ended: c.end, EndReason: c.reason})
	default:
		recs = append(recs, store.ContactUpsert{ID: c.id, State: "talking", Agent: c.agent, Answered: c.ans})
		if c.transfer {
			// What the server writes for a transfer: the transfer
			// itself, then the contact waiting again.
			why := "transferred by " + c.agent + ": needs a specialist to " + c.queue
			recs = append(recs, store.ContactEvent{Contact: c.id, At: c.ans.Add(time.Minute), State: store.EventTransferred,
				Queue: c.queue, Agent: c.agent, Reason: why},
				store.ContactEvent{Contact: c.id, At: c.ans.Add(time.Minute), State: "waiting", Queue: c.queue, Reason: why})
			// The transfer's new answer does not move the first one.
			recs = append(recs, store.ContactUpsert{ID: c.id, State: "talking", Answered: c.ans.Add(90 * time.Second)})
		}
		recs = append(recs, store.ContactUpsert{ID: c.id, State: "ended", Ended: c.end, EndReason: c.reason, Agent: c.agent},
			store.ContactWrapUp{Contact: c.id, Disposition: c.disposition})
	}
	return recs
}

// loaded is c as its row stands at its end.
func (c dayContact) loaded() store.LoadedContact {
	lc := store.LoadedContact{ID: c.id, Channel: c.ch, Hotline: c.line, Queue: c.queue, Citizen: "01000000000",
		Agent: c.agent, State: "ended", Arrived: c.arr, Answered: c.ans, Ended: c.end, EndReason: c.reason,
		Disposition: c.disposition}
	if c.transfer {
		lc.Transfers = 1
	}
	if c.cbStatus != "" {
		lc.State = "callback-booked"
		lc.Callback = &store.Callback{CitizenNumber: "01000000000", Hotline: c.line, Queue: c.queue, Arrived: c.arr,
			Booked: c.booked, Status: c.cbStatus, Attempts: c.cbAttempts}
	}
	return lc
}

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// forEachStore runs f on a fresh SQLite store and on a fresh PostgreSQL
// store (subtests "sqlite" and "postgres"): the reports read both the same.
func forEachStore(t *testing.T, f func(t *testing.T, st *store.Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { f(t, openStore(t)) })
	t.Run("postgres", func(t *testing.T) { f(t, openPostgres(t)) })
}

// openPostgres opens the store on a fresh database of the package's
// PostgreSQL server.
func openPostgres(t testing.TB) *store.Store {
	t.Helper()
	st, _ := openPostgresDSN(t)
	return st
}

// openPostgresDSN is openPostgres, with the database's DSN.
func openPostgresDSN(t testing.TB) (*store.Store, string) {
	t.Helper()
	dsn := pgtest.Shared(t).Database(t)
	st, err := store.OpenPostgres(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, dsn
}

func openStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "onecall.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func testConfig() Config {
	return Config{
		Thresholds: map[string]time.Duration{"gen-110": 20 * time.Second, "labor-1350": 20 * time.Second, "nhis": 30 * time.Second},
		Names:      map[string]string{"gen-110": "정부민원안내(110)", "c110": "정부민원안내콜센터"},
		CenterOf: func(line string) string {
			if line == "110" {
				return "c110"
			}
			return "other"
		},
		Loc: kst,
	}
}

// A seeded day, read back from a real SQLite store, reports the same
// figures as the golden CSVs (by queue per hour, by agent per day, by
// center per day); wait_ms and handle_ms are derived by the store at the
// end of each contact, and a transfer's reconnect does not move the
// first answer.
//
// The same day bulk-loaded with store.LoadContacts (the benchmark's
// seeding) reports the same golden CSVs.
func TestSeededDayMatchesGolden(t *testing.T) {
	for _, seeder := range []struct {
		name string
		seed func(testing.TB, *store.Store, int, uint64, time.Time, uint64)
	}{{"writer", seedDayAt}, {"load", loadDayAt}} {
		t.Run(seeder.name, func(t *testing.T) { testSeededDay(t, seeder.seed) })
	}
}

func testSeededDay(t *testing.T, seed func(testing.TB, *store.Store, int, uint64, time.Time, uint64)) {
	forEachStore(t, func(t *testing.T, st *store.Store) {
		seed(t, st, 600, 42, time.Date(2026, 12, 7, 0, 0, 0, 0, kst), 1)
		c, err := st.Contact(t.Context(), 1)
		if err != nil {
			t.Fatal(err)
		}
		if c.Ended.IsZero() || (c.Answered.IsZero() && c.Wait == 0) || (!c.Answered.IsZero() && c.Wait != c.Answered.Sub(c.Arrived)) {
			t.Fatalf("contact 1: wait %v handle %v not derived from %+v", c.Wait, c.Handle, c)
		}
		from := time.Date(2026, 12, 7, 0, 0, 0, 0, kst)
		for _, tc := range []struct {
			name  string
			by    By
			every time.Duration
		}{{"queue-1h", ByQueue, time.Hour}, {"agent-1d", ByAgent, 24 * time.Hour}, {"center-1d", ByCenter, 24 * time.Hour},
			{"line-15m", ByLine, 15 * time.Minute}} {
			rows, err := Build(t.Context(), st, testConfig().Options(from, from.AddDate(0, 0, 1), tc.by, tc.every))
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := WriteCSV(&buf, rows); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "day-"+tc.name+".golden.csv")
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test ./reports -update)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s differs from %s:\n%s", tc.name, golden, firstDiff(buf.String(), string(want)))
			}
			total := 0
			for _, r := range rows {
				total += r.Offered
			}
			if tc.by != ByAgent && total != 600 {
				t.Errorf("%s: %d contacts offered in total, want 600", tc.name, total)
			}
		}
		// The reports API serves the same CSV from this store.
		if *update {
			return
		}
		srv := httptest.NewServer(Handler{Src: st, Cfg: testConfig()})
		defer srv.Close()
		res, err := http.Get(srv.URL + "/?from=2026-12-07&by=queue&every=1h&format=csv")
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("GET report: %d %s %v", res.StatusCode, body, err)
		}
		want, err := os.ReadFile(filepath.Join("testdata", "day-queue-1h.golden.csv"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(body, want) {
			t.Errorf("API CSV differs from day-queue-1h.golden.csv:\n%s", firstDiff(string(body), string(want)))
		}
	})
}

func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(g), len(w)) {
		var a, b string
		if i < len(g) {
			a = g[i]
		}
		if i < len(w) {
			b = w[i]
		}
		if a != b {
			return fmt.Sprintf("line %d:\n got  %q\n want %q", i+1, a, b)
		}
	}
	return ""
}

// Hand-made contacts: every figure of a row by its definition.
func TestBuilderFigures(t *testing.T) {
	from := time.Date(2026, 12, 7, 0, 0, 0, 0, kst)
	b, err := NewBuilder(testConfig().Options(from, from.AddDate(0, 0, 1), ByQueue, 24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	at := from.Add(10 * time.Hour)
	s := time.Second
	for _, c := range []Contact{
		{Queue: "gen-110", Arrived: at, Answered: at.Add(10 * s), Ended: at.Add(110 * s), Wait: 10 * s, Handle: 100 * s, Disposition: "resolved"},
		{Queue: "gen-110", Arrived: at, Answered: at.Add(30 * s), Ended: at.Add(330 * s), Wait: 30 * s, Handle: 300 * s, Transfers: 1},
		{Queue: "gen-110", Arrived: at, Ended: at.Add(5 * s), Wait: 5 * s, EndReason: "abandoned"},   // before threshold: not held against SL
		{Queue: "gen-110", Arrived: at, Ended: at.Add(50 * s), Wait: 50 * s, EndReason: "abandoned"}, // after: counts
		{Queue: "gen-110", Arrived: at, Ended: at, EndReason: "refused-closed"},
		// A reached callback keeps its contact id: the store gives it the
		// callback's answer, two hours after arrival. Not a queue answer.
		{Queue: "gen-110", Arrived: at, Answered: at.Add(2 * time.Hour), Ended: at.Add(2*time.Hour + 120*s), Wait: 2 * time.Hour, Handle: 120 * s,
			EndReason: "completed", Callback: store.CallbackDone, CallbackAttempts: 2},
		{Queue: "gen-110", Arrived: at, Ended: at.Add(40 * s), Wait: 40 * s, EndReason: "callback", Callback: store.CallbackFailed, CallbackAttempts: 3},
		{Queue: "gen-110", Arrived: at, Ended: at.Add(40 * s), Wait: 40 * s, EndReason: "callback", Callback: store.CallbackBooked},
		{Queue: "gen-110", Arrived: from.AddDate(0, 0, 1)}, // outside the period
	} {
		b.Add(c)
	}
	rows := b.Rows()
	if len(rows) != 1 {
		t.Fatalf("rows %+v", rows)
	}
	r := rows[0]
	if r.Offered != 8 || r.Answered != 2 || r.Abandoned != 2 || r.Other != 4 || r.Transfers != 1 ||
		r.CallbacksBooked != 3 || r.CallbacksPlaced != 2 || r.CallbacksReached != 1 ||
		r.InSL != 1 || r.SLBase != 3 || r.ASA() != 20*s || r.AHT() != 200*s || r.Dispositions["resolved"] != 1 {
		t.Fatalf("row %+v (ASA %v AHT %v)", r, r.ASA(), r.AHT())
	}
	for _, bad := range []Options{
		{From: from, To: from, Every: time.Hour, By: ByQueue},
		{From: from, To: from.AddDate(0, 0, 1), Every: time.Minute, By: ByQueue},
		{From: from, To: from.AddDate(0, 0, 1), Every: time.Hour, By: "citizen"},
		{From: from, To: from.AddDate(0, 0, 1), Every: time.Hour, By: ByCenter},
		{From: from, To: from.AddDate(1, 0, 0), Every: time.Hour, By: ByQueue},
	} {
		if _, err := NewBuilder(bad); err == nil {
			t.Errorf("options %+v accepted", bad)
		}
	}
}

// BenchmarkReportDay: one national day (500,000 contacts) read from the
// store and aggregated by queue per 15 minutes, on SQLite and on
// PostgreSQL (a real server from internal/pgtest). Target < 5 s per report.
// The day is bulk-loaded (store.LoadContacts: COPY on PostgreSQL, multi-row
// INSERTs on SQLite; TestSeededDayMatchesGolden shows it reports the same
// as the server's records through the writer), then on PostgreSQL
// vacuumed and analyzed (what autovacuum does after a day of inserts), and
// reported on by queue, line, agent and center.
//
//	go test -run '^$' -bench ReportDay -benchtime 3x ./reports/
func BenchmarkReportDay(b *testing.B) {
	for _, db := range []struct {
		name string
		open func(testing.TB) (*store.Store, string)
	}{{"sqlite", func(t testing.TB) (*store.Store, string) { return openStore(t), "" }}, {"postgres", openPostgresDSN}} {
		b.Run(db.name, func(b *testing.B) {
			st, dsn := db.open(b)
			t0, c0 := time.Now(), cpuTime()
			loadDayAt(b, st, 500000, 7, time.Date(2026, 12, 7, 0, 0, 0, 0, kst), 1)
			if dsn != "" {
				vacuum(b, dsn)
			}
			b.Logf("%s: loaded 500,000 contacts in %v (%v of this process's CPU)", db.name,
				time.Since(t0).Round(time.Millisecond), (cpuTime() - c0).Round(time.Millisecond))
			from := time.Date(2026, 12, 7, 0, 0, 0, 0, kst)
			for _, by := range []By{ByQueue, ByLine, ByAgent, ByCenter} {
				b.Run(string(by), func(b *testing.B) {
					o := testConfig().Options(from, from.AddDate(0, 0, 1), by, 15*time.Minute)
					cpu0 := cpuTime()
					for b.Loop() {
						rows, err := Build(context.Background(), st, o)
						if err != nil || len(rows) == 0 {
							b.Fatal(err, len(rows))
						}
					}
					// The process's CPU time per report: the figure that
					// does not depend on how busy the shared machine is
					// (on PostgreSQL the server's own CPU comes on top).
					b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
				})
			}
		})
	}
}

// vacuum runs VACUUM (ANALYZE) on the contacts and callbacks of the
// PostgreSQL database dsn: the visibility map lets the report read the
// covering index alone.
func vacuum(t testing.TB, dsn string) {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("VACUUM (ANALYZE) contacts, callbacks"); err != nil {
		t.Fatal(err)
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
