package planning

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Interval is one row of a forecast: the contacts expected on a queue in
// one interval, their mean handle time and, when known, their patience.
type Interval struct {
	Queue    string
	Start    time.Time
	Length   time.Duration
	Contacts float64
	AHT      time.Duration
	Patience time.Duration // 0 = unknown: plan with Erlang C
}

// Row is a forecast interval with its staffing answer.
type Row struct {
	Interval
	Need
}

// maxForecastRows bounds what one forecast may ask for (a month of
// 15-minute intervals for every shipped queue is about 150,000).
const maxForecastRows = 500000

// ParseForecast reads a forecast CSV with a header row naming the columns
// queue, start, contacts, aht_seconds and, optionally, patience_seconds.
// start is RFC 3339 or "2006-01-02 15:04" in loc. Every interval has the
// given length. Errors name the line.
func ParseForecast(r io.Reader, length time.Duration, loc *time.Location) ([]Interval, error) {
	if length <= 0 {
		return nil, errors.New("forecast: interval length must be positive")
	}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("forecast: header: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	for _, need := range []string{"queue", "start", "contacts", "aht_seconds"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("forecast: header lacks %q (want queue,start,contacts,aht_seconds[,patience_seconds])", need)
		}
	}
	pc, hasPatience := col["patience_seconds"]
	var out []Interval
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("forecast: line %d: %w", line, err)
		}
		if len(out) >= maxForecastRows {
			return nil, fmt.Errorf("forecast: more than %d rows", maxForecastRows)
		}
		get := func(name string) string {
			i := col[name]
			if i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		iv := Interval{Queue: get("queue"), Length: length}
		if iv.Queue == "" {
			return nil, fmt.Errorf("forecast: line %d: empty queue", line)
		}
		if iv.Start, err = parseStart(get("start"), loc); err != nil {
			return nil, fmt.Errorf("forecast: line %d: start: %w", line, err)
		}
		if iv.Contacts, err = strconv.ParseFloat(get("contacts"), 64); err != nil || iv.Contacts < 0 || iv.Contacts > 1e7 {
			return nil, fmt.Errorf("forecast: line %d: contacts %q: want a number from 0 to 10,000,000", line, get("contacts"))
		}
		aht, err := strconv.ParseFloat(get("aht_seconds"), 64)
		if err != nil || aht <= 0 || aht > 86400 {
			return nil, fmt.Errorf("forecast: line %d: aht_seconds %q: want seconds from 0 to 86400", line, get("aht_seconds"))
		}
		iv.AHT = time.Duration(aht * float64(time.Second))
		if hasPatience && pc < len(rec) && strings.TrimSpace(rec[pc]) != "" {
			p, err := strconv.ParseFloat(strings.TrimSpace(rec[pc]), 64)
			if err != nil || p <= 0 || p > 86400 {
				return nil, fmt.Errorf("forecast: line %d: patience_seconds %q: want seconds from 0 to 86400", line, rec[pc])
			}
			iv.Patience = time.Duration(p * float64(time.Second))
		}
		out = append(out, iv)
	}
	return out, nil
}

func parseStart(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.ParseInLocation("2006-01-02 15:04", s, loc)
}

// Plan answers every interval with the fewest agents that meet its queue's
// target; patience from the forecast overrides the target's. Rows come out
// sorted by queue, then start.
func Plan(f []Interval, targets map[string]Target) ([]Row, error) {
	rows := make([]Row, 0, len(f))
	for _, iv := range f {
		t, ok := targets[iv.Queue]
		if !ok {
			return nil, fmt.Errorf("plan: unknown queue %q", iv.Queue)
		}
		if iv.Patience > 0 {
			t.Patience = iv.Patience
		}
		need, err := AgentsFor(Load{Rate: iv.Contacts / iv.Length.Seconds(), AHT: iv.AHT}, t)
		if err != nil {
			return nil, fmt.Errorf("plan: %s at %s: %w", iv.Queue, iv.Start.Format("2006-01-02 15:04"), err)
		}
		rows = append(rows, Row{Interval: iv, Need: need})
	}
	slices.SortStableFunc(rows, func(a, b Row) int {
		if c := strings.Compare(a.Queue, b.Queue); c != 0 {
			return c
		}
		return a.Start.Compare(b.Start)
	})
	return rows, nil
}
