package console

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"onecall/internal/testpeers"
	"onecall/reports"
	"onecall/store"
)

// TestBrowserWallboardBackfill: contacts the store holds from earlier in
// the day (before this server's own chart bins) show in the volume chart
// as soon as the wallboard loads, read from GET /api/reports.
func TestBrowserWallboardBackfill(t *testing.T) {
	var rep atomic.Pointer[reports.Handler]
	e := newEnv(t, func(o *Options) {
		o.Queues = wallQueues
		o.Reports = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { rep.Load().ServeHTTP(w, r) })
	})
	// 45 minutes before the current 15-minute bin: 3 offered, 2 answered,
	// 1 abandoned, in the store as the store sink writes them.
	bin := time.Now().Truncate(15 * time.Minute).Add(-45 * time.Minute)
	ctx := context.Background()
	for i, c := range []store.ContactUpsert{
		{Channel: "voice", Hotline: "1350", Queue: "labor", State: "ended", EndReason: "completed", Agent: "agent01",
			Arrived: bin.Add(time.Minute), Answered: bin.Add(time.Minute + 5*time.Second), Ended: bin.Add(4 * time.Minute), Wait: 5 * time.Second, Handle: 3 * time.Minute},
		{Channel: "chat", Hotline: "1350", Queue: "labor", State: "ended", EndReason: "completed", Agent: "agent01",
			Arrived: bin.Add(2 * time.Minute), Answered: bin.Add(2*time.Minute + 8*time.Second), Ended: bin.Add(9 * time.Minute), Wait: 8 * time.Second, Handle: 7 * time.Minute},
		{Channel: "voice", Hotline: "110", Queue: "general", State: "ended", EndReason: "abandoned",
			Arrived: bin.Add(3 * time.Minute), Ended: bin.Add(4 * time.Minute), Wait: time.Minute},
	} {
		c.ID = uint64(9000 + i)
		if err := e.st.Durable(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	rep.Store(&reports.Handler{Src: e.st, Cfg: reports.Config{Loc: time.Local, Now: func() time.Time { return bin }}})
	browser := testpeers.Chromium(t, chromedp.WindowSize(1920, 1080))
	sup := openWallboard(t, browser, e.srv.URL+"/", "super01", "#super")
	want := bin.UnixMilli() / 1000
	sup.poll("backfilled bin in the volume chart", `(() => { const p = window.onecallWall.plots.vol; if (!p) return false;
		const i = p.data[0].indexOf(`+itoa64(want)+`); return i >= 0 && p.data[1][i] === 3 && p.data[2][i] === 2 && p.data[3][i] === 1; })()`)
	// The server's own (current) bin still follows it.
	if n := sup.eval(`String(window.onecallWall.plots.vol.data[0].filter((x) => x > ` + itoa64(want) + `).length)`); n == "0" {
		t.Fatal("no live bin after the backfilled one")
	}
}

func itoa64(n int64) string {
	b := []byte{}
	if n == 0 {
		return "0"
	}
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
