package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"golang.org/x/time/rate"

	"onecall/router"
)

// Service is the voice front end: one SIP user agent (UDP and/or TCP) that
// takes trunk calls, runs the IVR and queue media and bridges to agents.
type Service struct {
	hub     Hub
	opts    Options
	log     *slog.Logger
	prompts promptSet
	limiter *rate.Limiter
	trunkRL *trunkLimiter // per-trunk CPS (trunk_rate.go)
	pike    *pike         // per-source request limit (pike.go)
	// trunk404 limits a trunk's INVITEs to unknown numbers
	// (trunk_notfound.go); trunk404Warned logs the first drop.
	trunk404       *trunkLimiter
	trunk404Warned atomic.Bool
	conns          *connLimiter // TCP/TLS connection caps (tcp_limits.go)
	active         atomic.Int64
	// counters total the ended calls (Stats).
	counters callCounters
	// clock paces every prompt and hold-music stream (clock.go).
	clock *mediaClock
	// recStats counts the call recordings (recorder.go).
	recStats recordStats
	// strays answers the 2xx of offers abandoned without CANCEL (strays.go).
	strays strayAnswers
	// out is the outgoing-call state: trunks and caps (outbound.go).
	out outbound
	// rtp owns the RTP sockets: port pool and source guard (rtp_guard.go).
	rtp *rtpMedia
	// refusedSDP counts INVITEs answered 488 for their SDP.
	refusedSDP atomic.Uint64
	// refusedNumber counts INVITEs answered 404 (no hotline serves the
	// number).
	refusedNumber atomic.Uint64
	// heldProbes counts in-dialog OPTIONS to held legs (held_probe.go).
	heldProbes heldProbes
	// cb holds the callbacks being placed (callback.go).
	cb callbacks
	// ringback is what an agent hears while a callback rings the citizen.
	ringback *clip
	closing  atomic.Bool
	draining atomic.Bool // drain.go
	closeCh  chan struct{}

	ua  *sipgo.UserAgent
	srv *sipgo.Server
	dg  *diago.Diago

	mu        sync.Mutex
	calls     map[router.ContactID]*call
	legs      map[string]Leg        // by Call-ID, for SIP INFO DTMF
	peers     map[string]dialogPeer // by Call-ID: what in-dialog requests must match (guard.go)
	drops     dropCounters
	agentLegs map[string]*agentRef // live agent legs by Call-ID, for REFER
	// phoneAnswering: phones' consult dialogs being answered, by Call-ID
	// (phone_consult.go).
	phoneAnswering map[string]chan struct{}
	// supOn: supervisor -> the call their phone is on or rung for (supervise.go).
	supOn     map[router.AgentID]router.ContactID
	started   bool
	cancel    context.CancelFunc
	udpAddr   string
	tcpAddr   string
	tlsAddr   string
	closeOnce sync.Once
	closeErr  error
	// onRecord observes every call record (tests).
	onRecord func(callRecord)
	// composed caches the clips of configured texts (menus, closed-line
	// messages, referrals) by their key sequence (ivr_prompts.go).
	composed sync.Map
}

