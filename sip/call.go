package sip

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"

	"onecall/router"
	"onecall/server"
	"onecall/store"
)

// Hangup causes recorded in CallRecord.Cause.
const (
	causeCitizenBye   = "citizen-bye"
	causeAgentBye     = "agent-bye"
	causeConsole      = "console-hangup"
	causeRTPTimeout   = "rtp-timeout"
	causeAgentLost    = "agent-rtp-timeout"
	causeClosed       = "hotline-closed"
	causeCallback     = "callback-booked"
	causeRouterClosed = "router-closed"
	causeBusy         = "busy"
	causeAnswerFailed = "answer-failed"
	causeShutdown     = "shutdown"
	causeReferral     = "referral"    // a line onecall does not answer: told the number to dial
	causeOutsideBye   = "outside-bye" // the outside party of a transfer out hung up
	// store.CauseNodeLost ("node-lost") is written by the cluster's leader
	// for a call whose node died with it, never by the call's own node.
)

// AttrCallID is the routed contact's attribute holding its SIP Call-ID: the
// cluster's leader writes the record of a call lost with its node under it.
const AttrCallID = "call_id"

type ctlOp uint8

const (
	opHold ctlOp = iota + 1
	opResume
	opHangup
	opTransfer
	opShutdown
	opMediaUpdate
	opConsult    // start a consult (consult.go)
	opConsultEnd // cancel, complete or conference (step)
	opMute
	opUnmute
	opInterpret     // bring an interpreter in (interpreter.go)
	opInterpretDrop // drop the interpreter
	opMonitor       // supervisor mode (supervise.go)
	opMonitorAttach // an answered supervisor leg joins
	opMonitorStop
	opPhoneConsultLeg  // the phone's consult INVITE answered (phone_consult.go)
	opPhoneConsultGone // the phone cancelled its consult INVITE
)

type ctlMsg struct {
	op    ctlOp
	to    router.TransferTarget
	by    router.AgentID
	note  string
	refer *referReq          // the agent phone's REFER (opTransfer), answered by the call
	step  router.ConsultStep // opConsultEnd
	lang  string             // opConsult: an interpreter of this language (interpret_queue.go)
	mode  MonitorMode        // opMonitor, opMonitorAttach
	sup   *superLeg          // opMonitorAttach
	// phone is an agent phone's consult INVITE (opConsult and the
	// opPhoneConsult ops), leg its answered leg (phone_consult.go).
	phone *phoneConsult
	leg   Leg
	// replaces and referCallID: a REFER with Replaces (opConsultEnd) and
	// the dialog it came in.
	replaces    replacesID
	referCallID string
	reply       chan error
}

type phase uint8

const (
	phaseIVR phase = iota
	phaseWaiting
	phaseTalking
	phaseOutside // transferred out: citizen bridged to an outside number
	phaseDone
)

func (p phase) String() string {
	switch p {
	case phaseIVR:
		return "ivr"
	case phaseWaiting:
		return "waiting"
	case phaseTalking:
		return "talking"
	case phaseOutside:
		return "outside"
	default:
	}
	return "done"
}

// call is one citizen call: a blocking script on diago's INVITE goroutine.
type call struct {
	s      *Service
	id     router.ContactID
	log    *slog.Logger
	d      *diago.DialogServerSession
	leg    Leg
	number string
	queue  string
	menu   Menu
	lang   string // the contact's language (routing)
	voice  string // the language of its prompts (default lang)
	from   string

	mbMu sync.Mutex
	mb   []any
	sig  chan struct{}

	phase     phase
	arrived   bool // ContactArrived accepted
	closed    bool // router sent ContactClosed, or we ended it
	rec       callRecord
	legs      []store.CallLeg
	offer     *offerState
	offerRes  chan offerResult
	offers    map[router.AgentID]*offerState // outstanding agent INVITEs (incl. withdrawn ones still cancelling)
	agentLeg  Leg
	agentDlg  *diago.DialogClientSession
	agent     router.AgentID
	held      bool // console hold
	phoneHeld bool // the agent phone put the citizen on hold (re-INVITE)
	muted     bool // console mute: the agent's audio is not relayed to the citizen
	media     *mediaRun
	lastAnn   time.Time
	endReason router.EndReason
	// heldCitizen, heldAgent probe held legs (held_probe.go).
	heldCitizen, heldAgent heldWatch
	// outside is the outside leg after a transfer out (transfer_out.go).
	outside *outCall
	// recorder writes the call's recording (call_recording.go).
	recorder *recorder
	// consult is the running consult (consult.go).
	consult *consultRun
	// mix is the conference mixer of a consult (conference.go).
	mix *mixer
	// interp is the interpreter of a three-way call (interpreter.go).
	interp *interpreting
	// sup is a supervisor's leg on the call (supervise.go), supMix the
	// mixer of its three parties (supervise_media.go).
	sup    *superLeg
	supMix *mixer
}

