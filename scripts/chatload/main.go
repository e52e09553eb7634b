// Command chatload is a bounded load test of the citizen chat: the chat
// service over the real store (SQLite file), the real routing engine and hub
// (one queue; `talking` chat agents log in after every chat waits and accept
// their offers at once; -stub replaces routing by a stub) and real
// WebSockets on 127.0.0.1. The citizens run in a child process so the server's
// memory per connection is measured alone.
//
//	ulimit -n 65536   # or at least waiting+talking+1000 per process
//	go run ./scripts/chatload -waiting 10000 -talking 1000 -rate 2000 -duration 30s
//
// Everything is bounded: connection count, message rate and duration.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"onecall/chat"
	"onecall/router"
	"onecall/server"
	"onecall/store"
)

// Set once from flags in main.
var (
	cpuProfile  string
	stubRouting bool
)

type result struct {
	Connected   int     `json:"connected"`
	Talking     int     `json:"talking"`
	AckN        int     `json:"ack_n"`
	AckP50      float64 `json:"ack_p50_ms"`
	AckP99      float64 `json:"ack_p99_ms"`
	AckMax      float64 `json:"ack_max_ms"`
	DelivN      int     `json:"deliv_n"`
	DelivP50    float64 `json:"deliv_p50_ms"`
	DelivP99    float64 `json:"deliv_p99_ms"`
	DelivMax    float64 `json:"deliv_max_ms"`
	Errors      int64   `json:"errors"`
	ConnectSecs float64 `json:"connect_s"`
}

func main() {
	waiting := flag.Int("waiting", 10000, "idle waiting chats")
	talking := flag.Int("talking", 1000, "chats in conversation")
	rate := flag.Int("rate", 2000, "messages per second in total (half citizen, half agent)")
	dur := flag.Duration("duration", 30*time.Second, "load phase duration (max 10m)")
	child := flag.String("child", "", "internal: run the citizens against this ws URL")
	cpuprof := flag.String("cpuprofile", "", "write the server's CPU profile of the load phase here")
	stub := flag.Bool("stub", false, "stub routing instead of the real engine + hub")
	flag.Parse()
	cpuProfile = *cpuprof
	stubRouting = *stub
	if *dur > 10*time.Minute {
		*dur = 10 * time.Minute
	}
	if *child != "" {
		runCitizens(*child, *waiting+*talking, *talking, *rate/2, *dur)
		return
	}
	runServer(*waiting, *talking, *rate, *dur)
}

// stubHub routes without an engine: every arrival waits; Accept connects.
type stubHub struct {
	next  atomic.Uint64
	svc   *chat.Service
	mu    sync.Mutex
	order []router.ContactID
	n     int
}

func (h *stubHub) Submit(ev router.Event) error { _, err := h.Do(context.Background(), ev); return err }
func (h *stubHub) Do(_ context.Context, ev router.Event) ([]router.Command, error) {
	var cmds []router.Command
	switch e := ev.(type) {
	case router.ContactArrived:
		h.mu.Lock()
		h.order = append(h.order, e.Contact)
		h.n++
		pos := h.n
		h.mu.Unlock()
		cmds = []router.Command{router.Announce{Contact: e.Contact, Channel: router.Chat, Position: pos, EstimatedWait: time.Duration(pos) * time.Second}}
	case router.OfferAccepted:
		cmds = []router.Command{router.Connected{Contact: e.Contact, Agent: e.Agent, Channel: router.Chat}}
	case router.ContactEnded:
		cmds = []router.Command{router.ContactClosed{Contact: e.Contact, Channel: router.Chat, Reason: e.Reason}}
	case router.ContactAbandoned:
		cmds = []router.Command{router.ContactClosed{Contact: e.Contact, Channel: router.Chat, Reason: router.EndAbandoned}}
	}
	if len(cmds) > 0 {
		h.svc.Deliver(cmds)
	}
	return cmds, nil
}
func (h *stubHub) NewContactID() router.ContactID { return router.ContactID(h.next.Add(1)) }
func (h *stubHub) Now() time.Time                 { return time.Now() }

func memNow() (heapStack uint64, rss uint64) {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			var kb uint64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(l, "VmRSS:")), "%d", &kb)
			rss = kb << 10
		}
	}
	return ms.HeapInuse + ms.StackInuse, rss
}

