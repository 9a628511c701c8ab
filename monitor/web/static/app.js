// OKI Viral Monitor: the only script. Refreshes the board's rows; the server renders (and escapes) them.
(function () {
  "use strict";
  var table = document.getElementById("board");
  if (!table) { return; }
  var url = table.getAttribute("data-refresh");
  var body = document.getElementById("board-rows");
  var stamp = document.getElementById("board-updated");
  function refresh() {
    if (document.hidden) { return; }
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) {
        if (r.redirected || r.status === 401) { window.location.href = "/login"; return null; }
        return r.ok ? r.text() : null;
      })
      .then(function (html) {
        if (html === null) { return; }
        // The fragment is our own server-rendered, auto-escaped template (same origin, CSP-protected).
        var tpl = document.createElement("template");
        tpl.innerHTML = "<table><tbody>" + html + "</tbody></table>";
        var fresh = tpl.content.querySelector("tbody");
        if (fresh) { body.replaceChildren.apply(body, Array.prototype.slice.call(fresh.childNodes)); }
        if (stamp) { stamp.textContent = new Date().toLocaleTimeString("id-ID", { timeZone: "Asia/Jakarta", hour: "2-digit", minute: "2-digit" }) + " WIB"; }
      })
      .catch(function () { /* offline for a moment: try again next tick */ });
  }
  var seconds = parseInt(table.getAttribute("data-interval") || "30", 10);
  window.setInterval(refresh, Math.max(2, seconds) * 1000);
})();
