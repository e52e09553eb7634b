package sip

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Credentials gives the registrar the stored digest hashes of a SIP user
// (users.sip_ha1_md5 / users.sip_ha1_sha256, HA1 = H(user:realm:password)).
// ok is false for an unknown or disabled user; err is for a failing store.
type Credentials interface {
	SIPCredentials(ctx context.Context, user string) (ha1MD5, ha1SHA256 string, ok bool, err error)
}

// BindingStore persists bindings so that they survive a restart.
type BindingStore interface {
	SaveBinding(ctx context.Context, b Binding) error
	DeleteBinding(ctx context.Context, user, contact string) error
	LoadBindings(ctx context.Context) ([]Binding, error)
}

// Binding is one registered contact of a user (address-of-record).
type Binding struct {
	User       string    // AOR user part (agent01)
	Contact    string    // contact URI as registered: sip:agent01@127.0.0.1:5062;transport=udp
	Source     string    // ip:port the REGISTER came from
	Transport  string    // udp, tcp, ...
	CallID     string    // of the REGISTER
	CSeq       uint32    // of the REGISTER
	UserAgent  string    // User-Agent header (sanitised, truncated)
	Registered time.Time // last refresh
	Expires    time.Time // absolute expiry
	// Path is the REGISTER's Path (RFC 3327), topmost first, when it came
	// through a proxy in RegistrarOptions.Proxies (path.go); kept in memory
	// only.
	Path []string
}

// RegistrarOptions configures a Registrar. Zero values get the defaults noted.
type RegistrarOptions struct {
	Realm       string       // default "onecall"
	Credentials Credentials  // nil: every user is unknown
	Store       BindingStore // nil = bindings in memory only
	Logger      *slog.Logger
	Clock       func() time.Time // default time.Now
	// Secret keys the nonce HMAC; nil = random per process (outstanding
	// challenges do not survive a restart; clients just retry).
	Secret   []byte
	NonceTTL time.Duration // life of a challenge nonce (default 60 s)

	// Algorithms offered, in order, one WWW-Authenticate each (default
	// SHA-256 then MD5, RFC 8760). Unknown names are ignored.
	Algorithms []string
	// LegacyUserAgents are User-Agent substrings (case-insensitive) of
	// clients that fail on any SHA-256 challenge instead of picking the MD5
	// one (baresip 1.0 / libre fails the REGISTER with ENOSYS, even
	// with MD5 first): they get the MD5 challenge alone. nil = {"baresip"};
	// empty non-nil = none.
	LegacyUserAgents []string

	MinExpires time.Duration // shorter requests are lengthened to it (default 60 s)
	MaxExpires time.Duration // longer requests are shortened to it (default 3600 s)
	// RejectBrief answers 423 Interval Too Brief + Min-Expires (RFC 3261
	// 10.3 step 7) instead of lengthening a too short expiry.
	RejectBrief    bool
	DefaultExpires time.Duration // when the REGISTER gives none (default 3600 s)
	MaxBindings    int           // per user; the oldest is dropped (default 4)
	// ContactNets, if set, restricts contact hosts to IP literals inside
	// these networks (403 otherwise): no binding can point offers or
	// keep-alives at an outside host or a DNS name.
	ContactNets []netip.Prefix
	// SourceNets, if set, restricts where REGISTERs may come from: any
	// other source gets 403 before authentication (agent_networks.go).
	SourceNets []netip.Prefix
	// Proxies are the SIP proxies in front (sip.proxies): only their
	// REGISTERs may carry Path, and for those the phone's address comes
	// from the Path's received parameter (path.go).
	Proxies []netip.Prefix

	KeepAlive            time.Duration // OPTIONS interval (default 30 s; < 0 disables pings)
	KeepAliveTimeout     time.Duration // per OPTIONS (default 5 s)
	KeepAliveFailures    int           // consecutive failures that drop a binding (default 2)
	KeepAliveConcurrency int           // OPTIONS in flight (default 16)

	// OnChange is called when a user gets its first live binding (true) or
	// loses its last one (false). Calls are serialised and in order; it must
	// not block and must not call HandleRegister/Restore/expire paths.
	OnChange func(user string, registered bool)

	// Throttle of failed digest attempts, per source IP and per user name
	// (known or not): FailBurst failures, then one more every FailEvery.
	// Once throttled, authenticated REGISTERs get 403 without a password
	// check. Defaults 5 and 12 s.
	FailBurst int
	FailEvery time.Duration
	// MaxThrottleEntries bounds the throttle table (default 65536); when it
	// is full of active entries, new keys are not tracked (fail open).
	MaxThrottleEntries int
}