type offerState struct {
	agent     router.AgentID
	cancel    func()
	withdrawn bool
	timedOut  *atomic.Bool
}

type offerResult struct {
	agent router.AgentID
	dlg   *diago.DialogClientSession
	med   *diago.DialogMedia
	err   error
}

// mediaRun is the background player feeding the citizen leg.
type mediaRun struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func (c *call) post(x any) {
	c.mbMu.Lock()
	if len(c.mb) >= 64 {
		// Bounded: drop stale announcements first, then refuse.
		kept := c.mb[:0]
		for _, m := range c.mb {
			if _, ok := m.(router.Announce); !ok {
				kept = append(kept, m)
			}
		}
		c.mb = kept
	}
	if len(c.mb) < 64 {
		c.mb = append(c.mb, x)
	}
	c.mbMu.Unlock()
	select {
	case c.sig <- struct{}{}:
	default:
	}
}

func (c *call) take() []any {
	c.mbMu.Lock()
	defer c.mbMu.Unlock()
	out := c.mb
	c.mb = nil
	return out
}

func (s *Service) respond(d *diago.DialogServerSession, code int, reason string, hdrs ...sip.Header) {
	if err := d.Respond(code, reason, nil, hdrs...); err != nil {
		s.log.Debug("respond failed", "code", code, "err", err)
	}
}