// New builds a Service. Nothing listens until Start.
func New(hub Hub, opts Options) (*Service, error) {
	if hub == nil {
		return nil, errors.New("sip: nil hub")
	}
	if opts.Numbers == nil {
		return nil, errors.New("sip: Options.Numbers is required")
	}
	if opts.ListenUDP == "" && opts.ListenTCP == "" && opts.ListenTLS == "" {
		return nil, errors.New("sip: no listen address")
	}
	if err := opts.loadTLS(); err != nil {
		return nil, err
	}
	opts.defaults()
	ps, err := loadPrompts()
	if err != nil {
		return nil, err
	}
	rm, err := newRTPMedia(opts)
	if err != nil {
		return nil, err
	}
	s := &Service{
		rtp:       rm,
		hub:       hub,
		opts:      opts,
		log:       opts.Logger.With("component", "sip"),
		prompts:   ps,
		limiter:   rate.NewLimiter(rate.Limit(opts.MaxCPS), opts.Burst),
		trunkRL:   newTrunkLimiter(opts.TrunkRates, opts.TrunkCPS, opts.TrunkBurst),
		pike:      newPike(opts.PikeRate, opts.PikeBurst, append(slices.Clip(opts.PikeExempt), opts.Proxies...)),
		trunk404:  newTrunkLimiter(opts.TrunkRates, opts.PikeRate, opts.PikeBurst),
		calls:     map[router.ContactID]*call{},
		legs:      map[string]Leg{},
		peers:     map[string]dialogPeer{},
		agentLegs: map[string]*agentRef{},
		// phoneAnswering is filled while a phone's consult is answered.
		phoneAnswering: map[string]chan struct{}{},
		supOn:          map[router.AgentID]router.ContactID{},
		// Two shards per P, staggered: the shards send in parallel and
		// spread the work over the 20 ms (ptime) period. The pollers read
		// the legs' RTP (rtp_poller.go).
		clock: newMediaClock(2*runtime.GOMAXPROCS(0), 20*time.Millisecond).withPollers(rtpPollers(opts.RTPPollers)),
		out:   outbound{cfg: opts.Outbound, per: map[string]int{}},
		cb:    callbacks{cbs: map[router.ContactID]*pendingCB{}},
		// Korean ringback: 440 + 480 Hz, 1 s on, 2 s off.
		ringback: toneClip("ringback", []float64{440, 480}, time.Second, 2*time.Second),
		closeCh:  make(chan struct{}),
	}
	return s, nil
}

func splitHostPort(addr string) (string, int, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	if host == "" {
		host = "0.0.0.0"
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return "", 0, err
	}
	return host, p, nil
}

// Start listens and serves until ctx ends or Close.
func (s *Service) Start(ctx context.Context) error {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return errors.New("sip: already started")
	}
	s.started = true
	s.mu.Unlock()

	ua, err := sipgo.NewUA(sipgo.WithUserAgent(s.opts.UserAgent),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerUnhandledResponseHandler(s.onStrayResponse)))
	if err != nil {
		return err
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(s.log))
	if err != nil {
		return err
	}
	dopts := []diago.DiagoOption{diago.WithServer(srv), diago.WithLogger(s.log),
		diago.WithServerRequestMiddleware(s.requestGate),
		diago.WithMediaConfig(diago.MediaConfig{Codecs: mediaCodecs, RTPListen: s.rtp.listen})}
	udp, tcp, err := pickPorts(s.opts.ListenUDP, s.opts.ListenTCP)
	if err != nil {
		return err
	}
	for _, l := range []struct{ network, addr string }{{"udp", udp}, {"tcp", tcp}} {
		if l.addr == "" {
			continue
		}
		host, port, err := splitHostPort(l.addr)
		if err != nil {
			return fmt.Errorf("sip: listen %s %q: %w", l.network, l.addr, err)
		}
		t := diago.Transport{Transport: l.network, BindHost: host, BindPort: port}
		if s.opts.ExternalHost != "" {
			t.ExternalHost = s.opts.ExternalHost
		}
		dopts = append(dopts, diago.WithTransport(t))
	}
	// TLS last: diago uses its first transport when none is asked for.
	tlsAddr, tlsT, err := s.tlsTransport()
	if err != nil {
		return err
	}
	if tlsAddr != "" {
		dopts = append(dopts, diago.WithTransport(tlsT))
	}
	s.ua, s.srv = ua, srv
	s.dg = diago.NewDiago(ua, dopts...)
	// Overrides of diago's handlers (installed by NewDiago).
	srv.OnInfo(s.guarded(s.onInfo))
	srv.OnRefer(s.guarded(s.onRefer))
	if s.opts.RegisterHandler != nil {
		srv.OnRegister(s.guarded(s.opts.RegisterHandler))
	}
	srv.OnNoRoute(s.guarded(s.noRoute))
	ctx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	go s.clock.run(ctx)
	s.conns = newConnLimiter(s.opts.TCP, &s.drops)
	if err := s.serve(ctx, udp, tcp, tlsAddr); err != nil {
		cancel()
		return err
	}
	s.udpAddr, s.tcpAddr, s.tlsAddr = udp, tcp, tlsAddr
	s.log.Info("sip listening", "udp", s.udpAddr, "tcp", s.tcpAddr, "tls", s.tlsAddr)
	return nil
}