func (o *RegistrarOptions) defaults() {
	if o.Realm == "" {
		o.Realm = "onecall"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	var algs []string
	for _, a := range o.Algorithms {
		switch strings.ToUpper(a) {
		case DigestMD5, DigestSHA256:
			if !slices.Contains(algs, strings.ToUpper(a)) {
				algs = append(algs, strings.ToUpper(a))
			}
		}
	}
	if len(algs) == 0 {
		algs = []string{DigestSHA256, DigestMD5}
	}
	o.Algorithms = algs
	if o.LegacyUserAgents == nil {
		o.LegacyUserAgents = []string{"baresip"}
	}
	if o.NonceTTL <= 0 {
		o.NonceTTL = 60 * time.Second
	}
	if o.MinExpires <= 0 {
		o.MinExpires = 60 * time.Second
	}
	if o.MaxExpires <= 0 {
		o.MaxExpires = 3600 * time.Second
	}
	if o.MaxExpires < o.MinExpires {
		o.MaxExpires = o.MinExpires
	}
	if o.DefaultExpires <= 0 {
		o.DefaultExpires = 3600 * time.Second
	}
	if o.MaxBindings <= 0 {
		o.MaxBindings = 4
	}
	if o.KeepAlive == 0 {
		o.KeepAlive = 30 * time.Second
	}
	if o.KeepAliveTimeout <= 0 {
		o.KeepAliveTimeout = 5 * time.Second
	}
	if o.KeepAliveFailures <= 0 {
		o.KeepAliveFailures = 2
	}
	if o.KeepAliveConcurrency <= 0 {
		o.KeepAliveConcurrency = 16
	}
	if o.FailBurst <= 0 {
		o.FailBurst = 5
	}
	if o.FailEvery <= 0 {
		o.FailEvery = 12 * time.Second
	}
	if o.MaxThrottleEntries <= 0 {
		o.MaxThrottleEntries = 65536
	}
}

// RegistrarStats are cumulative counters.
type RegistrarStats struct {
	Challenges     uint64 // 401 with a fresh challenge (no or failed credentials)
	Checked        uint64 // credentials that reached the password check
	Failed         uint64 // wrong password, unknown user or forged nonce
	Throttled      uint64 // answered 403 because of the throttle
	Stale          uint64 // correct digest on an expired/used nonce: 401 stale=true
	Registered     uint64 // successful REGISTERs (incl. refresh and removal)
	KeepAliveDrops uint64 // bindings dropped because OPTIONS went unanswered
	Expired        uint64 // bindings dropped because they expired
	// AgentNetwork: REGISTERs refused 403 because their source or a
	// Contact is outside sip.agent_networks, and restored bindings dropped
	// for the same reason.
	AgentNetwork uint64
}

// Registrar is the REGISTER server: digest authentication, throttling, the
// location service (bindings) and OPTIONS keep-alives. Safe for concurrent
// use: HandleRegister runs in sipgo's per-request goroutines.
type Registrar struct {
	opts   RegistrarOptions
	log    *slog.Logger
	nonces *nonces
	thr    *throttle

	notifyMu sync.Mutex // serialises mutations + OnChange, in order
	mu       sync.RWMutex
	bindings map[string][]*regBinding // by user

	stats struct {
		challenges, checked, failed, throttled, stale, registered, kaDrops, expired, agentNet atomic.Uint64
		// agent phones' INVITEs (digest_verify.go AuthorizePhone)
		phoneChallenged, phoneStale, phoneRefused, phoneAccepted atomic.Uint64
	}

	runMu  sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

type regBinding struct {
	Binding
	failures int // consecutive unanswered OPTIONS
}

// NewRegistrar builds a Registrar; install HandleRegister with
// srv.OnRegister, call Restore, then Start for keep-alives.
func NewRegistrar(opts RegistrarOptions) *Registrar {
	opts.defaults()
	return &Registrar{
		opts:     opts,
		log:      opts.Logger.With("component", "registrar"),
		nonces:   newNonces(opts.Secret, opts.NonceTTL),
		thr:      newThrottle(opts.FailBurst, opts.FailEvery, opts.MaxThrottleEntries),
		bindings: map[string][]*regBinding{},
	}
}

// Stats returns the counters.
func (r *Registrar) Stats() RegistrarStats {
	return RegistrarStats{
		Challenges:     r.stats.challenges.Load(),
		Checked:        r.stats.checked.Load(),
		Failed:         r.stats.failed.Load(),
		Throttled:      r.stats.throttled.Load(),
		Stale:          r.stats.stale.Load(),
		Registered:     r.stats.registered.Load(),
		KeepAliveDrops: r.stats.kaDrops.Load(),
		Expired:        r.stats.expired.Load(),
		AgentNetwork:   r.stats.agentNet.Load(),
	}
}

// Lookup returns the contact URI of the user's most recently refreshed live
// binding.
func (r *Registrar) Lookup(user string) (contactURI string, ok bool) {
	b, ok := r.LookupBinding(user)
	return b.Contact, ok
}

// LookupBinding is Lookup with the whole binding (Source and Transport tell
// where the phone's REGISTER came from, for NAT traversal).
func (r *Registrar) LookupBinding(user string) (Binding, bool) {
	now := r.opts.Clock()
	r.mu.RLock()
	defer r.mu.RUnlock()
	var best *regBinding
	for _, b := range r.bindings[user] {
		if now.Before(b.Expires) && (best == nil || b.Registered.After(best.Registered)) {
			best = b
		}
	}
	if best == nil {
		return Binding{}, false
	}
	return best.Binding, true
}

// Bindings returns a copy of all live bindings, sorted by user then contact.
func (r *Registrar) Bindings() []Binding {
	now := r.opts.Clock()
	r.mu.RLock()
	out := make([]Binding, 0, len(r.bindings))
	for _, bs := range r.bindings {
		for _, b := range bs {
			if now.Before(b.Expires) {
				out = append(out, b.Binding)
			}
		}
	}
	r.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].User != out[j].User {
			return out[i].User < out[j].User
		}
		return out[i].Contact < out[j].Contact
	})
	return out
}

