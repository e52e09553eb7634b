// onecall citizen chat page. Protocol: docs/chat-protocol.md (v1).
// All text is rendered with textContent: messages are text, never HTML.
(function () {
  "use strict";
  var T = {
    ko: {
      privacyH: "개인정보 수집·이용 안내",
      privacy: "수집 항목: 이름, 전화번호, 상담 대화 내용. 목적: 문의에 답변하고 요청 시 다시 연락드리기 위함. 보관 기간: 상담이 끝나고 {0}일이 지나면 이름, 전화번호, 대화 내용을 삭제합니다. 이름과 전화번호는 입력하지 않으셔도 상담받을 수 있습니다.",
      privacyNoCb: "수집 항목: 이름, 상담 대화 내용. 목적: 문의에 답변하기 위함. 보관 기간: 상담이 끝나고 {0}일이 지나면 이름과 대화 내용을 삭제합니다. 이름은 입력하지 않으셔도 상담받을 수 있습니다.",
      title: "채팅 상담", skip: "본문으로 건너뛰기", hotline: "상담 전화번호", topic: "상담 주제", name: "이름 (선택)",
      phone: "전화번호 (선택, 콜백용)", phoneHint: "입력하시면 대기 중 콜백을 예약할 수 있습니다.", start: "상담 시작",
      waiting: "상담사 연결 대기 중", longWait: "대기 시간이 깁니다. 대기 순서를 유지한 채 전화를 받으시거나 메시지를 남기실 수 있습니다.",
      cbPhone: "콜백 받을 전화번호", bookCb: "콜백 예약", conversation: "대화", message: "메시지", placeholder: "메시지를 입력하세요",
      send: "보내기", leave: "메시지 남기고 종료", end: "상담 종료", ended: "상담이 종료되었습니다", rateQ: "상담은 만족스러우셨나요? (1-5)",
      rate: "평가 보내기", download: "대화 내용 내려받기", newChat: "새 상담",
      hoursH: "상담 시간", always: "24시간 연중무휴", openNow: "지금 상담 중입니다.", closedNow: "지금은 상담 시간이 아닙니다.",
      nextOpen: function (s) { return "다음 상담 시작: " + s; }, days: ["일", "월", "화", "수", "목", "금", "토"], weekdays: "평일", weekends: "주말",
      holidayClosed: "공휴일 휴무", holidayOpen: "공휴일", today: function (n) { return "오늘은 " + n + "입니다."; },
      leaveStart: "메시지 남기기", noAgent: "지금은 이 상담을 받을 수 있는 상담사가 없습니다. 메시지를 남기시거나 콜백을 예약해 주세요.", noAgentNoCb: "지금은 이 상담을 받을 수 있는 상담사가 없습니다. 메시지를 남겨 주세요.",
      positionOnly: function (p) { return "대기 순서 " + p + "번"; }, etaOnly: function (s) { return "예상 대기 시간 약 " + mins(s) + "분"; }, closedWait: "지금은 상담 시간이 아닙니다. 메시지를 남겨 주시면 상담 시간에 확인합니다.",
      position: function (p, s) { return "대기 순서 " + p + "번, 예상 대기 시간 약 " + mins(s) + "분"; },
      connecting: "연결 중…", reconnecting: "연결이 끊겼습니다. 다시 연결하는 중…", connected: "연결되었습니다.",
      joined: function (a) { return a + " 상담사와 대화 중"; }, typing: function (a) { return a + " 님이 입력 중…"; },
      delivered: "전달됨", read: "읽음", sending: "보내는 중…", failed: "전송 실패. 다시 보내 주세요.", me: "나",
      rated: "평가해 주셔서 감사합니다.", idle: function (s) { return "응답이 없으면 " + s + "초 후 상담이 종료됩니다."; },
      closed: "지금은 상담 시간이 아닙니다. 메시지를 남기시거나 콜백을 예약해 주세요.", cbBooked: function (p) { return p + " 번호로 콜백이 예약되었습니다."; },
      reasons: { completed: "상담이 끝났습니다.", citizen_ended: "상담을 종료하셨습니다.", inactive: "응답이 없어 종료되었습니다.", callback: "콜백이 예약되었습니다.", message_left: "메시지가 접수되었습니다." },
      errors: { busy: "지금은 상담 요청이 많습니다. 잠시 후 다시 시도해 주세요.", rate_limited: "너무 빠르게 요청하고 있습니다. 잠시 후 다시 시도해 주세요.",
        too_large: function (l) { return "메시지가 너무 깁니다 (최대 " + l + "바이트)."; }, unavailable: "지금은 새 상담을 시작할 수 없습니다. 잠시 후 다시 시도해 주세요.",
        bad_phone: "전화번호를 확인해 주세요 (숫자 8-15자리).", ended: "상담이 이미 종료되었습니다." }
    },
    en: {
      privacyH: "How we use your personal information",
      privacy: "We collect: your name, phone number and the conversation. Why: to answer you and to call you back if you ask. How long: your name, phone number and the conversation are deleted {0} days after the chat ends. Giving your name and phone number is optional; you can chat without them.",
      privacyNoCb: "We collect: your name and the conversation. Why: to answer you. How long: your name and the conversation are deleted {0} days after the chat ends. Giving your name is optional; you can chat without it.",
      title: "Chat with us", skip: "Skip to content", hotline: "Hotline", topic: "Topic", name: "Name (optional)",
      phone: "Phone (optional, for callback)", phoneHint: "With a phone number you can book a callback while waiting.", start: "Start chat",
      waiting: "Waiting for an agent", longWait: "The wait is long. You can get a call back without losing your place, or leave a message.",
      cbPhone: "Phone number for the callback", bookCb: "Book callback", conversation: "Conversation", message: "Message", placeholder: "Type a message",
      send: "Send", leave: "Leave a message and close", end: "End chat", ended: "The chat has ended", rateQ: "How satisfied were you? (1-5)",
      rate: "Send rating", download: "Download transcript", newChat: "New chat",
      hoursH: "Opening hours", always: "Open 24 hours, every day", openNow: "Open now.", closedNow: "Closed now.",
      nextOpen: function (s) { return "Opens " + s; }, days: ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"], weekdays: "Mon–Fri", weekends: "Sat–Sun",
      holidayClosed: "closed on public holidays", holidayOpen: "public holidays", today: function (n) { return "Today is a public holiday (" + n + ")."; },
      leaveStart: "Leave a message", noAgent: "No agent who can take your chat is working right now. Leave a message or book a callback.", noAgentNoCb: "No agent who can take your chat is working right now. Please leave a message.",
      positionOnly: function (p) { return "You are number " + p + " in line"; }, etaOnly: function (s) { return "Estimated wait about " + mins(s) + " min"; }, closedWait: "We are closed now. Leave a message and we will read it when we open.",
      position: function (p, s) { return "You are number " + p + " in line, estimated wait about " + mins(s) + " min"; },
      connecting: "Connecting…", reconnecting: "Connection lost. Reconnecting…", connected: "Connected.",
      joined: function (a) { return "Chatting with " + a; }, typing: function (a) { return a + " is typing…"; },
      delivered: "Delivered", read: "Read", sending: "Sending…", failed: "Not sent. Please send again.", me: "Me",
      rated: "Thank you for your rating.", idle: function (s) { return "Without a reply the chat closes in " + s + " s."; },
      closed: "We are closed now. Leave a message or book a callback.", cbBooked: function (p) { return "Callback booked for " + p + "."; },
      reasons: { completed: "The chat is over.", citizen_ended: "You ended the chat.", inactive: "Closed after inactivity.", callback: "Your callback is booked.", message_left: "Your message was received." },
      errors: { busy: "We are very busy right now. Please try again shortly.", rate_limited: "Too many requests. Please wait a moment.",
        too_large: function (l) { return "The message is too long (limit " + l + " bytes)."; }, unavailable: "New chats are unavailable right now. Please try again shortly.",
        bad_phone: "Please check the phone number (8-15 digits).", ended: "The chat has already ended." }
    }
  };
  function mins(s) { return Math.max(1, Math.round((s || 0) / 60)); }
  var $ = function (id) { return document.getElementById(id); };
  var params = new URLSearchParams(location.search);
  var pathNumber = decodeURIComponent((location.pathname.match(/^\/chat\/([^\/]+)$/) || [])[1] || "");
  // ko and en are above (exact); the others are machine translations in
  // /chat/static/i18n/<lang>.json (see web/i18n/README.md); a key missing
  // there falls back to English.
  var LANGS = ["ko", "en", "zh", "ja", "ru", "vi", "th", "mn", "id", "fr", "bn", "ur", "ne", "km", "my", "de", "es", "tl", "ar", "si"];
  var RTL = { ar: true, ur: true }, extra = {}, retentionDays = null;
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
    if (T[lang]) { return tmpl(T[lang][k]); }
    var v = extra[k], e = T.en[k];
    if (v === undefined) { return tmpl(e); }
    if (typeof v === "object" && !Array.isArray(v)) { var o = {}; Object.keys(e).forEach(function (x) { o[x] = v[x] !== undefined ? tmpl(v[x]) : e[x]; }); return o; }
    return tmpl(v);
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
    if (T[l]) { extra = {}; applyLang(); return; }
    fetch("/chat/static/i18n/" + l + ".json").then(function (r) { return r.json(); }).then(function (j) {
      if (lang === l) { extra = j; applyLang(); }
    }).catch(function () { extra = {}; applyLang(); });
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
      $("queue").textContent = f.no_agent ? t(hoursInfo && !hoursInfo.callbacks ? "noAgentNoCb" : "noAgent") : (f.position && f.eta_s) ? t("position")(f.position, f.eta_s) :
        f.position ? t("positionOnly")(f.position) : f.eta_s ? t("etaOnly")(f.eta_s) : "";
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
    fetch("/chat/hotlines.json").then(function (r) { return r.json(); }).then(function (j) {
      hotlines = j.hotlines || []; maxBytes = j.max_text_bytes || maxBytes;
      if (typeof j.retention_days === "number") { retentionDays = j.retention_days; } applyLang(); loadHours();
      if (token) { connect(null); } else { show(["start"]); }
    }).catch(function () { showError(t("errors").unavailable); });
    setLang(lang);
    show(token ? [] : ["start"]);
  });
})();