// serveCall is diago's handler for a new INVITE. Admission checks answer
// before any media is allocated.
func (s *Service) serveCall(d *diago.DialogServerSession) {
	req := d.InviteRequest
	if s.phoneCall(d) {
		return // an agent phone's consult (phone_consult.go)
	}
	if !s.trunkAllowed(req.Source()) {
		s.log.Warn("INVITE from non-trunk source", "source", req.Source())
		s.respond(d, sip.StatusForbidden, "Forbidden")
		return
	}
	if inNets(s.opts.Proxies, sourceAddr(req.Source())) {
		// A proxy in front fails the call over to another node when no
		// reply comes within its first-reply timer (about 1 s): say at
		// once that this node has it.
		_ = d.Trying()
	}
	number, queue, menu, ok := s.opts.Numbers.Resolve(req.Recipient.User, callerNumber(req))
	if !ok {
		s.refusedNumber.Add(1)
		s.respond(d, sip.StatusNotFound, "Not Found")
		return
	}
	if body := req.Body(); len(body) > 0 {
		if err := checkOffer(body); err != nil {
			s.refusedSDP.Add(1)
			s.log.Info("INVITE refused: SDP", "source", req.Source(), "err", err)
			s.respond(d, sip.StatusNotAcceptableHere, "Not Acceptable Here")
			return
		}
	}
	retry := s.retryAfter()
	if s.draining.Load() {
		s.respond(d, sip.StatusServiceUnavailable, "Service Unavailable (draining)", retry)
		return
	}
	if !s.rtp.ready() {
		s.rtp.exhausted.Add(1)
		s.log.Warn("INVITE refused: no free RTP port pair")
		s.respond(d, sip.StatusServiceUnavailable, "Service Unavailable", retry)
		return
	}
	// A refusal gives its max_calls slot back before it answers: sipgo's
	// Respond of a final non-2xx waits for the ACK (up to 32 s), so a slot
	// kept until then let INVITEs refused over a rate and never ACKed fill
	// max_calls and refuse every other trunk's calls.
	if n := s.active.Add(1); n > int64(s.opts.MaxCalls) {
		s.active.Add(-1)
		s.drops.add(DropMaxCalls)
		s.respond(d, sip.StatusServiceUnavailable, "Service Unavailable", retry)
		return
	}
	if trunk, ok := s.trunkRL.allow(sourceAddr(req.Source()), time.Now()); !ok {
		s.active.Add(-1)
		s.drops.add(DropTrunkRate)
		s.log.Debug("INVITE over the trunk's calls per second", "trunk", trunk)
		s.respond(d, sip.StatusServiceUnavailable, "Service Unavailable", retry)
		return
	}
	if !s.limiter.Allow() {
		s.active.Add(-1)
		s.drops.add(DropCallRate)
		s.respond(d, sip.StatusServiceUnavailable, "Service Unavailable", retry)
		return
	}
	defer s.active.Add(-1)
	id := s.hub.NewContactID()
	c := &call{
		s:      s,
		id:     id,
		log:    s.log.With("contact_id", uint64(id), "number", number),
		d:      d,
		number: number,
		queue:  queue,
		menu:   menu,
		lang:   cmp.Or(menu.Lang, "ko"),
		voice:  cmp.Or(menu.Lang, "ko"),
		from:   d.FromUser(),
		sig:    make(chan struct{}, 1),
	}
	c.offerRes = make(chan offerResult, maxOffers)
	c.offers = map[router.AgentID]*offerState{}
	c.rec = callRecord{
		CallID:  req.CallID().Value(),
		Contact: id,
		From:    d.FromUser(),
		To:      req.Recipient.User,
		Number:  number,
		Legs:    1,
		Arrived: time.Now(),
	}
	c.run()
}

