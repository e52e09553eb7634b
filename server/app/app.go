package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"onecall/chat"
	"onecall/cluster"
	"onecall/configs"
	"onecall/console"
	"onecall/console/chatbridge"
	"onecall/reports"
	"onecall/router"
	"onecall/server"
	"onecall/sip"
	"onecall/store"
)

// Options selects the configuration and overrides parts of it (the serve
// command's flags).
type Options struct {
	ConfigPath string // onecall.yaml or its directory
	DataDir    string // overrides server data_dir
	HTTPAddr   string // overrides listen.http
	SIPAddr    string // overrides listen.sip_udp and listen.sip_tcp
	Demo       bool   // seed the demo roster, loopback only unless told otherwise
	Logger     *slog.Logger
	// DrainTimeout bounds how long Shutdown waits for calls and chats in
	// flight before ending them (default 10 s).
	DrainTimeout time.Duration

	// For tests in this package: lose hub events or sink commands on
	// purpose (the reconciler's tests), and a short console logout grace.
	loseEvent   func(router.Event) bool
	loseCommand func(sink string, c router.Command) bool
	logoutGrace time.Duration
	// testSink also receives the commands this node's transports get.
	testSink server.Sink
	// testStaleEvery replaces staleEvery, the leader's sweep of contacts
	// stored as live that routing does not hold (cluster_stale.go).
	testStaleEvery time.Duration
	// editChat adjusts the chat service's options (short ping and
	// detach timers for the stuck-state hunt).
	editChat func(*chat.Options)
}

// App is one running onecall.
type App struct {
	opts   Options
	cfg    *configs.Bundle
	log    *slog.Logger
	st     *store.Store
	engine *router.Engine
	hub    *server.Hub
	reg    *prometheus.Registry
	// front is the engine the transports use: hub on a single node,
	// cfront on a node of a cluster (cluster.enabled).
	front server.Front
	// node is this server's cluster node, cfront its replicated engine and
	// elector its campaign for leadership; nil on a single node.
	node    *cluster.Node
	cfront  *server.ClusterFront
	elector *cluster.Elector
	// chatCluster carries chats across nodes (cluster_chat.go); nil on a
	// single node.
	chatCluster *chatbridge.Cluster
	// consoles records which node each agent's console is on
	// (cluster_repair.go); nil on a single node.
	consoles *consoleNodes
	// callbackNodes records which node places each callback (cluster).
	callbackNodes *nodeMap

	chat      *chat.Service
	console   *console.Service
	sip       *sip.Service
	registrar *sip.Registrar
	csip      clusterSIP // voice across nodes (cluster_sip.go)
	reconcile *reconciler
	cstore    *clusterStoreSink // cluster mode: the leader's store sink

	httpAddr string
	sipUDP   string
	sipTCP   string
	httpLn   net.Listener
	httpSrv  *http.Server

	metricsLn  net.Listener
	metricsSrv *http.Server

	recovered store.Recovery
	// recordDir holds the call recordings: <data_dir>/recordings.
	recordDir string
	cancel    context.CancelFunc
	hubDone   chan error
	purgeDone chan struct{} // closed when the retention purge loop returns
	ready     chanFlag
	stopOnce  sync.Once
}

// chanFlag is a set-once readiness flag.
type chanFlag struct {
	mu  sync.Mutex
	set bool
}

func (f *chanFlag) Set(v bool) { f.mu.Lock(); f.set = v; f.mu.Unlock() }
func (f *chanFlag) Get() bool  { f.mu.Lock(); defer f.mu.Unlock(); return f.set }

// New loads and validates the configuration, opens the store, recovers what
// the last run left and builds every component. A broken configuration never
// starts a half-configured server: New returns the problems and nothing runs.
func New(ctx context.Context, opts Options) (*App, error) {
	if opts.ConfigPath == "" {
		opts.ConfigPath = "configs/onecall.yaml"
	}
	if opts.DrainTimeout == 0 {
		opts.DrainTimeout = 10 * time.Second
	}
	cfg, err := configs.Load(opts.ConfigPath)
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = newLogger(cfg.Server.Log, os.Stderr)
	}
	a := &App{opts: opts, cfg: cfg, log: log, reg: prometheus.NewRegistry()}
	a.resolveAddrs()

	dataDir := opts.DataDir
	if dataDir == "" {
		dataDir = cfg.DataDir()
	}
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	a.recordDir = filepath.Join(dataDir, "recordings")
	driver, source := cfg.StoreSource(dataDir)
	a.st, err = store.OpenDriver(ctx, driver, source, store.WithLogger(log.With("component", "store")))
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			a.stopClusterSIP()
			a.closeNode()
			if err := a.st.Close(); err != nil {
				log.Warn("close store after failed start", "err", err)
			}
		}
	}()
	if cfg.Server.Cluster.Enabled {
		if err := a.startNode(ctx, dataDir); err != nil {
			return nil, err
		}
	}
	if err := a.build(ctx); err != nil {
		return nil, err
	}
	ok = true
	return a, nil
}

