/* bwgate console: reads the gate's JSON API every REFRESH_MS and draws it.
 *
 * Read-only and token-free: only GETs of /api/v1 documents and /healthz. It must run for
 * hours: every series is a ring of at most POINTS points, datasets are capped at
 * SERIES_MAX names (the rest go to "other"), tables are rebuilt in place, and a request
 * still pending when the next tick comes is not doubled. */
"use strict";

const REFRESH_MS = 2000;
const POINTS = 300; /* 10 minutes at 2 s */
const SERIES_MAX = 8;
const PALETTE = ["#3fa7f5", "#f0b43c", "#35c28b", "#c77dff", "#f07f4f", "#4fd1d9",
                 "#e86fa6", "#a3c94f", "#8393a7"];

const $ = (id) => document.getElementById(id);

function fmtBps(v) {
  const u = ["bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"];
  let i = 0;
  v = v || 0;
  while (v >= 1000 && i < u.length - 1) { v /= 1000; i++; }
  return (i ? v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2) : v.toFixed(0)) + " " + u[i];
}
function fmtNum(v) {
  v = v || 0;
  const u = ["", "k", "M", "G", "T"];
  let i = 0;
  while (v >= 1000 && i < u.length - 1) { v /= 1000; i++; }
  return (i ? v.toFixed(v >= 100 ? 0 : 1) : String(Math.round(v))) + u[i];
}
function fmtBytes(v) {
  const u = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  v = v || 0;
  while (v >= 1000 && i < u.length - 1) { v /= 1000; i++; }
  return (i ? v.toFixed(v >= 100 ? 0 : 1) : String(v)) + " " + u[i];
}
function fmtTime(unixS) {
  if (!unixS) return "–";
  const d = new Date(unixS * 1000);
  return d.toLocaleTimeString([], {hour12: false});
}
function ago(unixS) {
  if (!unixS) return "–";
  const s = Math.max(0, Date.now() / 1000 - unixS);
  return s < 60 ? Math.round(s) + " s ago" : s < 3600 ? Math.round(s / 60) + " min ago"
                                                     : Math.round(s / 3600) + " h ago";
}

/* ---- charts: fixed-length rings ------------------------------------------------------ */

const haveCharts = typeof window.Chart === "function";
const labels = []; /* shared by every chart: one per tick, POINTS at most */

function ring(arr, v) {
  arr.push(v);
  while (arr.length > POINTS) arr.shift();
}

function makeChart(id, stacked) {
  const canvas = $(id);
  if (!haveCharts) {
    canvas.parentNode.innerHTML = '<div class="none">charts need Chart.js ' +
      '(Debian package libjs-chart.js)</div>';
    return null;
  }
  return new Chart(canvas, {
    type: "line",
    data: {labels: labels, datasets: []},
    options: {
      animation: false, responsive: true, maintainAspectRatio: false, normalized: true,
      interaction: {mode: "index", intersect: false},
      elements: {point: {radius: 0}, line: {borderWidth: 1.5, tension: 0.2}},
      scales: {
        x: {ticks: {color: "#8393a7", maxTicksLimit: 6, autoSkip: true}, grid: {color: "#1c2530"}},
        y: {stacked: stacked, beginAtZero: true, grid: {color: "#1c2530"},
            ticks: {color: "#8393a7", callback: (v) => fmtBps(v)}},
      },
      plugins: {
        legend: {labels: {color: "#d8e0ea", boxWidth: 10, font: {size: 11}}},
        tooltip: {callbacks: {label: (c) => c.dataset.label + ": " + fmtBps(c.parsed.y)}},
      },
    },
  });
}

const charts = {
  total: makeChart("chart-total", false),
  cls: makeChart("chart-class", true),
  unit: makeChart("chart-unit", true),
};

function dataset(chart, name, i, fill) {
  let ds = chart.data.datasets.find((d) => d.label === name);
  if (!ds) {
    const c = PALETTE[i % PALETTE.length];
    ds = {label: name, data: new Array(labels.length - 1).fill(0), borderColor: c,
          backgroundColor: c + "55", fill: fill};
    chart.data.datasets.push(ds);
  }
  return ds;
}

