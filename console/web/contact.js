// Contact history page for supervisors and admins: the contact's events
// (GET /api/contacts/{id}/history) and a player for its call recording
// (GET /api/contacts/{id}/recording, range requests; each play audited).
(function () {
  'use strict';
  const $ = (id) => document.getElementById(id);

  function cell(tr, text) {
    const td = document.createElement('td');
    td.textContent = text == null ? '' : String(text);
    tr.appendChild(td);
  }

  function dur(ms) {
    const s = Math.round(ms / 1000);
    return Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0');
  }

  async function show(id) {
    $('rec').hidden = true; $('events').hidden = true;
    $('player').removeAttribute('src');
    const r = await fetch('/api/contacts/' + encodeURIComponent(id) + '/history', { credentials: 'same-origin' });
    if (r.status === 401 || r.status === 403) {
      $('status').textContent = r.status === 401 ? '먼저 로그인하세요 · Sign in first (/console)' : '감독자 전용 · Supervisors only';
      return;
    }
    if (r.status !== 200) { $('status').textContent = 'error ' + r.status; return; }
    const h = await r.json();
    const body = $('events').tBodies[0];
    body.replaceChildren();
    (h.events || []).forEach((e) => {
      const tr = document.createElement('tr');
      cell(tr, new Date(e.at).toLocaleString()); cell(tr, e.state); cell(tr, e.queue); cell(tr, e.agent); cell(tr, e.reason);
      body.appendChild(tr);
    });
    $('events').hidden = false;
    if (h.recording) {
      const rec = h.recording;
      $('rec-meta').textContent = '길이 · Length ' + dur(rec.duration_ms) + ' · ' + Math.round(rec.bytes / 1024) + ' KB' +
        (rec.started ? ' · ' + new Date(rec.started).toLocaleString() : '');
      $('player').src = rec.url;
      $('rec').hidden = false;
      $('status').textContent = '이력 ' + body.rows.length + '건, 녹음 있음 · ' + body.rows.length + ' events, recorded';
    } else {
      $('status').textContent = '이력 ' + body.rows.length + '건, 녹음 없음 · ' + body.rows.length + ' events, no recording';
    }
  }

  $('find').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const id = $('f-id').value.trim();
    history.replaceState(null, '', '?id=' + encodeURIComponent(id));
    show(id);
  });
  const id = new URLSearchParams(location.search).get('id');
  if (id && /^[0-9]+$/.test(id)) { $('f-id').value = id; show(id); }
})();
