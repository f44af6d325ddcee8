// The asset page's charts: rows written and build time per build, drawn with uPlot (vendored,
// ui/static/vendor/uplot-*) from the series the server put in #charts[data-series]
// ({t: unix seconds, rows: [...], seconds: [...]}, oldest first). A series with no value
// (a view writes no row count) says so instead of drawing an empty chart.
(function () {
  "use strict";

  function draw(el, label, times, values, colour) {
    if (!values.some(function (v) { return v !== null; })) {
      el.textContent = "Nothing recorded (a view, or no build finished).";
      el.classList.add("muted");
      return;
    }
    var width = Math.max(240, el.clientWidth || 320);
    var opts = {
      width: width,
      height: 180,
      series: [{}, { label: label, stroke: colour, width: 2, points: { show: times.length < 60 }, spanGaps: false }],
      axes: [{}, { size: 60 }],
      legend: { show: true },
    };
    var plot = new uPlot(opts, [times, values], el);
    // keep the chart as wide as its box in a narrow or resized window
    window.addEventListener("resize", function () {
      plot.setSize({ width: Math.max(240, el.clientWidth || 320), height: 180 });
    });
  }

  function start() {
    var box = document.getElementById("charts");
    if (!box || typeof uPlot === "undefined") return;
    var data = JSON.parse(box.getAttribute("data-series"));
    draw(document.getElementById("chart-rows"), "rows", data.t, data.rows, "#1f5fbf");
    draw(document.getElementById("chart-seconds"), "seconds", data.t, data.seconds, "#2e7d32");
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
