// onecall chat widget: <script src="https://HOST/chat/widget.js" data-number="110" async></script>
// Adds a button that opens the chat page in an iframe. The embedding site must be
// listed in the server's frame-ancestors allow-list.
(function () {
  "use strict";
  var me = document.currentScript;
  if (!me) { return; }
  var base = new URL(me.src, location.href).origin;
  var number = me.getAttribute("data-number") || "";
  var lang = me.getAttribute("data-lang") || (navigator.language || "ko").slice(0, 2);
  var open = false, frame = null;
  var btn = document.createElement("button");
  btn.type = "button";
  btn.textContent = lang === "en" ? "Chat with us" : "채팅 상담";
  btn.setAttribute("aria-expanded", "false");
  btn.style.cssText = "position:fixed;right:16px;bottom:16px;z-index:2147483000;padding:12px 18px;border-radius:24px;border:0;background:#0b57d0;color:#fff;font:16px system-ui,sans-serif;cursor:pointer;min-height:44px";
  btn.addEventListener("click", function () {
    open = !open;
    btn.setAttribute("aria-expanded", String(open));
    if (open && !frame) {
      frame = document.createElement("iframe");
      frame.title = lang === "en" ? "Chat" : "채팅 상담";
      frame.src = base + "/chat/" + encodeURIComponent(number) + "?lang=" + encodeURIComponent(lang) + "&embed=1";
      frame.style.cssText = "position:fixed;right:16px;bottom:72px;width:min(400px,calc(100vw - 32px));height:min(640px,calc(100vh - 96px));border:1px solid #888;border-radius:8px;background:#fff;z-index:2147483000";
      frame.setAttribute("allow", "clipboard-write");
      document.body.appendChild(frame);
    }
    if (frame) { frame.hidden = !open; if (open) { frame.focus(); } }
  });
  function add() { document.body.appendChild(btn); }
  if (document.body) { add(); } else { document.addEventListener("DOMContentLoaded", add); }
})();
