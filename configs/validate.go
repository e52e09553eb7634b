package configs

import (
	"fmt"
	"math"
	"net"
	"os"
	"regexp"
	"strings"
	"time"
)

var reID = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// Validate checks the whole bundle and reports every problem at once as a
// *Problems (nil when valid). Problems carry file and line when the bundle
// came from Load.
func (b *Bundle) Validate() error {
	var ps Problems
	b.validateServer(&ps)
	b.validateSkills(&ps)
	queues := b.validateQueues(&ps)
	b.validateHotlines(&ps, queues)
	if b.Roster != nil {
		b.Roster.validate(&ps, b)
		b.validateCoverage(&ps)
	}
	return ps.err()
}

type reporter struct {
	ps  *Problems
	src *source
}

func (r reporter) at(path ...any) func(format string, args ...any) {
	return func(format string, args ...any) {
		r.ps.add(r.src.name(), r.src.line(path...), format, args...)
	}
}

func positive(report func(string, ...any), key string, d Duration) {
	if d <= 0 {
		report("%s must be a positive duration, got %s", key, d)
	}
}

// validateDispositions checks a list of wrap-up codes: at most 30, each
// 1-40 of a-z, 0-9 and '-', none twice.
func validateDispositions(at func() func(string, ...any), what string, codes []string) {
	if len(codes) > 30 {
		at()("%s: %d dispositions; keep it to at most 30", what, len(codes))
	}
	seen := map[string]bool{}
	for _, c := range codes {
		ok := c != "" && len(c) <= 40
		for _, r := range c {
			ok = ok && (r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-')
		}
		switch {
		case !ok:
			at()("%s: bad disposition %q (1-40 of a-z, 0-9 and -)", what, c)
		case seen[c]:
			at()("%s: disposition %q listed twice", what, c)
		}
		seen[c] = true
	}
}

// validateCanned checks a list of canned replies: at most 100, each with
// Korean and English text of at most 1000 characters.
func validateCanned(at func() func(string, ...any), what string, list []Text) {
	if len(list) > 100 {
		at()("%s: %d canned replies; keep it to at most 100", what, len(list))
	}
	for i, c := range list {
		switch {
		case strings.TrimSpace(c.Ko) == "" || strings.TrimSpace(c.En) == "":
			at()("%s: canned reply %d needs ko and en", what, i+1)
		case len([]rune(c.Ko)) > 1000 || len([]rune(c.En)) > 1000:
			at()("%s: canned reply %d longer than 1000 characters", what, i+1)
		}
	}
}

// validateMenuTimers checks IVR timers; whole (sip.menu) requires every
// field, a hotline's override only bounds the ones it sets.
func validateMenuTimers(at func(key string) func(string, ...any), what string, m *MenuTimers, whole bool) {
	if (whole || m.Timeout != 0) && (m.Timeout < Duration(time.Second) || m.Timeout > Duration(30*time.Second)) {
		at("timeout")("%s.timeout must be between 1s and 30s, got %s", what, m.Timeout)
	}
	if (whole || m.InterDigit != 0) && (m.InterDigit < Duration(500*time.Millisecond) || m.InterDigit > Duration(10*time.Second)) {
		at("inter_digit")("%s.inter_digit must be between 500ms and 10s, got %s", what, m.InterDigit)
	}
	if m.Timeout != 0 && m.InterDigit > m.Timeout {
		at("inter_digit")("%s.inter_digit (%s) exceeds its timeout (%s)", what, m.InterDigit, m.Timeout)
	}
	if m.Retries == nil && whole {
		at("retries")("%s.retries is required", what)
	} else if m.Retries != nil && (*m.Retries < 0 || *m.Retries > 5) {
		at("retries")("%s.retries must be between 0 and 5, got %d", what, *m.Retries)
	}
}

func checkAddr(report func(string, ...any), key, addr string, required bool) {
	if addr == "" {
		if required {
			report("%s is required", key)
		}
		return
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		report("%s: bad listen address %q (want host:port or :port)", key, addr)
	}
}

func (b *Bundle) validateServer(ps *Problems) {
	r := reporter{ps, b.srcServer}
	s := &b.Server
	checkAddr(r.at("listen", "http"), "listen.http", s.Listen.HTTP, true)
	checkAddr(r.at("listen", "sip_udp"), "listen.sip_udp", s.Listen.SIPUDP, false)
	checkAddr(r.at("listen", "sip_tcp"), "listen.sip_tcp", s.Listen.SIPTCP, false)
	if t := s.Listen.TLS; t != nil {
		checkAddr(r.at("listen", "tls", "listen"), "listen.tls.listen", t.Listen, true)
		if t.Cert == "" || t.Key == "" {
			r.at("listen", "tls")("listen.tls needs both cert and key")
		}
	}
	if s.DataDir == "" {
		r.at("data_dir")("data_dir is required")
	}
	s.Store.validate(r)
	s.Cluster.validate(r, s.Store)
	checkAddr(r.at("metrics", "listen"), "metrics.listen", s.Metrics.Listen, false)
	if t := s.Metrics.Token; t != "" && len(t) < 16 {
		r.at("metrics", "token")("metrics.token must be at least 16 characters (or empty for no token)")
	}
	if d := s.Metrics.ShortAbandon.D(); d < 0 || d > 5*time.Minute {
		r.at("metrics", "short_abandon")("metrics.short_abandon %v must be from 0 to 5m", d)
	}
	trunks := map[string]bool{}
	for i, t := range s.Trunks {
		rep := r.at("trunks", i)
		if t.Name == "" {
			rep("trunk %d has no name", i+1)
		} else if trunks[t.Name] {
			rep("trunk %q defined twice", t.Name)
		}
		trunks[t.Name] = true
		if len(t.Allow) == 0 {
			rep("trunk %q allows no addresses", t.Name)
		}
		for j, a := range t.Allow {
			if _, err := parsePrefix(a); err != nil {
				r.at("trunks", i, "allow", j)("trunk %q: bad IP or CIDR %q", t.Name, a)
			}
		}
	}
	switch s.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		r.at("log", "level")("log.level must be debug, info, warn or error, got %q", s.Log.Level)
	}
	switch s.Log.Format {
	case "text", "json":
	default:
		r.at("log", "format")("log.format must be text or json, got %q", s.Log.Format)
	}
	l := &s.Limits
	for _, c := range []struct {
		key string
		v   float64
	}{
		{"inbox_size", float64(l.InboxSize)}, {"max_calls", float64(l.MaxCalls)},
		{"max_calls_per_second", l.MaxCallsPerSecond}, {"max_chats", float64(l.MaxChats)},
		{"chat_message_bytes", float64(l.ChatMessageBytes)}, {"connections_per_source", float64(l.ConnectionsPerSource)},
	} {
		if c.v <= 0 {
			r.at("limits", c.key)("limits.%s must be positive", c.key)
		}
	}
	positive(r.at("limits", "http_read_timeout"), "limits.http_read_timeout", l.HTTPReadTimeout)
	positive(r.at("limits", "http_idle_timeout"), "limits.http_idle_timeout", l.HTTPIdleTimeout)
	if l.ChatMessageBytes > 1<<20 {
		r.at("limits", "chat_message_bytes")("limits.chat_message_bytes must be at most 1 MiB")
	}
	for _, c := range []struct {
		key string
		v   int
	}{
		{"chat_messages_per_minute", l.Rate.ChatMessagesPerMinute}, {"chat_starts_per_minute", l.Rate.ChatStartsPerMinute},
		{"http_per_second", l.Rate.HTTPPerSecond}, {"logins_per_minute", l.Rate.LoginsPerMinute},
		{"calls_per_second_per_trunk", l.Rate.CallsPerSecondPerPeer},
	} {
		if c.v <= 0 {
			r.at("limits", "rate", c.key)("limits.rate.%s must be positive", c.key)
		}
	}
	if s.Privacy.TranscriptRetentionDays < 0 {
		r.at("privacy", "transcript_retention_days")("privacy.transcript_retention_days must be >= 0")
	}
	if d := time.Duration(s.Privacy.PurgeEvery); d < time.Second || d > 24*time.Hour {
		r.at("privacy", "purge_every")("privacy.purge_every must be between 1s and 24h, got %s", s.Privacy.PurgeEvery)
	}
	positive(r.at("chat", "warn_after"), "chat.warn_after", s.Chat.WarnAfter)
	positive(r.at("chat", "close_after"), "chat.close_after", s.Chat.CloseAfter)
	if s.Chat.WarnAfter > 0 && s.Chat.CloseAfter > 0 && s.Chat.WarnAfter >= s.Chat.CloseAfter {
		r.at("chat", "warn_after")("chat.warn_after (%s) must be shorter than chat.close_after (%s)", s.Chat.WarnAfter, s.Chat.CloseAfter)
	}
	if s.Chat.AgentAlias == "" {
		r.at("chat", "agent_alias")("chat.agent_alias is required")
	}
	positive(r.at("console", "session_ttl"), "console.session_ttl", s.Console.SessionTTL)
	positive(r.at("console", "lockout_for"), "console.lockout_for", s.Console.LockoutFor)
	if s.Console.LockoutAfter < 1 {
		r.at("console", "lockout_after")("console.lockout_after must be at least 1")
	}
	sp := &s.SIP
	if sp.Realm == "" {
		r.at("sip", "realm")("sip.realm is required")
	}
	if sp.RTPPortMin < 1024 || sp.RTPPortMax > 65535 || sp.RTPPortMin >= sp.RTPPortMax {
		r.at("sip", "rtp_port_min")("sip RTP port range %d-%d must satisfy 1024 <= min < max <= 65535", sp.RTPPortMin, sp.RTPPortMax)
	}
	if sp.RTPQuarantine < 0 || sp.RTPQuarantine > Duration(time.Minute) {
		r.at("sip", "rtp_quarantine")("sip.rtp_quarantine must be between 0s and 60s, got %s", sp.RTPQuarantine)
	}
	validateRTPCapacity(r, s)
	if hp := sp.HeldProbe; hp.Interval < Duration(time.Second) || hp.Interval > Duration(5*time.Minute) {
		r.at("sip", "held_probe", "interval")("sip.held_probe.interval must be between 1s and 5m, got %s", hp.Interval)
	}
	if hp := sp.HeldProbe; hp.Failures < 1 || hp.Failures > 10 {
		r.at("sip", "held_probe", "failures")("sip.held_probe.failures must be between 1 and 10, got %d", hp.Failures)
	}
	positive(r.at("sip", "no_rtp_timeout"), "sip.no_rtp_timeout", sp.NoRTPTimeout)
	positive(r.at("sip", "register_min"), "sip.register_min", sp.RegisterMin)
	positive(r.at("sip", "register_max"), "sip.register_max", sp.RegisterMax)
	if sp.RegisterMin > sp.RegisterMax {
		r.at("sip", "register_min")("sip.register_min (%s) exceeds sip.register_max (%s)", sp.RegisterMin, sp.RegisterMax)
	}
	positive(r.at("sip", "announce_every"), "sip.announce_every", sp.AnnounceEvery)
	validateMenuTimers(func(k string) func(string, ...any) { return r.at("sip", "menu", k) }, "sip.menu", &sp.Menu, true)
	s.Outbound.validate(func(path ...any) func(string, ...any) { return r.at(append([]any{"outbound"}, path...)...) },
		func(p string) bool {
			f, err := os.Open(b.Path(p))
			if err == nil {
				f.Close()
			}
			return err == nil
		})
	validateNetworks(r.at, "sip.agent_networks", sp.AgentNetworks, "sip", "agent_networks")
	validateNetworks(r.at, "sip.proxies", sp.Proxies, "sip", "proxies")
	sp.TCP.validate(r.at)
	sp.Pike.validate(r.at)
	rt := &s.Routing
	if rt.PreferredAgentWindow < 0 {
		r.at("routing", "preferred_agent_window")("routing.preferred_agent_window must be >= 0")
	}
	if rt.PreferredAgentWait < 0 {
		r.at("routing", "preferred_agent_wait")("routing.preferred_agent_wait must be >= 0")
	}
	positive(r.at("routing", "max_talk"), "routing.max_talk", rt.MaxTalk)
	positive(r.at("routing", "max_wrap_up"), "routing.max_wrap_up", rt.MaxWrapUp)
	positive(r.at("routing", "max_waiting"), "routing.max_waiting", rt.MaxWaiting)
	positive(r.at("routing", "default_aht"), "routing.default_aht", rt.DefaultAHT)
	positive(r.at("routing", "stats_every"), "routing.stats_every", rt.StatsEvery)
	positive(r.at("routing", "callback_wait"), "routing.callback_wait", rt.CallbackWait)
	if rt.ReconcileEvery < Duration(time.Second) || rt.ReconcileEvery > Duration(time.Minute) {
		r.at("routing", "reconcile_every")("routing.reconcile_every must be between 1s and 1m, got %s", rt.ReconcileEvery)
	}
	if s.Files.Hotlines == "" || s.Files.Queues == "" || s.Files.Skills == "" {
		r.at("files")("files.hotlines, files.queues and files.skills are required")
	}
}

