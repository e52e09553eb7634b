// Audit trail page for admins: GET /api/audit with filters, newest first,
// paged by id; the CSV link carries the same filters.
(function () {
  'use strict';
  const $ = (id) => document.getElementById(id);
  let before = 0;

  function params() {
    const p = new URLSearchParams();
    const actor = $('f-actor').value.trim(), action = $('f-action').value.trim();
    if (actor) p.set('actor', actor);
    if (action) p.set('action', action);
    const from = $('f-from').value, to = $('f-to').value;
    if (from) p.set('from', String(new Date(from).getTime()));
    if (to) p.set('to', String(new Date(to).getTime()));
    return p;
  }

  function cell(tr, text, cls) {
    const td = document.createElement('td');
    td.textContent = text == null ? '' : String(text);
    if (cls) td.className = cls;
    tr.appendChild(td);
  }

  async function load(more) {
    const p = params();
    $('csv').href = '/api/audit.csv?' + p.toString();
    p.set('limit', '200');
    if (more && before) p.set('before', String(before));
    const r = await fetch('/api/audit?' + p.toString(), { credentials: 'same-origin' });
    if (r.status === 401 || r.status === 403) {
      $('status').textContent = r.status === 401 ? '먼저 로그인하세요 · Sign in first (/console)' : '관리자 전용 · Admins only';
      return;
    }
    if (r.status !== 200) { $('status').textContent = 'error ' + r.status; return; }
    const rows = await r.json();
    const body = $('log').tBodies[0];
    if (!more) body.replaceChildren();
    rows.forEach((e) => {
      const tr = document.createElement('tr');
      cell(tr, e.id); cell(tr, new Date(e.at).toLocaleString()); cell(tr, e.actor); cell(tr, e.role);
      cell(tr, e.action); cell(tr, e.target); cell(tr, e.detail, 'detail'); cell(tr, e.source);
      body.appendChild(tr);
      before = e.id;
    });
    $('more').hidden = rows.length < 200;
    $('status').textContent = body.rows.length + ' 건 · entries';
  }

  $('filter').addEventListener('submit', (ev) => { ev.preventDefault(); before = 0; load(false); });
  $('more').addEventListener('click', () => load(true));
  load(false);
})();
