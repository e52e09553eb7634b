package sip

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/nats-io/nats.go/jetstream"

	"onecall/cluster"
)

// Shared bindings (issue 14, docs/cluster.md "Voice across nodes"): in a
// cluster every node's registrar writes its bindings, Path included, to
// the JetStream KV bucket RegistrarBucket, and every node watches the
// bucket, so an agent whose phone registered through node n1 (directly or
// through Kamailio) can be rung by n2: n2 sends the INVITE to the binding's
// contact with its Path as the Route set, so it goes back through the
// proxy the phone registered by. The registrar that took the REGISTER
// still owns the binding: only it refreshes, pings and expires it, and it
// restores its own bindings from the bucket at start (Path included).

// RegistrarBucket is the KV bucket of the shared bindings.
const RegistrarBucket = "onecall_registrar"

// Bounds of what one shared binding may hold; a binding beyond them is
// kept local (never shared) and logged.
const (
	sharedMaxUser    = 256
	sharedMaxContact = 1024
	sharedMaxValue   = 8192
)

// SharedBindingsOptions configure OpenSharedBindings.
type SharedBindingsOptions struct {
	// Node is this node's id ("n1"); it is part of every key the node
	// writes, so two nodes never overwrite each other's bindings.
	Node string
	// Replicas of the bucket (1, 3 or 5; default 1).
	Replicas int
	// TTL is how long the bucket keeps a binding nobody refreshed (a
	// binding of a node that died): the registrar's longest expiry plus a
	// margin (default 1 h + 1 min). Lookups ignore expired bindings anyway.
	TTL time.Duration
	// Sweep is how often expired bindings are dropped from the node's view
	// and OnChange told (default 5 s).
	Sweep time.Duration
	// OnChange is called when a user gets its first live binding on any
	// node (true) or loses its last one (false), on every node, from one
	// goroutine, in order. It must not block.
	OnChange func(user string, registered bool)
	Logger   *slog.Logger
	Clock    func() time.Time
	// Queue bounds the writes waiting for the bucket (default 4096); when
	// it is full a write is dropped and logged (the phone's next REGISTER
	// writes the binding again).
	Queue int
}

// SharedBindings is a BindingStore on the cluster's KV bucket and the
// node's view of every node's bindings. Writes are queued (a REGISTER
// never waits for NATS).
type SharedBindings struct {
	opts SharedBindingsOptions
	kv   jetstream.KeyValue
	log  *slog.Logger

	mu     sync.RWMutex
	byKey  map[string]sharedBinding
	byUser map[string]map[string]struct{} // user → keys
	live   map[string]bool                // users with a live binding, as last told to OnChange

	writes   chan sharedWrite
	setFn    chan func(string, bool)
	onChange func(string, bool) // the watch goroutine's
	ready    chan struct{}      // closed once the initial values are in
	stopped  chan struct{}      // closed when the watch loop returns
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// sharedBinding is the bucket's value: the binding and the node that owns it.
type sharedBinding struct {
	Node       string    `json:"node"`
	User       string    `json:"user"`
	Contact    string    `json:"contact"`
	Source     string    `json:"source,omitempty"`
	Transport  string    `json:"transport,omitempty"`
	CallID     string    `json:"call_id,omitempty"`
	CSeq       uint32    `json:"cseq,omitempty"`
	UserAgent  string    `json:"user_agent,omitempty"`
	Registered time.Time `json:"registered"`
	Expires    time.Time `json:"expires"`
	Path       []string  `json:"path,omitempty"`
}

func (b sharedBinding) binding() Binding {
	return Binding{User: b.User, Contact: b.Contact, Source: b.Source, Transport: b.Transport,
		CallID: b.CallID, CSeq: b.CSeq, UserAgent: b.UserAgent, Registered: b.Registered,
		Expires: b.Expires, Path: b.Path}
}

type sharedWrite struct {
	key string
	val []byte // nil: delete
}

// OpenSharedBindings creates (or updates) the bucket, loads every node's
// bindings and keeps watching; Close stops it.
func OpenSharedBindings(ctx context.Context, js jetstream.JetStream, opts SharedBindingsOptions) (*SharedBindings, error) {
	if opts.Node == "" {
		return nil, errors.New("sip: shared bindings: no node id")
	}
	if opts.Replicas == 0 {
		opts.Replicas = 1
	}
	if opts.TTL <= 0 {
		opts.TTL = time.Hour + time.Minute
	}
	if opts.Sweep <= 0 {
		opts.Sweep = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Queue <= 0 {
		opts.Queue = 4096
	}
	kv, err := cluster.EnsureKeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket:   RegistrarBucket,
		History:  1,
		TTL:      opts.TTL,
		Storage:  jetstream.FileStorage,
		Replicas: opts.Replicas,
	})
	if err != nil {
		return nil, err
	}
	s := &SharedBindings{
		opts:     opts,
		kv:       kv,
		log:      opts.Logger.With("component", "registrar", "shared", RegistrarBucket),
		byKey:    map[string]sharedBinding{},
		byUser:   map[string]map[string]struct{}{},
		live:     map[string]bool{},
		writes:   make(chan sharedWrite, opts.Queue),
		setFn:    make(chan func(string, bool)),
		onChange: opts.OnChange,
		ready:    make(chan struct{}),
		stopped:  make(chan struct{}),
	}
	bg, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	// Its own consumer, created again at once when lost with its server
	// (nats.go's watch took 10-20 s after a kill -9).
	w := cluster.WatchKV(bg, js, RegistrarBucket, s.log)
	s.wg.Add(2)
	go func() { defer s.wg.Done(); s.watch(bg, w) }()
	go func() { defer s.wg.Done(); s.write(bg) }()
	select {
	case <-s.ready:
		return s, nil
	case <-ctx.Done():
		s.Close()
		return nil, ctx.Err()
	}
}

