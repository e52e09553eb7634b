package servetest

import (
	"fmt"
	"sync"
	"time"
)

// Event is a console event with the time it arrived.
type Event struct {
	At   time.Time
	Kind string
	Data map[string]any
	Seq  uint64
}

// Contact is the event's contact id (data.id, or data.contact).
func (e Event) Contact() uint64 {
	if v, ok := e.Data["id"].(float64); ok && e.Kind != "agent_state" {
		return uint64(v)
	}
	v, _ := e.Data["contact"].(float64)
	return uint64(v)
}

type watch struct {
	mu      sync.Mutex
	events  []Event
	replies map[int]chan map[string]any
	err     error
	done    chan struct{}
	auto    func(*Console, Event)
}

// Watch reads the console's messages on a goroutine from now on: events
// are kept (Events), replies go to Call. auto, if not nil, runs on that
// goroutine for each event (it may Send, not Call). After Watch, use Call
// instead of Do/Try.
func (k *Console) Watch(auto func(*Console, Event)) {
	k.w = &watch{replies: map[int]chan map[string]any{}, done: make(chan struct{}), auto: auto}
	go func() {
		defer close(k.w.done)
		for {
			_ = k.WS.SetReadDeadline(time.Time{})
			var m map[string]any
			if err := k.WS.ReadJSON(&m); err != nil {
				k.w.mu.Lock()
				k.w.err = err
				for _, ch := range k.w.replies {
					close(ch)
				}
				k.w.replies = map[int]chan map[string]any{}
				k.w.mu.Unlock()
				return
			}
			if m["t"] == "event" {
				kind, _ := m["kind"].(string)
				data, _ := m["data"].(map[string]any)
				seq, _ := m["seq"].(float64)
				e := Event{At: time.Now(), Kind: kind, Data: data, Seq: uint64(seq)}
				k.w.mu.Lock()
				k.w.events = append(k.w.events, e)
				k.w.mu.Unlock()
				if k.w.auto != nil {
					k.w.auto(k, e)
				}
				continue
			}
			if id, ok := m["id"].(float64); ok {
				k.w.mu.Lock()
				ch := k.w.replies[int(id)]
				delete(k.w.replies, int(id))
				k.w.mu.Unlock()
				if ch != nil {
					ch <- m
				}
			}
		}
	}()
}

// Call sends a command and waits up to d for its reply (Watch mode).
func (k *Console) Call(cmd string, args map[string]any, d time.Duration) (map[string]any, error) {
	ch := make(chan map[string]any, 1)
	k.sendMu.Lock()
	k.id++
	id := k.id
	k.w.mu.Lock()
	k.w.replies[id] = ch
	k.w.mu.Unlock()
	err := k.WS.WriteJSON(map[string]any{"id": id, "cmd": cmd, "args": args})
	k.sendMu.Unlock()
	if err != nil {
		return nil, err
	}
	select {
	case m, ok := <-ch:
		if !ok {
			return nil, fmt.Errorf("console %s closed: %v", k.User, k.Err())
		}
		if m["t"] != "reply" {
			return m, fmt.Errorf("%s: %v", cmd, m)
		}
		return m, nil
	case <-time.After(d):
		return nil, fmt.Errorf("console %s: no reply to %s within %s", k.User, cmd, d)
	}
}

// Events returns the events of kind ("" = all) received so far.
func (k *Console) Events(kind string) []Event {
	k.w.mu.Lock()
	defer k.w.mu.Unlock()
	var out []Event
	for _, e := range k.w.events {
		if kind == "" || e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// Err is why the watched connection ended (nil while it is open).
func (k *Console) Err() error {
	k.w.mu.Lock()
	defer k.w.mu.Unlock()
	return k.w.err
}

// Closed reports whether the watched connection ended.
func (k *Console) Closed() bool {
	select {
	case <-k.w.done:
		return true
	default:
		return false
	}
}
