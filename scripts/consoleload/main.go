// Command consoleload measures console fan-out: it starts the real router,
// hub, store and console on 127.0.0.1:0, connects N agent consoles and M
// supervisor consoles from a child process, injects queue statistics into the
// console's hub sink (as the hub does after every Tick) and reports how long
// each event takes to reach every console, plus the server's memory per
// console. Bounded in count and time; loopback only.
//
//	go run ./scripts/consoleload -consoles 1000 -supervisors 20 -events 200
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"onecall/console"
	"onecall/router"
	"onecall/server"
	"onecall/store"
)

func main() {
	consoles := flag.Int("consoles", 1000, "agent consoles")
	supers := flag.Int("supervisors", 20, "supervisor consoles")
	events := flag.Int("events", 200, "events to broadcast")
	every := flag.Duration("every", 50*time.Millisecond, "interval between events")
	child := flag.String("child", "", "internal: run the clients against this URL")
	flag.Parse()
	if *child != "" {
		runClients(*child, *consoles, *supers)
		return
	}
	if err := runServer(*consoles, *supers, *events, *every); err != nil {
		fmt.Fprintln(os.Stderr, "consoleload:", err)
		os.Exit(1)
	}
}

func runServer(nAgents, nSupers, nEvents int, every time.Duration) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "consoleload")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	st, err := store.Open(ctx, filepath.Join(dir, "load.db"))
	if err != nil {
		return err
	}
	defer func() { _ = st.Close() }()
	// One hash for everyone: seeding 1,000 argon2id hashes is not what we measure.
	hash, err := console.HashPassword("loadtest")
	if err != nil {
		return err
	}
	var agents []router.AgentDef
	for i := 0; i < nAgents+nSupers; i++ {
		u := store.User{Username: fmt.Sprintf("a%04d", i), Role: "agent", PasswordHash: hash, VoiceCap: 1, ChatCap: 3,
			Skills: map[string]int{"labor": 3}}
		if i >= nAgents {
			u.Username, u.Role = fmt.Sprintf("s%02d", i-nAgents), "supervisor"
		} else {
			agents = append(agents, router.AgentDef{ID: router.AgentID(u.Username), Skills: u.Skills, Voice: 1, Chat: 3})
		}
		if err := st.UpsertUser(ctx, u); err != nil {
			return err
		}
	}
	eng, err := router.New(router.Config{
		Queues:   []router.QueueDef{{ID: "labor", Skills: []router.SkillReq{{Skill: "labor", Min: 1}}, SLTarget: 0.8, SLThreshold: 20 * time.Second}},
		Hotlines: []router.HotlineDef{{Number: "1350", DefaultQueue: "labor", Schedule: router.Schedule{Always: true}}},
		Agents:   agents,
	})
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	hub := server.NewHub(eng, server.WithLogger(log))
	svc, err := console.New(hub, st, console.Options{Logger: log, MsgRate: 1000, MsgBurst: 1000})
	if err != nil {
		return err
	}
	defer svc.Close()
	hub.AddSink(svc.Sink())
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { _ = hub.Run(runCtx) }()
	srv := httptest.NewServer(svc)
	defer srv.Close()

	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	goBefore := runtime.NumGoroutine()

	cmd := exec.Command(os.Args[0], "-child", srv.URL, "-consoles", fmt.Sprint(nAgents), "-supervisors", fmt.Sprint(nSupers))
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Kill() }()
	rd := bufio.NewReader(stdout)
	line, err := rd.ReadString('\n') // "ready N"
	if err != nil || !strings.HasPrefix(line, "ready") {
		return fmt.Errorf("child: %q %v", line, err)
	}
	fmt.Printf("connected %d consoles + %d supervisors in %v\n", nAgents, nSupers, time.Since(start).Round(time.Millisecond))

	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	n := nAgents + nSupers
	heap := int64(after.HeapInuse) - int64(before.HeapInuse)
	stack := int64(after.StackInuse) - int64(before.StackInuse)
	fmt.Printf("server memory: heap %+d KB, stacks %+d KB, goroutines %+d -> %.1f KB per console\n",
		heap/1024, stack/1024, runtime.NumGoroutine()-goBefore, float64(heap+stack)/1024/float64(n))

	// Broadcast: a QueueStats batch, as the hub delivers after a Tick. Offered
	// numbers the event so the clients can report per-event arrival.
	sent := make(map[int]time.Time, nEvents)
	sink := svc.Sink()
	tick := time.NewTicker(every)
	for k := 1; k <= nEvents; k++ {
		<-tick.C
		snap := router.QueueSnapshot{Queue: "labor", Waiting: k % 7, Offered: k, Answered: k, SLToday: 0.9, SL15m: 0.85,
			AgentsByState: map[router.AgentState]int{router.Ready: 10, router.Busy: 5}}
		sent[k] = time.Now()
		sink.Deliver([]router.Command{router.QueueStats{Stats: snap}})
	}
	tick.Stop()
	fmt.Fprintf(stdin, "done %d\n", nEvents)
	var res map[int][]int64 // event -> arrival unix nanos
	if err := json.NewDecoder(rd).Decode(&res); err != nil {
		return fmt.Errorf("child results: %w", err)
	}
	_ = cmd.Wait()
	var lat []time.Duration
	missing := 0
	var worstPerEvent []time.Duration
	for k := 1; k <= nEvents; k++ {
		arr := res[k]
		missing += n - len(arr)
		var worst time.Duration
		for _, ns := range arr {
			d := time.Unix(0, ns).Sub(sent[k])
			lat = append(lat, d)
			if d > worst {
				worst = d
			}
		}
		worstPerEvent = append(worstPerEvent, worst)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	sort.Slice(worstPerEvent, func(i, j int) bool { return worstPerEvent[i] < worstPerEvent[j] })
	pct := func(l []time.Duration, p float64) time.Duration {
		if len(l) == 0 {
			return 0
		}
		return l[min(len(l)-1, int(float64(len(l))*p))]
	}
	fmt.Printf("deliveries %d (missing %d): p50 %v p99 %v max %v; last console per event p50 %v p99 %v\n",
		len(lat), missing, pct(lat, 0.5), pct(lat, 0.99), pct(lat, 1), pct(worstPerEvent, 0.5), pct(worstPerEvent, 0.99))
	return nil
}

