'use strict';
// onecall console: sign-in, connection and agent view. Plain JS, no build.
// The supervisor wallboard is in wallboard.js.
// All citizen/agent text is rendered with textContent, never as HTML.
(function () {
  const $ = (id) => document.getElementById(id);
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  };
  let lang = localStorage.getItem('lang') || 'ko';
  const t = (k) => (I18N[lang] && I18N[lang][k]) || (I18N.en[k]) || k;

  const S = {
    csrf: '', me: null, ws: null, seq: 0, retry: 0, takenOver: false, clockSkew: 0,
    agent: null, contacts: new Map(), wrap: [], queues: new Map(), agents: new Map(), chart: [],
    reasons: [], dispositions: {}, canned: {}, selected: 0, logs: new Map(), unread: new Map(), timeline: new Map(), tlHist: new Map(),
    names: {}, gone: new Map(), drill: '', waiting: [], follow: 0, nextId: 1, pending: new Map(), typingAt: new Map()
  };
  window.onecall = S; // for tests and debugging

  function applyI18n() {
    document.documentElement.lang = lang;
    document.querySelectorAll('[data-i18n]').forEach((e) => { e.textContent = t(e.dataset.i18n); });
    document.querySelectorAll('[data-i18n-ph]').forEach((e) => { e.placeholder = t(e.dataset.i18nPh); });
    document.querySelectorAll('[data-i18n-aria]').forEach((e) => { e.setAttribute('aria-label', t(e.dataset.i18nAria)); });
    $('lang').textContent = lang === 'ko' ? 'EN' : '한국어'; $('lang').lang = lang === 'ko' ? 'en' : 'ko';
  }
  $('lang').onclick = () => {
    lang = lang === 'ko' ? 'en' : 'ko'; localStorage.setItem('lang', lang); applyI18n();
    if (S.connState) setConn(S.connState);
    $('nrreason').querySelectorAll('option').forEach((o) => { o.textContent = reasonName(o.value); });
    if (S.me) $('who').textContent = S.me.display + ' (' + roleName(S.me.role) + ')';
    if (S.hist) renderHistory(S.hist);
    render();
  };

  async function api(method, path, body) {
    const r = await fetch(path, {
      method, credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': S.csrf },
      body: body ? JSON.stringify(body) : undefined
    });
    let data = null;
    try { data = await r.json(); } catch (e) { /* empty */ }
    return { status: r.status, data };
  }

  // ---- sign-in ----
  async function boot() {
    applyI18n();
    const r = await api('GET', '/api/session');
    if (r.status === 200) { signedIn(r.data); } else { showLogin(); }
  }
  function showLogin() {
    ['agent', 'super', 'banner'].forEach((id) => { $(id).hidden = true; });
    $('login').hidden = false; $('signout').hidden = true; $('who').textContent = '';
    $('conn').textContent = '';
  }
  $('loginform').onsubmit = async (ev) => {
    ev.preventDefault();
    $('loginerr').textContent = '';
    const r = await api('POST', '/api/login', { username: $('username').value, password: $('password').value });
    if (r.status === 200) { $('password').value = ''; signedIn(r.data); return; }
    $('loginerr').textContent = r.status === 423 ? t('locked') : t('wrongpw');
  };
  $('signout').onclick = async () => {
    await api('POST', '/api/logout');
    if (S.ws) { S.ws.onclose = null; S.ws.close(); }
    S.csrf = ''; showLogin();
  };
  function signedIn(d) {
    S.csrf = d.csrf; S.me = d;
    $('login').hidden = true; $('signout').hidden = false;
    $('who').textContent = d.display + ' (' + roleName(d.role) + ')';
    connect();
  }

  // ---- WebSocket with resync ----
  function connect() {
    if (S.ws && S.ws.readyState <= 1) return;
    S.takenOver = false; $('banner').hidden = true;
    const proto = location.protocol === 'https:' ? 'wss://' : 'ws://';
    const ws = new WebSocket(proto + location.host + '/ws/console?csrf=' + encodeURIComponent(S.csrf));
    S.ws = ws;
    setConn('connecting');
    ws.onopen = () => { S.retry = 0; setConn('online'); };
    ws.onmessage = (m) => {
      // The rest of a large agent list (about 1 MB for 9,500 agents) comes
      // right behind the snapshot: parsing it waits until the first screen
      // is painted, so it does not delay that frame.
      if (typeof m.data === 'string' && m.data.startsWith('{"t":"agents"') && S.me && S.me.role !== 'agent' && !W.painted()) {
        W.whenPainted(() => { if (S.ws === ws) ws.onmessage(m); });
        return;
      }
      let msg; const t0 = performance.now();
      try { msg = JSON.parse(m.data); } catch (e) { return; }
      // The first snapshot's size and parse time, for the wallboard's profile.
      if (msg.t === 'snapshot' && !S.seq) performance.measure('snapshot-parse', { start: t0, detail: m.data.length });
      onMessage(msg);
    };
    ws.onclose = (ev) => {
      if (S.ws !== ws) return;
      S.ws = null; setConn('offline');
      if (ev.code === 4001) { S.takenOver = true; $('bannertext').textContent = t('takenover'); $('banner').hidden = false; return; }
      if (ev.code === 4003) { showLogin(); return; }
      const delay = Math.min(10000, 250 * Math.pow(2, S.retry++)) * (0.5 + Math.random() / 2);
      setTimeout(() => { if (!S.takenOver && S.csrf) connect(); }, delay);
    };
  }
  $('takeback').onclick = () => connect();
  window.addEventListener('online', () => { if (!S.takenOver && S.csrf) connect(); });
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && !S.takenOver && S.csrf && !S.ws) connect();
  });
  function setConn(k) { S.connState = k; $('conn').textContent = t(k); $('conn').className = 'pill ' + k; }

  function send(cmd, args) {
    return new Promise((resolve, reject) => {
      if (!S.ws || S.ws.readyState !== 1) { reject(new Error('offline')); return; }
      const id = S.nextId++;
      S.pending.set(id, { resolve, reject });
      S.ws.send(JSON.stringify({ id, cmd, args: args || {} }));
    });
  }
  function toast(msg) {
    const d = el('div', 'toast', msg);
    document.body.appendChild(d);
    setTimeout(() => d.remove(), 4000);
  }
  // errText shows an error in the UI's language: the server's error code
  // when it has one, else its text.
  function errText(e) {
    if (e.text && (e.text[lang] || e.text.en)) return e.text[lang] || e.text.en; // the server's own words, in both languages
    const k = 'e_' + (e.code || e.message);
    return t(k) === k ? e.message : t(k);
  }
  const act = (cmd, args) => send(cmd, args).catch((e) => toast(errText(e)));

  function onMessage(m) {
    if (m.t === 'snapshot') { snapshot(m.seq, m.data); return; }
    if (m.t === 'agents') { // the rest of a large agent list, as of the snapshot
      if (m.seq === S.seq) { (m.data || []).forEach((a) => { if (!S.agents.has(a.id)) S.agents.set(a.id, a); }); S.agentCounts = null; W.onAgents(); }
      return;
    }
    if (m.t === 'reply' || m.t === 'error') {
      const p = S.pending.get(m.id);
      const err = () => Object.assign(new Error(m.error), { code: m.code || '', text: m.text || null });
      if (p) { S.pending.delete(m.id); m.t === 'reply' ? p.resolve(m.data) : p.reject(err()); }
      else if (m.t === 'error') toast(errText(err()));
      return;
    }
    if (m.t === 'event') {
      if (m.seq <= S.seq) return; // already in the snapshot
      S.seq = m.seq;
      onEvent(m.kind, m.data);
    }
  }

  function snapshot(seq, d) {
    S.seq = seq; S.clockSkew = d.server_time - Date.now();
    S.me = Object.assign(S.me || {}, d.me);
    S.reasons = d.reasons || []; S.dispositions = d.dispositions || {}; S.canned = d.canned || {}; S.names = d.names || {}; S.required = d.disposition_required || []; S.canMute = !!d.can_mute;
    S.agent = d.agent || null;
    S.contacts = new Map((d.contacts || []).map((c) => [c.id, c]));
    S.wrap = d.wrap_up || [];
    S.qinfo = new Map((d.queue_info || []).map((i) => [i.id, i]));
    S.queues = new Map((d.queues || []).map((q) => [q.queue, q]));
    S.agents = new Map((d.agents || []).map((a) => [a.id, a]));
    S.agentCounts = d.agent_counts || null; // all agents by state until the rest of the list arrives
    S.chart = d.chart || [];
    const isAgent = d.me.role === 'agent';
    $('agent').hidden = !isAgent; $('super').hidden = isAgent;
    if (isAgent) {
      const sel = $('nrreason'); sel.replaceChildren();
      S.reasons.forEach((r) => { const o = el('option', '', reasonName(r)); o.value = r; sel.appendChild(o); });
      // Load transcripts of live chats (resync after a drop).
      S.contacts.forEach((c) => { if (c.state === 'talking') loadTranscript(c.id); });
    } else {
      W.snapshot(d);
      $('admin').hidden = d.me.role !== 'admin';
      if (d.me.role === 'admin') loadUsers();
    }
    render();
  }

  // ---- admin: users ----
  function parseSkills(s) {
    const out = {};
    s.split(',').map((x) => x.trim()).filter(Boolean).forEach((kv) => { const [k, v] = kv.split('='); out[k.trim()] = Number(v); });
    return out;
  }
  const fmtSkills = (m) => Object.entries(m || {}).sort().map(([k, v]) => k + '=' + v).join(',');
  async function loadUsers() {
    const r = await api('GET', '/api/users');
    if (r.status !== 200) return;
    const tb = $('users').tBodies[0]; tb.replaceChildren();
    r.data.forEach((u) => {
      const tr = el('tr'); tr.dataset.user = u.username;
      tr.appendChild(el('td', '', u.username + (u.display_name && u.display_name !== u.username ? ' (' + u.display_name + ')' : '')));
      tr.appendChild(el('td', '', roleName(u.role)));
      const sk = el('input', 'skills'); sk.value = fmtSkills(u.skills); sk.size = 18;
      const td = el('td'); td.appendChild(sk); tr.appendChild(td);
      const cap = el('input', 'cap'); cap.value = u.voice_cap + '/' + u.chat_cap; cap.size = 4;
      const tdc = el('td'); tdc.appendChild(cap); tr.appendChild(tdc);
      tr.appendChild(el('td', '', u.disabled ? t('disabled') : (u.locked ? t('locked_u') : t('active_u'))));
      const acts = el('td');
      const bs = el('button', '', t('saveskills')); bs.type = 'button';
      bs.onclick = () => {
        const [v, c] = cap.value.split('/').map((x) => Number(x.trim()));
        userUpdate(u.username, { skills: parseSkills(sk.value), voice_cap: v, chat_cap: c });
      };
      const bd = el('button', '', u.disabled ? t('enable') : t('disable')); bd.type = 'button';
      bd.onclick = () => userUpdate(u.username, { disabled: !u.disabled });
      const pw = el('input', 'pw'); pw.type = 'password'; pw.placeholder = t('newpw'); pw.size = 10; pw.autocomplete = 'new-password';
      const bp = el('button', '', t('resetpw')); bp.type = 'button';
      bp.onclick = async () => { const r = await api('POST', '/api/users/' + encodeURIComponent(u.username) + '/password', { password: pw.value }); if (r.status !== 200) toast((r.data || {}).error || r.status); pw.value = ''; loadUsers(); };
      acts.append(bs, bd, pw, bp); tr.appendChild(acts); tb.appendChild(tr);
    });
  }
  async function userUpdate(name, body) {
    const r = await api('POST', '/api/users/' + encodeURIComponent(name), body);
    if (r.status !== 200) toast((r.data || {}).error || String(r.status));
    loadUsers();
  }
  $('newuser').onsubmit = async (ev) => {
    ev.preventDefault();
    const r = await api('POST', '/api/users', { username: $('nu-name').value.trim(), role: $('nu-role').value, password: $('nu-pw').value, skills: parseSkills($('nu-skills').value) });
    if (r.status !== 200) { toast((r.data || {}).error || String(r.status)); return; }
    $('nu-name').value = ''; $('nu-pw').value = ''; $('nu-skills').value = '';
    loadUsers();
  };

  // ---- live contact timeline ----
  // Every event about a contact the agent holds, as it happens: state
  // changes, hold and resume, mute and unmute, transfers, queue moves,
  // consult steps and any event kind a later feature sends with a contact
  // (labelled where the UI knows the type, shown raw otherwise), after the
  // contact's stored history.
  const TL_SKIP = new Set(['chat', 'typing', 'queue_stats', 'agent_state', 'read', 'delivered']);
  // An entry's detail is a list of parts: text, {q: queue id} or {r: reason},
  // named when drawn, so a language switch names them again.
  function tlAdd(id, type, parts, at) {
    if (!id || !type) return;
    const l = S.timeline.get(id) || [];
    const last = l[l.length - 1];
    const key = JSON.stringify(parts || []);
    if (last && last.type === type && last.key === key) return;
    l.push({ at: at || nowS(), type, parts: parts || [], key });
    if (l.length > 60) l.shift();
    S.timeline.set(id, l);
  }
  function tlEvent(kind, d) {
    if (!d || TL_SKIP.has(kind)) return;
    if (kind === 'contact_state' || kind === 'offer' || kind === 'connected') {
      const prev = S.contacts.get(d.id) || {};
      if (prev.state !== d.state) tlAdd(d.id, d.state || kind);
      if (!!d.held !== !!prev.held) tlAdd(d.id, d.held ? 'hold' : 'resume');
      if (!!d.muted !== !!prev.muted) tlAdd(d.id, d.muted ? 'mute' : 'unmute');
      const tr = d.transfers || [];
      if (tr.length > (prev.transfers || []).length) { const x = tr[tr.length - 1]; tlAdd(d.id, 'transfer', [x.by, x.to_queue ? { q: x.to_queue } : x.to_agent, x.note]); }
      if (prev.queue && d.queue && prev.queue !== d.queue) tlAdd(d.id, 'queue_move', [{ q: d.queue }]);
      return;
    }
    const id = d.contact || 0;
    if (!id || !(S.contacts.has(id) || S.timeline.has(id))) return;
    if (kind === 'monitor') { tlAdd(id, d.mode ? 'supervisor_' + d.mode : 'supervisor_left', [d.by]); return; }
    tlAdd(id, d.step || d.type || kind, [d.by, d.agent, d.queue ? { q: d.queue } : '', d.reason ? { r: d.reason } : '']);
  }
  // tlLabel names an event type in the UI's language, never as its raw key
  // (snake_case or kebab-case, e.g. consult_answered, callback-booked): an
  // event type the UI does not know yet shows as "other event".
  function tlLabel(type) {
    const k0 = String(type).replace(/-/g, '_');
    for (const k of ['tl_' + k0, 'cs_' + k0, 'ev_' + k0]) if (t(k) !== k) return t(k);
    return t('tl_other');
  }
  // tlReason: a reason the UI can name (not-ready, end and monitoring
  // reasons); engine and transport texts (in English) are left out.
  function tlReason(r) {
    if (!r) return '';
    const k0 = String(r).replace(/-/g, '_');
    for (const k of ['r_' + r, 'end_' + k0, 'mr_' + r]) if (t(k) !== k) return t(k);
    return failWhy(r);
  }
  // failWhy names why a consult or interpreter call was not reached (the
  // transport's English words: busy, rejected, no answer, hung up ...).
  function failWhy(r) {
    if (!r) return '';
    const s = String(r).toLowerCase();
    if (/busy/.test(s)) return t('cf_busy');
    if (/reject|declin|refus/.test(s)) return t('cf_rejected');
    if (/no.?answer|timeout|gave the ring up/.test(s)) return t('cf_noanswer');
    if (/hung up|hangup/.test(s)) return t('cf_hungup');
    return lang === 'en' ? String(r) : t('cf_failed');
  }
  async function loadTimeline(id) {
    try {
      const evs = await send('contact_history', { contact: id });
      S.tlHist.set(id, (evs || []).map((e) => ({ at: e.at, type: e.state, parts: [e.queue ? { q: e.queue } : '', e.agent] })));
    } catch (e) { /* the live part still shows */ }
  }
  function renderTimeline(p, c) {
    const ol = p.querySelector('.timeline');
    // The stored history and what this console saw live, in time order; a
    // live step the store already has (same kind within 3 s) shows once.
    const hist = S.tlHist.get(c.id) || [];
    const live = (S.timeline.get(c.id) || []).filter((x) => !hist.some((h) => h.type === x.type && Math.abs(h.at - x.at) < 3000));
    const items = hist.concat(live).sort((a, b) => a.at - b.at);
    const key = lang + ':' + items.length;
    if (ol.dataset.k === key) return;
    ol.dataset.k = key;
    ol.replaceChildren(...items.map((x) => {
      const li = el('li', 'tl tl-' + x.type.replace(/[^a-z0-9_-]/gi, ''));
      li.appendChild(el('time', 'muted', new Date(x.at).toLocaleTimeString(lang === 'ko' ? 'ko-KR' : 'en-GB')));
      li.appendChild(el('b', '', ' ' + tlLabel(x.type)));
      const detail = (x.parts || []).map((p) => (!p || typeof p === 'string' ? p : p.q ? queueName(p.q) : tlReason(p.r))).filter(Boolean).join(' · ');
      if (detail) li.appendChild(el('span', 'muted', ' · ' + detail));
      return li;
    }));
  }

  function onEvent(kind, d) {
    if (S.me.role !== 'agent') { W.onEvent(kind, d); return; } // the wallboard renders at most 10 times a second
    tlEvent(kind, d);
    switch (kind) {
      case 'agent_state':
        if (d.id === S.me.user) {
          if (d.forced_by && !(S.agent && S.agent.forced_by)) toast(t('forcedby').replace('{by}', d.forced_by));
          S.agent = d;
        }
        break;
      case 'offer':
        S.contacts.set(d.id, d);
        break;
      case 'offer_withdrawn':
        S.contacts.delete(d.contact);
        break;
      case 'connected':
        S.contacts.set(d.id, d);
        S.selected = d.id; loadTranscript(d.id);
        break;
      case 'contact_state':
        // held and muted are left out when cleared (resume, unmute).
        // So are a consult, an interpreter and a monitoring once over.
        if (d.agent === S.me.user) S.contacts.set(d.id, Object.assign(S.contacts.get(d.id) || {}, { held: 0, muted: 0, consult: null, interpreter: '', monitor: null }, d));
        else { if (S.contacts.has(d.id)) S.gone.set(d.id, S.contacts.get(d.id)); S.contacts.delete(d.id); } // transferred away
        break;
      case 'consult':
        // The consulted agent sees who consults, with the note; the
        // consulting agent why a target was not reached.
        if (d.agent === S.me.user && d.step === 'consult') toast(t('consultfrom').replace('{by}', d.by) + (d.note ? ' · ' + d.note : ''));
        if (d.language) { // an interpreter from an interpreter queue (issue 11)
          const ln = langName(d.language);
          if (d.agent === S.me.user && d.step === 'consult') toast(t('interpfrom').replace('{lang}', ln).replace('{by}', d.by) + (d.view ? ' · ' + citizenLabel(d.view) : '') + (d.note ? ' · ' + d.note : ''));
          if (d.by === S.me.user && d.step === 'consult_failed') toast((d.agent ? t('interpnotreached') : t('interpfailed')).replace('{lang}', ln).replace('{reason}', failWhy(d.reason)));
          if (d.by === S.me.user && d.step === 'interpret_waiting') toast(t('interpwaiting').replace('{lang}', ln));
          break;
        }
        if (d.by === S.me.user && d.step === 'consult_failed') toast(t('consultfailed').replace('{reason}', failWhy(d.reason)));
        break;
      case 'transferred': {
        // A contact this agent transferred: its own wrap-up form.
        const c = S.contacts.get(d.contact) || S.gone.get(d.contact) || { id: d.contact, channel: d.channel };
        if (d.wrap_up && !S.wrap.some((w) => w.contact === d.contact)) {
          S.wrap.push({ contact: d.contact, number: c.number, channel: c.channel || d.channel, queue: c.queue, citizen: citizenLabel(c),
            closed: nowS(), required: (S.required || []).includes(c.queue) });
        }
        S.contacts.delete(d.contact); S.gone.delete(d.contact);
        draftSet(d.contact, '');
        break;
      }
      case 'contact_closed': {
        const c = S.contacts.get(d.contact);
        if (c && c.state === 'talking') {
          S.wrap.push({ contact: d.contact, number: c.number, channel: c.channel, queue: c.queue, citizen: citizenLabel(c),
            closed: nowS(), required: (S.required || []).includes(c.queue) });
        }
        S.contacts.delete(d.contact);
        draftSet(d.contact, '');
        addLine(d.contact, { sender: 'system', text: t('closed') + ' (' + endName(d.reason) + ')' });
        break;
      }
      case 'queue_stats':
        d.forEach((q) => S.queues.set(q.queue, q));
        break;
      case 'chat':
        onChat(d);
        break;
    }
    render();
  }

  // ---- chat ----
  function addLine(id, line) {
    if (!S.logs.has(id)) S.logs.set(id, []);
    const log = S.logs.get(id);
    if (line.seq && log.some((l) => l.seq === line.seq && l.sender === line.sender)) return;
    log.push(line);
    if (id !== S.selected && line.sender === 'citizen') S.unread.set(id, (S.unread.get(id) || 0) + 1);
  }
  function onChat(d) {
    if (d.kind === 'typing') { S.typingAt.set(d.contact, Date.now()); return; }
    if (d.kind === 'message') {
      addLine(d.contact, d);
      if (d.contact === S.selected && d.sender === 'citizen') act('read', { contact: d.contact, seq: d.seq });
    }
    if (d.kind === 'left') addLine(d.contact, { sender: 'system', text: t('closed') });
  }
  async function loadTranscript(id, wrap) {
    const c = S.contacts.get(id);
    if (!wrap && (!c || c.channel !== 'chat')) return;
    try {
      const lines = await send('transcript', { contact: id });
      const old = S.logs.get(id) || [];
      S.logs.set(id, []);
      (lines || []).forEach((l) => addLine(id, { seq: l.seq, sender: l.sender, text: l.text, sent: Date.parse(l.sent) }));
      old.filter((l) => !l.seq).forEach((l) => S.logs.get(id).push(l));
      render();
    } catch (e) { /* chat not available */ }
  }
  async function loadHistory(id) {
    try {
      const items = await send('history', { contact: id });
      return items || [];
    } catch (e) { return []; }
  }

  // ---- offers ----
  // Every offered contact is a card in the offer stack (#offer), oldest
  // first, each with its own countdown and buttons: two offers at once are
  // both visible and both acceptable.
  const seenOffers = new Set();
  function beep() {
    try {
      const ac = new (window.AudioContext || window.webkitAudioContext)();
      const o = ac.createOscillator(); const g = ac.createGain();
      o.frequency.value = 880; g.gain.value = 0.1; o.connect(g); g.connect(ac.destination);
      o.start(); o.stop(ac.currentTime + 0.25);
    } catch (e) { /* no audio */ }
  }
  const baseTitle = document.title;
  let flashTimer = 0;
  function flashTitle(on) {
    if (on === !!flashTimer) return; // already flashing, or already calm: render runs every second
    clearInterval(flashTimer); flashTimer = 0;
    document.title = baseTitle;
    if (!on) return;
    let odd = false;
    const tick = () => { odd = !odd; document.title = odd ? '🔔 ' + t('newoffer') + ' - ' + baseTitle : baseTitle; };
    tick(); flashTimer = setInterval(tick, 1000);
  }
  function notifyOffer(c) {
    S.notified = (S.notified || 0) + 1;
    if (!('Notification' in window) || Notification.permission !== 'granted') return;
    try {
      const n = new Notification(t('newoffer'), { body: t(c.channel) + ' · ' + queueName(c.queue) + ' · ' + citizenLabel(c), tag: 'offer-' + c.id });
      n.onclick = () => { window.focus(); n.close(); };
    } catch (e) { /* not allowed here */ }
  }
  function askNotify() {
    if ('Notification' in window && Notification.permission === 'default') {
      try { Notification.requestPermission(); } catch (e) { /* ignored */ }
    }
  }
  const offered = () => [...S.contacts.values()].filter((c) => c.state === 'offered')
    .sort((a, b) => (a.deadline || 0) - (b.deadline || 0) || a.id - b.id);
  // A booked callback offered agent first (attrs.kind "callback", set by
  // sip/callback.go): accepting it makes onecall dial the citizen.
  const isCallback = (c) => !!(c.attrs && c.attrs.kind === 'callback');
  const CB_ATTRS = new Set(['kind', 'booked_at', 'waited_s', 'attempt', 'last_outcome', 'next_at', 'source', 'callback_number']);
  function callbackFacts(c) {
    const a = c.attrs || {}, out = [];
    const add = (k, v) => { if (v !== undefined && v !== '' && v !== null) out.push([t(k), v]); };
    add('cb_number', a.callback_number || c.citizen); add('hotline', lineName(c.number)); add('queue', queueName(c.queue));
    if (a.booked_at) add('cb_booked', fmtTime(Date.parse(a.booked_at)));
    if (a.waited_s !== undefined && a.waited_s !== '') add('cb_waited', fmtDur(Number(a.waited_s) * 1000));
    if (a.source) add('cb_via', t('cb_src_' + a.source) === 'cb_src_' + a.source ? a.source : t('cb_src_' + a.source));
    if (a.attempt) add('cb_attempt', a.attempt);
    if (a.last_outcome) add('cb_last', t('oc_' + a.last_outcome) === 'oc_' + a.last_outcome ? a.last_outcome : t('oc_' + a.last_outcome));
    const rest = {}; Object.keys(a).forEach((k) => { if (!CB_ATTRS.has(k)) rest[k] = a[k]; });
    attrList(Object.assign({}, c, { attrs: rest })).forEach((kv) => out.push(kv));
    return out;
  }
  function offerFacts(c) {
    if (isCallback(c)) return callbackFacts(c);
    const out = [];
    const add = (k, v) => { if (v !== undefined && v !== '' && v !== null) out.push([t(k), v]); };
    add('channel', t(c.channel)); add('hotline', lineName(c.number)); add('queue', queueName(c.queue));
    add('language', langName(c.language)); add('citizen', citizenLabel(c));
    add('waited', fmtDur(nowS() - c.arrived));
    attrList(c).forEach(([k, v]) => out.push([k, v]));
    return out;
  }
  function renderOffers() {
    const list = offered();
    const box = $('offer'), ol = $('offerlist');
    box.hidden = list.length === 0;
    if (list.length) box.setAttribute('open', ''); else box.removeAttribute('open');
    const want = new Set(list.map((c) => c.id));
    ol.querySelectorAll('.offercard').forEach((e) => { if (!want.has(Number(e.dataset.contact))) e.remove(); });
    let fresh = false;
    list.forEach((c, i) => {
      let card = ol.querySelector('.offercard[data-contact="' + c.id + '"]');
      if (!card) {
        card = el('article', 'offercard'); card.dataset.contact = c.id;
        card.setAttribute('aria-label', t('newoffer') + ' ' + (i + 1));
        const h = el('h3', 'offertitle'); const dl = el('dl', 'offerinfo');
        const cnt = el('p', 'offercount');
        const hist = el('div', 'offerhist muted');
        const row = el('div', 'row');
        const acc = el('button', 'accept primary', t('accept')); acc.type = 'button';
        acc.setAttribute('aria-keyshortcuts', 'Alt+A');
        acc.onclick = () => act('accept', { contact: c.id });
        const rej = el('button', 'reject', t('reject')); rej.type = 'button';
        rej.onclick = () => act('reject', { contact: c.id, reason: 'declined' });
        row.append(acc, rej);
        card.append(h, dl, cnt, hist, row);
        ol.appendChild(card);
        if (!seenOffers.has(c.id)) {
          seenOffers.add(c.id); fresh = true; notifyOffer(c);
          loadHistory(c.id).then((items) => {
            items.slice(0, 5).forEach((it) => hist.appendChild(el('div', '', fmtTime(it.arrived) + ' · ' + lineName(it.hotline) + ' · ' + dispName(it.disposition) + ' ' + (it.notes || ''))));
          });
        }
      }
      if (ol.children[i] !== card) ol.insertBefore(card, ol.children[i] || null); // oldest deadline first; move only when out of place
      const tr = (c.transfers || []).slice(-1)[0];
      card.querySelector('.offertitle').textContent = (tr ? t('transferoffer') : isCallback(c) ? t('cb_offer') : t('newoffer')) + ' · ' + t(c.channel);
      card.classList.toggle('callbackcard', isCallback(c));
      if (isCallback(c) && !card.querySelector('.cbnote')) card.insertBefore(el('p', 'cbnote', t('cb_note')), card.querySelector('.offercount'));
      const facts = offerFacts(c);
      if (tr) {
        facts.push([t('transferfrom'), tr.by || tr.from || '']);
        if (tr.from_queue) facts.push([t('fromqueue'), queueName(tr.from_queue)]);
        if (tr.note) facts.push([t('transfernote'), tr.note]);
      }
      setPairs(card.querySelector('.offerinfo'), facts);
      const left = Math.max(0, Math.round((c.deadline - nowS()) / 1000));
      card.querySelector('.offercount').textContent = t('respondin') + ' ' + left + t('sec');
    });
    if (fresh) beep();
    flashTitle(list.length > 0);
  }

  // ---- agent status ----
  $('btnready').onclick = () => act('state', { state: 'ready', next: $('afternext').checked });
  $('btnnotready').onclick = () => act('state', { state: 'not_ready', reason: $('nrreason').value, next: $('afternext').checked });
  $('btnlogout').onclick = () => act('logout', {});
  $('btnwrapdone').onclick = () => act('wrapup_done', {});

  // ---- rendering ----
  function fmtDur(ms) {
    if (!(ms > -60000)) return '';
    ms = Math.max(0, ms);
    const s = Math.floor(ms / 1000), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), ss = s % 60;
    const p = (n) => String(n).padStart(2, '0');
    return (h ? h + ':' + p(m) : m) + ':' + p(ss);
  }
  function fmtTime(ms) { return ms ? new Date(ms).toLocaleString(lang === 'ko' ? 'ko-KR' : 'en-GB') : ''; }
  function stName(s) { return t('st_' + s); }
  function reasonName(r) {
    for (const k of ['r_' + r, 'r_' + String(r).replace(/[\s-]+/g, '_')]) if (t(k) !== k) return t(k);
    return r;
  }
  function roleName(r) { const k = 'role_' + r; return t(k) === k ? r : t(k); }
  const nowS = () => Date.now() + S.clockSkew;
  // Names, never raw ids: the snapshot's names (queue, line, language,
  // attribute and IVR labels) in the UI's language, the id only as a last
  // resort.
  const nm = (o) => (o && (o[lang] || o.ko || o.en)) || '';
  function queueName(id) { return nm((S.names.queues || {})[id]) || id || ''; }
  function lineName(num) { const n = nm((S.names.lines || {})[num]); return n ? (n.includes(num) ? n : n + ' (' + num + ')') : (num || ''); }
  function langName(code) { if (!code) return ''; const k = 'lang_' + code; return t(k) === k ? code : t(k); }
  function dispName(code) { if (!code) return ''; const d = (S.names.dispositions || {})[code]; if (nm(d)) return nm(d); const k = 'd_' + code; return t(k) === k ? code : t(k); }
  function citizenLabel(c) {
    const a = c.attrs || {};
    if (a.name) return a.name;
    if (c.channel === 'chat' || !c.citizen) return t('citizen') + ' #' + c.id;
    return c.citizen;
  }
  // attrList renders a contact's attributes with labels: known keys are
  // translated, IVR choices use the line's menu labels, internal keys
  // (call_id) are left out.
  function attrList(c) {
    const out = [];
    Object.entries(c.attrs || {}).forEach(([k, v]) => {
      if (k === 'call_id' || k === 'name' || v === undefined || v === null || v === '') return;
      if (k === 'topic') { out.push([t('a_topic'), topicName(c, v)]); return; }
      const lk = 'a_' + k;
      out.push([t(lk) === lk ? k : t(lk), v]);
    });
    return out;
  }
  function topicName(c, v) {
    const line = (S.names.lines || {})[c.number] || {};
    const tp = (line.topics || {})[v];
    return nm(tp) || v;
  }
  function phoneShown(c) { return c.citizen || ''; }
  // setPairs fills a <dl> with [term, value] pairs, touching the DOM only
  // where text changed (the page redraws every second; nodes being clicked
  // or read by assistive technology stay put).
  function setPairs(dl, pairs) {
    while (dl.children.length > pairs.length * 2) dl.lastElementChild.remove();
    pairs.forEach(([k, v], i) => {
      let dt = dl.children[i * 2], dd = dl.children[i * 2 + 1];
      if (!dt) { dt = el('dt'); dl.appendChild(dt); }
      if (!dd) { dd = el('dd'); dl.appendChild(dd); }
      if (dt.textContent !== String(k)) dt.textContent = k;
      if (dd.textContent !== String(v)) dd.textContent = v;
    });
  }
  // durWords: whole seconds in words ("3분 12초", "3 min 12 s").
  function durWords(secs) {
    secs = Math.max(0, Math.floor(secs || 0));
    const h = Math.floor(secs / 3600), m = Math.floor((secs % 3600) / 60), s = secs % 60, out = [];
    if (h) out.push(t('u_h').replace('{n}', h));
    if (m) out.push(t('u_m').replace('{n}', m));
    if (s || !out.length) out.push(t('u_s').replace('{n}', s));
    return out.join(' ');
  }
  function skillName(id) { return nm((S.names.skills || {})[id]) || langName(id); }
  // whyText words one routing reason code (router.Why) in the UI's
  // language; an unknown code shows raw with its parameters.
  function whyText(w) {
    const p = { skill: skillName(w.skill), level: w.level || 0, queue: queueName(w.queue), agent: w.agent || '',
      secs: durWords(w.secs), value: w.value || 0, of: w.of || 0 };
    let k = 'w_' + w.code;
    if (w.code === 'transferred_agent' && !w.agent) k += '0';
    if (t(k) === k) return [w.code].concat(Object.entries(w).filter(([f]) => f !== 'code').map(([f, v]) => f + '=' + v)).join(' ');
    return t(k).replace(/\{(\w+)\}/g, (m0, f) => (f in p ? String(p[f]) : m0));
  }
  function endName(r) { const k = 'end_' + r; return t(k) === k ? r : t(k); }
  // transferTargets lists queues (all configured ones, by name, with
  // waiting contacts and Ready agents) and, when the server lists them,
  // agents with their presence.
  function transferTargets() {
    let out;
    if (S.xtargets && S.xtargets.queues) {
      out = S.xtargets.queues.map((q) => ({ kind: 'queue', id: q.id, name: nm(q.name) || queueName(q.id), waiting: q.waiting || 0, avail: q.available || 0 }));
    } else {
      const ids = new Set([...Object.keys(S.names.queues || {}), ...S.queues.keys()]);
      out = [...ids].map((qid) => {
        const q = S.queues.get(qid) || {};
        return { kind: 'queue', id: qid, name: queueName(qid), waiting: q.waiting || 0, avail: (q.agents || {}).ready || 0 };
      });
    }
    out.sort((a, b) => a.name.localeCompare(b.name));
    ((S.xtargets && S.xtargets.agents) || []).forEach((a) => {
      if (a && a.id && a.id !== S.me.user) out.push({ kind: 'agent', id: a.id, name: a.display || a.id, state: a.online === false ? 'offline' : (a.state || '') });
    });
    return out;
  }
  // Agents to transfer to come from the server's transfer_targets when it
  // has that command; without it the picker offers queues (and a typed
  // agent id).
  async function loadTransferTargets(contact, redraw) {
    try { S.xtargets = await send('transfer_targets', { contact }) || {}; } catch (e) { S.xtargets = null; }
    redraw();
  }
  function cannedFor(c) { return (S.canned[c.number] || S.canned['*'] || []).filter((r) => r && (r.ko || r.en)); }
  function draftKey(id) { return 'draft:' + ((S.me && S.me.user) || '') + ':' + id; }
  function draftGet(id) { try { return localStorage.getItem(draftKey(id)) || ''; } catch (e) { return ''; } }
  function draftSet(id, v) { try { if (v) localStorage.setItem(draftKey(id), v); else localStorage.removeItem(draftKey(id)); } catch (e) { /* storage full */ } }

  function render() {
    if (!S.me) return;
    if (S.me.role === 'agent') renderAgent(); else W.render();
  }

  function renderAgent() {
    const a = S.agent || { state: 'offline' };
    $('mystate').textContent = stName(a.state) + (a.reason && a.state === 'not_ready' ? ' (' + reasonName(a.reason) + ')' : '') +
      (a.forced_by ? ' · ' + t('setby').replace('{by}', a.forced_by) : '');
    $('mystate').className = 'state ' + a.state;
    // In wrap-up the timer counts down to the automatic end; otherwise it
    // shows the time in the current state.
    $('mysince').textContent = a.state === 'wrap_up' && a.wrap_until
      ? '-' + fmtDur(a.wrap_until - nowS())
      : (a.since ? fmtDur(nowS() - a.since) : '');
    $('mynext').textContent = a.next ? '→ ' + stName(a.next) : '';
    $('btnwrapdone').hidden = !(a.state === 'wrap_up' && S.wrap.length === 0);
    $('phone').textContent = a.phone ? t('phoneon') : t('phoneoff');
    $('phone').className = 'pill ' + (a.phone ? 'online' : 'offline');
    let waiting = 0; S.queues.forEach((q) => { waiting += q.waiting; });
    $('qsum').textContent = t('waitingn') + ' ' + waiting;
    // tabs
    // Tabs are kept (not rebuilt) across redraws: one button per contact.
    const tabs = $('tabs');
    const live = [...S.contacts.values()].filter((c) => c.state === 'talking');
    if (!live.some((c) => c.id === S.selected)) S.selected = live.length ? live[0].id : 0;
    const liveIds = new Set(live.map((c) => c.id));
    tabs.querySelectorAll('.tab').forEach((b) => { if (!liveIds.has(Number(b.dataset.contact))) b.remove(); });
    live.forEach((c, i) => {
      let b = tabs.querySelector('.tab[data-contact="' + c.id + '"]');
      if (!b) {
        b = el('button', 'tab'); b.type = 'button'; b.dataset.contact = c.id;
        b.appendChild(el('span', 'tablabel'));
        b.appendChild(el('span', 'badge'));
        b.onclick = () => { S.selected = c.id; S.unread.delete(c.id); render(); };
      }
      if (tabs.children[i] !== b) tabs.insertBefore(b, tabs.children[i] || null);
      b.className = 'tab' + (c.id === S.selected ? ' sel' : '') + (c.held ? ' held' : '');
      b.setAttribute('aria-current', c.id === S.selected ? 'true' : 'false');
      const label = t(c.channel) + ' · ' + citizenLabel(c);
      const lab = b.querySelector('.tablabel'); if (lab.textContent !== label) lab.textContent = label;
      const n = S.unread.get(c.id) || 0;
      const bd = b.querySelector('.badge'); bd.hidden = !n; bd.textContent = n ? String(n) : '';
    });
    renderPane(live.find((c) => c.id === S.selected));
    renderWrap();
    renderOffers();
  }

  const panes = new Map();
  function renderPane(c) {
    const pane = $('pane');
    $('empty').hidden = !!c;
    pane.querySelectorAll('.contact').forEach((p) => { if (!c || Number(p.dataset.contact) !== c.id) p.remove(); });
    if (!c) { if (S.hist) { $('history').replaceChildren(); S.hist = null; } return; }
    let p = pane.querySelector('.contact');
    if (!p) {
      p = $('tplcontact').content.firstElementChild.cloneNode(true);
      p.dataset.contact = c.id;
      pane.appendChild(p);
      p.querySelectorAll('[data-i18n]').forEach((e) => { e.textContent = t(e.dataset.i18n); });
      p.querySelectorAll('[data-i18n-ph]').forEach((e) => { e.placeholder = t(e.dataset.i18nPh); });
      p.querySelectorAll('[data-i18n-aria]').forEach((e) => { e.setAttribute('aria-label', t(e.dataset.i18nAria)); });
      const id = c.id, text = p.querySelector('.text');
      text.value = draftGet(id); // the draft survives tab switches and reloads
      const doSend = () => {
        const v = text.value.trim(); if (!v) return;
        send('send', { contact: id, text: v }).then((r) => {
          addLine(id, { seq: r.seq, sender: 'agent', text: v, sent: Date.now() });
          if (text.value.trim() === v) { text.value = ''; draftSet(id, ''); }
          render();
        }).catch((e) => toast(errText(e)));
      };
      p.querySelector('.send').onclick = doSend;
      // Canned replies: "/" at the start opens a searchable list; arrows
      // move, Enter inserts the reply in the chat's language, Esc closes.
      const pick = p.querySelector('.cannedpick');
      const replies = cannedFor(c);
      const cannedText = (r) => (c.language && c.language !== 'ko' ? r.en || r.ko : r.ko || r.en);
      let hits = [], at = 0;
      const insert = (r) => { text.value = cannedText(r); draftSet(id, text.value); pick.hidden = true; text.focus(); };
      const drawPick = () => {
        const m = /^\/(.*)$/s.exec(text.value);
        if (!m || !replies.length) { pick.hidden = true; hits = []; return; }
        const q = m[1].trim().toLowerCase();
        hits = replies.filter((r) => !q || (r.ko + ' ' + r.en).toLowerCase().includes(q));
        at = Math.min(at, Math.max(0, hits.length - 1));
        pick.replaceChildren();
        hits.forEach((r, i) => {
          const o = el('li', i === at ? 'sel' : '', cannedText(r));
          o.setAttribute('role', 'option'); o.id = 'cp' + id + '-' + i;
          o.setAttribute('aria-selected', i === at ? 'true' : 'false');
          o.onmousedown = (ev) => { ev.preventDefault(); insert(r); };
          pick.appendChild(o);
        });
        if (!hits.length) pick.appendChild(el('li', 'muted', t('nocanned')));
        pick.hidden = false;
        text.setAttribute('aria-activedescendant', hits.length ? 'cp' + id + '-' + at : '');
      };
      text.onkeydown = (e) => {
        // An IME composition (Korean) ends with Enter: that Enter commits
        // the syllable, it must not send (keyCode 229 while composing).
        if (e.isComposing || e.keyCode === 229) return;
        if (!pick.hidden) {
          if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
            e.preventDefault(); at = (at + (e.key === 'ArrowDown' ? 1 : hits.length - 1)) % Math.max(1, hits.length); drawPick(); return;
          }
          if (e.key === 'Enter' || e.key === 'Tab') { e.preventDefault(); if (hits[at]) insert(hits[at]); return; }
          if (e.key === 'Escape') { e.preventDefault(); pick.hidden = true; return; }
        }
        if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); doSend(); }
      };
      text.addEventListener('input', () => { at = 0; drawPick(); });
      let lastTyping = 0;
      text.oninput = () => {
        draftSet(id, text.value);
        if (Date.now() - lastTyping > 2000) { lastTyping = Date.now(); act('typing', { contact: id }); }
      };
      const canned = p.querySelector('.canned');
      canned.setAttribute('aria-label', t('canned'));
      canned.appendChild(el('option', '', t('canned') + ' (/)'));
      replies.forEach((r, i) => { const o = el('option', '', cannedText(r)); o.value = String(i); canned.appendChild(o); });
      canned.onchange = () => { if (canned.selectedIndex > 0) { insert(replies[Number(canned.value)]); canned.selectedIndex = 0; } };
      // Transfer picker: queues by name with waiting and available
      // agents, and agents with their presence, searched as you type.
      const xt = p.querySelector('.xtarget'), xl = p.querySelector('.xpick');
      let xsel = null, xhits = [], xat = 0;
      const xlabel = (x) => x.kind === 'queue'
        ? x.name + ' · ' + t('waitingn') + ' ' + x.waiting + ' · ' + t('availn') + ' ' + x.avail
        : t('agent') + ' ' + x.name + (x.state ? ' · ' + stName(x.state) : '');
      const xpick = (x) => { xsel = x; xt.value = x.kind === 'queue' ? x.name : x.id; xl.hidden = true; xt.setAttribute('aria-expanded', 'false'); };
      const xdraw = () => {
        const q = xt.value.trim().toLowerCase();
        const all = transferTargets();
        xhits = all.filter((x) => !q || (x.name + ' ' + x.id).toLowerCase().includes(q));
        if (q && !all.some((x) => x.kind === 'agent' && x.id.toLowerCase() === q) && /^[a-z0-9._-]+$/i.test(q)) xhits.push({ kind: 'agent', id: xt.value.trim(), name: xt.value.trim(), state: '' });
        xat = Math.min(xat, Math.max(0, xhits.length - 1));
        xl.replaceChildren();
        xhits.slice(0, 50).forEach((x, i) => {
          const li = el('li', i === xat ? 'sel' : '', xlabel(x));
          li.setAttribute('role', 'option'); li.id = 'xp' + id + '-' + i; li.dataset.id = x.id; li.dataset.kind = x.kind;
          li.setAttribute('aria-selected', i === xat ? 'true' : 'false');
          li.onmousedown = (ev) => { ev.preventDefault(); xpick(x); };
          xl.appendChild(li);
        });
        xl.hidden = !xhits.length; xt.setAttribute('aria-expanded', xhits.length ? 'true' : 'false');
        xt.setAttribute('aria-activedescendant', xhits.length ? 'xp' + id + '-' + xat : '');
      };
      xt.oninput = () => { xsel = null; xat = 0; xdraw(); };
      xt.onfocus = () => { xdraw(); loadTransferTargets(id, () => { if (document.activeElement === xt) xdraw(); }); };
      xt.onblur = () => { xl.hidden = true; xt.setAttribute('aria-expanded', 'false'); };
      xt.onkeydown = (e) => {
        if (e.isComposing || e.keyCode === 229) return;
        if (e.key === 'ArrowDown' || e.key === 'ArrowUp') { e.preventDefault(); if (xl.hidden) xdraw(); xat = (xat + (e.key === 'ArrowDown' ? 1 : xhits.length - 1)) % Math.max(1, xhits.length); xdraw(); }
        else if (e.key === 'Enter') { e.preventDefault(); if (xhits[xat]) xpick(xhits[xat]); }
        else if (e.key === 'Escape') { xl.hidden = true; }
      };
      p.querySelector('.transfer').onclick = () => {
        if (!xsel) { toast(t('e_pick_target')); xt.focus(); return; }
        act('transfer', { contact: id, queue: xsel.kind === 'queue' ? xsel.id : '', agent: xsel.kind === 'agent' ? xsel.id : '', note: p.querySelector('.xnote').value });
      };
      p.querySelector('.end').onclick = () => act('end', { contact: id });
      p.querySelector('.hold').onclick = () => act('hold', { contact: id });
      p.querySelector('.resume').onclick = () => act('resume', { contact: id });
      p.querySelector('.mute').onclick = () => act('mute', { contact: id });
      p.querySelector('.unmute').onclick = () => act('unmute', { contact: id });
      p.querySelector('.hangup').onclick = () => act('hangup', { contact: id });
      p.querySelector('.xfer').onclick = () => { const n = p.querySelector('.xnum').value.trim(); if (n) act('transfer', { contact: id, target: n }); };
      // Consult (warm) transfer: the same picker or number; then complete,
      // conference or cancel while it runs (docs/console-protocol.md).
      p.querySelector('.consult').onclick = () => {
        if (!xsel) { toast(t('e_pick_target')); xt.focus(); return; }
        act('consult', { contact: id, queue: xsel.kind === 'queue' ? xsel.id : '', agent: xsel.kind === 'agent' ? xsel.id : '', note: p.querySelector('.xnote').value });
      };
      p.querySelector('.xconsult').onclick = () => { const n = p.querySelector('.xnum').value.trim(); if (n) act('consult', { contact: id, target: 'number:' + n, note: p.querySelector('.xnote').value }); };
      p.querySelector('.ccomplete').onclick = () => act('consult_complete', { contact: id });
      p.querySelector('.cconf').onclick = () => act('conference', { contact: id });
      p.querySelector('.ccancel').onclick = () => act('consult_cancel', { contact: id });
      // Three-way call with an interpreter at the number typed (issue 11).
      p.querySelector('.interp').onclick = () => { const n = p.querySelector('.xnum').value.trim(); if (n) act('interpret', { contact: id, number: n }); };
      p.querySelector('.interpdrop').onclick = () => act('interpret_drop', { contact: id });
      // An interpreter from the interpreter queue of a language: the
      // languages the center's interpreter queues serve.
      const il = p.querySelector('.ilang');
      il.replaceChildren(...[...(S.qinfo || new Map()).values()].filter((q) => q.interprets).map((q) => {
        const o = el('option', '', (lang === 'ko' ? q.interprets_ko : q.interprets_en) || langName(q.interprets)); o.value = q.interprets; return o;
      }));
      p.querySelector('.interpq').onclick = () => { if (il.value) act('interpret', { contact: id, language: il.value, note: p.querySelector('.xnote').value }); };
      // (an offer's own history, in its card, leaves this one alone)
      $('history').replaceChildren(); S.hist = null;
      loadHistory(id).then((items) => { if (p.isConnected) { S.hist = items; renderHistory(items); } });
      loadTimeline(id);
    }
    if (p.dataset.lang !== lang) { // built, or the UI's language changed: the words this code wrote
      if (p.dataset.lang) p.querySelector('.log').replaceChildren(); // redrawn below with the senders' names
      p.dataset.lang = lang;
      const cn = p.querySelector('.canned');
      cn.setAttribute('aria-label', t('canned')); cn.options[0].textContent = t('canned') + ' (/)';
    }
    p.querySelector('.ctitle').textContent = t(c.channel) + ' · ' + citizenLabel(c);
    p.querySelector('.cmeta').textContent = t('hotline') + ' ' + lineName(c.number) + ' · ' + t('queue') + ' ' + queueName(c.queue) + (c.language ? ' · ' + langName(c.language) : '');
    p.querySelector('.ctimer').textContent = c.connected ? fmtDur(nowS() - c.connected) : '';
    const pairs = [];
    if (c.channel === 'voice' && c.citizen) pairs.push([t('phone'), phoneShown(c)]);
    // A contact transferred to this agent: who sent it and their note stay
    // in view after the offer card is gone.
    const ltr = (c.transfers || []).slice(-1)[0];
    if (ltr && (ltr.by || ltr.from) && (ltr.by || ltr.from) !== S.me.user) {
      pairs.push([t('transferfrom'), ltr.by || ltr.from]);
      if (ltr.note) pairs.push([t('transfernote'), ltr.note]);
    }
    setPairs(p.querySelector('.cattrs'), pairs.concat(attrList(c)));
    const why = p.querySelector('.why'), wl = (c.why || []).map(whyText);
    p.querySelector('.routing').hidden = !wl.length;
    if (why.dataset.k !== wl.join('\n')) {
      why.dataset.k = wl.join('\n');
      why.replaceChildren(...wl.map((x) => el('li', '', x)));
    }
    p.querySelector('.composer').hidden = c.channel !== 'chat';
    p.querySelector('.callctl').hidden = c.channel !== 'voice';
    const held = p.querySelector('.heldstate');
    held.hidden = !c.held;
    held.textContent = c.held ? t('onhold') + ' ' + fmtDur(nowS() - c.held) : '';
    const k = c.consult, cc = p.querySelector('.consultctl');
    const ik = k && k.language ? k : null; // an interpreter from a queue: no hold, no complete
    cc.hidden = !k;
    if (ik) {
      const who = ik.agent ? ' · ' + ik.agent : '';
      p.querySelector('.consultstate').textContent = t(ik.step === 'interpret_waiting' ? 'interp_waiting' : ik.step === 'consult' ? 'interp_ringing' : 'interp_on').replace('{lang}', langName(ik.language)) + who;
      p.querySelector('.ccomplete').hidden = true;
      p.querySelector('.cconf').hidden = true;
      p.querySelector('.ccancel').hidden = true;
    } else if (k) {
      p.querySelector('.ccomplete').hidden = false;
      p.querySelector('.ccancel').hidden = false;
      const who = k.agent || k.number || (k.queue ? queueName(k.queue) : '');
      p.querySelector('.consultstate').textContent = t(k.step === 'conference' ? 'consult_conf' : k.step === 'consult_answered' ? 'consult_talking' : 'consult_ringing') + ' · ' + who;
      p.querySelector('.ccomplete').disabled = k.step === 'consult';
      p.querySelector('.cconf').hidden = k.step === 'conference';
      p.querySelector('.cconf').disabled = k.step === 'consult';
    }
    p.querySelector('.hold').hidden = !!c.held;
    p.querySelector('.resume').hidden = !c.held;
    const muted = p.querySelector('.mutedstate');
    muted.hidden = !c.muted;
    muted.textContent = c.muted ? t('onmute') + ' ' + fmtDur(nowS() - c.muted) : '';
    p.querySelector('.mute').hidden = !S.canMute || !!c.muted;
    p.querySelector('.unmute').hidden = !S.canMute || !c.muted;
    const ist = p.querySelector('.interpstate');
    ist.hidden = !c.interpreter;
    ist.textContent = c.interpreter ? t('interpon') + ' ' + c.interpreter : '';
    p.querySelector('.interp').hidden = !!c.interpreter || !!ik;
    p.querySelector('.interpdrop').hidden = !c.interpreter && !ik;
    p.querySelector('.ilang').hidden = p.querySelector('.interpq').hidden = !!c.interpreter || !!k || !p.querySelector('.ilang').options.length;
    p.querySelector('.hold').disabled = !!c.interpreter;
    p.querySelector('.xfer').disabled = !!c.interpreter;
    p.querySelector('.log').hidden = c.channel !== 'chat';
    const log = p.querySelector('.log');
    const lines = S.logs.get(c.id) || [];
    if (log.childElementCount !== lines.length) {
      log.replaceChildren();
      lines.forEach((l) => {
        const d = el('div', 'line ' + l.sender);
        d.appendChild(el('span', 'who', t(l.sender + 'side')));
        d.appendChild(el('span', 'msg', l.text));
        log.appendChild(d);
      });
      log.scrollTop = log.scrollHeight;
    }
    renderTimeline(p, c);
    const ty = S.typingAt.get(c.id) || 0;
    p.querySelector('.typing').textContent = Date.now() - ty < 4000 ? t('typing') : '';
  }

  // The citizen's earlier contacts, by name in the UI's language (line,
  // queue, disposition, end reason); a chat's is a button that opens or
  // closes its transcript, so the keyboard reaches it too.
  function renderHistory(items) {
    const h = $('history'); h.replaceChildren();
    (items || []).forEach((it) => {
      const d = el('div', 'hist');
      const chat = it.channel === 'chat';
      const b = el(chat ? 'button' : 'div', 'histbtn');
      b.appendChild(el('b', '', fmtTime(it.arrived) + ' · ' + t(it.channel) + ' · ' + lineName(it.hotline)));
      const what = [queueName(it.queue), dispName(it.disposition) || endName(it.end_reason), it.notes].filter(Boolean).join(' · ');
      if (what) b.appendChild(el('span', 'histwhat', what));
      d.appendChild(b);
      h.appendChild(d);
      if (!chat) return;
      b.type = 'button'; b.setAttribute('aria-expanded', 'false');
      b.onclick = async () => {
        const open = d.querySelector('.log');
        if (open) { open.remove(); b.setAttribute('aria-expanded', 'false'); return; }
        try {
          const lines = await send('transcript', { contact: it.id });
          const box = el('div', 'log small');
          (lines || []).forEach((l) => box.appendChild(el('div', 'line ' + l.sender, t(l.sender + 'side') + ': ' + l.text)));
          if (!(lines || []).length) box.appendChild(el('div', 'muted', t('notranscript')));
          d.appendChild(box); b.setAttribute('aria-expanded', 'true');
        } catch (e) { toast(errText(e)); }
      };
    });
    if (!(items || []).length) h.appendChild(el('p', 'muted', t('nohistory')));
  }

  // labelWrap writes a wrap-up form's words in the UI's language (the
  // values the agent chose stay).
  function labelWrap(f, x) {
    f.dataset.lang = lang;
    f.querySelector('.wraphead').textContent = t(x.channel) + ' · ' + (x.citizen || t('citizen') + ' #' + x.contact);
    f.querySelector('.wrapmeta').textContent = [lineName(x.number), queueName(x.queue), x.closed ? fmtTime(x.closed) : ''].filter(Boolean).join(' · ');
    f.querySelector('.ldisp').textContent = t('disposition');
    f.querySelector('.lnotes').textContent = t('notes');
    f.querySelector('.lthen').textContent = t('then');
    f.querySelectorAll('.disp option').forEach((o) => { o.textContent = o.value ? dispName(o.value) : t('choose'); });
    f.querySelectorAll('.then option').forEach((o) => { o.textContent = o.value === 'ready' ? t('ready') : t('notready') + ': ' + reasonName(o.value); });
    f.querySelector('button').textContent = t('save');
    const log = f.querySelector('.wraplog');
    if (log) { log.setAttribute('aria-label', t('transcript')); log.replaceChildren(); } // redrawn below with the senders' names
  }

  // One wrap-up form per finished contact: who it was (name, channel,
  // line, queue), a countdown to the end of wrap-up from the queue's
  // config, labelled dispositions, and the transcript kept visible.
  function renderWrap() {
    const w = $('wraplist');
    const have = new Set([...w.querySelectorAll('.wrap')].map((e) => Number(e.dataset.contact)));
    const want = new Set(S.wrap.map((x) => x.contact));
    w.querySelectorAll('.wrap').forEach((e) => { if (!want.has(Number(e.dataset.contact))) e.remove(); });
    const a = S.agent || {};
    S.wrap.forEach((x) => {
      let f = w.querySelector('.wrap[data-contact="' + x.contact + '"]');
      if (!have.has(x.contact)) {
        f = el('form', 'wrap'); f.dataset.contact = x.contact;
        const head = el('h4', 'wraphead');
        const meta = el('div', 'wrapmeta muted');
        const timer = el('div', 'wraptimer');
        const idp = 'w' + x.contact + '-';
        const ld = el('label', 'ldisp'); ld.htmlFor = idp + 'disp';
        const disp = el('select', 'disp'); disp.id = idp + 'disp'; disp.required = true;
        const o0 = el('option'); o0.value = ''; disp.appendChild(o0);
        (S.dispositions[x.number] || S.dispositions['*'] || ['resolved']).forEach((d) => { const o = el('option'); o.value = d; disp.appendChild(o); });
        const ln = el('label', 'lnotes'); ln.htmlFor = idp + 'notes';
        const notes = el('textarea', 'notes'); notes.id = idp + 'notes'; notes.maxLength = 4000; notes.rows = 2;
        const lt = el('label', 'lthen'); lt.htmlFor = idp + 'then';
        const then = el('select', 'then'); then.id = idp + 'then';
        const o1 = el('option'); o1.value = 'ready'; then.appendChild(o1);
        S.reasons.forEach((r) => { const o = el('option'); o.value = r; then.appendChild(o); });
        const b = el('button', 'primary'); b.type = 'submit';
        const log = el('div', 'log small wraplog'); log.setAttribute('aria-label', t('transcript'));
        f.append(head, meta, timer, ld, disp, ln, notes, lt, then, b);
        if (x.channel === 'chat') f.append(log);
        f.onsubmit = (ev) => {
          ev.preventDefault();
          if (!disp.value) { toast(t('e_pick_disposition')); disp.focus(); return; }
          b.disabled = true;
          send('wrapup', { contact: x.contact, disposition: disp.value, notes: notes.value, then: then.value })
            .then((rep) => {
              S.wrap = S.wrap.filter((y) => y.contact !== x.contact);
              if (rep && rep.forced_by) toast(t('forcedkept').replace('{by}', rep.forced_by));
              render();
            })
            .catch((e) => { b.disabled = false; toast(errText(e)); });
        };
        w.appendChild(f);
        // The form of the contact that just ended comes into view (earlier
        // unsaved forms stay above it).
        if (have.size && f.scrollIntoView) f.scrollIntoView({ block: 'nearest' });
        if (x.channel === 'chat' && !(S.logs.get(x.contact) || []).length) loadTranscript(x.contact, true);
      }
      if (f.dataset.lang !== lang) labelWrap(f, x); // built, or the UI's language changed
      // Countdown to the automatic end of wrap-up (the queue's wrap-up time).
      // Each contact counts down its own queue's wrap-up time from when it
      // ended; the agent's automatic Ready (the longest owed) is in the header.
      const tm = f.querySelector('.wraptimer');
      let tx = '';
      const qi = (S.qinfo && S.qinfo.get(x.queue)) || {};
      const wms = x.channel === 'chat' ? qi.wrap_chat_ms : qi.wrap_voice_ms;
      if (wms && x.closed) {
        const left = x.closed + wms - nowS();
        tx = left > 0 ? t('wrapthis') + ' ' + fmtDur(left) : t('wrapover');
        f.dataset.wrapLeft = String(Math.max(0, Math.round(left / 1000)));
      } else if (a.state === 'wrap_up' && a.wrap_until) tx = t('wrapends') + ' ' + fmtDur(a.wrap_until - nowS());
      if (x.required) tx += (tx ? ' · ' : '') + t('disprequired');
      tm.textContent = tx;
      const log = f.querySelector('.wraplog');
      const lines = S.logs.get(x.contact) || [];
      if (log && log.childElementCount !== lines.length) {
        log.replaceChildren();
        lines.forEach((l) => log.appendChild(el('div', 'line ' + l.sender, t(l.sender + 'side') + ': ' + l.text)));
        log.scrollTop = log.scrollHeight;
      }
    });
  }

  // The supervisor wallboard lives in wallboard.js; it shares state and helpers.
  const W = window.OnecallWallboard({
    S, $, el, t, lang: () => lang, send, act, toast, render, fmtDur, stName, reasonName, nowS, errText
  });

  // Keyboard shortcuts: Alt+A accepts the oldest offer, Alt+H holds or
  // resumes the selected call, Alt+M mutes or unmutes it, Alt+E ends the
  // selected contact.
  document.addEventListener('keydown', (e) => {
    if (!e.altKey || e.ctrlKey || e.metaKey || !S.me || S.me.role !== 'agent') return;
    const k = (e.code || '').replace('Key', '').toLowerCase();
    const cur = S.contacts.get(S.selected);
    if (k === 'a') { const o = offered()[0]; if (o) { e.preventDefault(); act('accept', { contact: o.id }); } }
    if (k === 'h' && cur && cur.channel === 'voice') { e.preventDefault(); act(cur.held ? 'resume' : 'hold', { contact: cur.id }); }
    if (k === 'm' && cur && cur.channel === 'voice' && S.canMute) { e.preventDefault(); act(cur.muted ? 'unmute' : 'mute', { contact: cur.id }); }
    if (k === 'e' && cur) { e.preventDefault(); act('end', { contact: cur.id }); }
  });
  document.addEventListener('click', askNotify, { once: true });

  setInterval(() => { if (S.me && S.ws) render(); }, 1000);
  boot();
})();