func (c *call) run() {
	d := c.d
	ctx := d.Context()
	defer c.finish()
	defer c.s.unregister(c)
	// A hotline without a menu enters routing before we answer, so an
	// overloaded hub (ErrBusy) is a clean 503 with no media allocated.
	// A recorded line enters routing after its consent announcement (and
	// greeting), so an offer never loses ringing time to the announcement.
	early := c.menu.Referral == "" && (c.menu.Skip || len(c.menu.Choices) == 0) && !c.menu.Record
	// 100 first: a proxy in front fails a node over when its first reply
	// takes over a second (Kamailio's fr_timer), and routing may take
	// longer than that to answer while the cluster elects a leader.
	_ = d.Trying()
	if early {
		if err := c.arrive(ctx, MenuChoice{}, func() { _ = d.Ringing() }); err != nil {
			c.log.Warn("contact refused before answer", "err", err)
			c.rec.Cause = causeBusy
			c.s.respond(d, sip.StatusServiceUnavailable, "Service Unavailable",
				sip.NewHeader("Retry-After", strconv.Itoa(int(c.s.opts.RetryAfter/time.Second))))
			return
		}
	}
	var med *diago.DialogMedia
	var err error
	if len(d.InviteRequest.Body()) == 0 {
		med, err = d.AnswerLate()
		// diago defect: AnswerLate starts RTCP monitoring on the pre-ACK
		// session, which has no remote address yet, and reports an error
		// although the ACK's SDP already replaced (and monitors) the session.
		if err != nil && med != nil {
			if ms := med.MediaSession(); ms != nil && ms.Raddr.IP != nil {
				err = nil
			}
		}
	} else {
		med, err = d.Answer(diago.AnswerOptions{})
	}
	if err != nil && errors.Is(err, errNoPorts) {
		// Lost the race for the last pair since serveCall checked: nothing
		// was sent yet.
		c.log.Warn("answer failed: no free RTP port pair")
		c.rec.Cause = causeBusy
		c.s.respond(d, sip.StatusServiceUnavailable, "Service Unavailable",
			sip.NewHeader("Retry-After", strconv.Itoa(int(c.s.opts.RetryAfter/time.Second))))
		return
	}
	if err != nil && d.Context().Err() != nil {
		// The caller's BYE was taken before its ACK (both sent at once, read
		// by two goroutines): sipgo reports "No ACK received", but the call
		// was answered and the caller hung up (the dialog ended; the late
		// ACK may still have set its state back to confirmed). No BYE is owed.
		c.log.Info("caller hung up as the call was answered", "err", err)
		c.rec.Cause = causeCitizenBye
		return
	}
	if err != nil {
		c.log.Warn("answer failed", "err", err)
		c.rec.Cause = causeAnswerFailed
		// sipgo sends no BYE after an ACK timeout (RFC 3261 13.3.1.4), and
		// diago's Hangup answers 480 on the dead transaction: send it here.
		hctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if res := d.InviteResponse; res != nil && res.IsSuccess() {
			if err := byeUnacked(hctx, d); err != nil {
				c.log.Warn("BYE after missing ACK failed", "err", err)
			}
		} else {
			_ = d.Hangup(hctx)
		}
		cancel()
		return
	}
	leg, err := newDiagoLeg(ctx, c.s.clock, c.rec.CallID, med, d.Hangup)
	if err != nil {
		c.log.Warn("media setup failed", "err", err)
		c.rec.Cause = causeAnswerFailed
		return
	}
	c.leg = leg
	c.rec.Codec = leg.Codec()
	c.s.addLeg(leg, serverDialogPeer(d))
	defer c.s.dropLeg(leg)

	if c.menu.Referral != "" {
		c.referral(ctx)
		return
	}
	c.startRecording(ctx)
	var intro []*clip
	if early {
		// The contact is already routed: the greeting is the first queue
		// media, so an offer can ring an agent while it plays.
		intro = append(intro, c.s.prompts.get(c.voice, "greeting"))
	} else {
		choice := c.ivr(ctx)
		if ctx.Err() != nil {
			c.rec.Cause = causeCitizenBye
			return
		}
		if err := c.arrive(ctx, choice, nil); err != nil {
			c.log.Warn("contact refused", "err", err)
			c.rec.Cause = causeBusy
			c.play(ctx, c.s.prompts.get(c.voice, "goodbye"))
			return
		}
	}
	if ctx.Err() != nil {
		c.rec.Cause = causeCitizenBye
		return
	}
	c.loop(ctx, intro...)
}

// arrive enters the contact into routing (ContactArrived) with the IVR
// choice; the call is registered first so no command is missed. waiting,
// when set, runs once if the arrival has to wait for the cluster to elect
// a routing leader (before the answer: the caller hears ringing).
func (c *call) arrive(ctx context.Context, choice MenuChoice, waiting func()) error {
	if choice.Language != "" {
		c.lang = choice.Language
	}
	if choice.Voice != "" {
		c.voice = choice.Voice
	} else if choice.Language != "" {
		c.voice = choice.Language
	}
	if choice.Queue != "" {
		c.queue = choice.Queue
	}
	c.s.register(c)
	ev := router.ContactArrived{
		Contact:  c.id,
		Channel:  router.Voice,
		Number:   c.number,
		Queue:    c.queue,
		Skills:   choice.Skills,
		Language: c.lang,
		Citizen:  c.from,
		Attrs:    map[string]string{AttrCallID: c.rec.CallID},
	}
	if choice.Label != "" {
		ev.Attrs["ivr"] = choice.Label
	}
	// Calling again while a callback waits: take its place, close it.
	if at, old, ok := c.s.mergeCallback(c.from, c.number); ok {
		ev.Arrived = at
		ev.Attrs["merged_callback"] = strconv.FormatUint(uint64(old), 10)
		c.log.Info("pending callback merged into this call", "callback_contact", uint64(old))
	}
	if _, _, err := server.Arrive(ctx, c.s.hub, ev, waiting, c.log); err != nil {
		c.s.unregister(c)
		return err
	}
	c.arrived = true
	c.phase = phaseWaiting
	return nil
}