func runClients(url string, nAgents, nSupers int) {
	var mu sync.Mutex
	res := map[int][]int64{}
	var conns []*websocket.Conn
	login := func(user string) (*websocket.Conn, error) {
		jar, _ := cookiejar.New(nil)
		hc := &http.Client{Jar: jar, Timeout: 60 * time.Second}
		resp, err := hc.Post(url+"/api/login", "application/json", strings.NewReader(`{"username":"`+user+`","password":"loadtest"}`))
		if err != nil {
			return nil, err
		}
		var s struct{ CSRF string }
		_ = json.NewDecoder(resp.Body).Decode(&s)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return nil, fmt.Errorf("login %s: %d", user, resp.StatusCode)
		}
		d := websocket.Dialer{Jar: jar, HandshakeTimeout: 30 * time.Second, ReadBufferSize: 1024, WriteBufferSize: 256}
		ws, _, err := d.Dial("ws"+strings.TrimPrefix(url, "http")+"/ws/console?csrf="+s.CSRF, nil)
		return ws, err
	}
	users := make([]string, 0, nAgents+nSupers)
	for i := 0; i < nAgents; i++ {
		users = append(users, fmt.Sprintf("a%04d", i))
	}
	for i := 0; i < nSupers; i++ {
		users = append(users, fmt.Sprintf("s%02d", i))
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	var cmu sync.Mutex
	for _, u := range users {
		wg.Add(1)
		sem <- struct{}{}
		go func(u string) {
			defer wg.Done()
			defer func() { <-sem }()
			ws, err := login(u)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			cmu.Lock()
			conns = append(conns, ws)
			cmu.Unlock()
			go func() {
				for {
					_, b, err := ws.ReadMessage()
					if err != nil {
						return
					}
					now := time.Now().UnixNano()
					if !strings.Contains(string(b[:min(len(b), 60)]), `"queue_stats"`) {
						continue
					}
					// Cheap parse: the client must not be the bottleneck.
					i := bytes.Index(b, []byte(`"offered":`))
					if i < 0 {
						continue
					}
					k := 0
					for _, c := range b[i+len(`"offered":`):] {
						if c < '0' || c > '9' {
							break
						}
						k = k*10 + int(c-'0')
					}
					mu.Lock()
					res[k] = append(res[k], now)
					mu.Unlock()
				}
			}()
		}(u)
	}
	wg.Wait()
	fmt.Printf("ready %d\n", len(conns))
	sc := bufio.NewScanner(os.Stdin)
	sc.Scan() // "done N"
	deadline := time.Now().Add(5 * time.Second)
	var k int
	if _, err := fmt.Sscanf(sc.Text(), "done %d", &k); err != nil {
		fmt.Fprintln(os.Stderr, "consoleload child:", err)
	}
	for time.Now().Before(deadline) { // let the last event land (bounded)
		mu.Lock()
		got := len(res[k])
		mu.Unlock()
		if got >= len(conns) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		fmt.Fprintln(os.Stderr, "consoleload child:", err)
	}
	mu.Unlock()
}
