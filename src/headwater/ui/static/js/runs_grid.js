// The runs grid: runs as columns (newest on the left), steps as rows, one coloured cell per
// step of a run, drawn on a canvas the size of the visible box only (redrawn on scroll), so
// 1,000 x 100 cells scroll as smoothly as 10 x 10. The data is the page's embedded JSON
// (GET /api/grid's shape). Point or arrow-key to a cell to read it below the grid; click
// or Enter opens its run at that step.
(function () {
  "use strict";
  var CELL = 14, PAD = 2, HEADER = 64, MAX_LABEL = 280;

  function start() {
    var canvas = document.getElementById("grid");
    var source = document.getElementById("grid-data");
    if (!canvas || !source) return;
    var data = JSON.parse(source.textContent);
    var scroller = document.getElementById("grid-scroll");
    var space = document.getElementById("grid-space");
    var status = document.getElementById("grid-status");
    var runUrl = canvas.getAttribute("data-run-url");
    var ctx = canvas.getContext("2d");
    var css = getComputedStyle(document.documentElement);
    var colours = {};
    ["success", "failed", "running", "queued", "upstream_failed", "interrupted", "skipped",
     "abandoned", "muted", "line", "fg", "panel", "focus"].forEach(function (name) {
      colours[name] = css.getPropertyValue("--" + name).trim() || "#888";
    });
    var font = "12px " + (css.getPropertyValue("font-family") || "sans-serif");
    ctx.font = font;
    var label = 60;
    data.steps.forEach(function (s) { label = Math.max(label, ctx.measureText(s).width + 12); });
    label = Math.min(Math.ceil(label), MAX_LABEL);
    // the geometry, for tools and tests that point at a cell: (label + col * cell, header + row * cell)
    canvas.setAttribute("data-geometry", JSON.stringify({ label: label, cell: CELL, header: HEADER }));
    var cols = data.runs.length, rows = data.steps.length;
    space.style.width = (label + cols * CELL + PAD) + "px";
    space.style.height = (HEADER + rows * CELL + PAD) + "px";
    var hover = null, focus = null, scheduled = false;

    function size() {
      var ratio = window.devicePixelRatio || 1;
      var w = Math.min(scroller.clientWidth, label + cols * CELL + PAD);
      var h = Math.min(scroller.clientHeight || 600, HEADER + rows * CELL + PAD);
      canvas.width = Math.round(w * ratio);
      canvas.height = Math.round(h * ratio);
      canvas.style.width = w + "px";
      canvas.style.height = h + "px";
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      draw();
    }

    function colour(state) { return colours[state] || colours.muted; }

    function short(iso) { return iso ? iso.slice(5, 16).replace("T", " ") : ""; }

    function draw() {
      scheduled = false;
      var w = canvas.clientWidth, h = canvas.clientHeight;
      var sx = scroller.scrollLeft, sy = scroller.scrollTop;
      ctx.clearRect(0, 0, w, h);
      ctx.font = font;
      var c0 = Math.max(0, Math.floor(sx / CELL)), c1 = Math.min(cols, Math.ceil((sx + w - label) / CELL) + 1);
      var r0 = Math.max(0, Math.floor(sy / CELL)), r1 = Math.min(rows, Math.ceil((sy + h - HEADER) / CELL) + 1);
      for (var c = c0; c < c1; c++) {
        var x = label + c * CELL - sx, cells = data.cells[c];
        for (var r = r0; r < r1; r++) {
          var cell = cells[r];
          if (!cell) continue;
          ctx.fillStyle = colour(cell[0]);
          ctx.fillRect(x + 1, HEADER + r * CELL - sy + 1, CELL - PAD, CELL - PAD);
        }
      }
      [hover, focus].forEach(function (at, i) {
        if (!at) return;
        ctx.strokeStyle = i ? colours.focus : colours.fg;
        ctx.lineWidth = 2;
        ctx.strokeRect(label + at[0] * CELL - sx, HEADER + at[1] * CELL - sy, CELL, CELL);
      });
      // the step names (left) and the runs' start times (top) stay in place
      ctx.fillStyle = "#fff";
      ctx.fillRect(0, 0, label, h);
      ctx.fillStyle = colours.fg;
      ctx.textBaseline = "middle";
      for (r = r0; r < r1; r++) {
        ctx.fillText(clip(data.steps[r], label - 8), 4, HEADER + r * CELL - sy + CELL / 2);
      }
      ctx.fillStyle = "#fff";
      ctx.fillRect(0, 0, w, HEADER);
      for (c = c0; c < c1; c++) {
        var run = data.runs[c];
        ctx.fillStyle = colour(run.status);
        ctx.fillRect(label + c * CELL - sx + 1, HEADER - 6, CELL - PAD, 4);
        if (c % 5 === 0) {
          ctx.save();
          ctx.translate(label + c * CELL - sx + CELL / 2, HEADER - 9);
          ctx.rotate(-Math.PI / 3);
          ctx.fillStyle = colours.muted;
          ctx.fillText(short(run.started_at), 0, 0);
          ctx.restore();
        }
      }
      ctx.fillStyle = "#fff";
      ctx.fillRect(0, 0, label, HEADER);
      ctx.fillStyle = colours.muted;
      ctx.fillText(rows + " steps × " + cols + " runs", 4, HEADER / 2);
    }

    function clip(text, width) {
      if (ctx.measureText(text).width <= width) return text;
      while (text.length > 1 && ctx.measureText("…" + text).width > width) text = text.slice(1);
      return "…" + text;
    }

    function redraw() {
      if (!scheduled) { scheduled = true; window.requestAnimationFrame(draw); }
    }

    function at(event) {
      var box = canvas.getBoundingClientRect();
      var x = event.clientX - box.left, y = event.clientY - box.top;
      var c = Math.floor((x - label + scroller.scrollLeft) / CELL);
      var r = Math.floor((y - HEADER + scroller.scrollTop) / CELL);
      if (x < label || c < 0 || c >= cols) return null;
      return [c, y < HEADER ? -1 : Math.min(r, rows - 1)];
    }

    function describe(pos) {
      if (!pos) return "\u00a0";
      var run = data.runs[pos[0]];
      var head = "run " + run.run_id + " (" + run.status + (run.pipeline ? ", " + run.pipeline : "") + ")";
      if (pos[1] < 0) return head;
      var cell = data.cells[pos[0]][pos[1]], step = data.steps[pos[1]];
      if (!cell) return head + " · " + step + ": not in this run";
      var took = cell[2] === null ? "" : " · " + cell[2].toFixed(cell[2] < 10 ? 2 : 0) + " s";
      return head + " · " + step + ": " + cell[0] + " · " + cell[1] + (cell[1] === 1 ? " attempt" : " attempts") + took;
    }

    function open(pos) {
      if (!pos) return;
      var href = runUrl.replace("__RUN__", encodeURIComponent(data.runs[pos[0]].run_id));
      window.location.href = href + (pos[1] >= 0 ? "#step-" + encodeURIComponent(data.steps[pos[1]]) : "");
    }

    function show(pos) {
      if (pos && pos[1] >= 0) {  // keep the focused cell in view
        var x = label + pos[0] * CELL, y = HEADER + pos[1] * CELL;
        if (x - label < scroller.scrollLeft) scroller.scrollLeft = x - label;
        if (x + CELL > scroller.scrollLeft + canvas.clientWidth) scroller.scrollLeft = x + CELL - canvas.clientWidth;
        if (y - HEADER < scroller.scrollTop) scroller.scrollTop = y - HEADER;
        if (y + CELL > scroller.scrollTop + canvas.clientHeight) scroller.scrollTop = y + CELL - canvas.clientHeight;
      }
      status.textContent = describe(pos);
      redraw();
    }

    canvas.addEventListener("mousemove", function (event) {
      var pos = at(event);
      hover = pos && pos[1] >= 0 ? pos : null;
      canvas.style.cursor = pos ? "pointer" : "default";
      status.textContent = describe(pos);
      redraw();
    });
    canvas.addEventListener("mouseleave", function () { hover = null; redraw(); });
    canvas.addEventListener("click", function (event) { open(at(event)); });
    canvas.addEventListener("focus", function () { if (!focus) focus = [0, 0]; show(focus); });
    canvas.addEventListener("keydown", function (event) {
      if (!focus) focus = [0, 0];
      var moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1],
                    PageUp: [0, -10], PageDown: [0, 10], Home: [-cols, 0], End: [cols, 0] };
      if (event.key === "Enter") { open(focus); event.preventDefault(); return; }
      var move = moves[event.key];
      if (!move) return;
      event.preventDefault();
      focus = [Math.max(0, Math.min(cols - 1, focus[0] + move[0])),
               Math.max(0, Math.min(rows - 1, focus[1] + move[1]))];
      show(focus);
    });
    scroller.addEventListener("scroll", redraw, { passive: true });
    window.addEventListener("resize", size);
    size();
    window.headwaterGrid = { drawn: performance.now() };  // when it was first drawn (measured)
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