/* One point per dataset: values[name] (names past SERIES_MAX summed as "other"). */
function pushPoint(chart, values, order, fill) {
  if (!chart) return;
  const shown = order.slice(0, SERIES_MAX);
  const point = {};
  let other = 0;
  for (const name of order) {
    if (shown.includes(name)) point[name] = values[name];
    else other += values[name];
  }
  if (order.length > SERIES_MAX) point.other = other;
  for (const ds of chart.data.datasets) if (!(ds.label in point)) point[ds.label] = 0;
  Object.keys(point).forEach((name, i) => {
    const ds = dataset(chart, name, chart.data.datasets.length, fill);
    ring(ds.data, point[name]);
  });
  /* a name gone for a whole window leaves the chart */
  chart.data.datasets = chart.data.datasets.filter((d) => d.data.some((v) => v > 0) ||
                                                          d.label in values);
  chart.update("none");
}

/* ---- tables --------------------------------------------------------------------------- */

function td(text, cls) {
  const c = document.createElement("td");
  c.textContent = text;
  if (cls) c.className = cls;
  return c;
}
function fill(id, rows, cols) {
  const body = $(id).tBodies[0];
  const out = document.createDocumentFragment();
  if (!rows.length) {
    const tr = document.createElement("tr");
    const c = td("nothing yet", "empty");
    c.colSpan = cols;
    tr.appendChild(c);
    out.appendChild(tr);
  }
  for (const cells of rows) {
    const tr = document.createElement("tr");
    for (const c of cells) tr.appendChild(c);
    out.appendChild(tr);
  }
  body.replaceChildren(out);
}

/* ---- refresh ------------------------------------------------------------------------ */

async function get(path) {
  const r = await fetch(path, {cache: "no-store"});
  const j = await r.json();
  if (!r.ok && path !== "/healthz") throw new Error(path + ": " + (j.error || r.status));
  return j;
}

let busy = false;
let errors = 0;

async function refresh() {
  if (busy) return;
  busy = true;
  try {
    const [stats, health, classes, units, apps, hosts, blocks] = await Promise.all([
      get("/api/v1/stats"), get("/healthz"), get("/api/v1/top?by=classes&limit=100"),
      get("/api/v1/top?by=units&limit=100"), get("/api/v1/top?by=apps&limit=8"),
      get("/api/v1/top?by=hosts&limit=12").catch(() => null),
      get("/api/v1/blocks?limit=10").catch(() => null),
    ]);
    draw(stats, health, classes, units, apps, hosts, blocks);
    $("error").textContent = "";
  } catch (e) {
    errors++;
    $("probe").dataset.errors = String(errors);
    $("error").textContent = String(e.message || e);
    $("health").className = "pill bad";
    $("health").textContent = "no answer";
  } finally {
    busy = false;
  }
}