func (b *Bundle) validateSkills(ps *Problems) {
	r := reporter{ps, b.srcSkills}
	seen := map[string]bool{}
	check := func(list string, ks []Skill) {
		for i, k := range ks {
			rep := r.at(list, i, "id")
			switch {
			case !reID.MatchString(k.ID):
				rep("bad skill id %q (lower-case letters, digits, . _ -)", k.ID)
			case seen[k.ID]:
				rep("skill %q defined twice", k.ID)
			}
			seen[k.ID] = true
		}
	}
	check("topics", b.Skills.Topics)
	check("languages", b.Skills.Languages)
	if len(b.Skills.Languages) == 0 {
		r.at()("no languages defined")
	}
}

func (b *Bundle) checkSkillMap(rep func(path ...any) func(string, ...any), m map[string]int, what string, base ...any) {
	for _, k := range sortedSkills(m) {
		p := append(append([]any{}, base...), k)
		if !b.Skills.Has(k) {
			rep(p...)("%s: unknown skill %q", what, k)
		}
		if v := m[k]; v < 1 || v > 5 {
			rep(p...)("%s: proficiency for %q must be 1-5, got %d", what, k, v)
		}
	}
}

// validateQueues returns the set of queue ids.
func (b *Bundle) validateQueues(ps *Problems) map[string]*Queue {
	r := reporter{ps, b.srcQueues}
	ids := map[string]*Queue{}
	for i := range b.Queues {
		q := &b.Queues[i]
		if !reID.MatchString(q.ID) {
			r.at("queues", i, "id")("bad queue id %q", q.ID)
		} else if ids[q.ID] != nil {
			r.at("queues", i, "id")("queue %q defined twice", q.ID)
		}
		if ids[q.ID] == nil {
			ids[q.ID] = q
		}
	}
	for i := range b.Queues {
		q := &b.Queues[i]
		at := func(path ...any) func(string, ...any) {
			return r.at(append([]any{"queues", i}, path...)...)
		}
		what := fmt.Sprintf("queue %q", q.ID)
		if len(q.Skills) == 0 {
			at("skills")("%s requires no skills (need at least a topic or a language)", what)
		}
		b.checkSkillMap(at, q.Skills, what, "skills")
		if q.ServiceLevel.Percent <= 0 || q.ServiceLevel.Percent > 100 {
			at("service_level", "percent")("%s: service_level.percent must be in (0, 100], got %g", what, q.ServiceLevel.Percent)
		}
		positive(at("service_level", "within"), what+": service_level.within", q.ServiceLevel.Within)
		if q.Weight < 1 {
			at("weight")("%s: weight must be at least 1", what)
		}
		if _, ok := parseStrategy(q.Strategy); !ok {
			at("strategy")("%s: unknown strategy %q (longest-idle, most-skilled, least-occupied, round-robin)", what, q.Strategy)
		}
		if q.MaxWaiting < 1 {
			at("max_waiting")("%s: max_waiting must be at least 1", what)
		}
		positive(at("max_wait"), what+": max_wait", q.MaxWait)
		switch q.OnFull.Action {
		case "refuse", "callback":
		case "overflow":
			if q.OnFull.Queue == "" {
				at("on_full")("%s: on_full overflow needs a queue", what)
			} else if ids[q.OnFull.Queue] == nil {
				at("on_full", "queue")("%s: on_full overflows to unknown queue %q", what, q.OnFull.Queue)
			} else if q.OnFull.Queue == q.ID {
				at("on_full", "queue")("%s: on_full overflows to itself", what)
			}
		default:
			at("on_full", "action")("%s: on_full.action must be refuse, overflow or callback, got %q", what, q.OnFull.Action)
		}
		var prev Duration
		for j, e := range q.Escalation {
			eat := func(path ...any) func(string, ...any) {
				return at(append([]any{"escalation", j}, path...)...)
			}
			positive(eat("after"), fmt.Sprintf("%s: escalation %d after", what, j+1), e.After)
			if e.After > 0 && e.After <= prev {
				eat("after")("%s: escalation steps must be in increasing order of after", what)
			}
			prev = max(prev, e.After)
			if len(e.Relax) == 0 && e.AddQueue == "" && !e.OfferCallback {
				eat()("%s: escalation %d does nothing (set relax, add_queue or offer_callback)", what, j+1)
			}
			b.checkSkillMap(eat, e.Relax, what+" escalation", "relax")
			for _, k := range sortedSkills(e.Relax) {
				if orig, ok := q.Skills[k]; !ok {
					eat("relax", k)("%s: escalation relaxes %q which the queue does not require", what, k)
				} else if e.Relax[k] > orig {
					eat("relax", k)("%s: escalation raises %q from %d to %d (relax must lower)", what, k, orig, e.Relax[k])
				}
			}
			if e.AddQueue != "" && ids[e.AddQueue] == nil {
				eat("add_queue")("%s: escalation to unknown queue %q", what, e.AddQueue)
			}
		}
		for j, o := range q.Overflow {
			if ids[o.Queue] == nil {
				at("overflow", j, "queue")("%s: overflow to unknown queue %q", what, o.Queue)
			} else if o.Queue == q.ID {
				at("overflow", j, "queue")("%s: overflow to itself", what)
			}
			if o.After < 0 {
				at("overflow", j, "after")("%s: overflow after must be >= 0", what)
			}
		}
		if q.WrapUp.Voice < 0 || q.WrapUp.Chat < 0 {
			at("wrap_up")("%s: wrap_up must be >= 0", what)
		}
		positive(at("offer_timeout", "voice"), what+": offer_timeout.voice", q.OfferTimeout.Voice)
		positive(at("offer_timeout", "chat"), what+": offer_timeout.chat", q.OfferTimeout.Chat)
		positive(at("announce", "every"), what+": announce.every", q.Announce.Every)
		if q.AgingPerMinute < 0 {
			at("aging_per_minute")("%s: aging_per_minute must be >= 0", what)
		}
		if q.Interprets != "" && !b.Skills.IsLanguage(q.Interprets) {
			at("interprets")("%s: interprets unknown language %q", what, q.Interprets)
		}
		if q.InterpretWait < 0 || (q.InterpretWait != 0 && q.Interprets == "") {
			at("interpret_wait")("%s: interpret_wait must be >= 0 and needs interprets", what)
		}
	}
	return ids
}