func (a *App) resolveAddrs() {
	l := a.cfg.Server.Listen
	a.httpAddr, a.sipUDP, a.sipTCP = l.HTTP, l.SIPUDP, l.SIPTCP
	if a.opts.Demo {
		a.httpAddr, a.sipUDP, a.sipTCP = loopback(a.httpAddr), loopback(a.sipUDP), loopback(a.sipTCP)
	}
	if a.opts.HTTPAddr != "" {
		a.httpAddr = a.opts.HTTPAddr
	}
	if a.opts.SIPAddr != "" {
		a.sipUDP, a.sipTCP = a.opts.SIPAddr, a.opts.SIPAddr
	}
}

// loopback binds a host-less address (":8080") to 127.0.0.1, so the demo
// listens on loopback only unless told otherwise.
func loopback(addr string) string {
	if addr == "" {
		return ""
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host != "" {
		return addr
	}
	return net.JoinHostPort("127.0.0.1", port)
}

func (a *App) build(ctx context.Context) error {
	cfg := a.cfg
	realm := cfg.Server.SIP.Realm
	if a.opts.Demo && cfg.Roster != nil {
		if err := console.SeedUsers(ctx, a.st, seedUsers(cfg.Roster), realm); err != nil {
			return fmt.Errorf("demo roster: %w", err)
		}
	}
	rc, err := cfg.RouterConfig()
	if err != nil {
		return err
	}
	users, err := a.st.ListUsers(ctx)
	if err != nil {
		return fmt.Errorf("users: %w", err)
	}
	rc.Agents = agentDefs(users, rc.Agents)
	if a.node != nil {
		// The replicated log holds the cluster's routing state; the
		// store's open contacts belong to the nodes that own them.
		if err := a.buildReplica(ctx, rc); err != nil {
			return err
		}
		a.front = a.cfront
	} else {
		if err := a.buildHub(ctx, rc); err != nil {
			return err
		}
		a.front = a.hub
	}
	if err := a.registerMetrics(); err != nil {
		return err
	}

	chatOpts := chat.Options{
		Hotlines:       chatHotlines(cfg),
		SkillsFor:      cfg.SkillsFor,
		RetentionDays:  cfg.Server.Privacy.TranscriptRetentionDays,
		AllowedOrigins: cfg.Server.Chat.AllowedOrigins,
		FrameAncestors: cfg.Server.Chat.AllowedOrigins,
		MaxTextBytes:   cfg.Server.Limits.ChatMessageBytes,
		MaxChats:       cfg.Server.Limits.MaxChats,
		NewChatsPerIP:  float64(cfg.Server.Limits.Rate.ChatStartsPerMinute) / 60,
		NewChatBurst:   min(cfg.Server.Limits.Rate.ChatStartsPerMinute, 5),
		MsgsPerSecond:  float64(cfg.Server.Limits.Rate.ChatMessagesPerMinute) / 60,
		MsgBurst:       min(cfg.Server.Limits.Rate.ChatMessagesPerMinute, 10),
		IdleWarn:       cfg.Server.Chat.WarnAfter.D(),
		IdleClose:      cfg.Server.Chat.CloseAfter.D() - cfg.Server.Chat.WarnAfter.D(),
		AgentAlias:     a.aliasFunc(users),
		Logger:         a.log.With("component", "chat"),
	}
	if a.opts.editChat != nil {
		a.opts.editChat(&chatOpts)
	}
	if a.node != nil {
		if err := a.startClusterChat(ctx, &chatOpts); err != nil {
			return fmt.Errorf("chat: %w", err)
		}
	}
	a.chat, err = chat.New(a.front, callbackStore{Store: a.st, book: a.bookCallback}, chatOpts)
	if err != nil {
		return fmt.Errorf("chat: %w", err)
	}
	if err := a.serveClusterChat(); err != nil {
		return fmt.Errorf("chat: %w", err)
	}

	bindings, onPhone, err := a.bindingStore(ctx) // cluster_sip.go
	if err != nil {
		return err
	}
	a.registrar = sip.NewRegistrar(sip.RegistrarOptions{
		Realm:       realm,
		Credentials: sip.NewStoreAdapter(a.st),
		Store:       bindings,
		Logger:      a.log,
		MinExpires:  cfg.Server.SIP.RegisterMin.D(),
		MaxExpires:  cfg.Server.SIP.RegisterMax.D(),
		OnChange:    onPhone,
		ContactNets: cfg.Server.SIP.AgentPrefixes(),
		SourceNets:  cfg.Server.SIP.AgentPrefixes(),
		Proxies:     cfg.Server.SIP.ProxyPrefixes(),
	})
	var trunks []netip.Prefix
	var trunkRates []sip.TrunkRate
	for _, t := range cfg.Server.Trunks {
		trunks = append(trunks, t.Prefixes()...)
		trunkRates = append(trunkRates, sip.TrunkRate{Name: t.Name, Nets: t.Prefixes()})
	}
	var tlsListen, tlsCert, tlsKey string
	if t := cfg.Server.Listen.TLS; t != nil {
		tlsListen, tlsCert, tlsKey = t.Listen, cfg.Path(t.Cert), cfg.Path(t.Key)
		if a.opts.Demo {
			tlsListen = loopback(tlsListen)
		}
	}
	ob, err := outbound(cfg)
	if err != nil {
		return err
	}
	if a.node != nil {
		if err := a.openCallbackNodes(ctx); err != nil { // cluster_callbacks.go
			return err
		}
	}
	a.sip, err = sip.New(a.front, sip.Options{
		ListenUDP:    a.sipUDP,
		ListenTCP:    a.sipTCP,
		ListenTLS:    tlsListen,
		TLSCert:      tlsCert,
		TLSKey:       tlsKey,
		ExternalHost: cfg.Server.SIP.ExternalHost,
		Trunks:       trunks,
		Proxies:      cfg.Server.SIP.ProxyPrefixes(),
		Numbers:      numbers{cfg},
		Locator:      a.locator(),
		AgentNets:    cfg.Server.SIP.AgentPrefixes(),
		Transfers:    transferTargets{hub: a.front},
		Store:        a.st,
		MaxCalls:     cfg.Server.Limits.MaxCalls,
		MaxCPS:       cfg.Server.Limits.MaxCallsPerSecond,
		TrunkRates:   trunkRates,
		TrunkCPS:     float64(cfg.Server.Limits.Rate.CallsPerSecondPerPeer),
		PikeRate:     cfg.Server.SIP.Pike.Rate,
		TCP: sip.TCPLimits{IdleTimeout: cfg.Server.SIP.TCP.IdleTimeout.D(), MaxConnections: cfg.Server.SIP.TCP.MaxConnections,
			MaxPerSource: cfg.Server.SIP.TCP.MaxPerSource, FDReserve: cfg.Server.SIP.TCP.FDReserve},
		PikeBurst:       cfg.Server.SIP.Pike.Burst,
		PikeExempt:      cfg.Server.SIP.Pike.ExemptPrefixes(),
		NoRTPTimeout:    cfg.Server.SIP.NoRTPTimeout.D(),
		RTPPorts:        [2]int{cfg.Server.SIP.RTPPortMin, cfg.Server.SIP.RTPPortMax},
		RTPQuarantine:   rtpQuarantine(cfg.Server.SIP.RTPQuarantine.D()),
		RTPSymmetric:    cfg.Server.SIP.RTPSymmetric,
		RTPPollers:      cfg.Server.SIP.RTPPollers,
		HeldProbe:       sip.HeldProbe{Interval: cfg.Server.SIP.HeldProbe.Interval.D(), Failures: cfg.Server.SIP.HeldProbe.Failures},
		AnnounceEvery:   cfg.Server.SIP.AnnounceEvery.D(),
		PAI:             paiMode(cfg.Server.Privacy.MaskPhoneNumbers),
		Logger:          a.log,
		Demo:            a.opts.Demo,
		RegisterHandler: a.registrar.HandleRegister,
		Outbound:        ob,
		Callback: sip.CallbackPolicy{Attempts: cfg.Server.Outbound.Callback.Attempts,
			Backoff: cfg.Server.Outbound.Callback.Backoff.D()},
		Lines:     lines{cfg},
		RecordDir: a.recordDir,
		// The console is built below; calls start after Start.
		InterpreterChanged: func(id router.ContactID, number string) {
			if a.console != nil {
				a.console.SetInterpreter(id, number)
			}
		},
		HoldChanged: func(id router.ContactID, held bool) {
			if a.console != nil {
				a.console.SetHeld(id, held)
			}
		},
		OnMonitor:  a.monitorChanged,
		OnCallback: a.onCallback(),
	})
	if err != nil {
		return fmt.Errorf("sip: %w", err)
	}
	if err := a.reg.Register(a.sip.Collector()); err != nil {
		return fmt.Errorf("sip metrics: %w", err)
	}
	if err := a.reg.Register(a.sip.MediaCollector()); err != nil {
		return fmt.Errorf("rtp metrics: %w", err)
	}
	if err := a.reg.Register(a.registrar.Collector()); err != nil {
		return fmt.Errorf("registrar metrics: %w", err)
	}
	a.checkPrompts(cfg)

	var presence func(router.AgentID, bool)
	var elsewhere func(router.AgentID) bool
	if a.node != nil {
		if a.consoles, err = newConsoleNodes(ctx, a.node, a.log.With("component", "console-nodes")); err != nil {
			return err
		}
		presence, elsewhere = a.consoles.Presence, a.consoles.Elsewhere
	}
	a.console, err = console.New(a.front, a.st, console.Options{
		Chat:                a.chatAgent(),
		Calls:               a.callControls(),
		OutsideTransfers:    a.sip.CanDial(),
		ScheduledCallbacks:  a.sip.ScheduledCallbacks,
		Reports:             reports.Handler{Src: a.st, Cfg: reports.FromBundle(cfg)},
		AllowedOrigins:      cfg.Server.Console.AllowedOrigins,
		Realm:               realm,
		MaskNumbers:         cfg.Server.Privacy.MaskPhoneNumbers,
		Dispositions:        cfg.Dispositions(),
		CannedResponses:     consoleCanned(cfg),
		Names:               consoleNames(cfg),
		DispositionRequired: dispositionRequired(cfg),
		Logger:              a.log.With("component", "console"),
		SessionTTL:          cfg.Server.Console.SessionTTL.D(),
		LockAfter:           cfg.Server.Console.LockoutAfter,
		LockFor:             cfg.Server.Console.LockoutFor.D(),
		Queues:              consoleQueues(cfg),
		LoginsPerMinute:     cfg.Server.Limits.Rate.LoginsPerMinute,
		LogoutGrace:         a.opts.logoutGrace,
		Presence:            presence,
		Elsewhere:           elsewhere,
	})
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	sides := liveSides{calls: a.sip.LiveContacts, chats: a.chat, cons: a.console}
	if a.node != nil {
		sides = a.clusterSides(sides)
	}
	a.reconcile = newReconciler(a.front, cfg.Server.Routing.ReconcileEvery.D(), a.log.With("component", "reconciler"), sides)
	if a.node != nil {
		a.reconcile.owns = a.clusterOwnership()
	}
	if err := a.reg.Register(a.reconcile.repairs); err != nil {
		return fmt.Errorf("reconciler metrics: %w", err)
	}
	a.front.AddSink(a.lossy("chat", a.chat.Sink()))
	a.front.AddSink(a.lossy("sip", a.sip.Sink()))
	a.front.AddSink(a.lossy("console", a.console.Sink()))
	if a.opts.testSink != nil {
		a.front.AddSink(a.opts.testSink)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", a.healthz)
	mux.HandleFunc("GET /readyz", a.readyz)
	if a.cfg.Server.Metrics.Listen == "" {
		mux.Handle("GET /metrics", a.metricsHandler())
	}
	mux.Handle("/chat", a.chat)
	mux.Handle("/chat/", a.chat)
	mux.Handle("/ws/chat", a.chat)
	mux.Handle("/", a.console)
	lim := cfg.Server.Limits
	a.httpSrv = &http.Server{
		Handler:           newRateGuard(lim.Rate.HTTPPerSecond).wrap(mux),
		ReadHeaderTimeout: min(10*time.Second, lim.HTTPReadTimeout.D()),
		ReadTimeout:       lim.HTTPReadTimeout.D(),
		IdleTimeout:       lim.HTTPIdleTimeout.D(),
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	return nil
}

// buildHub builds the single node's engine and hub: the store recovers
// what the last run left, contact ids continue after the store's highest.
func (a *App) buildHub(ctx context.Context, rc router.Config) error {
	var err error
	a.engine, err = router.New(rc)
	if err != nil {
		return fmt.Errorf("routing: %w", err)
	}
	a.recovered, err = a.st.Recover(ctx, time.Now())
	if err != nil {
		return fmt.Errorf("recovery: %w", err)
	}
	maxID, err := a.st.MaxContactID(ctx)
	if err != nil {
		return err
	}
	a.hub = server.NewHub(a.engine,
		server.WithInboxSize(a.cfg.Server.Limits.InboxSize),
		server.WithLogger(a.log.With("component", "hub")),
		server.WithFirstContactID(maxID),
		server.WithLoss(a.opts.loseEvent))
	a.hub.AddSink(newStoreSink(a.st, a.log))
	return nil
}

// phoneChanged follows agent phones' registrations. With --demo a
// registering phone logs its agent in and Ready.
func (a *App) phoneChanged(user string, registered bool) {
	a.console.PhoneRegistered(router.AgentID(user), registered)
	a.demoLogin(user, registered)
}

// demoLogin: with --demo a phone that registers logs its agent in.
func (a *App) demoLogin(user string, registered bool) {
	if !a.opts.Demo || !registered {
		return
	}
	// Only an agent out of routing is logged in: a phone's periodic
	// re-REGISTER must not turn an agent on break into Ready.
	if a.console.AgentState(router.AgentID(user)) != "offline" {
		return
	}
	if err := a.front.Submit(router.AgentLoggedIn{Agent: router.AgentID(user), Ready: true}); err != nil {
		a.log.Warn("demo login on registration", "agent_id", user, "err", err)
	}
}

// Start runs the hub, re-enters recovered contacts and opens the listeners.
func (a *App) Start(ctx context.Context) error {
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.cancel = cancel
	a.hubDone = make(chan error, 1)
	if a.cfront != nil {
		if err := a.startCluster(runCtx); err != nil {
			return err
		}
		a.endPreviousCalls(ctx) // before SIP listens: cluster_fail.go
	} else {
		go func() { a.hubDone <- a.hub.Run(runCtx) }()
	}

	if err := a.requeueRecovered(ctx); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", a.httpAddr)
	if err != nil {
		return fmt.Errorf("http listen %s: %w", a.httpAddr, err)
	}
	ln = newCapListener(ln, a.cfg.Server.Limits.ConnectionsPerSource)
	a.httpLn = ln
	if err := a.startMetricsListener(); err != nil {
		ln.Close()
		return err
	}
	if err := a.sip.Start(runCtx); err != nil {
		ln.Close()
		return fmt.Errorf("sip: %w", err)
	}
	// Booked callbacks go back to their queues at their original place,
	// to be placed through the outbound trunk (or closed if there is none).
	for _, cb := range a.recovered.Callbacks {
		if err := a.sip.BookCallback(ctx, cb, false); err != nil {
			a.log.Warn("recovered callback", "contact_id", cb.Contact, "err", err)
		}
	}
	if err := a.startClusterSIP(); err != nil { // cluster_sip.go
		ln.Close()
		return err
	}
	if err := a.registrar.Restore(ctx); err != nil {
		a.log.Warn("restore registrations", "err", err)
	}
	if cl, err := a.sip.Client(); err == nil {
		a.registrar.Start(runCtx, cl)
	} else {
		a.log.Warn("sip keep-alive client", "err", err)
	}
	go func() {
		if err := a.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("http server", "err", err)
		}
	}()
	go a.reconcile.run(runCtx)
	a.purgeDone = make(chan struct{})
	go a.runPurge(runCtx, a.purgeDone)
	a.ready.Set(true)
	udp, tcp := a.sip.Addr()
	a.log.Info("onecall started", "http", ln.Addr().String(), "sip_udp", udp, "sip_tcp", tcp,
		"numbers", len(a.cfg.Hotlines.Numbers), "queues", len(a.cfg.Queues), "demo", a.opts.Demo)
	return nil
}

// requeueRecovered puts open chats and booked callbacks back in their queues
// at their original place.
func (a *App) requeueRecovered(ctx context.Context) error {
	var chats []chat.RecoveredChat
	for _, c := range a.recovered.Chats {
		chats = append(chats, chat.RecoveredChat{Contact: router.ContactID(c.ID)})
	}
	if len(chats) > 0 {
		if err := a.chat.Recover(ctx, chats); err != nil {
			return fmt.Errorf("recover chats: %w", err)
		}
	}
	a.log.Info("recovered", "chats", len(a.recovered.Chats), "callbacks", len(a.recovered.Callbacks),
		"voice_closed", len(a.recovered.ClosedVoice))
	return nil
}

// HTTPAddr is the bound HTTP address (after Start).
func (a *App) HTTPAddr() string {
	if a.httpLn == nil {
		return ""
	}
	return a.httpLn.Addr().String()
}

// SIPAddrs are the bound SIP UDP and TCP addresses (after Start).
func (a *App) SIPAddrs() (udp, tcp string) { return a.sip.Addr() }

// Front is the routing engine the transports use (for tests and tools).
func (a *App) Front() server.Front { return a.front }

// ClusterFront is the node's replicated engine; nil on a single node.
func (a *App) ClusterFront() *server.ClusterFront { return a.cfront }

// Hub is the routing hub (for tests and tools); nil on a cluster node.
func (a *App) Hub() *server.Hub { return a.hub }

// Store is the store (for tests and tools).
func (a *App) Store() *store.Store { return a.st }

// Shutdown stops accepting, lets in-flight calls and chats finish within the
// drain timeout (or ctx), then ends them, stops the hub and flushes the
// store.
func (a *App) Shutdown(ctx context.Context) error {
	var errs []error
	a.stopOnce.Do(func() {
		a.ready.Set(false)
		// New calls and the proxy's probes get 503 from here on, so a SIP
		// proxy in front fails over to the other nodes.
		a.sip.Drain()
		if a.httpSrv != nil {
			sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			if err := a.httpSrv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
				errs = append(errs, err)
			}
			cancel()
		}
		if a.metricsSrv != nil {
			if err := a.metricsSrv.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		a.drainCalls(ctx)
		if err := a.registrar.Close(); err != nil {
			errs = append(errs, err)
		}
		if err := a.sip.Close(); err != nil {
			errs = append(errs, err)
		}
		a.console.Close()
		a.closeClusterChat()
		if err := a.chat.Close(); err != nil {
			errs = append(errs, err)
		}
		a.stopCluster()
		if a.cancel != nil {
			a.cancel()
			if err := <-a.hubDone; err != nil {
				errs = append(errs, err)
			}
			if a.purgeDone != nil {
				<-a.purgeDone
			}
		}
		a.stopClusterSIP()
		a.closeNode()
		if err := a.st.Close(); err != nil {
			errs = append(errs, err)
		}
	})
	return errors.Join(errs...)
}

func (a *App) drainCalls(ctx context.Context) {
	deadline := time.NewTimer(a.opts.DrainTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for a.sip.Active() > 0 {
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			a.log.Warn("drain timeout: ending calls in flight", "calls", a.sip.Active())
			return
		case <-tick.C:
		}
	}
}

func (a *App) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

// readyz is 200 while the hub runs and the store can promise durability.
func (a *App) readyz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	var problems []string
	if !a.ready.Get() {
		problems = append(problems, "not started or shutting down")
	}
	if h := a.st.Health(); !h.OK {
		problems = append(problems, "store: "+h.Reason)
	}
	if len(problems) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(strings.Join(problems, "\n") + "\n"))
		return
	}
	w.Write([]byte("ready\n" + a.clusterStatus()))
}

// lossy is s, minus the commands Options.loseCommand drops (tests only).
func (a *App) lossy(name string, s server.Sink) server.Sink {
	lose := a.opts.loseCommand
	if lose == nil {
		return s
	}
	return server.SinkFunc(func(cmds []router.Command) {
		kept := make([]router.Command, 0, len(cmds))
		for _, c := range cmds {
			if !lose(name, c) {
				kept = append(kept, c)
			}
		}
		if len(kept) > 0 {
			s.Deliver(kept)
		}
	})
}
