/**
 * The dashboard page, shipped as strings so there is no build step: an
 * HTML shell, its style sheet, and a plain script that opens the server's
 * event stream and draws each chart's Vega-Lite spec with vega and
 * vega-lite (served from this package's node_modules, never a CDN). Run
 * data enters the DOM only as text (textContent), never as markup.
 *
 * window.gvmDashboard exposes counters (seq, renders, ready) that the
 * browser test and the benchmark wait on.
 */

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>gvm dashboard</title>
<link rel="stylesheet" href="assets/dashboard.css">
<script src="assets/vega.min.js" defer></script>
<script src="assets/vega-lite.min.js" defer></script>
<script src="assets/dashboard.js" defer></script>
</head>
<body>
<header>
<h1>gvm dashboard</h1>
<span id="conn" class="conn">connecting…</span>
<span id="stamp" class="meta"></span>
</header>
<p class="meta">Watching <span id="roots"></span>. Read-only: nothing here writes to a run directory.</p>
<section id="sec-runs">
<h2>Runs</h2>
<table id="runs">
<thead><tr><th>Status</th><th>Run</th><th>Label</th><th>Method</th><th>Strategy</th><th>Seed</th><th>Regime</th><th>Iteration</th><th>Responses</th><th>Tokens</th><th>Test acc (last / best)</th><th>Heartbeat</th></tr></thead>
<tbody></tbody>
</table>
<p id="empty" class="note" hidden>No runs yet: a run directory appears here once <code>gvm train</code> starts writing it.</p>
</section>
<section id="sec-accuracy">
<h2>Test accuracy</h2>
<p class="note">Runs sharing a label are seeds of one method: line = mean over seeds, band = min–max. Every counter the records carry is an x axis.</p>
<div class="charts" id="charts-accuracy"></div>
</section>
<section id="sec-allocation">
<h2>Allocation</h2>
<p class="note">n<sub>i</sub> against p<sub>i</sub> and G<sub>i</sub>: each method's latest iteration (first seed). Budget share per difficulty level over iterations.</p>
<div class="charts" id="charts-allocation"></div>
</section>
<section id="sec-training">
<h2>Training</h2>
<div class="charts" id="charts-training"></div>
</section>
<section id="sec-run">
<h2>Run <span id="detail-name"></span></h2>
<p id="detail-status" class="note"></p>
<ul id="detail-problems" class="problems"></ul>
<p id="detail-files" class="note"></p>
<div class="cols">
<div><h3>Sample responses (newest first)</h3><div id="samples"></div></div>
<div><h3>Resolved config</h3><pre id="config"></pre></div>
</div>
</section>
</body>
</html>
`;

export const PAGE_CSS = `
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 0.8rem 1rem 3rem; color: #222; line-height: 1.4; }
header { display: flex; align-items: baseline; gap: 1rem; }
h1 { font-size: 1.5rem; margin: 0.2rem 0; }
h2 { font-size: 1.2rem; margin-top: 1.8rem; border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; }
h3 { font-size: 1rem; margin: 0.8rem 0 0.4rem; }
.meta, .note { color: #555; font-size: 0.9rem; }
.conn { font-size: 0.85rem; padding: 0.1rem 0.5rem; border-radius: 0.8rem; background: #eee; }
.conn.live { background: #d9f2dd; color: #17612a; }
.conn.down { background: #fbe0e0; color: #8a1c1c; }
table { border-collapse: collapse; font-size: 0.88rem; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.55rem; }
td { text-align: right; font-variant-numeric: tabular-nums; }
td.text { text-align: left; }
thead th { background: #f4f4f4; position: sticky; top: 0; }
tbody tr { cursor: pointer; }
tbody tr:hover { background: #f7f9fc; }
tbody tr.selected { background: #eaf1fb; }
.badge { display: inline-block; min-width: 5.2rem; text-align: center; border-radius: 0.7rem; padding: 0 0.5rem; font-size: 0.8rem; }
.badge.running { background: #d9f2dd; color: #17612a; }
.badge.finished { background: #e3e8f0; color: #2d4263; }
.badge.crashed { background: #fbe0e0; color: #8a1c1c; }
.charts { display: flex; flex-wrap: wrap; gap: 1rem; align-items: flex-start; }
figure.chart { margin: 0; min-height: 120px; }
figure.chart svg, figure.chart canvas { max-width: 100%; height: auto; }
@media (min-width: 1100px) { figure.chart { max-width: calc(50% - 0.5rem); } }
figure.chart .error { color: #8a1c1c; font-size: 0.85rem; max-width: 40rem; }
.cols { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 2rem; }
#samples, #config { max-height: 36rem; overflow: auto; }
.sample { border: 1px solid #e2e2e2; border-radius: 4px; padding: 0.4rem 0.6rem; margin-bottom: 0.6rem; }
.sample .head { font-size: 0.85rem; color: #444; margin-bottom: 0.3rem; }
.verdict.ok { color: #17612a; font-weight: bold; }
.verdict.bad { color: #8a1c1c; font-weight: bold; }
pre { background: #f7f7f7; padding: 0.4rem 0.6rem; margin: 0.2rem 0; white-space: pre-wrap; word-break: break-word; font-size: 0.82rem; }
.sample pre { max-height: 10rem; overflow: auto; }
.problems { color: #8a1c1c; font-size: 0.85rem; }
`;

export const PAGE_JS = String.raw`"use strict";
(function () {
  var G = (window.gvmDashboard = { seq: -1, renders: 0, inflight: 0, ready: false, errors: [], timings: {} });
  var runs = [], samples = {}, configs = {}, selected = null;
  var views = {}, busy = {}, queued = {};
  var $ = function (id) { return document.getElementById(id); };
  // SVG by default (text stays selectable, marks countable); ?renderer=canvas draws faster on slow machines.
  var renderer = new URLSearchParams(location.search).get("renderer") === "canvas" ? "canvas" : "svg";
  var fmt = function (x, digits) { return x === null || x === undefined || !isFinite(x) ? "–" : Number(x).toLocaleString("en-US", { maximumFractionDigits: digits || 0 }); };
  var pct = function (x) { return x === null || x === undefined ? "–" : (100 * x).toFixed(1) + "%"; };

  function ago(iso) {
    if (!iso) return "–";
    var s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
    return s < 120 ? Math.round(s) + " s ago" : s < 7200 ? Math.round(s / 60) + " min ago" : (s / 3600).toFixed(1) + " h ago";
  }

  function node(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  var es = new EventSource("api/events");
  es.addEventListener("state", function (e) { applyState(JSON.parse(e.data)); });
  es.addEventListener("update", function (e) { applyUpdate(JSON.parse(e.data)); });
  es.onopen = function () { $("conn").textContent = "live"; $("conn").className = "conn live"; };
  es.onerror = function () { $("conn").textContent = "reconnecting…"; $("conn").className = "conn down"; };

  function applyState(s) {
    G.stateAt = Math.round(performance.now());
    G.seq = s.seq;
    runs = s.runs; samples = s.samples; configs = s.configs;
    $("roots").textContent = s.roots.join(", ");
    var names = {};
    s.charts.forEach(function (c) { names[c.name] = true; });
    Object.keys(views).forEach(function (n) { if (!names[n]) removeChart(n); });
    G.ready = false;
    // One at a time, in page order: the first charts appear while the rest are still being drawn.
    s.charts.reduce(function (p, c) { figure(c); return p.then(function () { return draw(c); }); }, Promise.resolve()).then(function () { G.ready = true; G.readyAt = Math.round(performance.now()); });
    refresh(s.time);
  }

  function applyUpdate(u) {
    G.seq = u.seq;
    runs = u.runs;
    Object.keys(u.samples).forEach(function (k) { samples[k] = u.samples[k]; });
    Object.keys(u.configs).forEach(function (k) { configs[k] = u.configs[k]; });
    u.removed.forEach(removeChart);
    u.charts.reduce(function (p, c) { figure(c); return p.then(function () { return draw(c); }); }, Promise.resolve());
    refresh(u.time);
  }

  function refresh(time) {
    $("stamp").textContent = "updated " + new Date(time).toLocaleTimeString();
    if (selected === null || !runs.some(function (r) { return r.id === selected; })) {
      var live = runs.filter(function (r) { return r.status === "running"; })[0] || runs[0];
      selected = live ? live.id : null;
    }
    renderRuns();
    renderDetail();
  }

  function figure(c) {
    var f = $("chart-" + c.name);
    if (!f) {
      f = node("figure", null, "chart");
      f.id = "chart-" + c.name;
      f.setAttribute("data-name", c.name);
      $("charts-" + c.section).appendChild(f);
    }
    return f;
  }

  function draw(c) {
    var json = JSON.stringify(c.spec);
    var v = views[c.name];
    if (v && v.json === json) return Promise.resolve();
    if (busy[c.name]) { queued[c.name] = c; return busy[c.name]; }
    var p = render(c, figure(c), json).then(function () {
      busy[c.name] = null;
      var next = queued[c.name];
      if (next) { delete queued[c.name]; return draw(next); }
    });
    busy[c.name] = p;
    return p;
  }

  // Drawn off-screen, then swapped in: the old chart stays until the new one is ready.
  function render(c, f, json) {
    var holder = document.createElement("div");
    var t0 = performance.now();
    var view;
    try {
      view = new vega.View(vega.parse(vegaLite.compile(c.spec).spec), { renderer: renderer, container: holder, hover: true });
    } catch (err) {
      return Promise.resolve(fail(f, c.name, err));
    }
    G.inflight++;
    return view.runAsync().then(function () {
      var old = views[c.name];
      f.replaceChildren(holder);
      if (old) old.view.finalize();
      views[c.name] = { view: view, json: json };
      G.renders++;
      G.lastRender = Date.now();
      G.timings[c.name] = Math.round(performance.now() - t0);
    }, function (err) { fail(f, c.name, err); }).then(function () { G.inflight--; });
  }

  function fail(f, name, err) {
    var m = "chart " + name + " could not be drawn: " + (err && err.message ? err.message : String(err));
    G.errors.push(m);
    f.replaceChildren(node("p", m, "error"));
  }

  function removeChart(name) {
    var v = views[name];
    if (v) v.view.finalize();
    delete views[name];
    var f = $("chart-" + name);
    if (f) f.remove();
  }

  function renderRuns() {
    var body = document.querySelector("#runs tbody");
    var rows = runs.map(function (r) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-run", r.id);
      tr.setAttribute("data-status", r.status);
      if (r.id === selected) tr.className = "selected";
      tr.title = r.detail;
      var badge = node("td", null, "text");
      badge.appendChild(node("span", r.status, "badge " + r.status));
      tr.appendChild(badge);
      [r.name, r.label, r.method, r.strategy].forEach(function (t) { tr.appendChild(node("td", t === null ? "–" : t, "text")); });
      tr.appendChild(node("td", r.seed === null ? "–" : r.seed));
      tr.appendChild(node("td", r.regime === null ? "–" : r.regime, "text"));
      tr.appendChild(node("td", r.iter + (r.planned === null ? "" : " / " + r.planned)));
      tr.appendChild(node("td", fmt(r.samples)));
      tr.appendChild(node("td", fmt(r.tokens)));
      tr.appendChild(node("td", pct(r.accuracy) + " / " + pct(r.best)));
      var hb = node("td", r.heartbeat ? ago(r.heartbeat.time) : "–", "age");
      if (r.heartbeat) hb.setAttribute("data-time", r.heartbeat.time);
      tr.appendChild(hb);
      tr.addEventListener("click", function () { selected = r.id; renderRuns(); renderDetail(); });
      return tr;
    });
    body.replaceChildren.apply(body, rows);
    $("empty").hidden = runs.length > 0;
  }

  function verdict(s) {
    if (typeof s.correct === "boolean") return s.correct ? ["correct ✓", "ok"] : ["wrong ✗", "bad"];
    if (typeof s.reward === "number") return s.reward > 0 ? ["reward " + s.reward + " ✓", "ok"] : ["reward " + s.reward + " ✗", "bad"];
    return ["no verdict", ""];
  }

  function renderDetail() {
    var r = runs.filter(function (x) { return x.id === selected; })[0];
    $("detail-name").textContent = r ? r.name : "";
    $("detail-status").textContent = r ? r.dir + " — " + r.detail : "";
    $("detail-problems").replaceChildren.apply($("detail-problems"), (r ? r.problems : []).map(function (p) { return node("li", p); }));
    var files = $("detail-files");
    files.replaceChildren();
    if (r) {
      files.appendChild(document.createTextNode("Files: "));
      ["metrics.jsonl", "samples.jsonl", "config.json", "heartbeat.json", "prompts.jsonl"].forEach(function (name, i) {
        if (i > 0) files.appendChild(document.createTextNode(" · "));
        var a = node("a", name);
        a.href = "runs/" + encodeURIComponent(r.id) + "/" + name;
        files.appendChild(a);
      });
    }
    var list = (r && samples[r.id]) || [];
    var items = list.slice().reverse().slice(0, 20).map(function (s) {
      var box = node("div", null, "sample");
      var head = node("div", null, "head");
      var v = verdict(s);
      var where = s.kind === "eval" ? "evaluation" + (s.set ? " (" + s.set + (s.id ? ", " + s.id : "") + ")" : "") : "training";
      head.appendChild(document.createTextNode("iteration " + s.iter + " · " + where + " · "));
      head.appendChild(node("span", v[0], "verdict " + v[1]));
      box.appendChild(head);
      box.appendChild(node("pre", s.prompt));
      box.appendChild(node("pre", s.response));
      return box;
    });
    if (items.length === 0) items = [node("p", "No sample responses yet.", "note")];
    $("samples").replaceChildren.apply($("samples"), items);
    var cfg = r ? configs[r.id] : null;
    $("config").textContent = cfg ? JSON.stringify(cfg, null, 2) : "(no config.json yet)";
  }

  // Heartbeat ages move with the clock, not with the data.
  setInterval(function () {
    document.querySelectorAll("td.age[data-time]").forEach(function (td) { td.textContent = ago(td.getAttribute("data-time")); });
  }, 5000);
})();
`;
