package main

// -reportday N (with -serve): before onecall starts, seed its data dir's
// store with yesterday's day of N contacts (through the store's batching
// writer, as the server writes them), then during the load a supervisor
// (super01 of the demo roster) asks GET /api/reports for that day by queue
// per 15 minutes, one request after the other (-reportpause between), and
// sipload prints the report's response times quiet (before the calls) and
// under the calls, beside the calls' own figures (issue 15: the reports
// API on a running server that carries calls).

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"onecall/store"
)

var kst = time.FixedZone("KST", 9*3600)

// reportDay is the seeded day: yesterday in KST.
func reportDay() time.Time {
	y, m, d := time.Now().In(kst).AddDate(0, 0, -1).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, kst)
}

// seedReportDay writes n contacts arriving 08-20 h of day into the SQLite
// store in dataDir: lines 110, 1330 and 1350, a fifth of them chats, a
// quarter of 110 abandoned, the rest answered after 0-40 s and handled
// 1-10 min with a disposition.
func seedReportDay(ctx context.Context, dataDir string, n int, day time.Time) (time.Duration, error) {
	t0 := time.Now()
	st, err := store.Open(ctx, filepath.Join(dataDir, "onecall.db"))
	if err != nil {
		return 0, err
	}
	defer st.Close()
	rng := rand.New(rand.NewPCG(15, 16))
	lines := []struct{ line, queue string }{{"110", "gen-110"}, {"1330", "tourism-1330"}, {"1350", "labor-1350"}}
	codes := []string{"resolved", "information-given", "callback-needed"}
	put := func(r store.Record) error {
		for tries := 0; ; tries++ {
			err := st.Enqueue(r)
			if err == nil {
				return nil
			}
			if tries > 2000 {
				return fmt.Errorf("seed: store write queue stays full: %w", err)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(5 * time.Millisecond): // the bounded queue drains
			}
		}
	}
	for i := range n {
		id := uint64(i + 1)
		l := lines[rng.IntN(len(lines))]
		arr := day.Add(8*time.Hour + time.Duration(rng.Int64N(int64(12*time.Hour)))).Truncate(time.Millisecond)
		ch := "voice"
		if rng.IntN(5) == 0 {
			ch = "chat"
		}
		recs := []store.Record{store.ContactUpsert{ID: id, Channel: ch, Hotline: l.line, Queue: l.queue,
			Citizen: "01000000000", State: "waiting", Arrived: arr}}
		if l.line == "110" && rng.IntN(4) == 0 {
			recs = append(recs, store.ContactUpsert{ID: id, State: "ended",
				Ended: arr.Add(time.Duration(5+rng.IntN(56)) * time.Second), EndReason: "abandoned"})
		} else {
			ans := arr.Add(time.Duration(rng.IntN(41)) * time.Second)
			agent := fmt.Sprintf("agent%04d", 1+rng.IntN(400))
			recs = append(recs, store.ContactUpsert{ID: id, State: "talking", Agent: agent, Answered: ans},
				store.ContactUpsert{ID: id, State: "ended", Ended: ans.Add(time.Duration(60+rng.IntN(540)) * time.Second),
					EndReason: "completed"},
				store.ContactWrapUp{Contact: id, Disposition: codes[rng.IntN(len(codes))]})
		}
		for _, r := range recs {
			if err := put(r); err != nil {
				return 0, err
			}
		}
	}
	if err := st.Durable(ctx, store.ContactUpsert{ID: uint64(n + 1), State: "ended"}); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

// reportClient is a signed-in supervisor asking for the seeded day's
// report.
type reportClient struct {
	hc  *http.Client
	url string

	mu    sync.Mutex
	times []time.Duration
	bytes int
	fails int
}

func newReportClient(base string, day time.Time) (*reportClient, error) {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 60 * time.Second}
	body := strings.NewReader(`{"username":"super01","password":"demo"}`)
	resp, err := hc.Post(base+"/api/login", "application/json", body)
	if err != nil {
		return nil, fmt.Errorf("supervisor login: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("supervisor login: %s", resp.Status)
	}
	return &reportClient{hc: hc, url: base + "/api/reports?from=" + day.Format("2006-01-02") + "&by=queue&every=15m"}, nil
}

// one asks for the report once and records its time; the rows must add up
// to the seeded contacts (at least want offered).
func (c *reportClient) one(want int) error {
	t0 := time.Now()
	resp, err := c.hc.Get(c.url)
	if err != nil {
		c.fail()
		return err
	}
	var body struct {
		Rows []struct {
			Offered int `json:"offered"`
		} `json:"rows"`
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(t0)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s %.200s", c.url, resp.Status, b)
	}
	if err == nil {
		err = json.Unmarshal(b, &body)
	}
	offered := 0
	for _, r := range body.Rows {
		offered += r.Offered
	}
	if err == nil && offered < want {
		err = fmt.Errorf("report of the seeded day offers %d contacts, seeded %d", offered, want)
	}
	if err != nil {
		c.fail()
		return err
	}
	c.mu.Lock()
	c.times = append(c.times, d)
	c.bytes = len(b)
	c.mu.Unlock()
	return nil
}

func (c *reportClient) fail() {
	c.mu.Lock()
	c.fails++
	c.mu.Unlock()
}

// take returns the times recorded so far and starts afresh.
func (c *reportClient) take() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.times
	c.times = nil
	return t
}

// loop asks for the report until stop is closed, pause between requests.
func (c *reportClient) loop(want int, pause time.Duration, stop <-chan struct{}) (done <-chan struct{}) {
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := c.one(want); err != nil {
				fmt.Printf("report under load: %v\n", err)
			}
			select {
			case <-stop:
				return
			case <-time.After(pause):
			}
		}
	}()
	return ch
}

// summarizeTimes is "n reports: min / median / max".
func summarizeTimes(ts []time.Duration) string {
	if len(ts) == 0 {
		return "no report finished"
	}
	s := slices.Clone(ts)
	slices.Sort(s)
	r := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	return fmt.Sprintf("%d reports: min %v, median %v, max %v", len(s), r(s[0]), r(s[len(s)/2]), r(s[len(s)-1]))
}
