// The project graph page: draws GET /api/graph (boxes laid out by the server) on a canvas.
// Pan: drag, or the arrow keys on the focused drawing. Zoom: the wheel (around the pointer),
// the + / − buttons or keys, Fit (0). Find: the search box (/ focuses it) centres and selects
// an asset. Select: click a box: it, everything upstream and everything downstream stay lit,
// the panel lists them as links; double-click or Enter opens the asset's page.
// Only what is in view is drawn, edges in one path per style: 2,000 assets redraw in a few ms.
// window.hwGraph exposes the timings (ms) the benchmark and the tests read.
(function () {
  "use strict";
  var COLOURS = {
    success: "#2e7d32", failed: "#c62828", running: "#1565c0", queued: "#b0bec5",
    upstream_failed: "#ef6c00", interrupted: "#6a1b9a", skipped: "#bdbdbd",
    abandoned: "#795548", cancelled: "#795548",
  };
  var NEVER = "#ffffff";
  var started = performance.now();
  var canvas, ctx, box, data = null, nodes = [], parents = [], children = [], byName = {};
  var scale = 1, ox = 0, oy = 0, dpr = 1, width = 0, height = 0;
  var selected = -1, lit = null, upSet = null, downSet = null, pending = false;
  var timings = { fetch: null, firstDraw: null, firstDrawAt: null, lastDraw: null, draws: 0 };
  window.hwGraph = { timings: timings, select: function (name) { return find(name, true); } };

  function $(id) { return document.getElementById(id); }

  function say(text) { $("graph-status").textContent = text; }

  function load() {
    canvas = $("graph");
    if (!canvas) return;
    box = $("graph-box");
    ctx = canvas.getContext("2d");
    var t = performance.now();
    fetch(canvas.getAttribute("data-src"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) throw new Error("the server answered " + r.status);
        return r.json();
      })
      .then(function (d) { timings.fetch = performance.now() - t; init(d); })
      .catch(function (e) { say("Could not load the graph: " + e.message); });
  }

  function init(d) {
    data = d;
    nodes = d.nodes;
    parents = nodes.map(function () { return []; });
    children = nodes.map(function () { return []; });
    d.edges.forEach(function (e) { children[e[0]].push(e[1]); parents[e[1]].push(e[0]); });
    nodes.forEach(function (n, i) { byName[n.name] = i; });
    resize();
    var focus = canvas.getAttribute("data-focus");
    if (!(focus && find(focus, true))) fit();
    drawNow();
    timings.firstDraw = performance.now() - started;
    timings.firstDrawAt = performance.now();  // since the navigation started
    if (selected < 0) say(nodes.length + " assets, " + d.edges.length + " edges");
    wire();
  }

  function resize() {
    dpr = window.devicePixelRatio || 1;
    width = box.clientWidth; height = box.clientHeight;
    canvas.width = Math.round(width * dpr); canvas.height = Math.round(height * dpr);
  }

  function fit() {
    if (!data) return;
    var s = Math.min(width / (data.size.w + 40), height / (data.size.h + 40));
    scale = Math.min(1.5, Math.max(0.01, s));
    ox = (width - data.size.w * scale) / 2; oy = (height - data.size.h * scale) / 2;
    draw();
  }

  function zoomAt(factor, sx, sy) {
    var s = Math.min(4, Math.max(0.01, scale * factor));
    ox = sx - (sx - ox) * (s / scale); oy = sy - (sy - oy) * (s / scale);
    scale = s;
    draw();
  }

  function centre(i) {
    var n = nodes[i];
    scale = Math.max(scale, 1);
    ox = width / 2 - (n.x + data.box.w / 2) * scale;
    oy = height / 2 - (n.y + data.box.h / 2) * scale;
  }

  function draw() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; drawNow(); });
  }

  function drawNow() {
    var t = performance.now();
    var w = data.box.w, h = data.box.h;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.setTransform(dpr * scale, 0, 0, dpr * scale, dpr * ox, dpr * oy);
    var x0 = -ox / scale, y0 = -oy / scale, x1 = x0 + width / scale, y1 = y0 + height / scale;
    var dim = lit !== null;
    var plain = new Path2D(), bright = new Path2D();
    data.edges.forEach(function (e) {
      var a = nodes[e[0]], b = nodes[e[1]];
      var ax = a.x + w, ay = a.y + h / 2, bx = b.x, by = b.y + h / 2;
      if (Math.max(ax, bx) < x0 || Math.min(ax, bx) > x1 || Math.max(ay, by) < y0 || Math.min(ay, by) > y1) return;
      var p = dim && lit[e[0]] && lit[e[1]] ? bright : plain;
      var mx = (ax + bx) / 2;
      p.moveTo(ax, ay); p.bezierCurveTo(mx, ay, mx, by, bx, by);
    });
    ctx.lineWidth = 1 / Math.max(scale, 0.5);
    ctx.strokeStyle = dim ? "rgba(120,130,140,0.15)" : "rgba(90,100,110,0.45)";
    ctx.stroke(plain);
    if (dim) { ctx.strokeStyle = "#1f5fbf"; ctx.lineWidth = 2 / Math.max(scale, 0.5); ctx.stroke(bright); }
    var text = scale * h >= 11;
    if (text) { ctx.font = "12px system-ui, sans-serif"; ctx.textBaseline = "middle"; }
    for (var i = 0; i < nodes.length; i++) {
      var n = nodes[i];
      if (n.x + w < x0 || n.x > x1 || n.y + h < y0 || n.y > y1) continue;
      ctx.globalAlpha = dim && !lit[i] ? 0.25 : 1;
      ctx.fillStyle = "#ffffff";
      ctx.fillRect(n.x, n.y, w, h);
      ctx.fillStyle = COLOURS[n.status] || NEVER;
      ctx.fillRect(n.x, n.y, 8, h);
      ctx.lineWidth = i === selected ? 3 : 1;
      ctx.strokeStyle = i === selected ? "#ffbf47" : (dim && lit[i] ? "#1f5fbf" : "#8a96a3");
      ctx.strokeRect(n.x, n.y, w, h);
      if (text) { ctx.fillStyle = "#1d232b"; ctx.fillText(n.name, n.x + 13, n.y + h / 2, w - 18); }
    }
    ctx.globalAlpha = 1;
    timings.lastDraw = performance.now() - t;
    timings.draws += 1;
  }

  function hit(sx, sy) {
    var x = (sx - ox) / scale, y = (sy - oy) / scale, w = data.box.w, h = data.box.h;
    for (var i = 0; i < nodes.length; i++) {
      var n = nodes[i];
      if (x >= n.x && x <= n.x + w && y >= n.y && y <= n.y + h) return i;
    }
    return -1;
  }

  function reach(start, next) {
    var seen = {}, stack = next[start].slice(), out = [];
    while (stack.length) {
      var i = stack.pop();
      if (seen[i]) continue;
      seen[i] = true; out.push(i);
      Array.prototype.push.apply(stack, next[i]);
    }
    return out;
  }

  function assetUrl(name) {
    return canvas.getAttribute("data-asset-url").replace("__NAME__", encodeURIComponent(name));
  }

  function list(el, items) {
    el.textContent = "";
    items.slice(0, 300).forEach(function (i) {
      var li = document.createElement("li"), a = document.createElement("a");
      a.href = assetUrl(nodes[i].name); a.textContent = nodes[i].name;
      li.appendChild(a); el.appendChild(li);
    });
    if (items.length > 300) {
      var more = document.createElement("li");
      more.textContent = "and " + (items.length - 300) + " more";
      el.appendChild(more);
    }
  }

  function select(i) {
    selected = i;
    if (i < 0) {
      lit = null; $("graph-selected").hidden = true; draw();
      say(nodes.length + " assets, " + data.edges.length + " edges");
      return;
    }
    var up = reach(i, parents), down = reach(i, children);
    var byLabel = function (a, b) { return nodes[a].name < nodes[b].name ? -1 : 1; };
    up.sort(byLabel); down.sort(byLabel);
    lit = {}; lit[i] = true;
    up.forEach(function (j) { lit[j] = true; }); down.forEach(function (j) { lit[j] = true; });
    var n = nodes[i];
    $("graph-selected").hidden = false;
    $("sel-name").textContent = n.name;
    var st = $("sel-status");
    st.textContent = n.status || "never run"; st.className = "status " + (n.status || "never");
    $("sel-link").href = assetUrl(n.name);
    $("sel-up-count").textContent = up.length; $("sel-down-count").textContent = down.length;
    list($("sel-up"), up); list($("sel-down"), down);
    say("Selected " + n.name);
    draw();
  }

  function find(query, exact) {
    if (!data) return false;
    var q = (query || "").trim().toLowerCase();
    if (!q) return false;
    var i = byName[query.trim()];
    if (i === undefined && !exact) {
      i = -1;
      for (var j = 0; j < nodes.length; j++) if (nodes[j].name.toLowerCase().indexOf(q) >= 0) { i = j; break; }
    }
    if (i === undefined || i < 0) { say("No asset matches “" + query + "”"); return false; }
    centre(i); select(i);
    return true;
  }

  function wire() {
    var dragging = null;
    canvas.addEventListener("pointerdown", function (e) {
      dragging = { x: e.clientX, y: e.clientY, ox: ox, oy: oy, moved: false };
      canvas.setPointerCapture(e.pointerId);
      canvas.style.cursor = "grabbing";
    });
    canvas.addEventListener("pointermove", function (e) {
      if (!dragging) return;
      var dx = e.clientX - dragging.x, dy = e.clientY - dragging.y;
      if (Math.abs(dx) + Math.abs(dy) > 3) dragging.moved = true;
      ox = dragging.ox + dx; oy = dragging.oy + dy;
      draw();
    });
    canvas.addEventListener("pointerup", function (e) {
      var was = dragging; dragging = null; canvas.style.cursor = "";
      if (was && !was.moved) {
        var r = canvas.getBoundingClientRect();
        select(hit(e.clientX - r.left, e.clientY - r.top));
      }
    });
    canvas.addEventListener("dblclick", function (e) {
      var r = canvas.getBoundingClientRect(), i = hit(e.clientX - r.left, e.clientY - r.top);
      if (i >= 0) window.location.href = assetUrl(nodes[i].name);
    });
    canvas.addEventListener("wheel", function (e) {
      e.preventDefault();
      var r = canvas.getBoundingClientRect();
      zoomAt(Math.exp(-e.deltaY * 0.0015), e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });
    canvas.addEventListener("keydown", function (e) {
      var step = 60;
      var keys = {
        ArrowLeft: function () { ox += step; draw(); }, ArrowRight: function () { ox -= step; draw(); },
        ArrowUp: function () { oy += step; draw(); }, ArrowDown: function () { oy -= step; draw(); },
        "+": function () { zoomAt(1.25, width / 2, height / 2); }, "=": function () { zoomAt(1.25, width / 2, height / 2); },
        "-": function () { zoomAt(0.8, width / 2, height / 2); }, "0": fit,
        Escape: function () { select(-1); },
        Enter: function () { if (selected >= 0) window.location.href = assetUrl(nodes[selected].name); },
      };
      if (keys[e.key]) { e.preventDefault(); keys[e.key](); }
    });
    document.addEventListener("keydown", function (e) {
      var tag = (e.target && e.target.tagName) || "";
      if (e.key === "/" && tag !== "INPUT" && tag !== "TEXTAREA") { e.preventDefault(); $("graph-find").focus(); }
    });
    $("graph-search").addEventListener("submit", function (e) { e.preventDefault(); find($("graph-find").value, false); });
    $("zoom-in").addEventListener("click", function () { zoomAt(1.25, width / 2, height / 2); });
    $("zoom-out").addEventListener("click", function () { zoomAt(0.8, width / 2, height / 2); });
    $("zoom-fit").addEventListener("click", fit);
    window.addEventListener("resize", function () { resize(); draw(); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", load);
  else load();
})();
