package chat

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"onecall/router"
)

// Service is the citizen chat. Create it with New; it is safe for concurrent use.
type Service struct {
	hub    Hub
	be     backend
	opts   Options
	log    *slog.Logger
	now    func() time.Time
	isBusy func(error) bool

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	cmdq   []chan []router.Command // shards by contact id: per-contact order, contacts in parallel
	closed atomic.Bool
	drops  atomic.Uint64
	live   atomic.Int64 // chats not ended (Options.MaxChats)

	mu      sync.Mutex
	convs   map[router.ContactID]*conv
	byHash  map[string]router.ContactID
	ipLim   map[string]*rate.Limiter
	clients map[*client]struct{}
	aliasN  map[router.AgentID]int

	upgrader websocket.Upgrader
	mux      *http.ServeMux
	csp      string
	hotJSON  []byte
}

// NewWithHub is New for any Hub implementation. isBusy reports whether an
// error of h means "overloaded" (answered with the "busy" error frame).
func NewWithHub(h Hub, st Store, opts Options, isBusy func(error) bool) (*Service, error) {
	if h == nil || st == nil || isBusy == nil {
		return nil, errors.New("chat: nil hub, store or isBusy")
	}
	return newService(h, storeBackend{st}, opts, isBusy)
}

func newService(h Hub, be backend, opts Options, isBusy func(error) bool) (*Service, error) {
	opts.defaults()
	if len(opts.Hotlines) == 0 {
		return nil, errors.New("chat: Options.Hotlines is empty")
	}
	s := &Service{
		hub:     h,
		be:      be,
		opts:    opts,
		log:     opts.Logger.With("component", "chat"),
		now:     opts.Now,
		isBusy:  isBusy,
		cmdq:    make([]chan []router.Command, cmdShards),
		convs:   make(map[router.ContactID]*conv),
		byHash:  make(map[string]router.ContactID),
		ipLim:   make(map[string]*rate.Limiter),
		clients: make(map[*client]struct{}),
		aliasN:  make(map[router.AgentID]int),
	}
	if s.now == nil {
		s.now = h.Now
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.initHTTP()
	for i := range s.cmdq {
		s.cmdq[i] = make(chan []router.Command, 4096)
		s.wg.Add(1)
		go s.loop(s.cmdq[i])
	}
	return s, nil
}

// Close stops the service: live connections get close code 1001 and may
// resume against the next instance. Chats stay in the store.
func (s *Service) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.cancel()
	s.mu.Lock()
	cl := make([]*client, 0, len(s.clients))
	for c := range s.clients {
		cl = append(cl, c)
	}
	convs := make([]*conv, 0, len(s.convs))
	for _, cv := range s.convs {
		convs = append(convs, cv)
	}
	s.mu.Unlock()
	for _, cv := range convs {
		cv.mu.Lock()
		cv.stopTimers()
		cv.mu.Unlock()
	}
	for _, c := range cl {
		c.close(CloseShutdown, "server restart")
	}
	s.wg.Wait()
	return nil
}

// Deliver implements server.Sink: it filters the chat commands into a
// bounded queue and never blocks.
func (s *Service) Deliver(cmds []router.Command) { s.deliver(cmds) }

// deliver filters chat commands into the bounded queue.
func (s *Service) deliver(cmds []router.Command) {
	var mine [cmdShards][]router.Command
	add := func(id router.ContactID, c router.Command) {
		mine[id%cmdShards] = append(mine[id%cmdShards], c)
	}
	for _, c := range cmds {
		switch c := c.(type) {
		case router.Announce:
			if c.Channel == router.Chat {
				add(c.Contact, c)
			}
		case router.Connected:
			if c.Channel == router.Chat {
				add(c.Contact, c)
			}
		case router.ContactClosed:
			if c.Channel == router.Chat {
				add(c.Contact, c)
			}
		case router.CallbackOffered:
			if s.known(c.Contact) {
				add(c.Contact, c)
			}
		case router.ContactStateChanged:
			if c.State == router.Waiting && s.known(c.Contact) {
				add(c.Contact, c)
			}
		}
	}
	for i, m := range mine {
		if len(m) == 0 {
			continue
		}
		select {
		case s.cmdq[i] <- m:
		default:
			s.drops.Add(1)
			s.log.Error("chat command queue full; commands dropped", "n", len(m))
		}
	}
}

// cmdShards is the number of goroutines applying routing commands.
const cmdShards = 8

func (s *Service) known(id router.ContactID) bool {
	s.mu.Lock()
	_, ok := s.convs[id]
	s.mu.Unlock()
	return ok
}