// finish runs once per call: release routing state, stop media, record.
func (c *call) finish() {
	c.stopMedia()
	// An agent may answer just as the citizen leaves: never leave that
	// phone connected to nobody.
	for _, o := range c.offers {
		o.cancel()
	}
	for deadline := time.After(10 * time.Second); len(c.offers) > 0; {
		select {
		case r := <-c.offerRes:
			delete(c.offers, r.agent)
			if r.err == nil && r.dlg != nil {
				hctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_ = hangUpDialled(hctx, r.dlg)
				cancel()
			}
		case <-deadline:
			c.offers = map[router.AgentID]*offerState{}
		}
	}
	c.offer = nil
	// Every leg ends with the citizen's call, the consult's too.
	c.dropConsult()
	c.endMonitor(MonitorEndCallEnded)
	if c.agentLeg != nil {
		c.hangupAgent()
	}
	c.endOutside()
	c.endInterpreter(interpCallOver)
	var end router.Event
	if c.arrived && !c.closed {
		if c.phase == phaseOutside {
			c.endReason = router.EndTransferredOut
		}
		if c.phase == phaseTalking || c.phase == phaseOutside {
			reason := c.endReason
			if reason == router.EndUnknown {
				reason = router.EndCompleted
			}
			end = router.ContactEnded{Contact: c.id, Reason: reason}
		} else {
			end = router.ContactAbandoned{Contact: c.id}
		}
	}
	c.phase = phaseDone
	if c.leg != nil {
		c.rec.RxPackets, c.rec.TxPackets = c.leg.Counters()
	}
	c.rec.Ended = time.Now()
	c.stopRecording()
	if c.rec.Cause == "" {
		c.rec.Cause = causeCitizenBye
	}
	// The record is durable before routing hears of the end: a node killed
	// in between leaves a live contact that the cluster's leader ends
	// node-lost (and the call's own record wins over its stand-in), never
	// a contact ended normally without its call record.
	c.save()
	if end != nil {
		c.submitFinal(end)
	}
	c.s.counters.add(&c.rec)
	if c.s.onRecord != nil {
		c.s.onRecord(c.rec)
	}
	c.log.Info("call ended", "cause", c.rec.Cause, "rx", c.rec.RxPackets, "tx", c.rec.TxPackets,
		"agent", c.rec.Agent, "agent_rx", c.rec.AgentRx, "agent_tx", c.rec.AgentTx, "holds", c.rec.Holds, "prompts", c.rec.Prompts)
}