// HandleRegister serves one REGISTER (install with srv.OnRegister).
func (r *Registrar) HandleRegister(req *sip.Request, tx sip.ServerTransaction) {
	res := r.serve(req)
	if res == nil {
		return
	}
	if err := tx.Respond(res); err != nil {
		r.log.Debug("register respond", "err", err)
	}
}

func regRespond(req *sip.Request, code int, reason string) *sip.Response {
	return sip.NewResponseFromRequest(req, code, reason, nil)
}

// serve decides the response to one REGISTER.
func (r *Registrar) serve(req *sip.Request) *sip.Response {
	now := r.opts.Clock()
	if req.Method != sip.REGISTER {
		return regRespond(req, sip.StatusMethodNotAllowed, "Method Not Allowed")
	}
	if res := ValidateRequest(req, "path"); res != nil {
		return res
	}
	path, err := pathOf(req)
	if err != nil {
		return regRespond(req, sip.StatusBadRequest, "Bad Request (Path)")
	}
	if len(path) > 0 && !r.fromProxy(req) {
		r.log.Info("register with Path from a source that is not a proxy", "src", regSourceIP(req))
		return regRespond(req, sip.StatusForbidden, "Forbidden (Path from a source not in sip.proxies)")
	}
	client := r.clientAddr(req, path)
	if !r.sourceAllowed(req, client) {
		r.log.Info("register from outside the agent networks", "src", regSourceIP(req), "client", client)
		r.stats.agentNet.Add(1)
		return regRespond(req, sip.StatusForbidden, "Forbidden (source address)")
	}
	to := req.To()
	if sc := strings.ToLower(to.Address.Scheme); sc != "sip" && sc != "sips" {
		return regRespond(req, sip.StatusBadRequest, "Bad Request (To URI)")
	}
	ip := regSourceIP(req)
	if client.IsValid() {
		ip = client.String()
	}
	user, v := r.verifyDigest(req, "Authorization", to.Address.User, ip, now)
	switch v {
	case digestOK:
	case digestStale:
		return r.challenge(req, now, true)
	case digestMalformed:
		return regRespond(req, sip.StatusBadRequest, "Bad Request (Authorization)")
	case digestWrongUser, digestThrottled:
		return regRespond(req, sip.StatusForbidden, "Forbidden")
	case digestUnavailable:
		res := regRespond(req, sip.StatusServiceUnavailable, "Service Unavailable")
		res.AppendHeader(sip.NewHeader("Retry-After", "5"))
		return res
	default: // digestNone, digestFailed
		return r.challenge(req, now, false)
	}
	return r.update(req, user, now, path)
}

