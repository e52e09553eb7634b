package reports

import (
	"testing"
	"time"
)

// Two seeded Mondays in the store forecast the third: per queue and 15
// minutes, the mean of their contacts and the handle time their answered
// contacts took.
func TestHistoryForecastFromTwoWeeks(t *testing.T) {
	st := openStore(t)
	w1 := time.Date(2026, 11, 30, 0, 0, 0, 0, kst)
	w2 := w1.AddDate(0, 0, 7)
	seedDayAt(t, st, 600, 42, w1, 1)
	seedDayAt(t, st, 900, 43, w2, 10001)
	day := w2.AddDate(0, 0, 7)
	iv, err := HistoryForecast(t.Context(), st, testConfig(), day, 2)
	if err != nil {
		t.Fatal(err)
	}
	// The same figures straight from the two days' reports.
	type k struct {
		q   string
		off time.Duration
	}
	offered, answered, handle := map[k]int{}, map[k]int{}, map[k]time.Duration{}
	for _, from := range []time.Time{w1, w2} {
		rows, err := Build(t.Context(), st, testConfig().Options(from, from.AddDate(0, 0, 1), ByQueue, 15*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			key := k{r.Key, r.Start.Sub(from)}
			offered[key] += r.Offered
			answered[key] += r.Answered
			handle[key] += r.HandleSum
		}
	}
	if len(iv) != len(offered) || len(iv) < 3*40 {
		t.Fatalf("%d forecast intervals, %d in the history", len(iv), len(offered))
	}
	total := 0.0
	for _, v := range iv {
		key := k{v.Queue, v.Start.Sub(day)}
		if v.Start.Before(day) || !v.Start.Before(day.AddDate(0, 0, 1)) || v.Length != 15*time.Minute {
			t.Fatalf("interval %+v outside the day", v)
		}
		if want := float64(offered[key]) / 2; v.Contacts != want {
			t.Errorf("%s %v: %v contacts, want %v", v.Queue, v.Start, v.Contacts, want)
		}
		if answered[key] > 0 && v.AHT != handle[key]/time.Duration(answered[key]) {
			t.Errorf("%s %v: AHT %v, want %v", v.Queue, v.Start, v.AHT, handle[key]/time.Duration(answered[key]))
		}
		if v.AHT <= 0 {
			t.Errorf("%s %v: AHT %v", v.Queue, v.Start, v.AHT)
		}
		total += v.Contacts
	}
	if total != 750 {
		t.Fatalf("forecast %v contacts, want the mean of 600 and 900", total)
	}
	if _, err := HistoryForecast(t.Context(), st, testConfig(), day, 0); err == nil {
		t.Fatal("0 weeks accepted")
	}
}
