// statefleet inspector: plain JavaScript, no dependencies. Every value from the server is
// put in the page as text (textContent / createTextNode), never as HTML.
"use strict";

const API = "api/v1";
const SVG_NS = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);

const state = {
  token: sessionStorage.getItem("statefleet-token") || "",
  view: null,          // "overview" | "actor"
  actorId: null,
  cursors: [""],       // the cursor of each page seen, for "first page"
  page: 0,
  nextCursor: null,
  filters: { chart: "", state: "", status: "", limit: "50" },
  oldest: null,        // the oldest history version shown
  chart: null,         // the chart structure drawn, "id@version"
  refresh: null,       // a pending debounced refresh
  lastChange: 0,       // the newest record's time (epoch seconds) seen on the stream
};

// -- helpers -------------------------------------------------------------------------------
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) node.append(c);
  return node;
}

function svg(tag, attrs) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  return node;
}

class HttpError extends Error {
  constructor(status, problem) {
    super(problem.detail || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

async function api(path) {
  const headers = { accept: "application/json" };
  if (state.token) headers.authorization = `Bearer ${state.token}`;
  const res = await fetch(`${API}/${path}`, { headers });
  if (res.status === 401) showAuth();
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new HttpError(res.status, body);
  return body;
}

function showProblem(err) {
  const box = $("problem");
  box.hidden = false;
  box.replaceChildren(el("p", { text: err instanceof HttpError ? err.message : String(err) }));
}

function clearProblem() {
  $("problem").hidden = true;
}

function showAuth() {
  $("auth").hidden = false;
}

function actorLink(id) {
  return el("a", { href: `#/actor/${encodeURIComponent(id)}`, text: id });
}

function shortName(id) {
  const dot = id.lastIndexOf(".");
  return dot >= 0 ? id.slice(dot + 1) : id;
}

function fmtTime(seconds) {
  // a real clock gives epoch seconds; a virtual one small numbers
  if (seconds > 1e9) return new Date(seconds * 1000).toLocaleString();
  return `t=${seconds.toFixed(3)}s`;
}

function fmtDue(seconds) {
  if (seconds <= 1e9) return fmtTime(seconds);
  const delta = Math.round(seconds - Date.now() / 1000);
  const rel = delta >= 0 ? `in ${delta}s` : `${-delta}s ago`;
  return `${fmtTime(seconds)} (${rel})`;
}

// -- routing -------------------------------------------------------------------------------
function route() {
  clearProblem();
  const hash = location.hash || "#/";
  const m = hash.match(/^#\/actor\/(.+)$/);
  $("overview").hidden = Boolean(m);
  $("actor").hidden = !m;
  if (m) {
    state.view = "actor";
    state.actorId = decodeURIComponent(m[1]);
    state.oldest = null;
    loadActor().then(() => $("actor-h").focus());
  } else {
    state.view = "overview";
    state.actorId = null;
    loadOverview();
    loadActors();
  }
}

// -- overview ------------------------------------------------------------------------------
async function loadOverview() {
  let ov;
  try {
    ov = await api("inspector/overview");
  } catch (err) {
    showProblem(err);
    return;
  }
  // the server shares one count for a few seconds: ask again when it predates a change seen
  if (ov.at < state.lastChange) scheduleRefresh(null, 2000);
  const scope = ov.complete ? "" : ` (counts cover the first ${ov.scanned.toLocaleString()})`;
  $("totals").textContent =
    `${ov.total.toLocaleString()} actors, ${ov.active.toLocaleString()} active${scope}`;
  const cards = ov.charts.map((c) => {
    const rows = Object.entries(c.states).map(([sid, n]) =>
      el("tr", {},
        el("th", { scope: "row" },
          el("button", { type: "button", class: "link", "data-chart": c.chart_id, "data-state": sid,
            title: `List the ${c.chart_id} actors in ${sid}`, text: sid })),
        el("td", { class: "num", text: n.toLocaleString() })));
    const statuses = Object.entries(c.statuses).map(([s, n]) => `${n.toLocaleString()} ${s}`).join(", ");
    return el("section", { class: "card", "aria-label": `chart ${c.chart_id}` },
      el("h3", {}, el("button", { type: "button", class: "link", "data-chart": c.chart_id,
        text: c.chart_id })),
      el("p", { class: "note", text: `${c.total.toLocaleString()} actors: ${statuses}` }),
      el("table", { class: "grid compact" },
        el("caption", { text: `Actors per state of ${c.chart_id}` }),
        el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "State" }),
          el("th", { scope: "col", text: "Actors" }))),
        el("tbody", {}, ...rows)));
  });
  $("charts").replaceChildren(...cards);
}

