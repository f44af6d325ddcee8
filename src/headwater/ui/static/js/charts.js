// Charts of a result's columns, drawn with uPlot (vendored, ui/static/vendor/uplot-*):
// window.headwater.chart(el, {kind, x, y, xName, yName}) draws a bar, line or scatter chart
// of y against x in el (replacing what el held) and returns the uPlot instance.
// x may be numbers, ISO instants/dates (a time axis) or anything else (categories, one
// slot each, labelled); y values are read as numbers (anything else is a gap). Line and
// scatter charts of a numeric or time x are drawn in x order.
(function () {
  "use strict";
  var ISO = /^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$/;

  function number(v) {
    if (v === null || v === undefined || v === "" || typeof v === "boolean") return null;
    var n = Number(v);
    return isFinite(n) ? n : null;
  }

  function instant(v) {
    if (typeof v !== "string" || !ISO.test(v)) return null;
    var s = v.replace(" ", "T");
    if (/^\d{4}-\d{2}-\d{2}$/.test(s)) s += "T00:00:00Z";
    else if (!/(Z|[+-]\d{2}(:?\d{2})?)$/.test(s)) s += "Z"; // the warehouse answers in UTC
    var ms = Date.parse(s.replace(/([+-]\d{2})$/, "$1:00"));
    return isNaN(ms) ? null : ms / 1000;
  }

  // how x reads: "number", "time" or "category"
  function xKind(xs) {
    var present = xs.filter(function (v) { return v !== null && v !== undefined; });
    if (present.length && present.every(function (v) { return typeof v === "number"; })) return "number";
    if (present.length && present.every(function (v) { return instant(v) !== null; })) return "time";
    return "category";
  }

  function series(spec) {
    var kind = xKind(spec.x);
    var pairs = spec.x.map(function (v, i) {
      var at = kind === "number" ? number(v) : kind === "time" ? instant(v) : i;
      return [at, number(spec.y[i]), v];
    }).filter(function (p) { return p[0] !== null; });
    if (kind !== "category") pairs.sort(function (a, b) { return a[0] - b[0]; });
    return {
      kind: kind,
      x: pairs.map(function (p) { return p[0]; }),
      y: pairs.map(function (p) { return p[1]; }),
      labels: pairs.map(function (p) { return p[2] === null ? "null" : String(p[2]); }),
    };
  }

  function paths(kind) {
    if (kind === "bar") return uPlot.paths.bars({ size: [0.7, 80] });
    if (kind === "scatter") return function () { return null; }; // points only
    return uPlot.paths.linear();
  }

  function chart(el, spec) {
    var data = series(spec);
    el.textContent = "";
    if (!data.y.some(function (v) { return v !== null; })) {
      el.textContent = "No number to draw in " + spec.yName + ".";
      el.classList.add("muted");
      return null;
    }
    el.classList.remove("muted");
    var categories = data.kind === "category";
    var colour = spec.colour || "#1f5fbf";
    var n = data.x.length;
    var opts = {
      width: Math.max(240, el.clientWidth || 480),
      height: spec.height || 260,
      scales: {
        // categories sit on 0..n-1 with half a slot of room each side (no bar cut in half)
        x: categories ? { time: false, range: function () { return [-0.5, n - 0.5]; } } : { time: data.kind === "time" },
        // a bar stands on zero: the y range always holds it
        y: { range: function (u, lo, hi) {
          var low = spec.kind === "bar" ? Math.min(0, lo) : lo;
          var high = spec.kind === "bar" ? Math.max(0, hi) : hi;
          return uPlot.rangeNum(low, high, 0.1, true);
        } },
      },
      series: [
        { label: spec.xName, value: categories ? function (u, i) { return i === null ? "" : data.labels[i]; } : undefined },
        {
          label: spec.yName,
          stroke: colour,
          fill: spec.kind === "bar" ? colour + "99" : undefined,
          width: spec.kind === "scatter" ? 0 : 2,
          paths: paths(spec.kind),
          points: { show: spec.kind !== "bar", size: spec.kind === "scatter" ? 7 : 5, fill: colour },
        },
      ],
      axes: [
        categories ? {
          // one tick per category (thinned when they would crowd), labelled by its value
          splits: function () {
            var step = Math.max(1, Math.ceil(n / Math.max(1, Math.floor((el.clientWidth || 480) / 48))));
            return data.x.filter(function (i) { return i % step === 0; });
          },
          values: function (u, ticks) { return ticks.map(function (t) { return data.labels[t] === undefined ? "" : data.labels[t]; }); },
        } : {},
        { size: 64 },
      ],
      legend: { show: spec.kind !== "bar" },
    };
    var plot = new uPlot(opts, [data.x, data.y], el);
    window.addEventListener("resize", function () {
      plot.setSize({ width: Math.max(240, el.clientWidth || 480), height: opts.height });
    });
    return plot;
  }

  window.headwater = window.headwater || {};
  window.headwater.chart = chart;
})();