func (r *Registrar) fail(now time.Time, ip, user, why string) {
	r.stats.failed.Add(1)
	r.thr.fail(now, ip, user)
	r.log.Info("digest auth failed", "user", regSanitize(user, 64), "src", ip, "why", why)
}

// challenge answers 401 with one challenge per offered algorithm (by default
// SHA-256 then MD5; see algorithmsFor), one fresh nonce, qop=auth: the same
// shape for every user name, known or not.
func (r *Registrar) challenge(req *sip.Request, now time.Time, stale bool) *sip.Response {
	if !stale {
		r.stats.challenges.Add(1)
	}
	res := regRespond(req, sip.StatusUnauthorized, "Unauthorized")
	for _, h := range r.challengeHeaders(req, "WWW-Authenticate", now, stale) {
		res.AppendHeader(h)
	}
	return res
}

// challengeHeaders are the challenges of one fresh nonce, one per offered
// algorithm, in the header named name (WWW-Authenticate for REGISTER,
// Proxy-Authenticate for an agent phone's INVITE).
func (r *Registrar) challengeHeaders(req *sip.Request, name string, now time.Time, stale bool) []sip.Header {
	nonce := r.nonces.mint(now)
	var out []sip.Header
	for _, alg := range r.algorithmsFor(req) {
		v := "Digest realm=" + quoteDigest(r.opts.Realm) + ", nonce=" + quoteDigest(nonce) +
			", algorithm=" + alg + `, qop="auth"`
		if stale {
			v += ", stale=true"
		}
		out = append(out, sip.NewHeader(name, v))
	}
	return out
}

// algorithmsFor picks the challenges for this client: legacy user agents
// get MD5 alone when MD5 is offered.
func (r *Registrar) algorithmsFor(req *sip.Request) []string {
	algs := r.opts.Algorithms
	if len(algs) < 2 || !slices.Contains(algs, DigestMD5) || len(r.opts.LegacyUserAgents) == 0 {
		return algs
	}
	h := req.GetHeader("User-Agent")
	if h == nil {
		return algs
	}
	ua := strings.ToLower(h.Value())
	for _, l := range r.opts.LegacyUserAgents {
		if l != "" && strings.Contains(ua, strings.ToLower(l)) {
			return []string{DigestMD5}
		}
	}
	return algs
}