func (b *Bundle) validateHotlines(ps *Problems, queues map[string]*Queue) {
	r := reporter{ps, b.srcHotlines}
	h := &b.Hotlines
	validateDispositions(func() func(string, ...any) { return r.at("dispositions") }, "hotlines", h.Dispositions)
	validateCanned(func() func(string, ...any) { return r.at("canned") }, "hotlines", h.Canned)
	codes := map[string]bool{}
	for _, c := range h.Dispositions {
		codes[c] = true
	}
	for _, n := range h.Numbers {
		for _, c := range n.Dispositions {
			codes[c] = true
		}
	}
	for code, l := range h.DispositionLabels {
		switch {
		case !codes[code]:
			r.at("disposition_labels", code)("hotlines: disposition_labels names %q, which no dispositions list has", code)
		case strings.TrimSpace(l.Ko) == "" || strings.TrimSpace(l.En) == "":
			r.at("disposition_labels", code)("hotlines: disposition label %q needs ko and en", code)
		case len(l.Ko) > 200 || len(l.En) > 200:
			r.at("disposition_labels", code)("hotlines: disposition label %q longer than 200 bytes", code)
		}
	}
	days := map[string]bool{}
	for i, d := range h.Holidays {
		if _, err := time.Parse(time.DateOnly, d.Date); err != nil {
			r.at("holidays", i, "date")("bad holiday date %q (want YYYY-MM-DD)", d.Date)
		} else if days[d.Date] {
			r.at("holidays", i, "date")("holiday %s listed twice", d.Date)
		}
		days[d.Date] = true
	}
	insts := map[string]bool{}
	for i, in := range h.Institutions {
		if !reID.MatchString(in.ID) {
			r.at("institutions", i, "id")("bad institution id %q", in.ID)
		} else if insts[in.ID] {
			r.at("institutions", i, "id")("institution %q defined twice", in.ID)
		}
		insts[in.ID] = true
	}
	centers := map[string]bool{}
	for i, c := range h.Centers {
		if !reID.MatchString(c.ID) {
			r.at("centers", i, "id")("bad center id %q", c.ID)
		} else if centers[c.ID] {
			r.at("centers", i, "id")("center %q defined twice", c.ID)
		}
		centers[c.ID] = true
		if !insts[c.Institution] {
			r.at("centers", i, "institution")("center %q: unknown institution %q", c.ID, c.Institution)
		}
	}
	numbers := map[string]string{} // normalized -> as written
	for i := range h.Numbers {
		n := &h.Numbers[i]
		at := func(path ...any) func(string, ...any) {
			return r.at(append([]any{"numbers", i}, path...)...)
		}
		norm := NormalizeNumber(n.Number)
		what := fmt.Sprintf("number %q", n.Number)
		if norm == "" {
			at("number")("number %d is empty", i+1)
		} else if prev, dup := numbers[norm]; dup {
			at("number")("%s used twice (also %q)", what, prev)
		} else {
			numbers[norm] = n.Number
		}
		switch n.Status {
		case "verified", "verified-secondary", "unverified", "derived":
		default:
			at("status")("%s: status must be verified, verified-secondary, unverified or derived, got %q", what, n.Status)
		}
		if !centers[n.Center] {
			at("center")("%s: unknown center %q", what, n.Center)
		}
		if !b.Skills.IsLanguage(n.Language) {
			at("language")("%s: unknown language %q", what, n.Language)
		}
		for j, l := range n.Languages {
			if !b.Skills.IsLanguage(l) && !(l == n.Language && len(n.Languages) == 1) {
				at("languages", j)("%s: unknown language %q", what, l)
			}
		}
		if n.RetentionDays != nil && *n.RetentionDays < 0 {
			at("retention_days")("%s: retention_days must be >= 0", what)
		}
		b.validateRecording(at, what, n)
		if n.Referral != "" {
			continue // not routed
		}
		if n.Queue == "" {
			at("queue")("%s: queue is required (or referral for lines onecall does not answer)", what)
		} else if queues[n.Queue] == nil {
			at("queue")("%s: unknown queue %q", what, n.Queue)
		}
		validateHours(at, what, &n.Hours)
		switch n.Closed.Action {
		case "refuse", "callback":
		case "overflow":
			if queues[n.Closed.Queue] == nil {
				at("closed", "queue")("%s: closed overflow to unknown queue %q", what, n.Closed.Queue)
			}
		default:
			at("closed", "action")("%s: closed.action must be refuse, callback or overflow, got %q", what, n.Closed.Action)
		}
		validateDispositions(func() func(string, ...any) { return at("dispositions") }, what, n.Dispositions)
		validateOutside(at, what, n)
		validateCanned(func() func(string, ...any) { return at("canned") }, what, n.Canned)
		if n.IVR != nil {
			validateMenuTimers(func(k string) func(string, ...any) { return at("ivr", k) }, what+": ivr", n.IVR, false)
		}
		if len(n.Menu) > MaxMenuItems {
			at("menu")("%s: menu has %d items; keep it to at most %d", what, len(n.Menu), MaxMenuItems)
		}
		digits := map[string]bool{}
		for j, m := range n.Menu {
			if !ValidMenuDigits(m.Digit) {
				at("menu", j, "digit")("%s: bad menu digit %q (one or two of 0-9, or a lone *)", what, m.Digit)
			} else if digits[m.Digit] {
				at("menu", j, "digit")("%s: menu digit %q used twice", what, m.Digit)
			}
			digits[m.Digit] = true
			if queues[m.Queue] == nil {
				at("menu", j, "queue")("%s: menu digit %q goes to unknown queue %q", what, m.Digit, m.Queue)
			}
			if m.Language != "" && !b.Skills.IsLanguage(m.Language) {
				at("menu", j, "language")("%s: menu digit %q: unknown language %q", what, m.Digit, m.Language)
			}
		}
		codes := map[string]bool{}
		for j, a := range n.Areas {
			if len(a.Codes) == 0 {
				at("areas", j)("%s: area route without codes", what)
			}
			for k, c := range a.Codes {
				if c == "" || NormalizeNumber(c) != c || c[0] != '0' {
					at("areas", j, "codes", k)("%s: bad area code %q (want e.g. \"02\", \"051\")", what, c)
				} else if codes[c] {
					at("areas", j, "codes", k)("%s: area code %q routed twice", what, c)
				}
				codes[c] = true
			}
			t := b.findNumber(NormalizeNumber(a.Number))
			switch {
			case t == nil:
				at("areas", j, "number")("%s: area route to unknown number %q", what, a.Number)
			case len(t.Areas) > 0:
				at("areas", j, "number")("%s: area route to %q, which has area routes itself", what, a.Number)
			case t.Referral != "":
				at("areas", j, "number")("%s: area route to referral-only number %q", what, a.Number)
			}
		}
	}
	for i, a := range h.Aliases {
		at := func(path ...any) func(string, ...any) {
			return r.at(append([]any{"aliases", i}, path...)...)
		}
		norm := NormalizeNumber(a.Number)
		if norm == "" {
			at("number")("alias %d is empty", i+1)
		} else if prev, dup := numbers[norm]; dup {
			at("number")("alias %q used twice (also %q)", a.Number, prev)
		} else {
			numbers[norm] = a.Number
		}
	}
	for i, a := range h.Aliases {
		t := NormalizeNumber(a.Target)
		found := false
		for _, n := range h.Numbers {
			if NormalizeNumber(n.Number) == t {
				found = true
				break
			}
		}
		if !found {
			r.at("aliases", i, "target")("alias %q points nowhere: %q is not a number", a.Number, a.Target)
		}
	}
}

