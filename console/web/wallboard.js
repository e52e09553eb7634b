'use strict';
// onecall supervisor wallboard: queue tiles (problem first, grouped by
// institution and center), charts, drill-down list, agent list and chat
// follow, for a desk and for a TV on the wall (?tv=1). app.js owns the
// connection and state and hands this file its helpers; all text is
// rendered with textContent, never as HTML. Charts use the vendored uPlot.

// Wallboard strings, merged into the console's dictionary.
Object.assign(window.I18N.ko, {
  wb_filter: '대기열 검색', wb_inst: '기관', wb_all: '전체 기관', wb_tv: 'TV 화면', wb_desk: '일반 화면',
  wb_attention: '조치 필요', wb_other: '기타', wb_more: '외 {n}건', wb_search_agents: '상담사 검색',
  wb_allstates: '모든 상태', wb_total_waiting: '전체 대기', wb_sl_all: 'SL 오늘 (전체)',
  wb_target: '목표', lv_bad: '목표 크게 미달', lv_warn: '목표 미달', lv_risk: '목표 위험', lv_wait: '대기 있음', lv_ok: '정상', lv_idle: '유휴',
  ch_vol: '15분별 인입·응답·포기 (오늘)', ch_sl: '대기열별 서비스 수준과 목표', ch_agents: '상태별 상담사 수 (오늘)',
  offered: '인입', answered: '응답', abandonedn: '포기', contacts: '건수', agentsn: '상담사 수',
  sl_bar: 'SL 15분 (없으면 오늘)', sl_target: '목표', nodata: '아직 데이터가 없습니다.',
  moveto: '이동할 대기열', prio: '우선순위', actions: '조치'
});
Object.assign(window.I18N.en, {
  wb_filter: 'Search queues', wb_inst: 'Institution', wb_all: 'All institutions', wb_tv: 'TV mode', wb_desk: 'Desk mode',
  wb_attention: 'Needs attention', wb_other: 'Other', wb_more: '{n} more', wb_search_agents: 'Search agents',
  wb_allstates: 'All states', wb_total_waiting: 'Waiting', wb_sl_all: 'SL today (all)',
  wb_target: 'Target', lv_bad: 'Far below target', lv_warn: 'Below target', lv_risk: 'At risk', lv_wait: 'Contacts waiting', lv_ok: 'OK', lv_idle: 'Idle',
  ch_vol: 'Offered, answered, abandoned per 15 min (today)', ch_sl: 'Service level per queue against its target',
  ch_agents: 'Agents by state (today)', offered: 'Offered', answered: 'Answered', abandonedn: 'Abandoned',
  contacts: 'Contacts', agentsn: 'Agents', sl_bar: 'SL 15 min (else today)', sl_target: 'Target',
  nodata: 'No data yet.', moveto: 'Move to queue', prio: 'Priority', actions: 'Actions'
});
// The historical reports (GET /api/reports?format=html: today by line per
// hour; its form asks for any period, by queue, line, center or agent, and
// links the same report as CSV).
Object.assign(window.I18N.ko, { wb_reports: '통계 보고서' });
Object.assign(window.I18N.en, { wb_reports: 'Reports' });
// Pending callbacks: booked callbacks waiting in a queue for an agent.
Object.assign(window.I18N.ko, { wb_callbacks: '콜백 대기', wb_callbacks_all: '콜백 대기 (전체)', wb_cb_later: '재시도 예정' });
Object.assign(window.I18N.en, { wb_callbacks: 'Callbacks pending', wb_callbacks_all: 'Callbacks pending (all)', wb_cb_later: 'to retry' });

// Supervisor voice tools (listen, whisper, barge through the supervisor's
// own registered phone) and the contact history that records them.
Object.assign(window.I18N.ko, {
  mon_listen: '듣기', mon_whisper: '귓속말', mon_barge: '3자 통화', mon_title: '통화 모니터링',
  mon_listen_d: '고객과 상담사 모두 관리자의 목소리를 듣지 못합니다.', mon_whisper_d: '상담사만 관리자의 목소리를 듣습니다.',
  mon_barge_d: '고객과 상담사 모두 관리자의 목소리를 듣습니다.', mon_ringing: '관리자 전화기를 호출하는 중...',
  mon_ended: '모니터링이 끝났습니다', mon_history: '상담 이력', mon_by: '{n} 모니터링 중',
  ev_supervisor_listen: '관리자 듣기', ev_supervisor_whisper: '관리자 귓속말', ev_supervisor_barge: '관리자 3자 통화',
  ev_supervisor_left: '관리자 종료', ev_waiting: '대기', ev_offered: '연결 요청', ev_talking: '상담', ev_ended: '종료',
  ev_transferred: '이관', ev_wrap_up: '후처리', mr_console: '콘솔에서 중지', 'mr_phone-bye': '관리자 전화 끊음',
  'mr_phone-silent': '관리자 전화 응답 없음', 'mr_agent-left': '상담사 통화 종료', 'mr_call-ended': '통화 종료', mr_consult: '상담사 협의 통화 시작', 'mr_media-failed': '음성 연결 실패'
});
Object.assign(window.I18N.en, {
  mon_listen: 'Listen', mon_whisper: 'Whisper', mon_barge: 'Barge in', mon_title: 'Call monitoring',
  mon_listen_d: 'Neither the citizen nor the agent hears you.', mon_whisper_d: 'Only the agent hears you.',
  mon_barge_d: 'The citizen and the agent both hear you.', mon_ringing: 'Ringing your phone...',
  mon_ended: 'Monitoring ended', mon_history: 'Contact history', mon_by: 'monitored by {n}',
  ev_supervisor_listen: 'Supervisor listening', ev_supervisor_whisper: 'Supervisor whispering', ev_supervisor_barge: 'Supervisor barged in',
  ev_supervisor_left: 'Supervisor left', ev_waiting: 'Waiting', ev_offered: 'Offered', ev_talking: 'Talking', ev_ended: 'Ended',
  ev_transferred: 'Transferred', ev_wrap_up: 'Wrap-up', mr_console: 'stopped from the console', 'mr_phone-bye': 'supervisor hung up',
  'mr_phone-silent': 'supervisor phone lost', 'mr_agent-left': 'agent left the call', 'mr_call-ended': 'call ended', mr_consult: 'agent started a consult', 'mr_media-failed': 'audio could not be mixed'
});