// Client returns a SIP client on the Service's user agent (for the
// registrar's OPTIONS keepalives). Valid after Start.
func (s *Service) Client() (*sipgo.Client, error) {
	if s.ua == nil {
		return nil, errors.New("sip: not started")
	}
	return sipgo.NewClient(s.ua)
}

// Addr returns the bound UDP and TCP addresses ("" when not listening).
func (s *Service) Addr() (udp, tcp string) { return s.udpAddr, s.tcpAddr }

// Active is the number of citizen calls in progress.
func (s *Service) Active() int { return int(s.active.Load()) }

// Close stops listening and hangs up every call (bounded: about 10 s).
// Later calls return the first result.
func (s *Service) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Service) close() error {
	s.closing.Store(true)
	close(s.closeCh)
	s.cb.mu.Lock()
	for _, p := range s.cb.cbs {
		if p.timer != nil {
			p.timer.Stop()
		}
		if r := p.run; r != nil && r.cancel != nil {
			r.cancel(context.Canceled)
		}
	}
	s.cb.mu.Unlock()
	s.mu.Lock()
	cancel := s.cancel
	calls := make([]*call, 0, len(s.calls))
	for _, c := range s.calls {
		calls = append(calls, c)
	}
	s.mu.Unlock()
	for _, c := range calls {
		c.post(ctlMsg{op: opShutdown})
	}
	s.drain(3 * time.Second)
	// Calls still in the IVR (not yet routed) or stuck: hang up their legs.
	s.mu.Lock()
	legs := make([]Leg, 0, len(s.legs))
	for _, l := range s.legs {
		legs = append(legs, l)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, l := range legs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			_ = l.Hangup(ctx)
		}()
	}
	wg.Wait()
	s.drain(3 * time.Second)
	if cancel != nil {
		cancel()
	}
	var err error
	if s.srv != nil {
		err = errors.Join(err, s.srv.Close())
	}
	if s.ua != nil {
		err = errors.Join(err, s.ua.Close())
	}
	return err
}

// drain waits up to d for the call scripts to finish.
func (s *Service) drain(d time.Duration) {
	for deadline := time.Now().Add(d); s.active.Load() > 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
}

// Sink returns the hub sink (server.Sink) for router commands.
func (s *Service) Sink() interface{ Deliver(cmds []router.Command) } { return sinkFunc(s.deliver) }

type sinkFunc func([]router.Command)

func (f sinkFunc) Deliver(cmds []router.Command) { f(cmds) }

// deliver runs on the hub goroutine: look up, copy, never block.
func (s *Service) deliver(cmds []router.Command) {
	for _, cmd := range cmds {
		var id router.ContactID
		switch c := cmd.(type) {
		case router.Offer:
			if c.Channel != router.Voice {
				continue
			}
			id = c.Contact
			if s.deliverCallback(id, cmd) {
				continue
			}
		case router.OfferWithdrawn:
			id = c.Contact
			if s.deliverCallback(id, cmd) {
				continue
			}
		case router.Connected:
			if c.Channel != router.Voice {
				continue
			}
			id = c.Contact
		case router.Announce:
			if c.Channel != router.Voice {
				continue
			}
			id = c.Contact
		case router.CallbackOffered:
			id = c.Contact
		case router.ConsultChanged:
			// An interpretation request's steps that routing takes by
			// itself (interpret_queue.go).
			if c.Language == "" {
				continue
			}
			id = c.Contact
		case router.Transferred:
			if c.Channel != router.Voice {
				continue
			}
			id = c.Contact
		case router.ContactClosed:
			// A chat that books a callback closes as chat: look first.
			if s.deliverCallback(c.Contact, cmd) || c.Channel != router.Voice {
				continue
			}
			id = c.Contact
		default:
			continue
		}
		s.mu.Lock()
		c := s.calls[id]
		s.mu.Unlock()
		if c != nil {
			c.post(cmd)
		}
	}
}

func (s *Service) register(c *call) {
	s.mu.Lock()
	s.calls[c.id] = c
	s.mu.Unlock()
}

func (s *Service) unregister(c *call) {
	s.mu.Lock()
	if s.calls[c.id] == c {
		delete(s.calls, c.id)
	}
	s.mu.Unlock()
}

