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
    reasons: [], dispositions: {}, canned: {}, selected: 0, logs: new Map(), unread: new Map(),
    offer: null, drill: '', waiting: [], follow: 0, nextId: 1, pending: new Map(), typingAt: new Map()
  };
  window.onecall = S; // for tests and debugging

  function applyI18n() {
    document.documentElement.lang = lang;
    document.querySelectorAll('[data-i18n]').forEach((e) => { e.textContent = t(e.dataset.i18n); });
    document.querySelectorAll('[data-i18n-ph]').forEach((e) => { e.placeholder = t(e.dataset.i18nPh); });
    $('lang').textContent = lang === 'ko' ? 'EN' : '한국어';
  }
  $('lang').onclick = () => {
    lang = lang === 'ko' ? 'en' : 'ko'; localStorage.setItem('lang', lang); applyI18n();
    if (S.connState) setConn(S.connState);
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
    $('who').textContent = d.display + ' (' + d.role + ')';
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
    ws.onmessage = (m) => { let msg; try { msg = JSON.parse(m.data); } catch (e) { return; } onMessage(msg); };
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
  const act = (cmd, args) => send(cmd, args).catch((e) => toast(cmd + ': ' + e.message));

  function onMessage(m) {
    if (m.t === 'snapshot') { snapshot(m.seq, m.data); return; }
    if (m.t === 'reply' || m.t === 'error') {
      const p = S.pending.get(m.id);
      if (p) { S.pending.delete(m.id); m.t === 'reply' ? p.resolve(m.data) : p.reject(new Error(m.error)); }
      else if (m.t === 'error') toast(m.error);
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
    S.reasons = d.reasons || []; S.dispositions = d.dispositions || {}; S.canned = d.canned || {};
    S.agent = d.agent || null;
    S.contacts = new Map((d.contacts || []).map((c) => [c.id, c]));
    S.wrap = d.wrap_up || [];
    S.queues = new Map((d.queues || []).map((q) => [q.queue, q]));
    S.agents = new Map((d.agents || []).map((a) => [a.id, a]));
    S.chart = d.chart || [];
    const isAgent = d.me.role === 'agent';
    $('agent').hidden = !isAgent; $('super').hidden = isAgent;
    if (isAgent) {
      const sel = $('nrreason'); sel.replaceChildren();
      S.reasons.forEach((r) => { const o = el('option', '', t('r_' + r) === 'r_' + r ? r : t('r_' + r)); o.value = r; sel.appendChild(o); });
      // Load transcripts of live chats (resync after a drop).
      S.contacts.forEach((c) => { if (c.state === 'talking') loadTranscript(c.id); });
      const offered = [...S.contacts.values()].find((c) => c.state === 'offered');
      if (offered) showOffer(offered); else hideOffer();
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
      tr.appendChild(el('td', '', u.role));
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

  function onEvent(kind, d) {
    if (S.me.role !== 'agent') { W.onEvent(kind, d); render(); return; }
    switch (kind) {
      case 'agent_state':
        if (d.id === S.me.user) S.agent = d;
        break;
      case 'offer':
        S.contacts.set(d.id, d);
        showOffer(d);
        break;
      case 'offer_withdrawn':
        S.contacts.delete(d.contact); if (S.offer === d.contact) hideOffer();
        break;
      case 'connected':
        S.contacts.set(d.id, d);
        if (S.offer === d.id) hideOffer();
        S.selected = d.id; loadTranscript(d.id);
        break;
      case 'contact_state':
        if (d.agent === S.me.user) S.contacts.set(d.id, Object.assign(S.contacts.get(d.id) || {}, d));
        else S.contacts.delete(d.id); // transferred away
        break;
      case 'contact_closed': {
        const c = S.contacts.get(d.contact);
        if (c && c.state === 'talking') S.wrap.push({ contact: d.contact, number: c.number, channel: c.channel });
        S.contacts.delete(d.contact);
        if (S.offer === d.contact) hideOffer();
        addLine(d.contact, { sender: 'system', text: t('closed') + ' (' + d.reason + ')' });
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
  async function loadTranscript(id) {
    const c = S.contacts.get(id);
    if (!c || c.channel !== 'chat') return;
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
    $('history').replaceChildren();
    try {
      const items = await send('history', { contact: id });
      return items || [];
    } catch (e) { return []; }
  }

  // ---- offers ----
  let offerTimer = 0;
  function beep() {
    try {
      const ac = new (window.AudioContext || window.webkitAudioContext)();
      const o = ac.createOscillator(); const g = ac.createGain();
      o.frequency.value = 880; g.gain.value = 0.1; o.connect(g); g.connect(ac.destination);
      o.start(); o.stop(ac.currentTime + 0.25);
    } catch (e) { /* no audio */ }
  }
  function showOffer(c) {
    S.offer = c.id;
    const dl = $('offerinfo'); dl.replaceChildren();
    const add = (k, v) => { if (v === undefined || v === '' || v === null) return; dl.appendChild(el('dt', '', t(k) || k)); dl.appendChild(el('dd', '', v)); };
    add('channel', t(c.channel)); add('hotline', c.number); add('queue', c.queue); add('language', c.language);
    add('citizen', c.citizen); add('waited', fmtDur(Date.now() + S.clockSkew - c.arrived));
    Object.entries(c.attrs || {}).forEach(([k, v]) => add(k, v));
    const dlg = $('offer');
    if (!dlg.open) dlg.show();
    beep();
    clearInterval(offerTimer);
    const tick = () => { $('offercount').textContent = Math.max(0, Math.round((c.deadline - Date.now() - S.clockSkew) / 1000)); };
    tick(); offerTimer = setInterval(tick, 500);
    $('offerhist').replaceChildren();
    loadHistory(c.id).then((items) => {
      items.slice(0, 5).forEach((h) => $('offerhist').appendChild(el('div', '', fmtTime(h.arrived) + ' ' + h.hotline + ' ' + (h.disposition || '') + ' ' + (h.notes || ''))));
      renderHistory(items);
    });
  }
  function hideOffer() { S.offer = null; clearInterval(offerTimer); if ($('offer').open) $('offer').close(); }
  $('accept').onclick = () => { if (S.offer) act('accept', { contact: S.offer }); };
  $('reject').onclick = () => { if (S.offer) act('reject', { contact: S.offer, reason: 'declined' }); hideOffer(); };

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
  function reasonName(r) { const k = 'r_' + r; return t(k) === k ? r : t(k); }
  const nowS = () => Date.now() + S.clockSkew;

  function render() {
    if (!S.me) return;
    if (S.me.role === 'agent') renderAgent(); else W.render();
  }

  function renderAgent() {
    const a = S.agent || { state: 'offline' };
    $('mystate').textContent = stName(a.state) + (a.reason && a.state === 'not_ready' ? ' (' + reasonName(a.reason) + ')' : '');
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
    const tabs = $('tabs'); tabs.replaceChildren();
    const live = [...S.contacts.values()].filter((c) => c.state === 'talking');
    if (!live.some((c) => c.id === S.selected)) S.selected = live.length ? live[0].id : 0;
    live.forEach((c) => {
      const b = el('button', 'tab' + (c.id === S.selected ? ' sel' : ''), t(c.channel) + ' · ' + (c.citizen || '#' + c.id));
      b.type = 'button'; b.dataset.contact = c.id;
      const n = S.unread.get(c.id) || 0;
      if (n) b.appendChild(el('span', 'badge', n));
      b.onclick = () => { S.selected = c.id; S.unread.delete(c.id); render(); };
      tabs.appendChild(b);
    });
    renderPane(live.find((c) => c.id === S.selected));
    renderWrap();
  }

  const panes = new Map();
  function renderPane(c) {
    const pane = $('pane');
    $('empty').hidden = !!c;
    pane.querySelectorAll('.contact').forEach((p) => { if (!c || Number(p.dataset.contact) !== c.id) p.remove(); });
    if (!c) return;
    let p = pane.querySelector('.contact');
    if (!p) {
      p = $('tplcontact').content.firstElementChild.cloneNode(true);
      p.dataset.contact = c.id;
      pane.appendChild(p);
      p.querySelectorAll('[data-i18n]').forEach((e) => { e.textContent = t(e.dataset.i18n); });
      p.querySelectorAll('[data-i18n-ph]').forEach((e) => { e.placeholder = t(e.dataset.i18nPh); });
      const id = c.id, text = p.querySelector('.text');
      const doSend = () => {
        const v = text.value.trim(); if (!v) return;
        send('send', { contact: id, text: v }).then((r) => {
          addLine(id, { seq: r.seq, sender: 'agent', text: v, sent: Date.now() }); text.value = ''; render();
        }).catch((e) => toast(e.message));
      };
      p.querySelector('.send').onclick = doSend;
      text.onkeydown = (e) => { if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); doSend(); } };
      let lastTyping = 0;
      text.oninput = () => { if (Date.now() - lastTyping > 2000) { lastTyping = Date.now(); act('typing', { contact: id }); } };
      const canned = p.querySelector('.canned');
      const list = (S.canned[c.number] || S.canned['*'] || []);
      canned.appendChild(el('option', '', t('canned')));
      list.forEach((s) => canned.appendChild(el('option', '', s)));
      canned.onchange = () => { if (canned.selectedIndex > 0) { text.value = canned.value; canned.selectedIndex = 0; text.focus(); } };
      p.querySelector('.transfer').onclick = () => act('transfer', {
        contact: id, queue: p.querySelector('.xqueue').value.trim(), agent: p.querySelector('.xagent').value.trim(), note: p.querySelector('.xnote').value
      });
      p.querySelector('.end').onclick = () => act('end', { contact: id });
      p.querySelector('.hold').onclick = () => act('hold', { contact: id });
      p.querySelector('.resume').onclick = () => act('resume', { contact: id });
      p.querySelector('.hangup').onclick = () => act('hangup', { contact: id });
      p.querySelector('.xfer').onclick = () => { const n = p.querySelector('.xnum').value.trim(); if (n) act('transfer', { contact: id, target: n }); };
      loadHistory(id).then(renderHistory);
    }
    p.querySelector('.ctitle').textContent = t(c.channel) + ' · ' + (c.citizen || '#' + c.id);
    p.querySelector('.cmeta').textContent = t('hotline') + ' ' + (c.number || '') + ' · ' + t('queue') + ' ' + c.queue + (c.language ? ' · ' + c.language : '');
    p.querySelector('.ctimer').textContent = c.connected ? fmtDur(nowS() - c.connected) : '';
    const attrs = p.querySelector('.cattrs'); attrs.replaceChildren();
    Object.entries(c.attrs || {}).forEach(([k, v]) => { attrs.appendChild(el('dt', '', k)); attrs.appendChild(el('dd', '', v)); });
    p.querySelector('.composer').hidden = c.channel !== 'chat';
    p.querySelector('.callctl').hidden = c.channel !== 'voice';
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
    const ty = S.typingAt.get(c.id) || 0;
    p.querySelector('.typing').textContent = Date.now() - ty < 4000 ? t('typing') : '';
  }

  function renderHistory(items) {
    const h = $('history'); h.replaceChildren();
    (items || []).forEach((it) => {
      const d = el('div', 'hist');
      d.appendChild(el('b', '', fmtTime(it.arrived) + ' · ' + t(it.channel) + ' · ' + it.hotline));
      d.appendChild(el('div', '', (it.disposition || '') + ' ' + (it.notes || '')));
      d.onclick = async () => {
        try {
          const lines = await send('transcript', { contact: it.id });
          const box = el('div', 'log small');
          (lines || []).forEach((l) => box.appendChild(el('div', 'line ' + l.sender, t(l.sender + 'side') + ': ' + l.text)));
          d.appendChild(box);
        } catch (e) { toast(e.message); }
      };
      h.appendChild(d);
    });
  }

  function renderWrap() {
    const w = $('wraplist');
    const have = new Set([...w.querySelectorAll('.wrap')].map((e) => Number(e.dataset.contact)));
    const want = new Set(S.wrap.map((x) => x.contact));
    w.querySelectorAll('.wrap').forEach((e) => { if (!want.has(Number(e.dataset.contact))) e.remove(); });
    S.wrap.forEach((x) => {
      if (have.has(x.contact)) return;
      const f = el('form', 'wrap'); f.dataset.contact = x.contact;
      f.appendChild(el('b', '', '#' + x.contact + ' ' + t(x.channel) + ' ' + (x.number || '')));
      const disp = el('select', 'disp'); disp.setAttribute('aria-label', t('disposition'));
      (S.dispositions[x.number] || S.dispositions['*'] || ['resolved']).forEach((d) => { const o = el('option', '', d); o.value = d; disp.appendChild(o); });
      const notes = el('textarea', 'notes'); notes.placeholder = t('notes'); notes.maxLength = 4000;
      const then = el('select', 'then');
      const o1 = el('option', '', t('ready')); o1.value = 'ready'; then.appendChild(o1);
      S.reasons.forEach((r) => { const o = el('option', '', t('notready') + ': ' + (t('r_' + r) === 'r_' + r ? r : t('r_' + r))); o.value = r; then.appendChild(o); });
      const b = el('button', 'primary', t('save')); b.type = 'submit';
      f.append(disp, notes, then, b);
      f.onsubmit = (ev) => {
        ev.preventDefault();
        send('wrapup', { contact: x.contact, disposition: disp.value, notes: notes.value, then: then.value })
          .then(() => { S.wrap = S.wrap.filter((y) => y.contact !== x.contact); render(); })
          .catch((e) => toast(e.message));
      };
      w.appendChild(f);
    });
  }

  // The supervisor wallboard lives in wallboard.js; it shares state and helpers.
  const W = window.OnecallWallboard({
    S, $, el, t, lang: () => lang, send, act, toast, render, fmtDur, stName, reasonName, nowS
  });

  setInterval(() => { if (S.me && S.ws) render(); }, 1000);
  boot();
})();
