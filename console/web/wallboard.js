'use strict';
// onecall supervisor wallboard: queue tiles, charts, drill-down list, agent
// list and chat follow. app.js owns the connection and state and hands this
// file its helpers; all text is rendered with textContent, never as HTML.
window.OnecallWallboard = function (ctx) {
  const { S, $, el, t, send, act, toast, render, fmtDur, stName, reasonName, nowS } = ctx;

  function pct(x) { return x >= 0 ? Math.round(x * 100) + '%' : '-'; }
  function renderSuper() {
    const tiles = $('tiles'); tiles.replaceChildren();
    [...S.queues.values()].sort((a, b) => a.queue.localeCompare(b.queue)).forEach((q) => {
      const d = el('button', 'tile' + (q.queue === S.drill ? ' sel' : '') + (q.sl_15m < 0.8 && q.answered ? ' warn' : ''));
      d.type = 'button'; d.dataset.queue = q.queue;
      d.appendChild(el('h4', '', q.queue));
      const kv = (k, v, cls) => { const r = el('div', 'kv ' + (cls || '')); r.appendChild(el('span', '', t(k))); r.appendChild(el('b', '', v)); d.appendChild(r); };
      kv('waitingn', q.waiting, 'big'); kv('longest', fmtDur(q.longest_wait_ms)); kv('sltoday', pct(q.sl_today));
      kv('sl15', pct(q.sl_15m)); kv('asa', fmtDur(q.asa_ms)); kv('abandoned', q.abandoned);
      const ag = el('div', 'agentsby');
      Object.entries(q.agents || {}).forEach(([s, n]) => { if (n) ag.appendChild(el('span', 'state ' + s, stName(s) + ' ' + n)); });
      d.appendChild(ag);
      d.onclick = () => { S.drill = q.queue; loadWaiting(q.queue); render(); };
      tiles.appendChild(d);
    });
    $('drillq').textContent = S.drill;
    const tb = $('waiting').tBodies[0];
    const typing = document.activeElement && tb.contains(document.activeElement);
    if (!typing) tb.replaceChildren(); // keep a half-typed move while the clock redraws
    if (!typing) S.waiting.slice().sort((a, b) => (a.position || 1e9) - (b.position || 1e9) || a.arrived - b.arrived).forEach((c, i) => {
      const tr = el('tr');
      [c.position || i + 1, t(c.channel), fmtDur(nowS() - c.arrived), t('cs_' + c.state),
        (c.priority ? 'P' + c.priority + ' · ' : '') + (c.agent ? c.agent + ' · ' : '') + (c.reason || '')].forEach((v) => tr.appendChild(el('td', '', v)));
      const td = el('td');
      const qi = el('input', 'mvq'); qi.placeholder = t('queue'); qi.size = 8;
      const pi = el('input', 'mvp'); pi.placeholder = t('prio'); pi.size = 3; pi.type = 'number';
      const mv = el('button', '', t('move')); mv.type = 'button';
      mv.onclick = () => { const a = { contact: c.id }; if (qi.value) a.queue = qi.value.trim(); if (pi.value !== '') a.priority = Number(pi.value); act('move', a); };
      td.append(qi, pi, mv);
      if (c.channel === 'chat' && c.state === 'talking') {
        const fb = el('button', '', t('follow')); fb.type = 'button'; fb.onclick = () => followChat(c.id); td.appendChild(fb);
      }
      tr.appendChild(td); tb.appendChild(tr);
    });
    const ab = $('agents').tBodies[0]; ab.replaceChildren();
    [...S.agents.values()].sort((a, b) => a.id.localeCompare(b.id)).forEach((a) => {
      const tr = el('tr'); tr.dataset.agent = a.id;
      const idc = el('td', '', a.id);
      if (!a.online) idc.appendChild(el('span', 'muted', ' (' + t('away') + ')'));
      tr.appendChild(idc);
      tr.appendChild(el('td', 'state ' + a.state, stName(a.state) + (a.reason && a.state === 'not_ready' ? ' (' + reasonName(a.reason) + ')' : '')));
      tr.appendChild(el('td', '', a.since ? fmtDur(nowS() - a.since) : ''));
      tr.appendChild(el('td', '', a.active));
      const td = el('td');
      const b1 = el('button', '', t('forceready')); b1.type = 'button'; b1.onclick = () => act('force_state', { agent: a.id, state: 'ready' });
      const b2 = el('button', '', t('forcenr')); b2.type = 'button'; b2.onclick = () => act('force_state', { agent: a.id, state: 'not_ready', reason: 'supervisor' });
      const b3 = el('button', '', t('forcelogout')); b3.type = 'button'; b3.onclick = () => act('force_logout', { agent: a.id });
      td.append(b1, b2, b3); tr.appendChild(td); ab.appendChild(tr);
    });
    drawCharts();
  }
  async function loadWaiting(q) {
    try { S.waiting = await send('waiting', { queue: q }) || []; } catch (e) { S.waiting = []; }
    render();
  }
  async function followChat(id) {
    try {
      const lines = await send('follow', { contact: id });
      S.follow = id; $('followpane').hidden = false; $('followid').textContent = '#' + id;
      $('followlog').replaceChildren();
      (lines || []).forEach(addFollowLine);
    } catch (e) { toast(e.message); }
  }
  function addFollowLine(l) {
    const d = el('div', 'line ' + l.sender);
    d.appendChild(el('span', 'who', t(l.sender + 'side')));
    d.appendChild(el('span', 'msg', l.text));
    $('followlog').appendChild(d);
  }
  $('unfollow').onclick = () => { act('unfollow', { contact: S.follow }); S.follow = 0; $('followpane').hidden = true; };

  // Chart bins come with the snapshot; between snapshots the client folds
  // queue_stats deltas into the current 15-minute bin the same way the server does.
  const lastTot = new Map();
  function updateChart(stats) {
    const start = Math.floor(nowS() / 900000) * 900000;
    let b = S.chart[S.chart.length - 1];
    if (!b || b.start !== start) { b = { start, offered: 0, answered: 0, sl: -1, w: 0, s: 0 }; S.chart.push(b); if (S.chart.length > 96) S.chart.shift(); }
    stats.forEach((q) => {
      const l = lastTot.get(q.queue);
      if (l) { b.offered += Math.max(0, q.offered - l[0]); b.answered += Math.max(0, q.answered - l[1]); }
      lastTot.set(q.queue, [q.offered, q.answered]);
      if (q.answered) { b.w = (b.w || 0) + q.answered; b.s = (b.s || 0) + q.sl_15m * q.answered; b.sl = b.s / b.w; }
    });
  }
  const SVGNS = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs) { const e = document.createElementNS(SVGNS, tag); Object.entries(attrs).forEach(([k, v]) => e.setAttribute(k, v)); return e; }
  function drawCharts() {
    const W = 480, H = 120, bins = S.chart, n = Math.max(bins.length, 1), bw = W / Math.max(n, 16);
    const sl = svg('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': t('slchart') });
    sl.appendChild(svg('line', { x1: 0, x2: W, y1: H * 0.2, y2: H * 0.2, class: 'target' }));
    let pts = '';
    bins.forEach((b, i) => {
      if (b.sl < 0) return;
      const x = (i + 0.5) * bw, y = H - 5 - b.sl * (H - 10);
      pts += `${x},${y} `;
      sl.appendChild(svg('circle', { cx: x, cy: y, r: 3, class: 'slpoint' }));
    });
    sl.appendChild(svg('polyline', { points: pts.trim(), class: 'slline' }));
    $('chartsl').replaceChildren(sl);
    const vol = svg('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': t('volchart') });
    const max = Math.max(1, ...bins.map((b) => b.offered));
    bins.forEach((b, i) => {
      const h = (b.offered / max) * (H - 10), ha = (b.answered / max) * (H - 10);
      vol.appendChild(svg('rect', { x: i * bw + 1, y: H - h, width: Math.max(1, bw / 2 - 1), height: h, class: 'offered' }));
      vol.appendChild(svg('rect', { x: i * bw + bw / 2, y: H - ha, width: Math.max(1, bw / 2 - 1), height: ha, class: 'answered' }));
    });
    $('chartvol').replaceChildren(vol);
  }

  // Supervisor-side events (app.js re-renders afterwards).
  function onEvent(kind, d) {
    switch (kind) {
      case 'agent_state':
        S.agents.set(d.id, d);
        break;
      case 'offer':
        S.contacts.set(d.id, d);
        break;
      case 'connected':
        S.contacts.set(d.id, d);
        break;
      case 'contact_state':
        if (S.drill && (d.queue === S.drill)) {
          const i = S.waiting.findIndex((w) => w.id === d.id);
          if (d.state === 'waiting' || d.state === 'offered') { if (i >= 0) S.waiting[i] = d; else S.waiting.push(d); }
          else if (i >= 0) S.waiting.splice(i, 1);
        } else if (S.drill) {
          S.waiting = S.waiting.filter((w) => w.id !== d.id);
        }
        break;
      case 'contact_closed':
        S.waiting = S.waiting.filter((w) => w.id !== d.contact);
        if (S.follow === d.contact) { addFollowLine({ sender: 'system', text: t('closed') }); }
        break;
      case 'queue_stats':
        d.forEach((q) => S.queues.set(q.queue, q));
        updateChart(d);
        break;
      case 'chat':
        if (d.contact === S.follow && d.kind === 'message') addFollowLine(d);
        break;
    }
  }
  // After a snapshot: refresh the drill-down list.
  function snapshot() { if (S.drill) loadWaiting(S.drill); }

  return { render: renderSuper, onEvent, snapshot };
};