// Close stops watching and writing; queued writes not yet done are lost
// (the bindings' owners write them again at their next REGISTER).
func (s *SharedBindings) Close() {
	s.cancel()
	s.wg.Wait()
}

// sharedKey is the bucket key of one node's binding of user at contact:
// "<node>.<hash>", bounded whatever the user and contact are.
func sharedKey(node, user, contact string) string {
	h := sha256.Sum256([]byte(user + "\x00" + contact))
	return node + "." + hex.EncodeToString(h[:16])
}

// SaveBinding implements BindingStore: the binding goes to the bucket.
func (s *SharedBindings) SaveBinding(_ context.Context, b Binding) error {
	if len(b.User) > sharedMaxUser || len(b.Contact) > sharedMaxContact {
		s.log.Warn("binding too large to share", "user", regSanitize(b.User, 64))
		return nil
	}
	v, err := json.Marshal(sharedBinding{Node: s.opts.Node, User: b.User, Contact: b.Contact, Source: b.Source,
		Transport: b.Transport, CallID: b.CallID, CSeq: b.CSeq, UserAgent: b.UserAgent,
		Registered: b.Registered, Expires: b.Expires, Path: b.Path})
	if err != nil {
		return err
	}
	if len(v) > sharedMaxValue {
		s.log.Warn("binding too large to share", "user", regSanitize(b.User, 64), "bytes", len(v))
		return nil
	}
	s.enqueue(sharedWrite{key: sharedKey(s.opts.Node, b.User, b.Contact), val: v})
	return nil
}

// DeleteBinding implements BindingStore.
func (s *SharedBindings) DeleteBinding(_ context.Context, user, contact string) error {
	s.enqueue(sharedWrite{key: sharedKey(s.opts.Node, user, contact)})
	return nil
}

// LoadBindings implements BindingStore: this node's own bindings, Path
// included.
func (s *SharedBindings) LoadBindings(context.Context) ([]Binding, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Binding
	for _, b := range s.byKey {
		if b.Node == s.opts.Node {
			out = append(out, b.binding())
		}
	}
	return out, nil
}

func (s *SharedBindings) enqueue(w sharedWrite) {
	select {
	case s.writes <- w:
	default:
		s.log.Warn("shared binding write dropped: queue full", "key", w.key)
	}
}

func (s *SharedBindings) write(ctx context.Context) {
	for {
		var w sharedWrite
		select {
		case <-ctx.Done():
			return
		case w = <-s.writes:
		}
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		var err error
		if w.val == nil {
			err = s.kv.Delete(wctx, w.key)
		} else {
			_, err = s.kv.Put(wctx, w.key, w.val)
		}
		cancel()
		if err != nil && ctx.Err() == nil {
			s.log.Warn("shared binding write failed", "key", w.key, "delete", w.val == nil, "err", err)
		}
	}
}

// watch applies the bucket's values and changes to the view, and sweeps
// expired bindings out of it, in one goroutine (OnChange in order).
func (s *SharedBindings) watch(ctx context.Context, w jetstream.KeyWatcher) {
	defer close(s.stopped)
	defer func() { _ = w.Stop() }()
	t := time.NewTicker(s.opts.Sweep)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.sweep()
		case fn := <-s.setFn:
			s.onChange = fn
			s.live = map[string]bool{}
			if s.isReady() {
				s.notify(s.users())
			}
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			if e == nil { // the initial values are in
				s.notify(s.users())
				select {
				case <-s.ready:
				default:
					close(s.ready)
				}
				continue
			}
			s.apply(e)
		}
	}
}

func (s *SharedBindings) apply(e jetstream.KeyValueEntry) {
	key := e.Key()
	var users []string
	s.mu.Lock()
	if old, ok := s.byKey[key]; ok {
		users = append(users, old.User)
		s.dropLocked(key, old.User)
	}
	if e.Operation() == jetstream.KeyValuePut {
		var b sharedBinding
		err := json.Unmarshal(e.Value(), &b)
		if err == nil && b.User != "" && b.Contact != "" && b.Node != "" && strings.HasPrefix(key, b.Node+".") {
			s.byKey[key] = b
			if s.byUser[b.User] == nil {
				s.byUser[b.User] = map[string]struct{}{}
			}
			s.byUser[b.User][key] = struct{}{}
			users = append(users, b.User)
		} else {
			s.log.Warn("bad shared binding ignored", "key", key, "err", err)
		}
	}
	s.mu.Unlock()
	if s.isReady() {
		s.notify(users)
	}
}