func (s *Service) addLeg(l Leg, p dialogPeer) {
	s.mu.Lock()
	s.legs[l.CallID()] = l
	s.peers[l.CallID()] = p
	s.mu.Unlock()
}

func (s *Service) dropLeg(l Leg) {
	s.mu.Lock()
	if s.legs[l.CallID()] == l {
		delete(s.legs, l.CallID())
		delete(s.peers, l.CallID())
	}
	s.mu.Unlock()
}

func (s *Service) lookupCall(id router.ContactID) *call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[id]
}

// onInfo takes DTMF by SIP INFO (diago answers 488).
func (s *Service) onInfo(req *sip.Request, tx sip.ServerTransaction) {
	if res := ValidateRequest(req); res != nil {
		_ = tx.Respond(res)
		return
	}
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = h.Value()
	}
	l, _ := s.dialogLeg(req)
	if l == nil {
		respondNoDialog(req, tx)
		return
	}
	key, ok := parseInfoDTMF(ct, req.Body())
	if !ok {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusUnsupportedMediaType, "Unsupported Media Type", nil))
		return
	}
	l.pushDTMF(key)
	_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
}

// trunkAllowed checks the INVITE's source address against the allow-list.
func (s *Service) trunkAllowed(source string) bool {
	ap, err := netip.ParseAddrPort(source)
	var a netip.Addr
	if err == nil {
		a = ap.Addr()
	} else if a, err = netip.ParseAddr(source); err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range s.opts.Trunks {
		if p.Contains(a) {
			return true
		}
	}
	return inNets(s.opts.Proxies, a)
}

// pickPorts resolves ":0" to concrete free ports before diago binds them:
// diago writes the bind port into Contact headers, and sipgo reports
// ephemeral ports only racily. The probe-then-bind window is tiny.
func pickPorts(udp, tcp string) (string, string, error) {
	resolve := func(network, addr string) (string, error) {
		if addr == "" {
			return "", nil
		}
		host, port, err := splitHostPort(addr)
		if err != nil {
			return "", err
		}
		if port != 0 {
			return addr, nil
		}
		for i := 0; i < 20; i++ {
			var p int
			if network == "udp" {
				c, err := net.ListenPacket("udp", net.JoinHostPort(host, "0"))
				if err != nil {
					return "", err
				}
				p = c.LocalAddr().(*net.UDPAddr).Port
				c.Close()
			} else {
				l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
				if err != nil {
					return "", err
				}
				p = l.Addr().(*net.TCPAddr).Port
				l.Close()
			}
			if p != 0 {
				return net.JoinHostPort(host, strconv.Itoa(p)), nil
			}
		}
		return "", errors.New("sip: no free port")
	}
	u, err := resolve("udp", udp)
	if err != nil {
		return "", "", err
	}
	t, err := resolve("tcp", tcp)
	return u, t, err
}

// requestGate runs before every diago handler: malformed requests (RFC 4475
// torture cases sipgo lets through; diago's own error path would crash on a
// missing From) are answered by ValidateRequest, and the media direction of
// in-dialog re-INVITEs (hold from a phone) is noted, since diago keeps the
// negotiated direction private.
func (s *Service) requestGate(next sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		if !s.pikeAllows(req) {
			return
		}
		if res := ValidateRequest(req); res != nil {
			_ = tx.Respond(res)
			return
		}
		if !s.trunkNumberAllows(req) {
			return
		}
		if s.drainGate(req, tx) {
			return
		}
		if req.Method == sip.INVITE && toTag(req) != "" {
			// A re-INVITE must match the dialog's tags and source.
			l, known := s.dialogLeg(req)
			if known && l == nil {
				respondNoDialog(req, tx)
				return
			}
			if l != nil && len(req.Body()) > 0 {
				l.setRemoteHold(sdpHold(req.Body()))
			}
		}
		next(req, tx)
	}
}

// rtpPollers is how many RTP pollers Options.RTPPollers asks for.
func rtpPollers(n int) int {
	switch {
	case n < 0:
		return 0
	case n == 0:
		return 4 * runtime.GOMAXPROCS(0)
	}
	return n
}
