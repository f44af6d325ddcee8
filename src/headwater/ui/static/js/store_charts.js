// The store page's four charts (headwater.chart, charts.js), from the answers the server
// embedded in #store-data; every data-refresh-ms the answers are fetched again from
// GET /api/store and the charts redrawn when a newer run finished (every run refreshes them).
(function () {
  "use strict";

  function bars(id, answer, name, colour) {
    var el = document.getElementById(id);
    var keys = Object.keys(answer);
    window.headwater.chart(el, {
      kind: "bar", x: keys, y: keys.map(function (k) { return answer[k]; }),
      xName: name, yName: el.id === "chart-q4" ? "customers" : "units", colour: colour, height: 220,
    });
  }

  function draw(a) {
    bars("chart-q1", a.units_by_shade, "shade", "#1f5fbf");
    bars("chart-q2", a.units_by_region, "region", "#2e7d32");
    // hours as labels "0".."23" in order (object keys of numbers keep that order)
    bars("chart-q3", a.units_by_hour, "hour (UTC)", "#8e24aa");
    bars("chart-q3-weekday", a.units_by_weekday, "weekday", "#8e24aa");
    bars("chart-q4", { "added then removed": a.add_then_remove_customers }, "customers", "#c62828");
    document.getElementById("top-region").textContent = a.top_region || "";
    document.getElementById("q4-answer").textContent = a.add_then_remove_customers;
    document.getElementById("store-run").textContent = a.run_id ? "As of run " + a.run_id : "No run yet";
  }

  function start() {
    var holder = document.getElementById("store-data");
    if (!holder || typeof uPlot === "undefined") return;
    var answers = JSON.parse(holder.textContent);
    draw(answers);
    var status = document.getElementById("store-run");
    var every = Number(status.getAttribute("data-refresh-ms")) || 5000;
    setInterval(function () {
      fetch(status.getAttribute("data-url"), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (fresh) {
          if (fresh && fresh.run_id !== answers.run_id) { answers = fresh; draw(fresh); }
        })
        .catch(function () { /* the server is away for a moment: try again next time */ });
    }, every);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