function draw(stats, health, classes, units, apps, hosts, blocks) {
  const r = stats.rates || {};
  const t = stats.totals || {};
  const fwd = Math.max(0, (r.rx_bps || 0) - (r.drop_bps || 0));
  const fwdPps = Math.max(0, (r.rx_pps || 0) - (r.drop_pps || 0));
  $("fwd-bps").textContent = fmtBps(fwd);
  $("fwd-pps").textContent = fmtNum(fwdPps) + " packets/s";
  $("drop-bps").textContent = fmtBps(r.drop_bps);
  $("drop-pps").textContent = fmtNum(r.drop_pps) + " packets/s";
  $("flows").textContent = fmtNum(stats.flows.active);
  $("flows-rate").textContent = fmtNum(r.flows_per_s) + " new/s of " +
                                fmtNum(stats.flows.capacity);
  $("rx-packets").textContent = fmtNum(t.rx_packets);
  $("rx-bytes").textContent = fmtBytes(t.rx_bytes) + " since start";
  const d = stats.drops || {};
  const policy = d.policy_block || 0;
  let other = 0;
  for (const k in d) if (k !== "policy_block" && k !== "policy_limit") other += d[k];
  $("drops-policy").textContent = fmtNum(policy + (d.policy_limit || 0));
  $("drops-other").textContent = fmtNum(d.policy_limit || 0) + " over limits · " +
                                 fmtNum(other) + " other";
  $("policy").textContent = "v" + stats.policy.version;
  $("workers").textContent = health.workers_alive + "/" + health.workers;
  $("uptime").textContent = fmtTime(stats.policy.loaded_at);
  $("updated").textContent = fmtTime(stats.snapshot.time);
  const h = $("health");
  h.className = "pill " + (health.ok ? "ok" : "bad");
  h.textContent = health.ok ? "healthy" : "unhealthy";

  /* charts */
  ring(labels, fmtTime(stats.snapshot.time));
  if (charts.total) {
    const f = dataset(charts.total, "forwarded", 0, false);
    const x = dataset(charts.total, "dropped", 8, false);
    x.borderColor = "#f0524f";
    x.backgroundColor = "#f0524f55";
    ring(f.data, fwd);
    ring(x.data, r.drop_bps || 0);
    charts.total.update("none");
  }
  const byName = (doc) => {
    const v = {};
    const order = [];
    for (const it of doc.top) { v[it.name || "(none)"] = it.offered_bps; order.push(it.name || "(none)"); }
    return [v, order];
  };
  const [cv, co] = byName(classes);
  pushPoint(charts.cls, cv, co, true);
  const [uv, uo] = byName(units);
  pushPoint(charts.unit, uv, uo, true);

  /* tables */
  if (hosts) {
    $("users").textContent = fmtNum(hosts.users.hosts);
    $("users-foot").textContent = "of " + fmtNum(hosts.users.capacity) + " · " +
                                  fmtNum(hosts.users.evictions) + " evicted";
    fill("top-users", hosts.top.map((u) => [
      td(u.name, "addr"), td(u.unit || "–"), td(fmtBps(u.up_bps), "n"),
      td(fmtBps(u.down_bps), "n"),
      td(fmtBps(u.dropped_bps), "n" + (u.dropped_bps ? " block" : "")),
      td(fmtBytes(u.bytes), "n"), td(fmtNum(u.flows), "n"),
      td(fmtNum(u.blocked_flows), "n" + (u.blocked_flows ? " block" : "")),
      td(fmtNum(u.limited_flows), "n" + (u.limited_flows ? " limit" : "")),
      td(ago(u.last_seen))]), 10);
  } else {
    $("users").textContent = "off";
    $("users-foot").textContent = "per-user accounting is off";
  }
  fill("top-apps", apps.top.map((a) => [
    td(a.name), td(fmtBps(a.forwarded_bps), "n"),
    td(fmtBps(a.dropped_bps), "n" + (a.dropped_bps ? " block" : "")), td(fmtNum(a.flows), "n")]), 4);
  fill("top-classes", classes.top.slice(0, 8).map((c) => [
    td(c.name), td(fmtBps(c.forwarded_bps), "n"),
    td(fmtBps(c.dropped_bps), "n" + (c.dropped_bps ? " block" : "")), td(fmtBytes(c.bytes), "n")]), 4);
  if (blocks) {
    fill("blocks", blocks.blocks.map((b) => [
      td(fmtTime(b.time)), td(b.user, "addr"), td(b.unit || "–"), td(b.action, b.action),
      td(b.class), td(b.rule), td(b.app), td(b.host || b.peer)]), 8);
  }

  /* what a test reads: updates made, and the first and latest packet counts seen */
  const p = $("probe");
  p.dataset.updates = String(Number(p.dataset.updates) + 1);
  if (!p.dataset.firstRx) p.dataset.firstRx = String(t.rx_packets);
  p.dataset.lastRx = String(t.rx_packets);
}

refresh();
setInterval(refresh, REFRESH_MS);
