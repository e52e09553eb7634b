package reports

import (
	"encoding/csv"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// GET /api/reports with only from reports that one day (as `onecall report
// --from` does), not from that day up to today; from and to together still
// span both days, and no from at all is today.
func TestHandlerToDefaultsToTheDayAfterFrom(t *testing.T) {
	st := openStore(t)
	loadDayAt(t, st, 300, 42, time.Date(2026, 12, 6, 0, 0, 0, 0, kst), 1)
	loadDayAt(t, st, 200, 43, time.Date(2026, 12, 7, 0, 0, 0, 0, kst), 1001)
	cfg := testConfig()
	cfg.Now = func() time.Time { return time.Date(2026, 12, 7, 15, 0, 0, 0, kst) }
	srv := httptest.NewServer(Handler{Src: st, Cfg: cfg})
	t.Cleanup(srv.Close)

	// offered per day, summed over the queues
	perDay := func(query string) map[string]int {
		t.Helper()
		res, err := http.Get(srv.URL + "/?by=queue&every=1d&format=csv" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		recs, err := csv.NewReader(res.Body).ReadAll()
		if err != nil || res.StatusCode != http.StatusOK || len(recs) < 1 || recs[0][2] != "offered" {
			t.Fatalf("%s: %d %v %v", query, res.StatusCode, recs, err)
		}
		days := map[string]int{}
		for _, r := range recs[1:] {
			n, err := strconv.Atoi(r[2])
			if err != nil {
				t.Fatalf("%s: row %v", query, r)
			}
			days[r[0][:10]] += n
		}
		return days
	}
	for _, tc := range []struct {
		query string
		want  map[string]int
	}{
		{"&from=2026-12-06", map[string]int{"2026-12-06": 300}},
		{"&from=2026-12-06T00:00", map[string]int{"2026-12-06": 300}},
		{"&from=2026-12-06&to=2026-12-08", map[string]int{"2026-12-06": 300, "2026-12-07": 200}},
		{"", map[string]int{"2026-12-07": 200}},
	} {
		got := perDay(tc.query)
		if len(got) != len(tc.want) {
			t.Errorf("%q: offered per day %v, want %v", tc.query, got, tc.want)
			continue
		}
		for d, n := range tc.want {
			if got[d] != n {
				t.Errorf("%q: offered per day %v, want %v", tc.query, got, tc.want)
			}
		}
	}
}