func runServer(waiting, talking, rate int, dur time.Duration) {
	dir, err := os.MkdirTemp("", "chatload")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	st, err := store.Open(context.Background(), filepath.Join(dir, "onecall.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	opts := chat.Options{
		Hotlines:      []chat.Hotline{{Number: "110", NameKO: "정부민원안내", NameEN: "Government"}},
		NewChatsPerIP: 1e6, NewChatBurst: 1e6, // all citizens come from 127.0.0.1
		MsgsPerSecond: 100, MsgBurst: 100,
		SendBuffer: 64,
		AgentAlias: func(router.AgentID) string { return "상담사" },
		Logger:     slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	}
	var (
		svc     *chat.Service
		connect func() map[router.ContactID]router.AgentID // agents take `talking` chats
	)
	if stubRouting {
		hub := &stubHub{}
		svc, err = chat.NewWithHub(hub, st, opts, func(error) bool { return false })
		if err != nil {
			log.Fatal(err)
		}
		hub.svc = svc
		connect = func() map[router.ContactID]router.AgentID {
			hub.mu.Lock()
			ids := slices.Clone(hub.order[:talking])
			hub.mu.Unlock()
			out := map[router.ContactID]router.AgentID{}
			for i, id := range ids {
				a := router.AgentID(fmt.Sprintf("agent%04d", i))
				_, _ = hub.Do(context.Background(), router.OfferAccepted{Contact: id, Agent: a})
				out[id] = a
			}
			return out
		}
	} else {
		svc, connect = realRouting(st, opts, waiting, talking)
	}
	defer svc.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: svc}
	go srv.Serve(ln)
	defer srv.Close()

	base, baseRSS := memNow()
	total := waiting + talking
	cmd := exec.Command(os.Args[0], "-child", "ws://"+ln.Addr().String()+"/ws/chat",
		"-waiting", fmt.Sprint(waiting), "-talking", fmt.Sprint(talking), "-rate", fmt.Sprint(rate), "-duration", dur.String())
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	expect := func(prefix string) string {
		for sc.Scan() {
			if l := sc.Text(); strings.HasPrefix(l, prefix) {
				return l
			}
		}
		log.Fatalf("child ended before %q", prefix)
		return ""
	}
	expect("CONNECTED")
	// Let late frames settle, then measure the server with every chat idle.
	time.Sleep(2 * time.Second)
	after, afterRSS := memNow()
	perConn := float64(after-base) / float64(total)
	perConnRSS := float64(afterRSS-baseRSS) / float64(total)

	// Agents take `talking` chats.
	pairs := connect()
	ids := make([]router.ContactID, 0, len(pairs))
	for id := range pairs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	expect("TALKING")
	fmt.Fprintln(stdin, "GO")
	if cpuProfile != "" {
		if f, err := os.Create(cpuProfile); err == nil {
			_ = pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}

	// Agent side: rate/2 messages per second round-robin over the talking chats.
	var sendLat []time.Duration
	var errs atomic.Int64
	var lmu sync.Mutex
	// 10 ms ticks, each sending its share, so the offered rate holds even
	// when the scheduler is late.
	tick := time.NewTicker(10 * time.Millisecond)
	start := time.Now()
	end := start.Add(dur)
	sem := make(chan struct{}, 256)
	var wg sync.WaitGroup
	for i := 0; time.Now().Before(end); i++ {
		if due := int(time.Since(start) * time.Duration(rate/2) / time.Second); i >= due {
			<-tick.C
			i--
			continue
		}
		id := ids[i%len(ids)]
		agent := pairs[id]
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			t0 := time.Now()
			if _, err := svc.AgentSend(context.Background(), id, agent, fmt.Sprintf("t=%d 안내해 드리겠습니다.", t0.UnixNano())); err != nil {
				errs.Add(1)
				return
			}
			d := time.Since(t0)
			lmu.Lock()
			sendLat = append(sendLat, d)
			lmu.Unlock()
		}()
	}
	tick.Stop()
	wg.Wait()
	line := expect("RESULT ")
	var r result
	_ = json.Unmarshal([]byte(strings.TrimPrefix(line, "RESULT ")), &r)
	_ = cmd.Wait()
	p50, p99, mx := pct(sendLat)
	stats := st.Stats()
	fmt.Printf("chats: %d waiting + %d talking connected in %.1fs\n", waiting, r.Talking, r.ConnectSecs)
	fmt.Printf("server memory per idle chat connection: %.1f KB heap+stack, %.1f KB RSS\n", perConn/1024, perConnRSS/1024)
	fmt.Printf("load: %d msg/s offered for %s (half citizen->agent, half agent->citizen); achieved %.0f msg/s\n",
		rate, dur, float64(r.AckN+len(sendLat))/dur.Seconds())
	fmt.Printf("citizen msg -> durable ack (client RTT): n=%d p50=%.1fms p99=%.1fms max=%.1fms\n", r.AckN, r.AckP50, r.AckP99, r.AckMax)
	fmt.Printf("agent AgentSend (durable commit + hand-off): n=%d p50=%.1fms p99=%.1fms max=%.1fms errors=%d\n", len(sendLat), p50, p99, mx, errs.Load())
	fmt.Printf("agent msg -> citizen screen (durable + delivery): n=%d p50=%.1fms p99=%.1fms max=%.1fms\n", r.DelivN, r.DelivP50, r.DelivP99, r.DelivMax)
	fmt.Printf("store: committed=%d batches=%d durable_failed=%d; client errors=%d\n", stats.Committed, stats.Batches, stats.DurableFailed, r.Errors)
}

