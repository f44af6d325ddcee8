// The query page's chart: the result the server embedded in #query-data ({columns, rows})
// drawn by headwater.chart (charts.js) as the chosen kind (bar, line, scatter) of the
// chosen y column against the chosen x column, when "Chart" is pressed (the form's
// defaults: x the first column, y the first numeric other one).
(function () {
  "use strict";

  function start() {
    var form = document.getElementById("chart-form");
    var holder = document.getElementById("query-data");
    if (!form || !holder || typeof uPlot === "undefined") return;
    var data = JSON.parse(holder.textContent);
    var el = document.getElementById("query-chart");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var xi = Number(form.elements.x.value);
      var yi = Number(form.elements.y.value);
      var kind = form.elements.kind.value;
      el.hidden = false;
      window.headwater.chart(el, {
        kind: kind,
        x: data.rows.map(function (r) { return r[xi]; }),
        y: data.rows.map(function (r) { return r[yi]; }),
        xName: data.columns[xi],
        yName: data.columns[yi],
      });
      el.setAttribute("aria-label", kind + " chart of " + data.columns[yi] + " by " + data.columns[xi]);
      document.getElementById("chart-status").textContent =
        "Drew a " + kind + " chart of " + data.columns[yi] + " by " + data.columns[xi] + ".";
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
