// onecall citizen chat page. Protocol: docs/chat-protocol.md (v1).
// All text is rendered with textContent: messages are text, never HTML.
(function () {
  "use strict";
  // Every text of the page is in /chat/static/i18n/<lang>.json (web/i18n/,
  // README.md there): ko and en are the source, the others machine
  // translations. A key missing from a file shows the English text.
  var dicts = {};
  function mins(s) { return Math.max(1, Math.round((s || 0) / 60)); }
  var $ = function (id) { return document.getElementById(id); };
  var params = new URLSearchParams(location.search);
  var pathNumber = decodeURIComponent((location.pathname.match(/^\/chat\/([^\/]+)$/) || [])[1] || "");
  var LANGS = ["ko", "en", "zh", "ja", "ru", "vi", "th", "mn", "id", "fr", "bn", "ur", "ne", "km", "my", "de", "es", "tl", "ar", "si"];
  var RTL = { ar: true, ur: true }, retentionDays = null;
  function pickLang() {
    var c = [sessionStorage.getItem("onecall.lang"), params.get("lang")].concat(navigator.languages || [navigator.language || ""]);
    for (var i = 0; i < c.length; i++) { var l = (c[i] || "").slice(0, 2).toLowerCase(); if (LANGS.indexOf(l) >= 0) { return l; } }
    return "ko";
  }
  var lang = pickLang();
  var hotlines = [], ws = null, token = sessionStorage.getItem("onecall.token"), lastSeq = 0, state = "", alias = "";
  var pending = {}, nextId = 1, retry = 0, typingTimer = null, lastTypingSent = 0, maxBytes = 4096, ended = false;

  function tmpl(v) {
    if (typeof v !== "string" || v.indexOf("{0}") < 0) { return v; }
    return function () { var a = arguments; return v.replace(/\{(\d)\}/g, function (_, i) { return a[+i]; }); };
  }
  function t(k) {
    var v = (dicts[lang] || {})[k], e = (dicts.en || {})[k];
    if (v === undefined) { v = e; }
    if (v && typeof v === "object" && !Array.isArray(v)) {
      var o = {}; Object.keys(Object.assign({}, e, v)).forEach(function (x) { o[x] = tmpl(v[x] !== undefined ? v[x] : (e || {})[x]); }); return o;
    }
    return tmpl(v);
  }
  function loadDict(l) {
    if (dicts[l]) { return Promise.resolve(dicts[l]); }
    return fetch("/chat/static/i18n/" + l + ".json").then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .catch(function () { return {}; }).then(function (j) { dicts[l] = j; return j; });
  }
  function lineRetention() {
    var n = $("number").value;
    for (var i = 0; i < hotlines.length; i++) { if (hotlines[i].number === n && typeof hotlines[i].retention_days === "number") { return hotlines[i].retention_days; } }
    return retentionDays;
  }
  function applyLang() {
    document.documentElement.lang = lang;
    document.documentElement.dir = RTL[lang] ? "rtl" : "ltr";
    $("lang-pick").value = lang;
    document.querySelectorAll("[data-i18n]").forEach(function (el) { var v = t(el.getAttribute("data-i18n")); if (typeof v === "string") { el.textContent = v; } });
    document.querySelectorAll("[data-i18n-ph]").forEach(function (el) { el.placeholder = t(el.getAttribute("data-i18n-ph")); });
    document.title = t("title");
    $("lang-ko").setAttribute("aria-pressed", String(lang === "ko"));
    $("lang-en").setAttribute("aria-pressed", String(lang === "en"));
    fillHotlines();
    renderHours();
  }
  // noCallbacks: the chosen line places no callbacks, so the page neither
  // asks for a phone number nor says it collects one.
  function noCallbacks() { return !!(hoursInfo && !hoursInfo.callbacks); }
  function renderPrivacy() {
    $("privacy").hidden = retentionDays === null;
    if (retentionDays !== null) { $("privacy-text").textContent = t(noCallbacks() ? "privacyNoCb" : "privacy")(lineRetention()); }
  }
  function setLang(l) {
    if (LANGS.indexOf(l) < 0) { l = "ko"; }
    lang = l; sessionStorage.setItem("onecall.lang", l);
    loadDict(l).then(function () { if (lang === l) { applyLang(); } });
  }
  function status(s) { $("status").textContent = s || ""; }
  function showError(s) { var e = $("error"); e.textContent = s || ""; e.hidden = !s; }
  function show(which) {
    ["start", "wait", "conv", "done"].forEach(function (id) { $(id).hidden = true; });
    which.forEach(function (id) { $(id).hidden = false; });
  }

  var hoursInfo = null;
  function loadHours() {
    var n = $("number").value; hoursInfo = null; renderHours();
    if (!n) { return; }
    fetch("/chat/hours/" + encodeURIComponent(n)).then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (j) { if (j.number === $("number").value) { hoursInfo = j; renderHours(); } }).catch(function () {});
  }
  function spans(ss) { return ss.map(function (x) { return x.replace("-", "–"); }).join(", "); }
  function when(iso) {
    return new Date(iso).toLocaleString(lang === "ko" ? "ko-KR" : "en-GB", { timeZone: "Asia/Seoul", weekday: "short", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  }
  function renderHours() {
    var j = hoursInfo, box = $("hours");
    $("phone-field").hidden = noCallbacks();
    if (noCallbacks()) { $("phone").value = ""; }
    renderPrivacy();
    $("start-btn").textContent = j && !j.open ? t("leaveStart") : t("start");
    if (!j) { box.hidden = true; return; }
    box.hidden = false;
    if (j.always) { $("hours-text").textContent = t("always"); $("hours-status").textContent = t("openNow"); return; }
    var w = j.weekly, parts = [], days = t("days");
    var same = function (a, b) { return a.join() === b.join(); };
    if ([2, 3, 4, 5].every(function (d) { return same(w[d], w[1]); })) { if (w[1].length) { parts.push(t("weekdays") + " " + spans(w[1])); } }
    else { [1, 2, 3, 4, 5].forEach(function (d) { if (w[d].length) { parts.push(days[d] + " " + spans(w[d])); } }); }
    if (same(w[6], w[0])) { if (w[6].length) { parts.push(t("weekends") + " " + spans(w[6])); } }
    else { [6, 0].forEach(function (d) { if (w[d].length) { parts.push(days[d] + " " + spans(w[d])); } }); }
    parts.push(j.holidays_open.length ? t("holidayOpen") + " " + spans(j.holidays_open) : t("holidayClosed"));
    $("hours-text").textContent = parts.join(" · ");
    var st = j.open ? t("openNow") : t("closedNow") + (j.next_open ? " " + t("nextOpen")(when(j.next_open)) : "");
    if (j.holiday) { st += " " + t("today")(j.holiday); }
    $("hours-status").textContent = st;
  }
  function closedNow() { return hoursInfo && !hoursInfo.open; }

  function fillHotlines() {
    var sel = $("number"), cur = sel.value || pathNumber;
    sel.textContent = "";
    hotlines.forEach(function (h) {
      var o = document.createElement("option");
      o.value = h.number; o.textContent = h.number + " " + (lang === "en" ? h.en : h.ko);
      sel.appendChild(o);
    });
    if (cur) { sel.value = cur; }
    fillTopics();
  }
  function fillTopics() {
    var sel = $("topic"), cur = sel.value, h = hotlines.find(function (x) { return x.number === $("number").value; });
    sel.textContent = "";
    (h ? h.topics : []).forEach(function (tp) {
      var o = document.createElement("option"); o.value = tp.id; o.textContent = lang === "en" ? tp.en : tp.ko; sel.appendChild(o);
    });
    if (cur) { sel.value = cur; }
    sel.parentNode.hidden = !(h && h.topics.length);
  }

  function wsURL() { return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/chat"; }
  function send(f) { if (ws && ws.readyState === 1) { ws.send(JSON.stringify(f)); return true; } return false; }

  function connect(first) {
    status(t("connecting"));
    ws = new WebSocket(wsURL());
    ws.onopen = function () { retry = 0; if (first) { send(first); } else if (token) { send({ type: "resume", token: token, last_seq: lastSeq }); } };
    ws.onmessage = function (e) { var f; try { f = JSON.parse(e.data); } catch (x) { return; } handle(f); };
    ws.onclose = function (e) {
      ws = null;
      if (e.code === 4001) { sessionStorage.removeItem("onecall.token"); token = null; show(["start"]); status(""); return; }
      // Closed before the chat started: say so (unless the server said why)
      // and leave the form ready to try again, never "connecting" for good.
      if (!token) { status(""); if ($("error").hidden) { showError(t("errors").unavailable); } return; }
      if (token && !(ended && e.code === 1000)) {
        status(t("reconnecting"));
        retry = Math.min(retry + 1, 6);
        setTimeout(function () { connect(null); }, 250 * Math.pow(2, retry - 1) + Math.random() * 250);
      }
    };
  }

  function addMsg(m) {
    if (m.seq && m.seq <= lastSeq) { return; }      // already shown: never twice
    if (m.seq) { lastSeq = m.seq; }
    var li = document.createElement("li");
    li.className = m.from;
    if (m.seq) { li.dataset.seq = m.seq; }
    var who = document.createElement("span"); who.className = "who";
    who.textContent = m.from === "agent" ? (m.alias || "") : m.from === "citizen" ? t("me") : "";
    var body = document.createElement("span"); body.className = "text"; body.textContent = m.text;
    var meta = document.createElement("span"); meta.className = "meta";
    if (m.from !== "system") { li.appendChild(who); }
    li.appendChild(body); li.appendChild(meta);
    if (m.sent) { meta.textContent = new Date(m.sent).toLocaleTimeString(lang === "en" ? "en-US" : "ko-KR", { hour: "2-digit", minute: "2-digit" }); }
    $("log").appendChild(li);
    $("log").scrollTop = $("log").scrollHeight;
    if (m.from === "agent" && !document.hidden) { send({ type: "read", seq: m.seq }); }
    return li;
  }
  function markReceipt(seq, st) {
    document.querySelectorAll("#log li.citizen").forEach(function (li) {
      var s = +li.dataset.seq; if (s && s <= seq && li.dataset.st !== "read") { li.dataset.st = st; li.querySelector(".meta").dataset.receipt = t(st); li.querySelector(".meta").setAttribute("aria-label", t(st)); li.querySelector(".meta").textContent = li.querySelector(".meta").textContent.split(" · ")[0] + " · " + t(st); }
    });
  }

  function handle(f) {
    switch (f.type) {
    case "started":
      token = f.token; sessionStorage.setItem("onecall.token", token); ended = false;
      status(t("connected")); showError(""); enterState(f.state); break;
    case "resumed":
      status(t("connected")); showError(""); alias = f.alias || alias; enterState(f.state, f);
      if (f.callback_offered && f.state === "waiting") { $("offer").hidden = false; }
      if (f.state === "ended") { onEnded(f.reason, f.offline, f.rated); }
      // messages we sent but never saw acknowledged: if the server committed them
      // they come back in the history; the rest are marked failed.
      var pend = pending; pending = {};
      setTimeout(function () { Object.keys(pend).forEach(function (id) { var li = pend[id]; if (!li.dataset.seq) { li.remove(); var known = Array.prototype.some.call(document.querySelectorAll("#log li.citizen .text"), function (x) { return x.textContent === li.querySelector(".text").textContent; }); if (!known) { showError(t("failed")); $("text").value = li.querySelector(".text").textContent; } } }); }, 500);
      break;
    case "history": f.messages.forEach(addMsg); break;
    case "queue":
      if (closedNow()) { break; } // the closed notice stays
      $("queue").textContent = f.no_agent ? t(hoursInfo && !hoursInfo.callbacks ? "noAgentNoCb" : "noAgent") : (f.position && f.eta_s) ? t("position")(f.position, mins(f.eta_s)) :
        f.position ? t("positionOnly")(f.position) : f.eta_s ? t("etaOnly")(mins(f.eta_s)) : "";
      if (f.no_agent) { $("offer").hidden = false; $("leave-btn").hidden = false; }
      break;
    case "callback_offer": $("offer").hidden = false; $("leave-btn").hidden = false; break;
    case "agent_joined": alias = f.alias; enterState("talking"); break;
    case "state": enterState(f.state); break;
    case "msg": addMsg(f); if (f.from === "agent") { $("typing").textContent = ""; } break;
    case "ack":
      var li = pending[f.id]; delete pending[f.id];
      if (li) { if (f.seq > lastSeq) { lastSeq = f.seq; } li.dataset.seq = f.seq; li.querySelector(".meta").textContent = new Date(f.sent).toLocaleTimeString(lang === "en" ? "en-US" : "ko-KR", { hour: "2-digit", minute: "2-digit" }); }
      break;
    case "typing":
      $("typing").textContent = t("typing")(f.alias || alias);
      clearTimeout(typingTimer); typingTimer = setTimeout(function () { $("typing").textContent = ""; }, 5000); break;
    case "receipt": markReceipt(f.seq, f.status); break;
    case "idle_warning": status(t("idle")(f.close_in_s)); break;
    case "callback_booked": status(t("cbBooked")(f.text)); break;
    case "ended": onEnded(f.reason, f.offline, false); break;
    case "rated": $("rate").hidden = true; status(t("rated")); break;
    case "error":
      if (f.id && pending[f.id]) { var p = pending[f.id]; delete pending[f.id]; p.remove(); $("text").value = p.querySelector(".text").textContent; }
      var e = t("errors")[f.code]; showError(typeof e === "function" ? e(f.limit) : (e || f.message)); break;
    }
  }
  function enterState(st) {
    state = st;
    if (st === "waiting") {
      show(["wait", "conv"]); $("cb-phone").value = $("cb-phone").value || $("phone").value; $("leave-btn").hidden = false;
      if (closedNow()) { // closed: say so at once, with the next opening; a callback only where the line places them
        $("queue").textContent = t("closedWait") + (hoursInfo.next_open ? " " + t("nextOpen")(when(hoursInfo.next_open)) : "");
        document.querySelector(".offline-actions").hidden = !hoursInfo.callback;
      }
    }
    else if (st === "talking") { show(["conv"]); $("leave-btn").hidden = true; status(t("joined")(alias)); }
    else if (st === "ended") { show(["conv", "done"]); }
  }
  function onEnded(reason, offline, rated) {
    ended = true; state = "ended"; $("typing").textContent = "";
    show(offline ? ["wait", "conv", "done"] : ["conv", "done"]);
    $("send").hidden = !offline; $("end-btn").hidden = true; $("leave-btn").hidden = !offline;
    $("queue").textContent = "";
    if (offline && closedNow()) {
      $("queue").textContent = t("closedWait") + (hoursInfo.next_open ? " " + t("nextOpen")(when(hoursInfo.next_open)) : "");
      document.querySelector(".offline-actions").hidden = !hoursInfo.callback;
    }
    $("rate").hidden = !!rated || !!offline;
    $("done-reason").textContent = offline ? t("closed") : ((t("reasons")[reason]) || "");
    $("done-h").setAttribute("tabindex", "-1"); $("done-h").focus(); // announce the end to screen readers
  }

  function sendText(kind) {
    var text = $("text").value;
    if (!text.trim()) { return; }
    if (new TextEncoder().encode(text).length > maxBytes) { showError(t("errors").too_large(maxBytes)); return; }
    var id = "c" + (nextId++);
    if (!send({ type: kind, id: id, text: text })) { showError(t("reconnecting")); return; }
    var li = addMsg({ from: "citizen", text: text });
    li.querySelector(".meta").textContent = t("sending");
    pending[id] = li; $("text").value = ""; showError("");
  }

  function download() {
    fetch("/chat/transcript", { headers: { Authorization: "Bearer " + token } }).then(function (r) {
      if (!r.ok) { throw new Error(r.status); } return r.blob();
    }).then(function (b) {
      var a = document.createElement("a"); a.href = URL.createObjectURL(b); a.download = "onecall-chat.txt";
      document.body.appendChild(a); a.click(); a.remove(); setTimeout(function () { URL.revokeObjectURL(a.href); }, 1000);
    }).catch(function () { showError(t("errors").unavailable); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("lang-ko").addEventListener("click", function () { setLang("ko"); });
    $("lang-en").addEventListener("click", function () { setLang("en"); });
    $("lang-pick").addEventListener("change", function () { setLang($("lang-pick").value); });
    $("number").addEventListener("change", function () { fillTopics(); loadHours(); applyLang(); });
    $("start").addEventListener("submit", function (e) {
      e.preventDefault(); showError("");
      var first = { type: "start", number: $("number").value, topic: $("topic").value, lang: lang, name: $("name").value, phone: $("phone").value };
      $("log").textContent = ""; lastSeq = 0; ended = false;
      if (ws) { ws.onclose = null; ws.close(); }
      connect(first);
    });
    $("send").addEventListener("submit", function (e) { e.preventDefault(); sendText(ended ? "leave_message" : "msg"); });
    $("text").addEventListener("keydown", function (e) { if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); sendText(ended ? "leave_message" : "msg"); } });
    $("text").addEventListener("input", function () { var n = Date.now(); if (n - lastTypingSent > 2000 && !ended) { lastTypingSent = n; send({ type: "typing" }); } });
    $("leave-btn").addEventListener("click", function () { sendText("leave_message"); });
    $("end-btn").addEventListener("click", function () { send({ type: "end" }); });
    $("cb-btn").addEventListener("click", function () { send({ type: "callback", phone: $("cb-phone").value }); });
    $("rate").addEventListener("submit", function (e) {
      e.preventDefault(); var c = document.querySelector("input[name=score]:checked"); if (c) { send({ type: "rate", score: +c.value }); }
    });
    $("dl-btn").addEventListener("click", download);
    $("new-btn").addEventListener("click", function () {
      sessionStorage.removeItem("onecall.token"); token = null; if (ws) { ws.onclose = null; ws.close(); }
      $("log").textContent = ""; lastSeq = 0; ended = false; $("send").hidden = false; $("end-btn").hidden = false; $("rate").hidden = false;
      show(["start"]); status("");
    });
    document.addEventListener("visibilitychange", function () { if (!document.hidden && lastSeq) { send({ type: "read", seq: lastSeq }); } });
    Promise.all([loadDict("en"), loadDict(lang)]).then(function () { return fetch("/chat/hotlines.json"); }).then(function (r) { return r.json(); }).then(function (j) {
      hotlines = j.hotlines || []; maxBytes = j.max_text_bytes || maxBytes;
      if (typeof j.retention_days === "number") { retentionDays = j.retention_days; } applyLang(); loadHours();
      if (token) { connect(null); } else { show(["start"]); }
    }).catch(function () { showError(t("errors").unavailable); });
    setLang(lang);
    show(token ? [] : ["start"]);
  });
})();
