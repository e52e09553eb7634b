package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"time"

	"onecall/chat"
	"onecall/configs"
	"onecall/console"
	"onecall/router"
	"onecall/sip"
	"onecall/store"
)

// numbers serves the SIP front end's number lookups from the configuration:
// hotline numbers and aliases, with their IVR menus.
type numbers struct{ cfg *configs.Bundle }

func (n numbers) Resolve(dialled, caller string) (string, string, sip.Menu, bool) {
	num, ok := n.cfg.ResolveCall(dialled, caller)
	if !ok {
		return "", "", sip.Menu{}, false
	}
	if num.Referral != "" {
		return num.Number, "", sip.Menu{Skip: true, Lang: num.Language, Referral: num.Referral, ReferralSay: referralSay(num)}, true
	}
	menu := sip.Menu{Skip: len(num.Menu) == 0, Lang: num.Language, Say: menuSay(num), Closed: closedSay(num),
		Record: num.Recorded(), ConsentSay: consentSay(num)}
	menu.Timeout, menu.InterDigit, menu.Retries = n.cfg.MenuTimers(num)
	if menu.Retries == 0 {
		menu.Retries = -1 // configured "no replay"; sip reads 0 as its default
	}
	if len(num.Menu) > 0 {
		menu.Choices = make(map[string]sip.MenuChoice, len(num.Menu))
		for _, m := range num.Menu {
			c := sip.MenuChoice{Queue: m.Queue, Language: m.Language, Label: m.LabelEn, Voice: choiceVoice(n.cfg, num, m)}
			if m.Language != "" {
				q := m.Queue
				if q == "" {
					q = num.Queue
				}
				c.Skills, _ = n.cfg.SkillsFor(q, m.Language)
			}
			menu.Choices[m.Digit] = c
		}
	}
	return num.Number, num.Queue, menu, true
}

// chatHotlines lists the numbers the chat page offers, with their menu
// choices as topics.
func chatHotlines(cfg *configs.Bundle) []chat.Hotline {
	var out []chat.Hotline
	names := cfg.HolidayNames()
	for _, n := range cfg.Hotlines.Numbers {
		if n.Referral != "" || n.Queue == "" {
			continue
		}
		h := chat.Hotline{Number: n.Number, NameKO: n.AgencyKo, NameEN: n.AgencyEn, Callbacks: cfg.CallbackOn(&n), Languages: n.Languages,
			RetentionDays: n.RetentionDays}
		if !n.Hours.Always {
			h.Hours = &chat.Hours{Schedule: cfg.Schedule(&n), HolidayNames: names, ClosedKO: n.Closed.MessageKo,
				ClosedEN: n.Closed.MessageEn, Callback: n.Closed.Action == "callback" && cfg.CallbackOn(&n)}
		}
		for _, m := range n.Menu {
			q := m.Queue
			if q == "" {
				q = n.Queue
			}
			h.Topics = append(h.Topics, chat.Topic{ID: m.Digit, NameKO: m.LabelKo, NameEN: m.LabelEn, Queue: q, Language: m.Language})
		}
		out = append(out, h)
	}
	return out
}

func seedUsers(r *configs.Roster) []console.SeedUser {
	out := make([]console.SeedUser, 0, len(r.Users))
	for _, u := range r.Users {
		s := console.SeedUser{
			Username:    u.Username,
			DisplayName: u.Username,
			Role:        u.Role,
			Password:    u.Password,
			Skills:      u.Skills,
		}
		if u.Voice != nil {
			s.VoiceCap = *u.Voice
		}
		if u.Chat != nil {
			s.ChatCap = *u.Chat
		}
		out = append(out, s)
	}
	return out
}

