// OKI Viral Monitor: the only script. Refreshes the board's rows; the server renders (and escapes) them.
(function () {
  "use strict";
  var table = document.getElementById("board");
  if (!table) { return; }
  var url = table.getAttribute("data-refresh");
  var body = document.getElementById("board-rows");
  var stamp = document.getElementById("board-updated");
  var when = null;
  // Say the rows refresh themselves only where this script runs (a <noscript> note says otherwise).
  var auto = document.getElementById("board-auto");
  if (auto) { auto.hidden = false; }
  function refresh() {
    if (document.hidden) { return; }
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) {
        if (r.redirected || r.status === 401) { window.location.href = "/login"; return null; }
        when = r.headers.get("X-Board-Updated");
        return r.ok ? r.text() : null;
      })
      .then(function (html) {
        if (html === null) { return; }
        // The fragment is our own server-rendered, auto-escaped template (same origin, CSP-protected).
        // Body: the summary strip, then <table><tbody> with the rows (older servers sent the rows alone).
        var tpl = document.createElement("template");
        tpl.innerHTML = html.indexOf("<tbody") === -1 ? "<table><tbody>" + html + "</tbody></table>" : html;
        var fresh = tpl.content.querySelector("tbody");
        if (fresh) { body.replaceChildren.apply(body, Array.prototype.slice.call(fresh.childNodes)); }
        var summary = tpl.content.querySelector("#board-summary");
        var shown = document.getElementById("board-summary");
        if (summary && shown) { shown.replaceWith(summary); }
        // The server formats the time (one format everywhere); the browser's clock and locale play no part.
        if (stamp && when) { stamp.textContent = when; }
      })
      .catch(function () { /* offline for a moment: try again next tick */ });
  }
  var seconds = parseInt(table.getAttribute("data-interval") || "30", 10);
  window.setInterval(refresh, Math.max(2, seconds) * 1000);
})();