function readFilters() {
  const f = new FormData($("filters"));
  for (const k of Object.keys(state.filters)) state.filters[k] = String(f.get(k) || "").trim();
}

function writeFilters() {
  const form = $("filters");
  for (const [k, v] of Object.entries(state.filters)) if (form.elements[k]) form.elements[k].value = v;
}

async function loadActors() {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(state.filters)) if (v) q.set(k, v);
  const cursor = state.cursors[state.page];
  if (cursor) q.set("cursor", cursor);
  let page;
  try {
    page = await api(`actors?${q}`);
  } catch (err) {
    showProblem(err);
    return;
  }
  const rows = page.items.map((a) =>
    el("tr", {},
      el("td", {}, actorLink(a.id)),
      el("td", { text: `${a.chart_id} ${a.chart_version}` }),
      el("td", {}, el("span", { class: `status status-${a.status}`, text: a.status })),
      el("td", { class: "num", text: a.version }),
      el("td", { text: a.configuration.map(shortName).join(", ") })));
  if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: 5, text: "No actors match." })));
  $("actor-rows").replaceChildren(...rows);
  state.nextCursor = page.next_cursor;
  $("next-page").disabled = !page.next_cursor;
  $("first-page").disabled = state.page === 0;
  $("page-note").textContent =
    `Page ${state.page + 1}: ${page.items.length} actors${page.next_cursor ? ", more on the next page" : ""}.`;
}

function filterBy(chart, stateId) {
  state.filters.chart = chart || "";
  state.filters.state = stateId || "";
  writeFilters();
  state.cursors = [""];
  state.page = 0;
  loadActors().then(() => $("actors-h").scrollIntoView());
}

// -- one actor -----------------------------------------------------------------------------
async function loadActor() {
  const id = state.actorId;
  let detail;
  try {
    detail = await api(`actors/${encodeURIComponent(id)}`);
  } catch (err) {
    $("actor-h").textContent = `Actor ${id}`;
    $("actor-h").setAttribute("tabindex", "-1");
    showProblem(err);
    return;
  }
  if (state.actorId !== id) return;
  $("actor-h").textContent = `Actor ${id}`;
  $("actor-h").setAttribute("tabindex", "-1");
  const facts = [
    ["Chart", `${detail.chart_id} ${detail.chart_version}`],
    ["Status", detail.status],
    ["Version", String(detail.version)],
    ["Active states", detail.configuration.join(", ") || "none"],
  ];
  $("actor-facts").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]));
  $("enabled").replaceChildren(...(detail.enabled_events.length
    ? detail.enabled_events.map((e) => el("span", { class: "chip", text: e }))
    : [document.createTextNode("none")]));
  const timers = detail.timers.map((t) =>
    el("tr", {}, el("td", { text: t.event }), el("td", { text: fmtDue(t.due) }),
      el("td", { class: "mono", text: t.sendid })));
  if (!timers.length) timers.push(el("tr", {}, el("td", { colspan: 3, text: "No pending timers." })));
  $("timer-rows").replaceChildren(...timers);
  $("context").textContent = JSON.stringify(detail.context, null, 2);
  await drawChart(detail);
  await loadHistory(false);
}

async function drawChart(detail) {
  const key = `${detail.chart_id}@${detail.chart_version}`;
  if (state.chart?.key !== key) {
    try {
      const q = new URLSearchParams({ version: detail.chart_version });
      state.chart = { key, structure: await api(`inspector/charts/${encodeURIComponent(detail.chart_id)}?${q}`) };
    } catch (err) {
      state.chart = null;
      $("chart-svg").replaceChildren();
      $("chart-note").textContent = err instanceof HttpError && err.status === 404
        ? `Chart ${detail.chart_id} ${detail.chart_version} is not registered with this server: it cannot be drawn.`
        : String(err.message || err);
      return;
    }
  }
  const active = new Set(detail.configuration);
  const structure = state.chart.structure;
  $("chart-note").textContent = `Highlighted: the active states (${[...active].map(shortName).join(", ") || "none"}).`;
  $("chart-svg").replaceChildren(renderChart(structure, active));
  $("transitions").replaceChildren(...structure.transitions.map((t) => {
    const enabled = active.has(t.source);
    const ev = t.events.length ? t.events.join(" ") : "(eventless)";
    const guard = t.guard ? ` [${t.guard}]` : "";
    const tg = t.targets.length ? t.targets.map(shortName).join(", ") : "(stays)";
    return el("li", { class: enabled ? "from-active" : null,
      text: `${shortName(t.source)} — ${ev}${guard} → ${tg}` });
  }));
}