func (r *Registrar) contactAllowed(host string) bool {
	if len(r.opts.ContactNets) == 0 {
		return true
	}
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, n := range r.opts.ContactNets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

type contactReq struct {
	uri     string
	expires time.Duration // 0 = remove
}

// update applies an authenticated REGISTER to the bindings (RFC 3261 10.3).
func (r *Registrar) update(req *sip.Request, user string, now time.Time, path []string) *sip.Response {
	hdrExp := int64(-1)
	if h := req.GetHeader("Expires"); h != nil {
		v, err := strconv.ParseUint(strings.TrimSpace(h.Value()), 10, 32)
		if err != nil {
			return regRespond(req, sip.StatusBadRequest, "Bad Request (Expires)")
		}
		hdrExp = int64(v)
	}
	var reqs []contactReq
	wildcard := false
	contacts := req.GetHeaders("Contact")
	for _, h := range contacts {
		ch, ok := h.(*sip.ContactHeader)
		if !ok {
			// A header built in process (not parsed from the wire).
			ch = &sip.ContactHeader{}
			if v := strings.TrimSpace(h.Value()); v == "*" {
				ch.Address.Wildcard = true
			} else if _, err := sip.ParseAddressValue(v, &ch.Address, &ch.Params); err != nil {
				return regRespond(req, sip.StatusBadRequest, "Bad Request (Contact)")
			}
		}
		if ch.Address.Wildcard || strings.TrimSpace(ch.Value()) == "*" {
			wildcard = true
			continue
		}
		if ch.Address.Host == "" {
			return regRespond(req, sip.StatusBadRequest, "Bad Request (Contact)")
		}
		if !r.contactAllowed(ch.Address.Host) {
			r.stats.agentNet.Add(1)
			return regRespond(req, sip.StatusForbidden, "Forbidden (Contact address)")
		}
		exp := hdrExp
		if v, ok := ch.Params.Get("expires"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
			if err != nil {
				return regRespond(req, sip.StatusBadRequest, "Bad Request (expires)")
			}
			exp = int64(n)
		}
		d := r.opts.DefaultExpires
		if exp >= 0 {
			d = time.Duration(exp) * time.Second
		}
		if d > 0 && d < r.opts.MinExpires {
			if r.opts.RejectBrief {
				res := regRespond(req, sip.StatusIntervalToBrief, "Interval Too Brief")
				res.AppendHeader(sip.NewHeader("Min-Expires", strconv.Itoa(int(r.opts.MinExpires/time.Second))))
				return res
			}
			d = r.opts.MinExpires
		}
		if d > r.opts.MaxExpires {
			d = r.opts.MaxExpires
		}
		reqs = append(reqs, contactReq{uri: ch.Address.String(), expires: d})
	}
	if wildcard && (len(contacts) != 1 || hdrExp != 0) {
		return regRespond(req, sip.StatusBadRequest, "Bad Request (wildcard)")
	}
	callID := req.CallID().Value()
	cseq := req.CSeq().SeqNo
	src := req.Source()
	transport := strings.ToLower(req.Transport())
	ua := ""
	if h := req.GetHeader("User-Agent"); h != nil {
		ua = regSanitize(h.Value(), 128)
	}

	var saves []Binding
	var deletes []string
	r.notifyMu.Lock()
	defer r.notifyMu.Unlock()
	r.mu.Lock()
	before := r.liveLocked(user, now)
	cur := r.bindings[user]
	switch {
	case wildcard:
		for _, b := range cur {
			deletes = append(deletes, b.Contact)
		}
		cur = nil
	default:
		for _, c := range reqs {
			idx := -1
			for i, b := range cur {
				if b.Contact == c.uri {
					idx = i
					break
				}
			}
			if idx >= 0 && cur[idx].CallID == callID && cur[idx].CSeq >= cseq {
				r.mu.Unlock()
				return regRespond(req, sip.StatusInternalServerError, "Out of order REGISTER")
			}
			if c.expires == 0 {
				if idx >= 0 {
					deletes = append(deletes, c.uri)
					cur = append(cur[:idx:idx], cur[idx+1:]...)
				}
				continue
			}
			b := &regBinding{Binding: Binding{
				User: user, Contact: c.uri, Source: src, Transport: transport,
				CallID: callID, CSeq: cseq, UserAgent: ua,
				Registered: now, Expires: now.Add(c.expires), Path: path,
			}}
			if idx >= 0 {
				cur[idx] = b
			} else {
				cur = append(cur, b)
			}
			saves = append(saves, b.Binding)
		}
		for len(cur) > r.opts.MaxBindings {
			oldest := 0
			for i, b := range cur {
				if b.Registered.Before(cur[oldest].Registered) {
					oldest = i
				}
			}
			deletes = append(deletes, cur[oldest].Contact)
			cur = append(cur[:oldest:oldest], cur[oldest+1:]...)
		}
	}
	if len(cur) == 0 {
		delete(r.bindings, user)
	} else {
		r.bindings[user] = cur
	}
	after := r.liveLocked(user, now)
	res := regRespond(req, sip.StatusOK, "OK")
	for _, b := range cur {
		if !now.Before(b.Expires) {
			continue
		}
		secs := int(b.Expires.Sub(now).Round(time.Second) / time.Second)
		res.AppendHeader(sip.NewHeader("Contact", "<"+b.Contact+">;expires="+strconv.Itoa(secs)))
	}
	r.mu.Unlock()
	res.AppendHeader(sip.NewHeader("Date", now.UTC().Format(time.RFC1123)))
	if len(path) > 0 && supports(req, "path") {
		// RFC 3327 5.3: the 200 names the Path stored.
		for _, p := range path {
			res.AppendHeader(sip.NewHeader("Path", p))
		}
	}

	r.stats.registered.Add(1)
	r.persist(saves, user, deletes)
	if before != after && r.opts.OnChange != nil {
		r.opts.OnChange(user, after)
	}
	r.log.Debug("register", "user", user, "contacts", len(cur), "src", src)
	return res
}

func (r *Registrar) liveLocked(user string, now time.Time) bool {
	for _, b := range r.bindings[user] {
		if now.Before(b.Expires) {
			return true
		}
	}
	return false
}

func (r *Registrar) persist(saves []Binding, user string, deletes []string) {
	if r.opts.Store == nil || (len(saves) == 0 && len(deletes) == 0) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	for _, c := range deletes {
		if err := r.opts.Store.DeleteBinding(ctx, user, c); err != nil {
			r.log.Warn("delete binding", "user", user, "err", err)
		}
	}
	for _, b := range saves {
		if err := r.opts.Store.SaveBinding(ctx, b); err != nil {
			r.log.Warn("save binding", "user", user, "err", err)
		}
	}
}

// Restore loads persisted bindings, drops the expired ones and reports the
// users that are registered through OnChange.
func (r *Registrar) Restore(ctx context.Context) error {
	if r.opts.Store == nil {
		return nil
	}
	bs, err := r.opts.Store.LoadBindings(ctx)
	if err != nil {
		return fmt.Errorf("sip: load bindings: %w", err)
	}
	now := r.opts.Clock()
	r.notifyMu.Lock()
	defer r.notifyMu.Unlock()
	var changed []string
	var expired []Binding
	r.mu.Lock()
	for _, b := range bs {
		if !now.Before(b.Expires) {
			expired = append(expired, b)
			continue
		}
		if !r.bindingAllowed(b) {
			r.log.Info("restored binding outside the agent networks dropped", "user", b.User, "src", b.Source)
			r.stats.agentNet.Add(1)
			expired = append(expired, b)
			continue
		}
		before := r.liveLocked(b.User, now)
		cur := r.bindings[b.User]
		replaced := false
		for i, old := range cur {
			if old.Contact == b.Contact {
				cur[i] = &regBinding{Binding: b}
				replaced = true
			}
		}
		if !replaced && len(cur) < r.opts.MaxBindings {
			cur = append(cur, &regBinding{Binding: b})
		}
		r.bindings[b.User] = cur
		if !before {
			changed = append(changed, b.User)
		}
	}
	r.mu.Unlock()
	for _, b := range expired {
		if err := r.opts.Store.DeleteBinding(ctx, b.User, b.Contact); err != nil {
			r.log.Warn("delete expired binding", "user", b.User, "err", err)
		}
	}
	if r.opts.OnChange != nil {
		for _, u := range changed {
			r.opts.OnChange(u, true)
		}
	}
	r.log.Info("bindings restored", "live", len(bs)-len(expired), "expired", len(expired))
	return nil
}

// Start runs the expiry sweep and, with a client, the OPTIONS keep-alives in
// one background goroutine until ctx ends or Close. The client should belong
// to the user agent that listens, so pings leave from the registrar's port.
func (r *Registrar) Start(ctx context.Context, client *sipgo.Client) {
	r.runMu.Lock()
	defer r.runMu.Unlock()
	if r.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	r.cancel = cancel
	r.done = make(chan struct{})
	every := r.opts.KeepAlive
	ping := client != nil && every > 0
	if every <= 0 {
		every = 30 * time.Second
	}
	go func() {
		defer close(r.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			r.expire(ctx)
			if ping {
				r.pingAll(ctx, client)
			}
		}
	}()
}

// Close stops the background goroutine started by Start and waits for it.
func (r *Registrar) Close() error {
	r.runMu.Lock()
	cancel, done := r.cancel, r.done
	r.runMu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	return nil
}

// expire removes the expired bindings.
func (r *Registrar) expire(ctx context.Context) {
	now := r.opts.Clock()
	r.notifyMu.Lock()
	defer r.notifyMu.Unlock()
	var gone []Binding
	var lost []string
	r.mu.Lock()
	for user, cur := range r.bindings {
		keep := cur[:0]
		for _, b := range cur {
			if now.Before(b.Expires) {
				keep = append(keep, b)
			} else {
				gone = append(gone, b.Binding)
			}
		}
		if len(keep) == 0 {
			delete(r.bindings, user)
			if len(cur) > 0 {
				lost = append(lost, user)
			}
		} else {
			r.bindings[user] = keep
		}
	}
	r.mu.Unlock()
	r.stats.expired.Add(uint64(len(gone)))
	r.forget(ctx, gone, lost)
}

func (r *Registrar) forget(ctx context.Context, gone []Binding, lost []string) {
	if r.opts.Store != nil {
		for _, b := range gone {
			if err := r.opts.Store.DeleteBinding(ctx, b.User, b.Contact); err != nil {
				r.log.Warn("delete binding", "user", b.User, "err", err)
			}
		}
	}
	sort.Strings(lost)
	if r.opts.OnChange != nil {
		for _, u := range lost {
			r.opts.OnChange(u, false)
		}
	}
}

// pingAll sends one OPTIONS to every live binding, at most
// KeepAliveConcurrency at a time, and drops the bindings that failed
// KeepAliveFailures rounds in a row.
func (r *Registrar) pingAll(ctx context.Context, client *sipgo.Client) {
	targets := r.Bindings()
	sem := make(chan struct{}, r.opts.KeepAliveConcurrency)
	var wg sync.WaitGroup
	for _, b := range targets {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return
		}
		wg.Add(1)
		go func(b Binding) {
			defer wg.Done()
			defer func() { <-sem }()
			alive := r.ping(ctx, client, b)
			if ctx.Err() != nil {
				return
			}
			r.pinged(ctx, b, alive)
		}(b)
	}
	wg.Wait()
}