window.OnecallWallboard = function (ctx) {
  const { S, $, el, t, send, act, toast, render, fmtDur, stName, reasonName, nowS } = ctx;
  const W = {
    info: new Map(), tv: /[?&]tv=1\b/.test(location.search) || location.hash === '#tv',
    filter: localStorage.getItem('wbfilter') || '', inst: localStorage.getItem('wbinst') || '',
    tiles: new Map(), layoutKey: '', chartAt: 0, chartKey: '', plots: {}, plotKey: '',
    agentFilter: '', agentState: ''
  };
  const MAX_ROWS = 100; // drill-down and agent rows rendered at most
  const tf = (k, n) => t(k).replace('{n}', n);
  const lang = () => ctx.lang();
  window.onecallWall = W; // for tests and debugging

  // ---- queue names, targets and problem ranking ----
  // A queue's name: its description, else the console's names (a center
  // without queue descriptions), the id only as a last resort.
  const qname = (id) => {
    const i = W.info.get(id), n = ((S.names || {}).queues || {})[id];
    return (i && (lang() === 'ko' ? i.name_ko : i.name_en)) || (n && (n[lang()] || n.ko || n.en)) || id;
  };
  const iname = (i, f) => (i ? (lang() === 'ko' ? i[f + '_ko'] : i[f + '_en']) || i[f] : '') || '';
  function target(id) {
    const i = W.info.get(id);
    return { p: (i && i.sl_percent ? i.sl_percent : 80) / 100, within: (i && i.sl_within_ms) || 20000 };
  }
  // The SL a queue is judged by: the last 15 minutes, else today; -1 = no data.
  // today(q): the queue's SL today. The store's day (read at page load,
  // see loadBackfill) wins when it counted more contacts than the live
  // figure, which starts again when the server does.
  function today(q) {
    const f = W.slDay && W.slDay.get(q.queue);
    if (f && f.base > (q.sl_today_n || 0)) return { sl: f.in / f.base, n: f.base };
    return { sl: q.sl_today, n: q.sl_today_n || 0 };
  }
  const slOf = (q) => { if (q.sl_15m_n > 0) return q.sl_15m; const d = today(q); return d.n > 0 ? d.sl : -1; };
  // level: bad (more than 10 points below target), warn (below target or a
  // contact waiting past the SL threshold), wait (contacts waiting), ok, idle.
  const RANK = { bad: 4, warn: 3, wait: 2, ok: 1, idle: 0 };
  function level(q) {
    const tg = target(q.queue), sl = slOf(q);
    if (sl >= 0 && sl < tg.p - 0.1) return 'bad';
    if ((sl >= 0 && sl < tg.p) || (q.waiting > 0 && q.longest_wait_ms > tg.within)) return 'warn';
    if (q.waiting > 0) return 'wait';
    return sl < 0 && !q.offered ? 'idle' : 'ok';
  }
  const pct = (x, n) => (n > 0 && x >= 0 ? Math.round(x * 100) + ' %' : '—');
  function byProblem(a, b) {
    return RANK[level(b)] - RANK[level(a)] || b.waiting - a.waiting || b.longest_wait_ms - a.longest_wait_ms ||
      qname(a.queue).localeCompare(qname(b.queue));
  }
  function visible(q) {
    const i = W.info.get(q.queue);
    if (W.inst && (!i || (i.institution || '') !== W.inst)) return false;
    if (!W.filter) return true;
    const f = W.filter.toLowerCase();
    return [q.queue, i && i.name_ko, i && i.name_en, iname(i, 'center'), iname(i, 'institution')]
      .some((s) => s && s.toLowerCase().includes(f));
  }

  // ---- controls ----
  function bindControls() {
    const f = $('wbfilter'), s = $('wbinst');
    f.value = W.filter;
    f.oninput = () => { W.filter = f.value.trim(); localStorage.setItem('wbfilter', W.filter); W.layoutKey = ''; render(); };
    s.onchange = () => { W.inst = s.value; localStorage.setItem('wbinst', W.inst); W.layoutKey = ''; render(); };
    $('wbtv').onclick = () => { W.tv = !W.tv; W.layoutKey = ''; W.plotKey = ''; render(); };
    $('agentfilter').oninput = () => { W.agentFilter = $('agentfilter').value.trim().toLowerCase(); render(); };
    $('agentstate').onchange = () => { W.agentState = $('agentstate').value; render(); };
  }
  bindControls();
  function renderControls() {
    const s = $('wbinst'), key = lang() + [...W.info.values()].map((i) => i.institution).join();
    if (s.dataset.key !== key) {
      s.dataset.key = key; s.replaceChildren();
      const o = el('option', '', t('wb_all')); o.value = ''; s.appendChild(o);
      const seen = new Map();
      W.info.forEach((i) => { if (i.institution && !seen.has(i.institution)) seen.set(i.institution, iname(i, 'institution')); });
      [...seen].sort((a, b) => a[1].localeCompare(b[1])).forEach(([id, n]) => { const x = el('option', '', n); x.value = id; s.appendChild(x); });
      s.value = W.inst;
      $('agentfilter').setAttribute('aria-label', t('wb_search_agents'));
      $('agentfilter').placeholder = t('wb_search_agents');
      const as = $('agentstate'); as.replaceChildren(); as.setAttribute('aria-label', t('stateh'));
      const a0 = el('option', '', t('wb_allstates')); a0.value = ''; as.appendChild(a0);
      ['ready', 'busy', 'reserved', 'wrap_up', 'not_ready', 'offline'].forEach((st) => { const x = el('option', '', stName(st)); x.value = st; as.appendChild(x); });
      as.value = W.agentState;
    }
    $('wbtv').textContent = W.tv ? t('wb_desk') : t('wb_tv');
    $('wbtv').setAttribute('aria-pressed', String(W.tv));
    document.body.classList.toggle('tv', W.tv);
  }

  // agentCounts: agents by state, from the snapshot's counts while the
  // rest of a large agent list is still on its way.
  function agentCounts() {
    if (S.agentCounts) return S.agentCounts;
    const counts = {};
    S.agents.forEach((a) => { counts[a.state] = (counts[a.state] || 0) + 1; });
    return counts;
  }
  // ---- summary ----
  function renderSummary() {
    let waiting = 0, longest = 0, n = 0, inSL = 0, cbs = 0;
    S.queues.forEach((q) => {
      waiting += q.waiting; cbs += (q.callbacks || 0) + (q.callbacks_scheduled || 0); longest = Math.max(longest, q.longest_wait_ms || 0);
      const d = today(q);
      if (d.n > 0) { n += d.n; inSL += d.sl * d.n; }
    });
    const counts = agentCounts();
    const box = $('wbsum'); box.replaceChildren();
    const kpi = (label, v, cls) => { const d = el('div', 'kpi ' + (cls || '')); d.appendChild(el('span', 'kl', label)); d.appendChild(el('b', '', v)); box.appendChild(d); };
    kpi(t('wb_total_waiting'), waiting, waiting ? 'hot' : '');
    kpi(t('longest'), longest ? fmtDur(longest) : '—');
    kpi(t('wb_sl_all'), n ? Math.round((inSL / n) * 100) + ' %' : '—');
    kpi(t('wb_callbacks_all'), cbs, cbs ? 'cbs hot' : 'cbs');
    ['ready', 'busy', 'wrap_up', 'not_ready'].forEach((st) => kpi(stName(st), counts[st] || 0, 'st-' + st));
  }

  // ---- tiles ----
  function tile(q) {
    let d = W.tiles.get(q.queue);
    if (!d) {
      d = el('button', 'tile'); d.type = 'button'; d.dataset.queue = q.queue;
      d.onclick = () => { S.drill = q.queue; loadWaiting(q.queue); render(); };
      W.tiles.set(q.queue, d);
    }
    const lv = level(q), key = JSON.stringify(q) + lang() + S.drill + W.tv + (W.fillSeq || 0);
    if (d.dataset.key === key) return d;
    d.dataset.key = key;
    d.className = 'tile lv-' + lv + (q.queue === S.drill ? ' sel' : '');
    d.setAttribute('aria-pressed', String(q.queue === S.drill));
    const i = W.info.get(q.queue), tg = target(q.queue);
    const kids = [el('span', 'tname', qname(q.queue))];
    if (i && i.center) kids.push(el('span', 'tcenter', iname(i, 'center')));
    // A warn tile whose SL still meets its target warns of a contact waiting
    // past the threshold: "at risk", not "below target".
    const slNow = slOf(q), risk = lv === 'warn' && !(slNow >= 0 && slNow < target(q.queue).p);
    kids.push(el('span', 'tlevel', t(risk ? 'lv_risk' : 'lv_' + lv)));
    const big = el('span', 'tbig');
    const w = el('span', 'tw'); w.appendChild(el('b', '', q.waiting)); w.appendChild(el('span', '', t('waitingn')));
    const s = el('span', 'tw'); s.appendChild(el('b', '', pct(q.sl_15m, q.sl_15m_n))); s.appendChild(el('span', '', t('sl15')));
    big.append(w, s); kids.push(big);
    const kv = (k, v, cls) => { const r = el('span', 'kv ' + (cls || '')); r.appendChild(el('span', '', k)); r.appendChild(el('b', '', v)); kids.push(r); };
    const day = today(q);
    kv(t('sltoday'), pct(day.sl, day.n));
    kv(t('wb_target'), Math.round(tg.p * 100) + ' % / ' + Math.round(tg.within / 1000) + 's', 'deskonly');
    kv(t('longest'), q.longest_wait_ms ? fmtDur(q.longest_wait_ms) : '—');
    kv(t('asa'), q.answered ? fmtDur(q.asa_ms) : '—', 'deskonly');
    kv(t('abandoned'), q.abandoned, 'deskonly');
    if (q.callbacks || q.callbacks_scheduled) kv(t('wb_callbacks'), (q.callbacks || 0) + (q.callbacks_scheduled ? ' + ' + q.callbacks_scheduled + ' ' + t('wb_cb_later') : ''), 'cbs');
    const ag = el('span', 'agentsby');
    Object.entries(q.agents || {}).forEach(([st, n]) => { if (n) ag.appendChild(el('span', 'state ' + st, stName(st) + ' ' + n)); });
    kids.push(ag);
    d.replaceChildren(...kids);
    return d;
  }
  function group(title, cls, queues) {
    const g = el('section', 'wbgroup ' + (cls || ''));
    g.appendChild(el('h3', '', title));
    const box = el('div', 'tiles');
    queues.forEach((q) => box.appendChild(tile(q)));
    g.appendChild(box);
    return g;
  }
  function renderTiles() {
    const qs = [...S.queues.values()].filter(visible);
    const attention = qs.filter((q) => RANK[level(q)] >= RANK.wait).sort(byProblem);
    const rest = qs.filter((q) => RANK[level(q)] < RANK.wait);
    // Groups: institution · center, ordered by name; queues OK before idle.
    const groups = new Map();
    rest.forEach((q) => {
      const i = W.info.get(q.queue);
      const k = i && i.center ? iname(i, 'institution') + ' · ' + iname(i, 'center') : '\uffff';
      if (!groups.has(k)) groups.set(k, []);
      groups.get(k).push(q);
    });
    const keys = [...groups.keys()].sort((a, b) => a.localeCompare(b));
    const layout = attention.map((q) => q.queue).join() + '|' + keys.map((k) => k + ':' + groups.get(k).sort(byProblem).map((q) => q.queue).join()).join('|') + lang() + W.tv;
    const box = $('tiles');
    if (layout === W.layoutKey) { qs.forEach(tile); return; }
    W.layoutKey = layout;
    const out = [];
    if (attention.length) out.push(group(t('wb_attention'), 'attention', attention));
    keys.forEach((k) => out.push(group(k === '\uffff' ? t('wb_other') : k, '', groups.get(k))));
    box.replaceChildren(...out);
    if (W.tv) fitTV();
  }
  // TV mode: the largest type at which every tile fits the screen.
  // The whole page must fit too: the charts below the tiles grow when they
  // are drawn, so this also runs after every chart redraw.
  // A heading per center takes a tile's place: when they keep the type
  // below 0.7 (many quiet queues in many centers), the headings go (the
  // tiles stay in their order by center) and the type grows again.
  function fitTV() {
    const box = $('tiles'), root = document.body, se = document.scrollingElement;
    const fits = () => box.scrollHeight <= box.clientHeight + 1 && se.scrollHeight <= window.innerHeight + 1;
    const fit = (min) => {
      for (let s = 1.3; s >= min - 0.001; s -= 0.05) {
        root.style.setProperty('--tv-scale', s.toFixed(2));
        if (fits()) return true;
      }
      return false;
    };
    root.classList.remove('tvcompact');
    if (fit(0.7)) return;
    root.classList.add('tvcompact');
    fit(0.4);
  }

  // ---- drill-down and agents ----
  // syncRows keeps one row per item (keyed), so a control being used keeps
  // its focus and value while the list updates around it.
  function syncRows(tbody, items, key, make, update) {
    const have = new Map();
    [...tbody.rows].forEach((tr) => have.set(tr.dataset.k, tr));
    let prev = null;
    items.forEach((it) => {
      const k = String(key(it));
      let tr = have.get(k);
      if (tr) have.delete(k); else { tr = make(it); tr.dataset.k = k; }
      update(tr, it);
      const next = prev ? prev.nextSibling : tbody.firstChild;
      if (tr !== next) tbody.insertBefore(tr, next);
      prev = tr;
    });
    have.forEach((tr) => tr.remove());
  }
  const setCell = (td, v) => { v = String(v); if (td.textContent !== v) td.textContent = v; };
  function waitingRow(c) {
    const tr = el('tr'); tr.dataset.contact = c.id;
    for (let i = 0; i < 5; i++) tr.appendChild(el('td'));
    const td = el('td');
    const qi = el('select', 'mvq'); qi.setAttribute('aria-label', t('moveto') + ' #' + c.id);
    const o0 = el('option', '', '—'); o0.value = ''; qi.appendChild(o0);
    [...S.queues.keys()].sort((a, b) => qname(a).localeCompare(qname(b)))
      .forEach((id) => { const o = el('option', '', qname(id)); o.value = id; qi.appendChild(o); });
    const pi = el('input', 'mvp'); pi.type = 'number'; pi.setAttribute('aria-label', t('prio') + ' #' + c.id);
    const mv = el('button', 'mv', t('move')); mv.type = 'button';
    mv.onclick = () => {
      const a = { contact: c.id };
      if (qi.value) a.queue = qi.value;
      if (pi.value !== '') a.priority = Number(pi.value);
      if (a.queue || a.priority !== undefined) act('move', a);
    };
    const fb = el('button', 'fol', t('follow')); fb.type = 'button'; fb.onclick = () => followChat(c.id);
    const mons = ['listen', 'whisper', 'barge'].map((m) => {
      const b = el('button', 'mon mon-' + m, t('mon_' + m)); b.type = 'button'; b.title = t('mon_' + m + '_d');
      b.setAttribute('aria-label', t('mon_' + m) + ' #' + c.id); b.onclick = () => monitorCall(c.id, m);
      return b;
    });
    // The contact's history page (events, and the recording of a recorded
    // line once the call has ended).
    const hl = el('a', 'hist', t('mon_history')); hl.href = '/console/contact?id=' + encodeURIComponent(c.id);
    hl.setAttribute('aria-label', t('mon_history') + ' #' + c.id);
    td.append(hl, qi, pi, mv, ...mons, fb); tr.appendChild(td);
    return tr;
  }
  // rsn: a reason the UI can name; the engine's own text (English, e.g.
  // "accepted by agent01") only in English.
  const rsn = (r) => { if (!r) return ''; const n = reasonName(r); return n !== r || lang() === 'en' ? n : ''; };
  function renderDrill() {
    $('drillq').textContent = S.drill ? qname(S.drill) : '';
    const list = S.waiting.slice().sort((a, b) => (a.position || 1e9) - (b.position || 1e9) || a.arrived - b.arrived);
    syncRows($('waiting').tBodies[0], list.slice(0, MAX_ROWS), (c) => c.id + lang(), waitingRow, (tr, c) => {
      const i = list.indexOf(c);
      [c.position || i + 1, t(c.channel), fmtDur(nowS() - c.arrived), t('cs_' + c.state),
        [c.priority ? 'P' + c.priority : '', c.agent, rsn(c.reason)].filter(Boolean).join(' · ')].forEach((v, j) => setCell(tr.cells[j], v));
      tr.querySelector('.fol').hidden = !(c.channel === 'chat' && c.state === 'talking');
      tr.querySelectorAll('.mon').forEach((b) => { b.hidden = !(c.channel === 'voice' && c.state === 'talking'); });
      setCell(tr.cells[4], tr.cells[4].textContent + (c.monitor ? ' · ' + tf('mon_by', c.monitor.by) + ' (' + t('mon_' + c.monitor.mode) + ')' : ''));
    });
    $('waitingmore').textContent = list.length > MAX_ROWS ? tf('wb_more', list.length - MAX_ROWS) : '';
  }
  function agentRow(a) {
    const tr = el('tr'); tr.dataset.agent = a.id;
    for (let i = 0; i < 4; i++) tr.appendChild(el('td'));
    const td = el('td');
    const b1 = el('button', '', t('forceready')); b1.type = 'button'; b1.onclick = () => act('force_state', { agent: a.id, state: 'ready' });
    const b2 = el('button', '', t('forcenr')); b2.type = 'button'; b2.onclick = () => act('force_state', { agent: a.id, state: 'not_ready', reason: 'supervisor' });
    const b3 = el('button', '', t('forcelogout')); b3.type = 'button'; b3.onclick = () => act('force_logout', { agent: a.id });
    [b1, b2, b3].forEach((b) => b.setAttribute('aria-label', b.textContent + ' ' + a.id));
    td.append(b1, b2, b3); tr.appendChild(td);
    return tr;
  }
  function renderAgents() {
    const f = W.agentFilter, st = W.agentState;
    if (!W.agentIds) W.agentIds = [...S.agents.keys()].sort();
    const list = [];
    W.agentIds.forEach((id) => { const a = S.agents.get(id); if (a && (!st || a.state === st) && (!f || id.toLowerCase().includes(f))) list.push(a); });
    syncRows($('agents').tBodies[0], list.slice(0, MAX_ROWS), (a) => a.id + lang(), agentRow, (tr, a) => {
      const c = tr.cells;
      setCell(c[0], a.id + (a.online ? '' : ' (' + t('away') + ')'));
      setCell(c[1], stName(a.state) + (a.reason && a.state === 'not_ready' ? ' (' + reasonName(a.reason) + ')' : ''));
      c[1].className = 'state ' + a.state;
      setCell(c[2], a.since ? fmtDur(nowS() - a.since) : '');
      setCell(c[3], a.active);
    });
    $('agentsmore').textContent = list.length > MAX_ROWS ? tf('wb_more', list.length - MAX_ROWS) : '';
  }

  // renderSuper draws the first screen in two steps: first the KPIs and
  // the queue tiles (what a supervisor reads first), painted at once; the
  // charts and the lists (which measure the laid-out page, and the lists
  // are below the fold) follow in the next task after that paint. Later
  // renders draw everything.
  function renderSuper() {
    const t0 = performance.now();
    renderControls();
    renderSummary();
    renderTiles();
    if (!W.firstDone) {
      if (!S.queues.size) { if (S.seq) { W.isPainted = true; W.afterPaint.splice(0).forEach((f) => f()); } return; } // nothing to draw
      W.firstDone = true; performance.mark('wallboard-first-render');
      // Profile of the first screen: the script of the first render, then
      // the frame that lays it out and paints it.
      performance.measure('wallboard-render-script', { start: t0, detail: document.getElementsByTagName('*').length });
      requestAnimationFrame(() => setTimeout(() => {
        performance.mark('wallboard-first-paint');
        W.isPainted = true; W.afterPaint.splice(0).forEach((f) => f());
        const t1 = performance.now();
        W.restDone = true; renderRest(true);
        performance.measure('wallboard-rest-script', { start: t1 });
      }, 0));
      return;
    }
    if (W.restDone) renderRest(false);
  }
  function renderRest(force) {
    if (!W.tv) { renderDrill(); renderAgents(); }
    drawCharts(force || W.chartLang !== lang()); // a language switch redraws the charts at once
    W.chartLang = lang();
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
  // ---- supervisor voice tools ----
  // The supervisor's phone rings; once answered it is on the call in the
  // chosen mode. The mode buttons switch on the same phone call; Stop (or
  // hanging up the phone) ends it. The pane lists the contact's history,
  // where each start, mode change and end is recorded.
  async function monitorCall(id, mode) {
    if (S.mon && S.mon.contact !== id && S.mon.mode) { toast(t('mon_ended')); }
    S.mon = { contact: id, mode: S.mon && S.mon.contact === id ? S.mon.mode : '', pending: mode };
    renderMon();
    try {
      await send('follow', { contact: id, mode });
      S.mon.mode = mode;
    } catch (e) { toast(ctx.errText(e)); }
    S.mon.pending = '';
    renderMon(); loadMonHistory();
  }
  function renderMon() {
    const m = S.mon;
    $('monpane').hidden = !m;
    if (!m) return;
    $('monid').textContent = '#' + m.contact;
    $('monstate').textContent = m.pending ? t('mon_ringing') : (m.mode ? t('mon_' + m.mode) + ' — ' + t('mon_' + m.mode + '_d') : t('mon_ended'));
    ['listen', 'whisper', 'barge'].forEach((k) => {
      const b = $('mon-' + k); b.setAttribute('aria-pressed', String(m.mode === k)); b.disabled = !!m.pending;
    });
    $('mon-stop').disabled = !m.mode;
  }
  async function loadMonHistory() {
    if (!S.mon) return;
    const id = S.mon.contact;
    let evs = [];
    try { evs = await send('contact_history', { contact: id }) || []; } catch (e) { evs = []; }
    if (!S.mon || S.mon.contact !== id) return;
    const list = $('monhist'); list.replaceChildren();
    evs.forEach((e) => {
      const why = e.reason ? ' · ' + (t('mr_' + e.reason) === 'mr_' + e.reason ? e.reason : t('mr_' + e.reason)) : '';
      const name = t('ev_' + e.state) === 'ev_' + e.state ? e.state : t('ev_' + e.state);
      list.appendChild(el('li', 'ev ' + e.state, new Date(e.at).toLocaleTimeString() + ' ' + name + (e.agent ? ' · ' + e.agent : '') + why));
    });
  }
  ['listen', 'whisper', 'barge'].forEach((k) => { $('mon-' + k).onclick = () => { if (S.mon) monitorCall(S.mon.contact, k); }; });
  $('mon-stop').onclick = () => {
    if (!S.mon) return;
    act('unfollow', { contact: S.mon.contact });
  };
  $('mon-close').onclick = () => { if (S.mon && S.mon.mode) act('unfollow', { contact: S.mon.contact }); S.mon = null; renderMon(); };

  $('unfollow').onclick = () => { act('unfollow', { contact: S.follow }); S.follow = 0; $('followpane').hidden = true; };

  // ---- charts ----
  // Chart bins come with the snapshot; between snapshots the client folds
  // queue_stats deltas into the current 15-minute bin the same way the
  // server does (console/mirror.go).
  const lastTot = new Map();
  function currentBin() {
    const start = Math.floor(nowS() / 900000) * 900000;
    let b = S.chart[S.chart.length - 1];
    if (!b || b.start < start) {
      b = { start, offered: 0, answered: 0, abandoned: 0, sl: -1, agents: {}, w: 0, s: 0 };
      S.chart.push(b); if (S.chart.length > 96) S.chart.shift();
    }
    return b;
  }
  function updateChart(stats) {
    const b = currentBin();
    stats.forEach((q) => {
      const l = lastTot.get(q.queue);
      if (l) {
        b.offered += Math.max(0, q.offered - l[0]); b.answered += Math.max(0, q.answered - l[1]);
        b.abandoned = (b.abandoned || 0) + Math.max(0, q.abandoned - l[2]);
      }
      lastTot.set(q.queue, [q.offered, q.answered, q.abandoned]);
      if (q.sl_15m_n > 0) { b.w = (b.w || 0) + q.answered; b.s = (b.s || 0) + q.sl_15m * q.answered; if (b.w) b.sl = b.s / b.w; }
    });
  }
  const CSS = { offered: '#37474f', answered: '#2e7d32', abandoned: '#c62828', ready: '#2e7d32', busy: '#1565c0', reserved: '#6a1b9a', wrap_up: '#8d6e00', not_ready: '#c62828' };
  function chartSize(id) {
    const box = $(id).parentElement, r = box.getBoundingClientRect();
    // TV: the two plots share what the SL list leaves of the column.
    const col = box.closest('.charts'), sl = $('chartsl').parentElement;
    const tvH = col ? Math.floor((col.clientHeight - sl.offsetHeight - 20) / 2) - 100 : 160;
    return { width: Math.max(240, Math.floor(r.width - 16)), height: W.tv ? Math.max(100, tvH) : 180 };
  }
  // todayBins: the server's bins of today, after the day so far from the
  // store (backfill) for the bins before them: a page opened late or a
  // server restarted at noon still shows the whole morning, its volume
  // (W.fill, from the reports) and its agents by state (W.agentFill, from
  // the agent state log). The bin the server opened with is partial: the
  // store's volume wins when larger.
  function todayBins() {
    const d = new Date(nowS()); d.setHours(0, 0, 0, 0);
    const live = S.chart.filter((b) => b.start >= d.getTime());
    const first = live.length ? live[0].start : Infinity;
    const starts = new Set();
    [W.fill, W.agentFill].forEach((m) => { if (m) m.forEach((_, st) => { if (st < first) starts.add(st); }); });
    const out = [...starts].sort((a, b) => a - b).map((st) => Object.assign(
      { start: st, offered: 0, answered: 0, abandoned: 0, sl: -1 }, (W.fill && W.fill.get(st)) || {},
      { agents: (W.agentFill && W.agentFill.get(st)) || {} }));
    live.forEach((b, i) => {
      const f = W.fill && W.fill.get(b.start);
      out.push(i === 0 && f && f.offered > b.offered
        ? Object.assign({}, b, { offered: f.offered, answered: f.answered, abandoned: f.abandoned }) : b);
    });
    return out;
  }
  // loadBackfill reads the day so far from the store, at most every 5
  // minutes: today's 15-minute figures per queue from the reports (GET
  // /api/reports: the operational day of the server's time zone), summed
  // over queues for the volume chart and over the day per queue for the SL
  // chart and the tiles; and agents by state at the end of each 15 minutes
  // since the page's midnight (GET /api/wallboard/agent-states).
  async function loadBackfill() {
    if (W.fillAt && Date.now() - W.fillAt < 300000) return;
    W.fillAt = Date.now();
    // From midnight, or two hours back after midnight (the charts show at least two hours).
    const midnight = new Date(nowS()); midnight.setHours(0, 0, 0, 0);
    const from = Math.min(midnight.getTime(), Math.floor(nowS() / 900000) * 900000 - 7200000);
    const get = (u) => fetch(u, { credentials: 'same-origin' }).then((r) => (r.ok ? r.json() : null)).catch(() => null);
    const [rep, ag] = await Promise.all([get('/api/reports?every=15m&by=queue&format=json'),
      get('/api/wallboard/agent-states?from=' + from)]);
    if (rep) {
      const m = new Map(), day = new Map();
      (rep.rows || []).forEach((x) => {
        const st = Date.parse(x.start);
        if (!(st > 0)) return;
        const b = m.get(st) || { start: st, offered: 0, answered: 0, abandoned: 0, sl: -1, fill: true };
        b.offered += x.offered || 0; b.answered += x.answered || 0; b.abandoned += x.abandoned || 0;
        m.set(st, b);
        const q = day.get(x.key) || { in: 0, base: 0 };
        q.in += x.in_sl || 0; q.base += x.sl_base || 0;
        day.set(x.key, q);
      });
      W.fill = m; W.slDay = day;
    }
    if (ag) W.agentFill = new Map((ag.bins || []).map((b) => [b.start, b.agents || {}]));
    W.fillSeq = (W.fillSeq || 0) + 1;
    drawCharts(true);
    render();
  }
  function makePlot(id, series, yLabel) {
    const sz = chartSize(id);
    const opts = {
      width: sz.width, height: sz.height, legend: { show: true },
      cursor: { show: true, drag: { x: false, y: false } },
      // x: today from the first bin (at least the last two hours) to the
      // end of the current 15 minutes, ticks on quarter hours.
      scales: {
        x: { time: true, range: (u, lo, hi) => { const end = (Math.floor(nowS() / 900000) + 1) * 900; return [Math.min(lo == null ? end : lo, end - 7200), end]; } },
        y: { range: (u, lo, hi) => [0, Math.max(1, Math.ceil((hi || 0) * 1.1))] }
      },
      axes: [
        { stroke: '#1d2330', grid: { stroke: '#e3e7ee' }, space: 60, incrs: [900, 1800, 3600, 7200, 10800, 21600], values: (u, ticks) => ticks.map((v) => { const d = new Date(v * 1000); return String(d.getHours()).padStart(2, '0') + ':' + String(d.getMinutes()).padStart(2, '0'); }) },
        { stroke: '#1d2330', grid: { stroke: '#e3e7ee' }, label: yLabel, size: 60 }
      ],
      series: [{ label: lang() === 'ko' ? '시각' : 'Time', value: (u, v) => v == null ? '' : new Date(v * 1000).toLocaleTimeString(lang() === 'ko' ? 'ko-KR' : 'en-GB', { hour: '2-digit', minute: '2-digit' }) }]
        .concat(series.map((s) => ({ label: s.label, stroke: s.color, width: 2, points: { show: true, size: 5, fill: s.color }, value: (u, v) => v == null ? '—' : String(v) })))
    };
    const host = $(id); host.replaceChildren();
    return new window.uPlot(opts, [[]].concat(series.map(() => [])), host);
  }
  function drawSL() {
    // SL per queue against its target: worst gap first, as labelled bars on
    // a 0-100 % axis (HTML, so screen readers and axe read every value).
    const box = $('chartsl'); box.replaceChildren();
    const qs = [...S.queues.values()].filter((q) => visible(q) && slOf(q) >= 0)
      .sort((a, b) => (slOf(a) - target(a.queue).p) - (slOf(b) - target(b.queue).p) || a.queue.localeCompare(b.queue));
    const max = W.tv ? 8 : 14;
    if (!qs.length) { box.appendChild(el('p', 'muted', t('nodata'))); return; }
    const list = el('ul', 'slbars');
    qs.slice(0, max).forEach((q) => {
      const sl = slOf(q), tg = target(q.queue), lv = level(q);
      const li = el('li', 'slrow lv-' + lv); li.dataset.queue = q.queue;
      li.appendChild(el('span', 'sln', qname(q.queue)));
      const bar = el('span', 'slbar');
      const fill = el('span', 'slfill'); fill.style.width = Math.round(sl * 100) + '%'; bar.appendChild(fill);
      const mark = el('span', 'sltarget'); mark.style.left = Math.round(tg.p * 100) + '%'; mark.title = t('sl_target'); bar.appendChild(mark);
      li.appendChild(bar);
      li.appendChild(el('span', 'slv', Math.round(sl * 100) + ' % / ' + Math.round(tg.p * 100) + ' %'));
      list.appendChild(li);
    });
    box.appendChild(list);
    const axis = el('div', 'slaxis'); axis.setAttribute('aria-hidden', 'true');
    axis.appendChild(el('span', '', ''));
    const sc = el('span', 'slscale');
    [0, 25, 50, 75, 100].forEach((v) => { const s = el('span', '', v + ' %'); s.style.left = v + '%'; sc.appendChild(s); });
    axis.appendChild(sc); box.appendChild(axis);
    const lg = el('div', 'sllegend');
    const l1 = el('span', 'lg'); l1.appendChild(el('i', 'sw slfill')); l1.appendChild(document.createTextNode(t('sl_bar')));
    const l2 = el('span', 'lg'); l2.appendChild(el('i', 'sw tgt')); l2.appendChild(document.createTextNode(t('sl_target')));
    lg.append(l1, l2); box.appendChild(lg);
    if (qs.length > max) box.appendChild(el('p', 'muted', tf('wb_more', qs.length - max)));
  }
  // loadUPlot fetches the chart library once, after the first screen: it
  // is not needed to paint the tiles, so it stays off the page's critical
  // path (50 KB of script to parse before the first render).
  function loadUPlot() {
    if (W.uplotLoading) return;
    W.uplotLoading = true;
    const sc = document.createElement('script');
    sc.src = '/console/static/vendor/uplot/uPlot.iife.min.js';
    sc.onload = () => drawCharts(true);
    sc.onerror = () => { W.uplotLoading = false; };
    document.head.appendChild(sc);
  }
  // drawCharts redraws at most once a second (10 updates/s stay cheap) and
  // rebuilds the plots only when the language, mode or size changes. An
  // update inside the second is drawn at its end, so the last change before
  // a quiet spell is not left off the charts until the next event.
  function drawCharts(force) {
    const now = Date.now();
    if (!force && now - W.chartAt < 1000) {
      if (!W.chartLater) W.chartLater = setTimeout(() => { W.chartLater = 0; drawCharts(true); }, 1000 - (now - W.chartAt));
      return;
    }
    if (!W.restDone) return; // not before the first screen is painted
    if (!window.uPlot) { loadUPlot(); return; }
    W.chartAt = now;
    const b = currentBin(); // agents by state now, in the current bin
    b.agents = Object.assign({}, agentCounts());
    drawSL();
    const pk = lang() + W.tv + window.innerWidth + 'x' + window.innerHeight;
    if (pk !== W.plotKey) {
      W.plotKey = pk;
      Object.values(W.plots).forEach((p) => p.destroy());
      W.plots.vol = makePlot('chartvol', [
        { label: t('offered'), color: CSS.offered }, { label: t('answered'), color: CSS.answered }, { label: t('abandonedn'), color: CSS.abandoned }], t('contacts'));
      W.plots.agents = makePlot('chartagents', ['ready', 'busy', 'reserved', 'wrap_up', 'not_ready']
        .map((st) => ({ label: stName(st), color: CSS[st] })), t('agentsn'));
    }
    const bins = todayBins(), xs = bins.map((x) => x.start / 1000);
    W.plots.vol.setData([xs, bins.map((x) => x.offered), bins.map((x) => x.answered), bins.map((x) => x.abandoned || 0)]);
    W.plots.agents.setData([xs].concat(['ready', 'busy', 'reserved', 'wrap_up', 'not_ready'].map((st) => bins.map((x) => (x.agents || {})[st] || 0))));
    if (W.tv) fitTV();
    if (!W.chartsDone) { W.chartsDone = true; requestAnimationFrame(() => setTimeout(() => performance.mark('wallboard-complete'), 0)); }
  }
  window.addEventListener('resize', () => { W.plotKey = ''; W.layoutKey = ''; drawCharts(true); });

  // Supervisor-side events. Rendering is coalesced: at most one render per
  // 100 ms however many events arrive (a busy center sends hundreds a second).
  let renderTimer = 0;
  function schedule() {
    if (!renderTimer) renderTimer = setTimeout(() => { renderTimer = 0; render(); }, 100);
  }
  function onEvent(kind, d) {
    schedule();
    switch (kind) {
      case 'agent_state':
        if (!S.agents.has(d.id)) W.agentIds = null;
        S.agents.set(d.id, d);
        break;
      case 'offer':
        S.contacts.set(d.id, d);
        break;
      case 'connected':
        S.contacts.set(d.id, d);
        break;
      case 'contact_state':
        // Live drill-down: a contact moved or transferred into the queue
        // appears, one moved out or answered leaves.
        if (S.drill && (d.queue === S.drill)) {
          const i = S.waiting.findIndex((w) => w.id === d.id);
          if (d.state === 'waiting' || d.state === 'offered' || d.state === 'talking') { if (i >= 0) S.waiting[i] = Object.assign(S.waiting[i], d); else S.waiting.push(d); }
          else if (i >= 0) S.waiting.splice(i, 1);
        } else if (S.drill) {
          S.waiting = S.waiting.filter((w) => w.id !== d.id);
        }
        break;
      case 'monitor':
        if (S.mon && S.mon.contact === d.contact && d.by === S.me.user) {
          S.mon.mode = d.mode || '';
          renderMon();
        }
        if (S.mon && S.mon.contact === d.contact) loadMonHistory();
        break;
      case 'contact_closed':
        S.waiting = S.waiting.filter((w) => w.id !== d.contact);
        if (S.mon && S.mon.contact === d.contact) { S.mon.mode = ''; renderMon(); loadMonHistory(); }
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
  // After a snapshot: queue descriptions, chart baseline, drill-down list.
  function snapshot(d) {
    if (!W.firstDone) performance.mark('wallboard-snapshot');
    W.info = new Map(((d && d.queue_info) || []).map((i) => [i.id, i]));
    lastTot.clear();
    S.queues.forEach((q) => lastTot.set(q.queue, [q.offered, q.answered, q.abandoned]));
    W.layoutKey = ''; W.tiles.clear(); W.agentIds = null;
    if (S.drill) loadWaiting(S.drill);
    whenPainted(loadBackfill); // off the first screen's path (a day's report costs the server a second)
  }

  // The rest of the agent list arrived: list and counts from all agents.
  function onAgents() {
    if (!W.agentsDone) { W.agentsDone = true; performance.mark('wallboard-agents-complete'); }
    W.agentIds = null; schedule();
  }
  // whenPainted runs f once the first screen is painted (at once after).
  W.afterPaint = [];
  const painted = () => !!W.isPainted;
  function whenPainted(f) { if (W.isPainted) f(); else W.afterPaint.push(f); }
  return { render: renderSuper, onEvent, snapshot, onAgents, painted, whenPainted };
};