// agentDefs builds the router's agents from the users table, keeping
// explicit queue memberships the configuration gives.
func agentDefs(users []store.User, fromConfig []router.AgentDef) []router.AgentDef {
	cfgQueues := make(map[router.AgentID][]string, len(fromConfig))
	for _, a := range fromConfig {
		cfgQueues[a.ID] = a.Queues
	}
	var out []router.AgentDef
	for _, u := range users {
		if u.Role != store.RoleAgent && len(u.Skills) == 0 {
			continue
		}
		d := console.AgentDef(u)
		d.Queues = cfgQueues[d.ID]
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// aliasFunc returns the display alias citizens see for an agent.
func (a *App) aliasFunc(users []store.User) func(router.AgentID) string {
	aliases := make(map[router.AgentID]string, len(users))
	for _, u := range users {
		if u.Alias != "" {
			aliases[router.AgentID(u.Username)] = u.Alias
		}
	}
	if a.cfg.Roster != nil {
		for _, u := range a.cfg.Roster.Users {
			if u.Alias != "" {
				aliases[router.AgentID(u.Username)] = u.Alias
			}
		}
	}
	pattern := a.cfg.Server.Chat.AgentAlias // "상담사 {alias}": chat.agent_alias
	return func(id router.AgentID) string {
		if s, ok := aliases[id]; ok {
			return agentAlias(pattern, s)
		}
		return ""
	}
}

func paiMode(mask bool) sip.PAIMode {
	if mask {
		return sip.PAIMasked
	}
	return sip.PAIFull
}

func newLogger(c configs.Log, w io.Writer) *slog.Logger {
	var lvl slog.Level
	switch strings.ToLower(c.Level) {
	case "debug":
		lvl = slog.LevelDebug
	case "warn":
		lvl = slog.LevelWarn
	case "error":
		lvl = slog.LevelError
	default:
		lvl = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// callControl adapts the SIP service to the console's call controls.
//
// Outside numbers go out through the outbound trunk (sip/transfer_out.go);
// console.Options.OutsideTransfers is set when a trunk is configured. The
// SIP service answers sip.ErrNoOutside without a trunk,
// sip.ErrNumberNotAllowed for a number the line's transfer_numbers do not
// list and sip.ErrOutsideFailed when the number was not reached.
type callControl struct {
	*sip.Service
}

func (c callControl) Transfer(ctx context.Context, contact router.ContactID, to router.TransferTarget, by router.AgentID, note string) error {
	return c.callError(c.Service.Transfer(ctx, contact, to, by, note))
}

// Interpret and DropInterpreter: the three-way call for interpretation
// (sip/interpreter.go), errors mapped as for Transfer.
func (c callControl) Interpret(ctx context.Context, contact router.ContactID, number string, by router.AgentID) error {
	return c.callError(c.Service.Interpret(ctx, contact, number, by))
}

// RequestInterpreter: an interpreter from the interpreter queue of lang
// (sip/interpret_queue.go).
func (c callControl) RequestInterpreter(ctx context.Context, contact router.ContactID, lang string, by router.AgentID, note string) error {
	err := c.Service.RequestInterpreter(ctx, contact, lang, by, note)
	if errors.Is(err, sip.ErrConsultActive) {
		return fmt.Errorf("%w (%v)", console.ErrConsultActive, err)
	}
	return c.callError(err)
}

func (c callControl) DropInterpreter(ctx context.Context, contact router.ContactID, by router.AgentID) error {
	return c.callError(c.Service.DropInterpreter(ctx, contact, by))
}

// callError maps the SIP service's call-control errors to the console's.
func (c callControl) callError(err error) error {
	switch {
	case errors.Is(err, sip.ErrNoOutside):
		return fmt.Errorf("%w (%v)", console.ErrNoOutside, err)
	case errors.Is(err, sip.ErrNumberNotAllowed):
		return fmt.Errorf("%w (%v)", console.ErrNumberNotAllowed, err)
	case errors.Is(err, sip.ErrOutsideFailed):
		return fmt.Errorf("%w (%v)", console.ErrOutsideFailed, err)
	case errors.Is(err, sip.ErrThreeWay):
		return fmt.Errorf("%w (%v)", console.ErrThreeWay, err)
	case errors.Is(err, sip.ErrNoInterpreter):
		return fmt.Errorf("%w (%v)", console.ErrNoInterpreter, err)
	case errors.Is(err, sip.ErrNoCall), errors.Is(err, sip.ErrNotTalking):
		return fmt.Errorf("%w (%v)", console.ErrCallGone, err)
	}
	return err
}

// Consult and ConsultEnd are the console's consult transfer
// (sip/consult.go), with the SIP errors mapped to the console's.
func (c callControl) Consult(ctx context.Context, contact router.ContactID, to router.TransferTarget, by router.AgentID, note string) error {
	return consultErr(c.Service.Consult(ctx, contact, to, by, note))
}

func (c callControl) ConsultEnd(ctx context.Context, contact router.ContactID, step router.ConsultStep) error {
	return consultErr(c.Service.ConsultEnd(ctx, contact, step))
}

func consultErr(err error) error {
	for _, m := range []struct{ from, to error }{
		{sip.ErrConsultActive, console.ErrConsultActive},
		{sip.ErrNoConsult, console.ErrNoConsult},
		{sip.ErrConsultRinging, console.ErrConsultRinging},
		{sip.ErrNoConference, console.ErrNoConference},
		{sip.ErrNoOutside, console.ErrNoOutside},
		{sip.ErrNumberNotAllowed, console.ErrNumberNotAllowed},
		{sip.ErrNoCall, console.ErrCallGone},
		{sip.ErrNotTalking, console.ErrCallGone},
	} {
		if errors.Is(err, m.from) {
			return fmt.Errorf("%w (%v)", m.to, err)
		}
	}
	return err
}

// Monitor puts a supervisor's phone on a call (sip/supervise.go).
func (c callControl) Monitor(ctx context.Context, contact router.ContactID, by router.AgentID, mode string) error {
	m, ok := sip.ParseMonitorMode(mode)
	if !ok {
		return fmt.Errorf("unknown monitor mode %q", mode)
	}
	return monitorError(c.Service.Monitor(ctx, contact, by, m))
}

// StopMonitor takes a supervisor's phone off a call.
func (c callControl) StopMonitor(ctx context.Context, contact router.ContactID, by router.AgentID) error {
	return monitorError(c.Service.StopMonitor(ctx, contact, by))
}

func monitorError(err error) error {
	for _, m := range []struct{ from, to error }{
		{sip.ErrSupervisorNoPhone, console.ErrMonitorNoPhone}, {sip.ErrSupervisorNoAnswer, console.ErrMonitorNoAnswer},
		{sip.ErrSupervisorBusy, console.ErrMonitorBusy}, {sip.ErrSupervisorRejected, console.ErrMonitorRejected},
		{sip.ErrMonitored, console.ErrMonitored}, {sip.ErrSupervisorElsewhere, console.ErrMonitorElsewhere},
		{sip.ErrNotMonitoring, console.ErrNotMonitoring}, {sip.ErrNoCall, console.ErrCallGone},
		{sip.ErrConsultActive, console.ErrConsultActive},
		{sip.ErrNotTalking, console.ErrCallGone},
	} {
		if errors.Is(err, m.from) {
			return fmt.Errorf("%w (%v)", m.to, err)
		}
	}
	return err
}

// monitorChanged passes the SIP service's supervisor leg reports to the
// consoles.
func (a *App) monitorChanged(ev sip.MonitorEvent) {
	if a.console == nil {
		return
	}
	mode, prev := "", ""
	if ev.Mode != sip.MonitorOff {
		mode = ev.Mode.String()
	}
	if ev.Previous != sip.MonitorOff {
		prev = ev.Previous.String()
	}
	a.console.MonitorChanged(ev.Contact, ev.Supervisor, ev.Agent, mode, prev, ev.Reason, ev.At)
}

// lines serves the SIP front end's per-line settings from the
// configuration: callbacks (only with an outbound trunk), caller ID and
// the outside numbers a line's calls may be transferred to.
type lines struct{ cfg *configs.Bundle }

func (l lines) Line(number string) (sip.Line, bool) {
	n, ok := l.cfg.ResolveNumber(number)
	if !ok {
		return sip.Line{}, false
	}
	return sip.Line{Callback: l.cfg.CallbackOn(n), CallerID: n.CallerID(), TransferNumbers: n.TransferNumbers}, true
}

// outbound maps outbound.* to the SIP front end's dialler settings.
func outbound(cfg *configs.Bundle) (sip.Outbound, error) {
	o := cfg.Server.Outbound
	out := sip.Outbound{MaxCalls: o.MaxCalls, RingTimeout: o.RingTimeout.D()}
	for _, t := range o.Trunks {
		pass, err := cfg.TrunkPassword(t)
		if err != nil {
			return sip.Outbound{}, err
		}
		out.Trunks = append(out.Trunks, sip.OutboundTrunk{Name: t.Name, Address: t.Address, Transport: t.Transport,
			Username: t.Username, Password: pass, E164: t.NumberFormat == "e164", MaxCalls: t.MaxCalls})
	}
	return out, nil
}

// rtpQuarantine maps sip.rtp_quarantine (0s: none) to sip.Options (0: the
// default, negative: none).
func rtpQuarantine(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// transferTargets resolves the Refer-To user of an agent phone's REFER
// against the live engine: a queue id, then an agent id, then a dialable
// number (an outside transfer).
type transferTargets struct {
	hub interface {
		Query(ctx context.Context, fn func(e *router.Engine)) error
	}
}

func (t transferTargets) ResolveTransfer(user string) (router.TransferTarget, bool) {
	if user == "" || len(user) > 64 {
		return router.TransferTarget{}, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var to router.TransferTarget
	err := t.hub.Query(ctx, func(e *router.Engine) {
		if _, ok := e.QueueStats(user); ok {
			to.Queue = user
		} else if _, ok := e.Agent(router.AgentID(user)); ok {
			to.Agent = router.AgentID(user)
		}
	})
	if err != nil {
		return router.TransferTarget{}, false
	}
	if to.Queue == "" && to.Agent == "" {
		if !dialable(user) {
			return router.TransferTarget{}, false
		}
		to.Number = user
	}
	return to, true
}

// dialable: digits with an optional leading +, 3 to 20 digits.
func dialable(s string) bool {
	d := strings.TrimPrefix(s, "+")
	if len(d) < 3 || len(d) > 20 {
		return false
	}
	for _, r := range d {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// agentAlias renders chat.agent_alias for an agent's roster alias.
func agentAlias(pattern, alias string) string {
	if !strings.Contains(pattern, "{alias}") {
		return alias
	}
	return strings.ReplaceAll(pattern, "{alias}", alias)
}

// callbackStore is the chat's store: a callback the chat books is, once
// durable, handed to the SIP service to be placed.
type callbackStore struct {
	*store.Store
	book func(ctx context.Context, cb store.Callback)
}

func (s callbackStore) Durable(ctx context.Context, rec store.Record) error {
	if err := s.Store.Durable(ctx, rec); err != nil {
		return err
	}
	if cb, ok := rec.(store.Callback); ok && cb.Status == store.CallbackBooked {
		if cb.Attrs == nil {
			cb.Attrs = map[string]string{}
		}
		if cb.Attrs["source"] == "" {
			cb.Attrs["source"] = "chat"
		}
		s.book(ctx, cb)
	}
	return nil
}

// bookCallback places a callback booked outside the SIP service (chat).
func (a *App) bookCallback(ctx context.Context, cb store.Callback) {
	if err := a.sip.BookCallback(ctx, cb, true); err != nil {
		a.log.Warn("callback not placed", "contact_id", cb.Contact, "err", err)
	}
}