func (r *Registrar) ping(ctx context.Context, client *sipgo.Client, b Binding) bool {
	var uri sip.Uri
	if err := sip.ParseUri(b.Contact, &uri); err != nil {
		return false
	}
	req := sip.NewRequest(sip.OPTIONS, uri)
	req.AppendHeader(sip.NewHeader("Max-Forwards", "70"))
	if route := r.routeOf(b); len(route) > 0 {
		// Through the proxy the phone registered through (path.go).
		for _, h := range routeHeaders(route) {
			req.AppendHeader(h)
		}
	} else {
		// Send where the REGISTER came from, on its transport: through the
		// NAT binding, and over the phone's own TCP connection when it has
		// one.
		if b.Source != "" {
			req.SetDestination(b.Source)
		}
		if b.Transport != "" {
			req.SetTransport(strings.ToUpper(b.Transport))
		}
	}
	ctx, cancel := context.WithTimeout(ctx, r.opts.KeepAliveTimeout)
	defer cancel()
	res, err := client.Do(ctx, req)
	if err != nil {
		r.log.Debug("keep-alive failed", "user", b.User, "contact", b.Contact, "err", err)
		return false
	}
	// Any final answer (even 4xx/5xx) proves the phone is there, except a
	// 408 / 503 produced locally by a transaction timeout.
	return res.StatusCode != sip.StatusRequestTimeout
}