func (s *SharedBindings) isReady() bool {
	select {
	case <-s.ready:
		return true
	default:
		return false
	}
}

func (s *SharedBindings) dropLocked(key, user string) {
	delete(s.byKey, key)
	if ks := s.byUser[user]; ks != nil {
		delete(ks, key)
		if len(ks) == 0 {
			delete(s.byUser, user)
		}
	}
}

// sweep drops expired bindings from the view.
func (s *SharedBindings) sweep() {
	now := s.opts.Clock()
	var users []string
	s.mu.Lock()
	for k, b := range s.byKey {
		if !now.Before(b.Expires) {
			s.dropLocked(k, b.User)
			users = append(users, b.User)
		}
	}
	s.mu.Unlock()
	s.notify(users)
}

func (s *SharedBindings) users() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.byUser)+len(s.live))
	for u := range s.byUser {
		out = append(out, u)
	}
	for u := range s.live {
		if s.byUser[u] == nil {
			out = append(out, u)
		}
	}
	return out
}

// notify tells OnChange about the users whose cluster-wide state changed.
// Only the watch goroutine calls it.
func (s *SharedBindings) notify(users []string) {
	now := s.opts.Clock()
	for _, u := range users {
		_, live := s.lookup(u, now, "")
		if live == s.live[u] {
			continue
		}
		if live {
			s.live[u] = true
		} else {
			delete(s.live, u)
		}
		if s.onChange != nil {
			s.onChange(u, live)
		}
	}
}

// OnChange replaces SharedBindingsOptions.OnChange; fn is first told
// about every user registered now, then about the changes, in order.
func (s *SharedBindings) OnChange(fn func(user string, registered bool)) {
	select {
	case s.setFn <- fn:
	case <-s.stopped:
	}
}

// Registered reports whether user has a live binding on any node.
func (s *SharedBindings) Registered(user string) bool {
	_, ok := s.lookup(user, s.opts.Clock(), "")
	return ok
}

// Lookup returns user's most recently refreshed live binding on any node
// other than this one.
func (s *SharedBindings) Lookup(user string) (Binding, bool) {
	return s.lookup(user, s.opts.Clock(), s.opts.Node)
}

// lookup is the newest live binding of user, skipping node skip's.
func (s *SharedBindings) lookup(user string, now time.Time, skip string) (Binding, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var best *sharedBinding
	for k := range s.byUser[user] {
		b := s.byKey[k]
		if b.Node == skip || !now.Before(b.Expires) {
			continue
		}
		if best == nil || b.Registered.After(best.Registered) {
			best = &b
		}
	}
	if best == nil {
		return Binding{}, false
	}
	return best.binding(), true
}

// Locator returns the Locator of a node in a cluster: the phone's newest
// binding, registered on this node (local) or on another (shared), with
// the route set that reaches it (its Path).
func (s *SharedBindings) Locator(local *Registrar) ClusterLocator { return ClusterLocator{local, s} }

// ClusterLocator is a RouteLocator over the local registrar and the
// shared bindings (SharedBindings.Locator).
type ClusterLocator struct {
	local  *Registrar
	shared *SharedBindings
}

// Lookup implements Locator.
func (l ClusterLocator) Lookup(user string) (string, bool) {
	c, _, ok := l.LookupRoute(user)
	return c, ok
}

// LookupRoute implements RouteLocator.
func (l ClusterLocator) LookupRoute(user string) (string, []string, bool) {
	lb, lok := l.local.LookupBinding(user)
	sb, sok := l.shared.Lookup(user)
	if sok && (!lok || sb.Registered.After(lb.Registered)) {
		lb, lok = sb, true
	}
	if !lok {
		return "", nil, false
	}
	return lb.Contact, l.local.routeOf(lb), true
}

// BoundFrom is Registrar.BoundFrom over this node's bindings and the
// other nodes' (a phone registered through the proxy with another node
// calls in through the proxy to the node that has its call).
func (l ClusterLocator) BoundFrom(user string, source netip.AddrPort, proxied bool) bool {
	if l.local.BoundFrom(user, source, proxied) {
		return true
	}
	now := l.shared.opts.Clock()
	l.shared.mu.RLock()
	defer l.shared.mu.RUnlock()
	for k := range l.shared.byUser[user] {
		b := l.shared.byKey[k]
		if b.Node == l.shared.opts.Node || !now.Before(b.Expires) {
			continue
		}
		if boundFrom(b.binding(), source, proxied, l.local.opts.Proxies) {
			return true
		}
	}
	return false
}

// AuthorizePhone is the local registrar's (the stored hashes are the
// cluster's; the nonce is this node's: the challenge and its answer reach
// the same node, the one with the phone's call).
func (l ClusterLocator) AuthorizePhone(req *sip.Request, user string) (int, string, []sip.Header) {
	return l.local.AuthorizePhone(req, user)
}

var _ bindingSources = ClusterLocator{}