func validateHours(at func(path ...any) func(string, ...any), what string, h *Hours) {
	if h.Always {
		return
	}
	total := 0
	for _, day := range []struct {
		key   string
		spans []Span
	}{{"weekdays", h.Weekdays}, {"weekends", h.Weekends}, {"saturday", h.Saturday}, {"sunday", h.Sunday}, {"holidays", h.Holidays}} {
		total += len(day.spans)
		for j, s := range day.spans {
			rep := at("hours", day.key, j)
			if s.From < 0 || s.To > 24*60 || s.From >= 24*60 {
				rep("%s: impossible time in %s span %s", what, day.key, s)
			} else if s.From >= s.To {
				rep("%s: %s span %s ends before it starts", what, day.key, s)
			}
			for k := 0; k < j; k++ {
				if o := day.spans[k]; s.From < o.To && o.From < s.To {
					rep("%s: %s spans %s and %s overlap", what, day.key, o, s)
				}
			}
		}
	}
	if total == 0 {
		at("hours")("%s: never open (set always: true or some hours)", what)
	}
}

// validate checks the roster on its own; with a bundle it also checks
// skill ids and queue memberships.
func (r *Roster) validate(ps *Problems, b *Bundle) {
	rep := reporter{ps, r.src}
	if rep.src == nil {
		rep.src = &source{file: r.file}
	}
	var queues map[string]bool
	if b != nil {
		queues = map[string]bool{}
		for _, q := range b.Queues {
			queues[q.ID] = true
		}
	}
	seen := map[string]bool{}
	aliases := map[string]string{}
	for i := range r.Users {
		u := &r.Users[i]
		at := func(path ...any) func(string, ...any) {
			return rep.at(append([]any{"users", i}, path...)...)
		}
		what := fmt.Sprintf("user %q", u.Username)
		if !reID.MatchString(u.Username) {
			at("username")("bad username %q", u.Username)
		} else if seen[u.Username] {
			at("username")("user %q defined twice", u.Username)
		}
		seen[u.Username] = true
		if u.Alias != "" {
			if other, dup := aliases[u.Alias]; dup && other != u.Username {
				at("alias")("%s: alias %q already used by %q", what, u.Alias, other)
			} else {
				aliases[u.Alias] = u.Username
			}
		}
		if u.Password == "" {
			at("password")("%s has no password", what)
		}
		switch u.Role {
		case "agent", "supervisor", "admin":
		default:
			at("role")("%s: role must be agent, supervisor or admin, got %q", what, u.Role)
		}
		for _, k := range sortedSkills(u.Skills) {
			if v := u.Skills[k]; v < 1 || v > 5 {
				at("skills", k)("%s: proficiency for %q must be 1-5, got %d", what, k, v)
			}
			if b != nil && !b.Skills.Has(k) {
				at("skills", k)("%s: unknown skill %q", what, k)
			}
		}
		if u.Voice != nil && (*u.Voice < 0 || *u.Voice > 1) {
			at("voice")("%s: voice capacity must be 0 or 1", what)
		}
		if u.Chat != nil && (*u.Chat < 0 || *u.Chat > 20) {
			at("chat")("%s: chat capacity must be 0-20", what)
		}
		if u.Role == "agent" && len(u.Skills) == 0 {
			at()("%s: agent has no skills", what)
		}
		for j, q := range u.Queues {
			if queues != nil && !queues[q] {
				at("queues", j)("%s: unknown queue %q", what, q)
			}
		}
	}
}