func (s *Service) conv(id router.ContactID) *conv {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.convs[id]
}

func (s *Service) loop(q chan []router.Command) {
	defer s.wg.Done()
	for {
		select {
		case <-s.ctx.Done():
			return
		case cmds := <-q:
			for _, c := range cmds {
				s.apply(c)
			}
		}
	}
}

func (s *Service) apply(c router.Command) {
	switch c := c.(type) {
	case router.Announce:
		if cv := s.conv(c.Contact); cv != nil {
			cv.mu.Lock()
			cv.position, cv.eta, cv.ann = c.Position, c.EstimatedWait, c
			if !cv.ended && cv.rec.State == "waiting" {
				cv.send(cv.queueFrame(), 0)
			}
			cv.mu.Unlock()
		}
	case router.CallbackOffered:
		if cv := s.conv(c.Contact); cv != nil {
			cv.mu.Lock()
			if !cv.ended && cv.rec.State == "waiting" && s.callbacksOn(cv.rec.Number) {
				cv.callbackOffered = true
				cv.send(encode(out{Type: "callback_offer", Reason: c.Reason}), 0)
			}
			cv.mu.Unlock()
		}
	case router.Connected:
		if cv := s.conv(c.Contact); cv != nil {
			s.connected(cv, c.Agent)
		}
	case router.ContactStateChanged:
		if cv := s.conv(c.Contact); cv != nil {
			cv.mu.Lock()
			if !cv.ended && cv.rec.State == "talking" {
				cv.rec.State = "waiting"
				cv.rec.Agent = ""
				cv.stopIdle()
				_ = s.be.saveContact(s.ctx, cv.rec, false)
				cv.system(s.ctx, sysText(cv.rec.Language, "requeued"))
				cv.send(encode(out{Type: "state", State: "waiting"}), 0)
			}
			cv.mu.Unlock()
		}
	case router.ContactClosed:
		if cv := s.conv(c.Contact); cv != nil {
			cv.mu.Lock()
			cv.finish(endReasonName(c.Reason))
			cv.mu.Unlock()
		}
	}
}

func (s *Service) connected(cv *conv, agent router.AgentID) {
	alias := s.alias(agent, cv.rec.Language)
	cv.mu.Lock()
	defer cv.mu.Unlock()
	if cv.ended {
		return
	}
	prev := cv.rec.Agent
	cv.rec.State = "talking"
	cv.rec.Agent = agent
	cv.alias = alias
	cv.everTalked = true
	_ = s.be.saveContact(s.ctx, cv.rec, false)
	key := "joined"
	if prev != "" && prev != agent || cv.hadAgent {
		key = "transferred"
	}
	cv.hadAgent = true
	cv.send(encode(out{Type: "agent_joined", Alias: alias, State: "talking"}), 0)
	cv.system(s.ctx, sysText(cv.rec.Language, key, alias))
	cv.resetIdle()
}

func (s *Service) alias(a router.AgentID, lang string) string {
	if s.opts.AgentAlias != nil {
		if v := s.opts.AgentAlias(a); v != "" {
			return v
		}
	}
	ctx, cancel := context.WithTimeout(s.ctx, 2*time.Second)
	defer cancel()
	if v := s.be.alias(ctx, a); v != "" {
		return v
	}
	s.mu.Lock()
	n, ok := s.aliasN[a]
	if !ok {
		n = len(s.aliasN) + 1
		s.aliasN[a] = n
	}
	s.mu.Unlock()
	return defaultAlias(lang, n)
}

func endReasonName(r router.EndReason) string {
	switch r {
	case router.EndCompleted:
		return "completed"
	case router.EndAbandoned:
		return "abandoned"
	case router.EndRefusedQueueFull:
		return "queue_full"
	case router.EndRefusedClosed:
		return "closed"
	case router.EndCallback:
		return "callback"
	case router.EndMaxWait:
		return "max_wait"
	case router.EndAgentLost:
		return "agent_lost"
	case router.EndStuck:
		return "stuck"
	case router.EndSystemRestart:
		return "system_restart"
	case router.EndTransferredOut:
		return "transferred_out"
	case router.EndNoQueue:
		return "no_queue"
	default:
		return "unknown"
	}
}

// offlineReason: the chat ended without an agent because nobody could take
// it; the page offers leave-a-message and callback.
func offlineReason(r string) bool {
	switch r {
	case "closed", "queue_full", "max_wait", "no_queue", "refused":
		return true
	}
	return false
}

// newToken returns a fresh resume token and its hash.
func newToken() (token, hash string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("chat: token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, hashToken(token), nil
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func validToken(token string) bool {
	if len(token) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(token)
	return err == nil
}