// pinged records a keep-alive result for the binding as it was pinged.
func (r *Registrar) pinged(ctx context.Context, b Binding, alive bool) {
	r.notifyMu.Lock()
	defer r.notifyMu.Unlock()
	now := r.opts.Clock()
	var gone []Binding
	var lost []string
	r.mu.Lock()
	cur := r.bindings[b.User]
	for i, x := range cur {
		if x.Contact != b.Contact || !x.Registered.Equal(b.Registered) {
			continue // refreshed or replaced meanwhile
		}
		if alive {
			x.failures = 0
			break
		}
		x.failures++
		if x.failures >= r.opts.KeepAliveFailures {
			before := r.liveLocked(b.User, now)
			gone = append(gone, x.Binding)
			cur = append(cur[:i:i], cur[i+1:]...)
			if len(cur) == 0 {
				delete(r.bindings, b.User)
			} else {
				r.bindings[b.User] = cur
			}
			if before && !r.liveLocked(b.User, now) {
				lost = append(lost, b.User)
			}
		}
		break
	}
	r.mu.Unlock()
	if len(gone) > 0 {
		r.stats.kaDrops.Add(uint64(len(gone)))
		r.log.Info("keep-alive: phone gone, binding dropped", "user", b.User, "contact", b.Contact)
	}
	r.forget(ctx, gone, lost)
}

func regSourceIP(req *sip.Request) string {
	src := req.Source()
	host, _, err := net.SplitHostPort(src)
	if err != nil {
		return src
	}
	return host
}

// sanitize keeps printable ASCII/UTF-8 without control characters, at most n bytes.
func regSanitize(s string, n int) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			continue
		}
		if b.Len()+len(string(r)) > n {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}
