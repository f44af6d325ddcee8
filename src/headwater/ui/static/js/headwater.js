// Headwater's own script: every htmx request carries the session's CSRF token (from the
// page's <meta name="csrf-token">); window.headwater.csrf() gives it to fetch() callers.
(function () {
  "use strict";
  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  window.headwater = { csrf: csrf };
  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrf();
  });
})();