// Layout: an atomic state is a box sized to its name; a compound or parallel state holds its
// children in rows (at most COLS per row) under its name; parallel regions are dashed.
const COLS = 4, PAD = 10, HEAD = 24, GAP = 12, LEAF_H = 34, CHAR_W = 7.4;

function measure(box) {
  if (!box.children.length) {
    box.w = Math.max(64, shortName(box.id).length * CHAR_W + 24);
    box.h = LEAF_H;
    return;
  }
  box.children.forEach(measure);
  const rows = [];
  for (let i = 0; i < box.children.length; i += COLS) rows.push(box.children.slice(i, i + COLS));
  box.rows = rows;
  const widths = rows.map((r) => r.reduce((s, c) => s + c.w, 0) + GAP * (r.length - 1));
  const heights = rows.map((r) => Math.max(...r.map((c) => c.h)));
  box.w = Math.max(shortName(box.id).length * CHAR_W + 2 * PAD, ...widths.map((w) => w + 2 * PAD));
  box.h = HEAD + heights.reduce((s, h) => s + h, 0) + GAP * (rows.length - 1) + PAD;
  box.rowHeights = heights;
}

function place(box, x, y, g, active) {
  const on = active.has(box.id);
  const cls = ["state", `kind-${box.kind}`, box.children.length ? "compound" : "atomic", on ? "active" : ""].join(" ");
  const group = svg("g", { class: cls });
  const title = svg("title");
  title.textContent = `${box.id} (${box.kind}${box.children.length ? "" : ", atomic"})${on ? ": active" : ""}`;
  group.append(title);
  group.append(svg("rect", { x, y, width: box.w, height: box.h, rx: box.kind === "final" ? 16 : 6 }));
  if (box.kind === "final") {
    group.append(svg("rect", { x: x + 3, y: y + 3, width: box.w - 6, height: box.h - 6, rx: 13, class: "inner" }));
  }
  const label = svg("text", { x: x + (box.children.length ? PAD : box.w / 2),
    y: y + (box.children.length ? 16 : box.h / 2 + 4),
    "text-anchor": box.children.length ? "start" : "middle" });
  label.textContent = shortName(box.id);
  group.append(label);
  g.append(group);
  if (!box.children.length) return;
  let cy = y + HEAD;
  box.rows.forEach((row, i) => {
    let cx = x + PAD;
    for (const c of row) {
      place(c, cx, cy, g, active);
      cx += c.w + GAP;
    }
    cy += box.rowHeights[i] + GAP;
  });
}

function renderChart(structure, active) {
  const root = { id: structure.id, kind: "state", children: structure.states };
  measure(root);
  const width = Math.ceil(root.w + 1), height = Math.ceil(root.h + 1);
  const s = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img",
    "aria-labelledby": "chart-title", class: "chart-drawing" });
  const t = svg("title", { id: "chart-title" });
  t.textContent = `Chart ${structure.id}: active states ${[...active].join(", ") || "none"}`;
  s.append(t);
  const g = svg("g");
  place(root, 0.5, 0.5, g, active);
  s.append(g);
  return s;
}

async function loadHistory(older) {
  const id = state.actorId;
  const q = new URLSearchParams({ limit: "50" });
  if (older && state.oldest !== null) q.set("before", String(state.oldest));
  let hist;
  try {
    hist = await api(`actors/${encodeURIComponent(id)}/history?${q}`);
  } catch (err) {
    showProblem(err);
    return;
  }
  if (state.actorId !== id) return;
  const items = hist.items.slice().reverse(); // newest first
  const entries = items.map((h) => {
    const what = h.event === null ? "created" : h.event;
    const head = el("p", { class: "step" },
      el("strong", { text: what }), document.createTextNode(` · version ${h.version} · `),
      el("time", { text: fmtTime(h.at) }));
    const body = [head];
    const moved = `${h.configuration_before.map(shortName).join(", ") || "∅"} → ${h.configuration_after.map(shortName).join(", ") || "∅"}`;
    body.push(el("p", { text: moved }));
    if (h.transitions.length) body.push(el("p", { class: "note", text: `transitions: ${h.transitions.join("; ")}` }));
    if (h.data) body.push(el("p", { class: "mono note", text: `data: ${h.data}` }));
    if (h.errors.length) body.push(el("p", { class: "error", text: `errors: ${h.errors.join("; ")}` }));
    if (h.status !== "active") body.push(el("p", { class: "note", text: `status: ${h.status}` }));
    return el("li", { class: h.errors.length ? "has-error" : null, tabindex: "0",
      "aria-label": `version ${h.version}: ${what}` }, ...body);
  });
  if (older) $("timeline").append(...entries);
  else $("timeline").replaceChildren(...entries);
  if (!older && !entries.length) $("timeline").replaceChildren(el("li", { text: "No journal entries." }));
  if (hist.items.length) state.oldest = hist.items[0].version;
  $("older").hidden = hist.items.length < 50;
}