// canServe reports whether u meets skills (with language replaced when
// lang is set) and may take queue q.
func (u *User) canServe(b *Bundle, q *Queue, lang string) bool {
	if u.Disabled || !u.IsAgent() {
		return false
	}
	if len(u.Queues) > 0 {
		ok := false
		for _, id := range u.Queues {
			ok = ok || id == q.ID
		}
		if !ok {
			return false
		}
	}
	for _, req := range effectiveSkills(b, q, lang) {
		if u.Skills[req.Skill] < req.Min {
			return false
		}
	}
	return true
}

// validateCoverage reports queues (and menu language choices) that no agent
// of the roster could ever serve.
func (b *Bundle) validateCoverage(ps *Problems) {
	r := reporter{ps, b.srcQueues}
	for i := range b.Queues {
		q := &b.Queues[i]
		if b.Roster.servers(b, q, "") == 0 {
			r.at("queues", i, "id")("queue %q: no agent in the roster can serve it", q.ID)
		}
	}
	hr := reporter{ps, b.srcHotlines}
	for i, n := range b.Hotlines.Numbers {
		if q := b.queue(n.Queue); q != nil && n.Referral == "" && n.Language != "" && q.Skills[n.Language] == 0 && b.Roster.servers(b, q, n.Language) == 0 {
			hr.at("numbers", i, "language")("number %q: no agent in the roster serves queue %q in %q", n.Number, n.Queue, n.Language)
		}
		for j, m := range n.Menu {
			if m.Language == "" {
				continue
			}
			q := b.queue(m.Queue)
			if q != nil && b.Roster.servers(b, q, m.Language) == 0 {
				hr.at("numbers", i, "menu", j)("number %q menu %q: no agent in the roster serves queue %q in %q", n.Number, m.Digit, m.Queue, m.Language)
			}
		}
	}
}