func pct(d []time.Duration) (p50, p99, mx float64) {
	if len(d) == 0 {
		return 0, 0, 0
	}
	slices.Sort(d)
	ms := func(x time.Duration) float64 { return float64(x) / 1e6 }
	return ms(d[len(d)/2]), ms(d[len(d)*99/100]), ms(d[len(d)-1])
}

type citizen struct {
	c       *websocket.Conn
	wmu     sync.Mutex
	talking atomic.Bool
	pending sync.Map // id -> time.Time
}

func runCitizens(url string, total, talking, rate int, dur time.Duration) {
	var (
		errs    atomic.Int64
		nTalk   atomic.Int64
		lmu     sync.Mutex
		ackLat  []time.Duration
		delLat  []time.Duration
		started = make(chan *citizen, total)
		measure atomic.Bool
	)
	dialer := websocket.Dialer{ReadBufferSize: 1024, WriteBufferSize: 1024, HandshakeTimeout: 30 * time.Second}
	t0 := time.Now()
	var wg sync.WaitGroup
	work := make(chan int)
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				c, _, err := dialer.Dial(url, nil)
				if err != nil {
					errs.Add(1)
					continue
				}
				ct := &citizen{c: c}
				_ = c.WriteJSON(map[string]any{"type": "start", "number": "110", "lang": "ko"})
				var f map[string]any
				if err := c.ReadJSON(&f); err != nil || f["type"] != "started" {
					errs.Add(1)
					c.Close()
					continue
				}
				go func() {
					for {
						_, data, err := c.ReadMessage()
						if err != nil {
							return
						}
						now := time.Now()
						var f struct {
							Type, ID, Text, From, Code string
						}
						_ = json.Unmarshal(data, &f)
						switch f.Type {
						case "agent_joined":
							if !ct.talking.Swap(true) {
								nTalk.Add(1)
							}
						case "ack":
							if v, ok := ct.pending.LoadAndDelete(f.ID); ok && measure.Load() {
								lmu.Lock()
								ackLat = append(ackLat, now.Sub(v.(time.Time)))
								lmu.Unlock()
							}
						case "msg":
							var ns int64
							if f.From == "agent" && measure.Load() {
								if _, err := fmt.Sscanf(f.Text, "t=%d", &ns); err == nil {
									lmu.Lock()
									delLat = append(delLat, now.Sub(time.Unix(0, ns)))
									lmu.Unlock()
								}
							}
						case "error":
							if errs.Add(1) <= 5 {
								fmt.Fprintln(os.Stderr, "citizen got error:", f.Code, f.Text)
							}
						}
					}
				}()
				started <- ct
			}
		}()
	}
	for i := range total {
		work <- i
	}
	close(work)
	wg.Wait()
	close(started)
	var all []*citizen
	for c := range started {
		all = append(all, c)
	}
	connectSecs := time.Since(t0).Seconds()
	fmt.Println("CONNECTED", len(all))
	deadline := time.Now().Add(60 * time.Second)
	for nTalk.Load() < int64(talking) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	var talkers []*citizen
	for _, c := range all {
		if c.talking.Load() {
			talkers = append(talkers, c)
		}
	}
	fmt.Println("TALKING", len(talkers))
	in := bufio.NewScanner(os.Stdin)
	in.Scan() // GO
	measure.Store(true)
	if len(talkers) > 0 {
		tick := time.NewTicker(10 * time.Millisecond)
		start := time.Now()
		end := start.Add(dur)
		for i := 0; time.Now().Before(end); i++ {
			if due := int(time.Since(start) * time.Duration(rate) / time.Second); i >= due {
				<-tick.C
				i--
				continue
			}
			ct := talkers[i%len(talkers)]
			id := fmt.Sprint(i)
			ct.pending.Store(id, time.Now())
			go func() {
				ct.wmu.Lock()
				defer ct.wmu.Unlock()
				if err := ct.c.WriteJSON(map[string]any{"type": "msg", "id": id, "text": "문의드립니다 " + id}); err != nil {
					errs.Add(1)
				}
			}()
		}
		tick.Stop()
	}
	time.Sleep(2 * time.Second) // last acks in flight
	lmu.Lock()
	a50, a99, amax := pct(ackLat)
	d50, d99, dmax := pct(delLat)
	r := result{Connected: len(all), Talking: len(talkers), AckN: len(ackLat), AckP50: a50, AckP99: a99, AckMax: amax,
		DelivN: len(delLat), DelivP50: d50, DelivP99: d99, DelivMax: dmax, Errors: errs.Load(), ConnectSecs: connectSecs}
	lmu.Unlock()
	b, _ := json.Marshal(r)
	fmt.Println("RESULT " + string(b))
	for _, c := range all {
		c.c.Close()
	}
}

