package console

import (
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"onecall/router"
)

// BenchmarkDeliverFanout measures one queue_stats + agent_state batch for
// 1,000 agent consoles + 20 supervisors: "hub" is the time Deliver takes on
// the hub goroutine; "all" also waits until the dispatcher has queued the
// batch on every console.
//
//	go test -run '^$' -bench DeliverFanout -benchmem ./console/
func BenchmarkDeliverFanout(b *testing.B) {
	b.Run("hub", func(b *testing.B) { benchFanout(b, false) })
	b.Run("all", func(b *testing.B) { benchFanout(b, true) })
}

func benchFanout(b *testing.B, all bool) {
	h := &scriptHub{ch: make(chan router.Event, 16)}
	s, err := newService(h, benchStore(b), Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	for i := 0; i < 1020; i++ {
		role := RoleAgent
		if i >= 1000 {
			role = RoleSupervisor
		}
		c := &conn{s: s, sess: &session{User: fmt.Sprintf("u%04d", i), Role: role}, send: make(chan []byte, 256), done: make(chan struct{})}
		s.conns[c.sess.User] = c
		if role != RoleAgent {
			s.supers[c] = struct{}{}
		}
		go func() {
			for {
				select {
				case <-c.send:
				case <-stop:
					return
				}
			}
		}()
	}
	batch := []router.Command{router.QueueStats{Stats: router.QueueSnapshot{Queue: "labor", Waiting: 3, Offered: 10,
		Answered: 7, LongestWait: 40 * time.Second, AgentsByState: map[router.AgentState]int{router.Ready: 4, router.Busy: 9}}},
		router.AgentStateChanged{Agent: "u0001", State: router.Busy, At: time.Now(), Active: 1}}
	b.ReportAllocs()
	b.ResetTimer()
	drain := func() { // until the dispatcher and every console queue are empty
		for len(s.out) > 0 {
			runtime.Gosched()
		}
		for _, c := range s.conns {
			for len(c.send) > 0 {
				runtime.Gosched()
			}
		}
	}
	for i := 0; i < b.N; i++ {
		s.Deliver(batch)
		if all {
			drain()
		} else if i%128 == 127 { // stay under the 256-message console queues
			b.StopTimer()
			drain()
			b.StartTimer()
		}
	}
	b.StopTimer()
	killed := 0
	for _, c := range s.conns {
		select {
		case <-c.done:
			killed++
		default:
		}
	}
	if killed > 0 {
		b.Fatalf("%d consoles cut off during the benchmark", killed)
	}
}

func benchStore(b *testing.B) Store {
	st, err := storeOpen(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}