// -- live updates (Server-Sent Events read with fetch, so a bearer token can be sent) ------
function addFeed(type, rec) {
  const text = rec.event && rec.event.name ? `${type} ${rec.event.name}` : type;
  const after = rec.configuration_after ? ` → ${rec.configuration_after.map(shortName).join(", ")}` : "";
  const li = el("li", {}, actorLink(rec.actor), document.createTextNode(` ${text}${after}`));
  const feed = $("feed");
  feed.prepend(li);
  while (feed.children.length > 30) feed.lastElementChild.remove();
}

function onRecord(type, rec) {
  if (type === "ready") {
    $("live-state").textContent = "live";
    $("live-state").className = "live on";
    return;
  }
  if (rec.ts > 1e9) state.lastChange = Math.max(state.lastChange, rec.ts);
  if (type === "MacrostepRecord" || type === "ActorStopped" || type === "ActorSpawned") {
    if (state.view === "overview") addFeed(type === "MacrostepRecord" ? "step" : type, rec);
    if (type === "MacrostepRecord" || type === "ActorStopped") scheduleRefresh(rec.actor);
  }
}

function scheduleRefresh(actor, delay = 1000) {
  if (state.view === "actor" && actor !== state.actorId) return;
  if (state.refresh) return;
  // at most one refresh per second however many records arrive
  state.refresh = setTimeout(() => {
    state.refresh = null;
    if (state.view === "actor") loadActor();
    else {
      loadOverview();
      loadActors();
    }
  }, delay);
}

async function stream() {
  const live = $("live-state");
  for (;;) {
    try {
      const headers = { accept: "text/event-stream" };
      if (state.token) headers.authorization = `Bearer ${state.token}`;
      const res = await fetch(`${API}/stream`, { headers });
      if (res.status === 401) showAuth();
      if (!res.ok || !res.body) throw new Error(`stream: HTTP ${res.status}`);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value.replace(/\r\n/g, "\n");
        let end;
        while ((end = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          let type = "message";
          const data = [];
          for (const line of block.split("\n")) {
            if (line.startsWith("event:")) type = line.slice(6).trim();
            else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
          }
          let rec = {};
          try { rec = JSON.parse(data.join("\n") || "{}"); } catch { continue; }
          onRecord(type, rec);
        }
      }
    } catch (err) {
      // fall through to retry
    }
    live.textContent = "offline: reconnecting";
    live.className = "live off";
    await new Promise((r) => setTimeout(r, 3000));
  }
}

// -- wiring --------------------------------------------------------------------------------
function init() {
  $("goto").addEventListener("submit", (e) => {
    e.preventDefault();
    const id = $("goto-id").value.trim();
    if (id) location.hash = `#/actor/${encodeURIComponent(id)}`;
  });
  $("auth").addEventListener("submit", (e) => {
    e.preventDefault();
    state.token = $("token").value;
    sessionStorage.setItem("statefleet-token", state.token);
    $("auth").hidden = true;
    route();
  });
  $("filters").addEventListener("submit", (e) => {
    e.preventDefault();
    readFilters();
    state.cursors = [""];
    state.page = 0;
    loadActors();
  });
  $("filters").addEventListener("reset", () => {
    setTimeout(() => { readFilters(); state.cursors = [""]; state.page = 0; loadActors(); }, 0);
  });
  $("next-page").addEventListener("click", () => {
    if (!state.nextCursor) return;
    state.cursors[state.page + 1] = state.nextCursor;
    state.page += 1;
    loadActors();
  });
  $("first-page").addEventListener("click", () => {
    state.page = 0;
    loadActors();
  });
  $("charts").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-chart]");
    if (b) filterBy(b.dataset.chart, b.dataset.state);
  });
  $("older").addEventListener("click", () => loadHistory(true));
  window.addEventListener("hashchange", route);
  route();
  stream();
}

document.addEventListener("DOMContentLoaded", init);