// submitFinal delivers an end event even through a briefly full inbox
// (bounded: 3 s).
func (c *call) submitFinal(ev router.Event) {
	deadline := time.Now().Add(3 * time.Second)
	for {
		err := c.s.hub.Submit(ev)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			c.log.Error("final event lost", "err", err)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// play plays one clip to the citizen (blocking, no barge-in).
func (c *call) play(ctx context.Context, cl *clip) {
	if c.leg == nil || cl == nil {
		return
	}
	c.played(cl)
	_ = c.leg.Play(ctx, cl)
}

// startMedia plays clips then loops hold music, in the background.
func (c *call) startMedia(clips ...*clip) {
	c.stopMedia()
	ctx, cancel := context.WithCancel(c.leg.Context())
	m := &mediaRun{cancel: cancel, done: make(chan struct{})}
	c.media = m
	for _, cl := range clips {
		c.played(cl)
	}
	music := c.s.prompts["music"]
	go func() {
		defer close(m.done)
		for _, cl := range clips {
			if c.leg.Play(ctx, cl) != nil {
				return
			}
		}
		for ctx.Err() == nil {
			if c.leg.Play(ctx, music) != nil {
				return
			}
		}
	}()
}

func (c *call) stopMedia() {
	if c.media == nil {
		return
	}
	c.media.cancel()
	<-c.media.done
	c.media = nil
}

// byeUnacked ends a dialog whose 2xx was never ACKed.
func byeUnacked(ctx context.Context, d *diago.DialogServerSession) error {
	req := d.InviteRequest
	cont := req.Contact()
	if cont == nil {
		return errors.New("sip: INVITE without Contact")
	}
	bye := sip.NewRequest(sip.BYE, cont.Address)
	bye.SetTransport(req.Transport())
	tx, err := d.DialogServerSession.TransactionRequest(ctx, bye)
	if err != nil {
		return err
	}
	defer tx.Terminate()
	select {
	case <-tx.Responses():
	case <-tx.Done():
		return tx.Err()
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// save writes the CDR durably, bounded by recordDurableWait
// (Service.persistRecord).
func (c *call) save() {
	st := c.s.opts.Store
	if st == nil {
		return
	}
	legs := append([]store.CallLeg{{Role: "citizen", URI: "sip:" + c.rec.From, CallID: c.rec.CallID,
		Started: c.rec.Arrived, Ended: c.rec.Ended,
		RTP: store.RTPStats{PacketsSent: c.rec.TxPackets, PacketsReceived: c.rec.RxPackets}}}, c.legs...)
	// Each agent leg got its own counters when it ended (loop.go agentGone).
	for i := range legs {
		if legs[i].Ended.IsZero() {
			legs[i].Ended = c.rec.Ended
		}
	}
	rec := store.CallRecord{
		CallID:      c.rec.CallID,
		Contact:     uint64(c.rec.Contact),
		From:        c.rec.From,
		To:          c.rec.To,
		Legs:        legs,
		Codec:       c.rec.Codec,
		Started:     c.rec.Arrived,
		Answered:    c.rec.Answered,
		Ended:       c.rec.Ended,
		HangupCause: c.rec.Cause,
		RTP:         store.RTPStats{PacketsSent: c.rec.TxPackets, PacketsReceived: c.rec.RxPackets},

		RecordingPath:     c.rec.Recording,
		RecordingBytes:    c.rec.RecordingBytes,
		RecordingDuration: c.rec.RecordingDur,
	}
	c.s.persistRecord(c.log, rec)
}

// recordDurableWait bounds how long a call's end waits for its record's
// commit (the store's group commit takes a few ms: docs/benchmarks.md,
// "Call record before the end event").
const recordDurableWait = time.Second

// persistRecord writes a call record before the call's end event goes to
// routing (Store.Durable), so a node killed after the end event cannot
// take the record with it. A store that cannot commit within
// recordDurableWait does not hold the call's end: the record is queued
// again for the writer (store.CallRecord written twice is one row; a
// Durable record that the store gives up on while failing is dropped, a
// queued one is kept for its retries) and the end goes on, logged.
func (s *Service) persistRecord(log *slog.Logger, rec store.CallRecord) {
	st := s.opts.Store
	ctx, cancel := context.WithTimeout(context.Background(), recordDurableWait)
	err := st.Durable(ctx, rec)
	cancel()
	if err == nil {
		return
	}
	if !errors.Is(err, store.ErrNotDurable) {
		log.Error("call record refused", "err", err) // by the database, or the store is closed
		return
	}
	if qerr := st.Enqueue(rec); qerr != nil {
		log.Error("call record lost", "err", err, "queue", qerr)
		return
	}
	log.Warn("call record not durable: queued for the store's writer; the call ends without waiting", "err", err,
		"wait", recordDurableWait)
}

// callerNumber is the calling party's number: the user of a trunk's
// P-Asserted-Identity (RFC 3325; sip: or tel: URI) when there is one, else
// the From user.
func callerNumber(req *sip.Request) string {
	if h := req.GetHeader("P-Asserted-Identity"); h != nil {
		v := h.Value()
		for _, scheme := range []string{"tel:", "sip:", "sips:"} {
			i := strings.Index(v, scheme)
			if i < 0 {
				continue
			}
			u := v[i+len(scheme):]
			if j := strings.IndexAny(u, "@;>, "); j >= 0 {
				u = u[:j]
			}
			if u != "" {
				return u
			}
		}
	}
	if f := req.From(); f != nil {
		return f.Address.User
	}
	return ""
}