// servers counts roster agents able to serve q (in lang, if set).
func (r *Roster) servers(b *Bundle, q *Queue, lang string) int {
	n := 0
	for i := range r.Users {
		if r.Users[i].canServe(b, q, lang) {
			n++
		}
	}
	return n
}

func (b *Bundle) queue(id string) *Queue {
	for i := range b.Queues {
		if b.Queues[i].ID == id {
			return &b.Queues[i]
		}
	}
	return nil
}

// MaxMenuItems bounds one IVR menu (20 languages of 1345 and a spare).
const MaxMenuItems = 30

// ValidMenuDigits reports whether d can key an IVR menu choice: one or two
// digits 0-9, or a lone "*". '#' is not a choice: it ends digit entry.
// A choice that is a prefix of a longer one ("1" and "12") is allowed:
// the caller ends it with '#' or by waiting the IVR's inter-digit timeout;
// prefix-free menus (the shipped ones) never make a caller wait.
func ValidMenuDigits(d string) bool {
	if d == "*" {
		return true
	}
	if len(d) < 1 || len(d) > 2 {
		return false
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return false
		}
	}
	return true
}

// RTPPairsNeeded is how many RTP port pairs max_calls needs: two legs per
// call (citizen and agent) plus the pairs that sit in quarantine when calls
// end at max_calls_per_second (each ended call frees two pairs).
func RTPPairsNeeded(maxCalls int, cps float64, quarantine time.Duration) int {
	return 2*maxCalls + int(math.Ceil(2*cps*quarantine.Seconds()))
}