// realRouting runs the routing engine and hub with one queue and `talking`
// chat agents (capacity 1), logged in only when connect is called.
func realRouting(st *store.Store, opts chat.Options, waiting, talking int) (*chat.Service, func() map[router.ContactID]router.AgentID) {
	cfg := router.Config{
		Queues: []router.QueueDef{{ID: "general", Skills: []router.SkillReq{{Skill: "ko", Min: 1}}, SLTarget: 0.8,
			SLThreshold: 20 * time.Second, MaxWaiting: waiting + talking + 1000, MaxWait: 24 * time.Hour,
			OfferChat: 30 * time.Second, AnnounceEvery: 30 * time.Second}},
		Hotlines: []router.HotlineDef{{Number: "110", DefaultQueue: "general", Schedule: router.Schedule{Always: true}}},
	}
	for i := range talking {
		cfg.Agents = append(cfg.Agents, router.AgentDef{ID: router.AgentID(fmt.Sprintf("agent%04d", i)), Skills: map[string]int{"ko": 5}, Chat: 1})
	}
	eng, err := router.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	hub := server.NewHub(eng, server.WithLogger(opts.Logger))
	svc, err := chat.New(hub, st, opts)
	if err != nil {
		log.Fatal(err)
	}
	var mu sync.Mutex
	var offers, withdrawn atomic.Int64
	pairs := map[router.ContactID]router.AgentID{}
	hub.AddSink(svc.Sink())
	hub.AddSink(server.SinkFunc(func(cmds []router.Command) {
		for _, c := range cmds {
			switch c := c.(type) {
			case router.Offer:
				offers.Add(1)
				if err := hub.Submit(router.OfferAccepted{Contact: c.Contact, Agent: c.Agent}); err != nil {
					log.Printf("accept: %v", err)
				}
			case router.OfferWithdrawn:
				withdrawn.Add(1)
			case router.Connected:
				mu.Lock()
				pairs[c.Contact] = c.Agent
				mu.Unlock()
			}
		}
	}))
	go hub.Run(context.Background())
	return svc, func() map[router.ContactID]router.AgentID {
		for _, a := range cfg.Agents {
			if _, err := hub.Do(context.Background(), router.AgentLoggedIn{Agent: a.ID, Ready: true}); err != nil {
				log.Fatalf("login %s: %v", a.ID, err)
			}
		}
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			n := len(pairs)
			mu.Unlock()
			if n >= talking {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(pairs) < talking {
			log.Printf("only %d of %d chats connected (offers %d, withdrawn %d)", len(pairs), talking, offers.Load(), withdrawn.Load())
		}
		return maps.Clone(pairs)
	}
}
