// berth console: progressive enhancement only; every page works without it.
// Loaded from /ui/assets/ (the CSP forbids inline scripts). No dependencies.
(function () {
  "use strict";

  // Forms that ask before a destructive action (revoke).
  document.addEventListener("submit", function (e) {
    var form = e.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      e.preventDefault();
    }
  });

  // A scan in progress: poll its status line, reload the page when the scan ends.
  function poll(el) {
    var url = el.getAttribute("data-poll");
    if (!url) return;
    var timer = window.setInterval(function () {
      fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (r) {
          if (!r.ok) throw new Error("status " + r.status);
          return r.text();
        })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var fresh = doc.getElementById("scan-status");
          if (!fresh) return;
          var status = fresh.getAttribute("data-status");
          if (status !== "Queued" && status !== "Scanning") {
            window.clearInterval(timer);
            window.location.reload();
            return;
          }
          el.replaceChildren.apply(el, Array.prototype.slice.call(fresh.childNodes));
        })
        .catch(function () {
          window.clearInterval(timer);
        });
    }, 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var el = document.getElementById("scan-status");
    if (el) poll(el);
  });
})();