// RTPPairs is the number of RTP port pairs (even RTP port, RTCP the next)
// in [min, max].
func RTPPairs(min, max int) int {
	base := min + min%2
	if max < base+1 {
		return 0
	}
	return (max - base + 1) / 2
}

// validateRTPCapacity refuses a max_calls the RTP port range cannot serve:
// beyond it, calls would fail for want of ports instead of getting a clean
// 503 at the cap.
func validateRTPCapacity(r reporter, s *Server) {
	sp, l := &s.SIP, &s.Limits
	if l.MaxCalls <= 0 || sp.RTPPortMin >= sp.RTPPortMax {
		return // reported above
	}
	have := RTPPairs(sp.RTPPortMin, sp.RTPPortMax)
	need := RTPPairsNeeded(l.MaxCalls, l.MaxCallsPerSecond, sp.RTPQuarantine.D())
	if need > have {
		r.at("limits", "max_calls")("limits.max_calls %d needs %d RTP port pairs (2 per call + %s quarantine at %.0f calls/s), "+
			"but sip.rtp_port_min..rtp_port_max (%d-%d) holds %d: lower max_calls or widen the range",
			l.MaxCalls, need, sp.RTPQuarantine, l.MaxCallsPerSecond, sp.RTPPortMin, sp.RTPPortMax, have)
	}
}
