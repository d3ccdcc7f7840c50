// claimwatch console: keeps the page live over the public API. Reads GET /streams (once a
// second, for the figures and the level meter), GET /alerts (all pages, once), and the SSE
// stream GET /events, which a reconnecting EventSource resumes with Last-Event-ID, so a dropped
// connection or a reload misses nothing. Writes only through the API: POST /streams,
// PUT /streams/{id}/product, POST /alerts/{id}/review.
"use strict";

const L = JSON.parse(document.getElementById("labels").textContent);
const SEVERITIES = ["critical", "high", "medium", "low"];
const OPEN = new Set(["new", "acknowledged", "escalated"]);

const state = {
  streams: new Map(), // id -> StreamInfo
  alerts: new Map(), // alert id -> alert (with .review)
  lastWords: new Map(), // stream -> text of its last transcript segment
  seen: 0, // highest event id applied
  health: [], // health changes seen since the page opened, newest last
  open: null, // alert id shown in the detail dialog
};

const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("data-")) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
};
const word = (key) => L[key] || key;

async function api(method, path, body) {
  const init = { method, headers: {}, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (_) {
    data = { error: text };
  }
  if (!response.ok) {
    const message = (data && data.error) || response.statusText;
    throw new Error(`${response.status}: ${message}`);
  }
  return { data, response };
}

// ---- review state ----

function reviewOf(alert) {
  const r = alert.review;
  if (!r) return { state: "new" };
  if (typeof r === "string") return { state: r };
  return r;
}

// A `review` event's body, whatever its exact field names: the alert it is about and the
// decision (state, by, note, at).
function applyReview(body) {
  const id = body.alert_id || body.alert || body.id;
  const alert = state.alerts.get(id);
  if (!alert) return;
  alert.review = {
    state: body.to || body.state,
    by: body.by,
    note: body.note,
    at: body.at,
  };
  renderQueue();
  renderWall();
  if (state.open === id) renderDetail(alert);
}

// ---- the stream wall ----

function levelBar(dbfs) {
  const share = dbfs === undefined || dbfs === null ? 0 : Math.max(0, Math.min(1, (dbfs + 60) / 60));
  const bar = el("span", { class: "level" }, el("span", { class: "fill" }));
  bar.firstChild.style.width = `${Math.round(share * 100)}%`;
  bar.title = dbfs === undefined || dbfs === null ? "—" : `${dbfs.toFixed(1)} dBFS`;
  bar.setAttribute("role", "meter");
  bar.setAttribute("aria-valuemin", "-60");
  bar.setAttribute("aria-valuemax", "0");
  bar.setAttribute("aria-valuenow", dbfs === undefined || dbfs === null ? "-60" : dbfs.toFixed(1));
  bar.setAttribute("aria-label", word("level"));
  return bar;
}

function openCounts(streamId) {
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s, 0]));
  for (const alert of state.alerts.values()) {
    if (alert.stream === streamId && OPEN.has(reviewOf(alert).state)) counts[alert.severity] += 1;
  }
  return counts;
}

function tile(info) {
  const counts = openCounts(info.id);
  const chips = SEVERITIES.filter((s) => counts[s] > 0).map((s) =>
    el("span", { class: `chip sev-${s}` }, `${word(s)} ${counts[s]}`)
  );
  const health = (info.health || []).map((h) => el("span", { class: "chip health" }, word(h)));
  const origin = el("input", { name: "origin", size: 6, value: info.origin || "", placeholder: "CN" });
  const originForm = el(
    "form",
    { class: "origin" },
    el("label", {}, `${word("declared_origin")} `, origin),
    el("button", { type: "submit" }, word("set_origin"))
  );
  originForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("PUT", `/streams/${encodeURIComponent(info.id)}/product`, { origin: origin.value.trim() || null });
      await refreshStreams();
    } catch (err) {
      alert(`${word("error")}: ${err.message}`);
    }
  });
  return el(
    "article",
    { class: "tile", "data-stream": info.id, "data-state": info.state },
    el("h3", {}, info.id, " ", el("span", { class: `state st-${info.state}` }, word(info.state)), " ", el("span", { class: "muted" }, info.lang)),
    el(
      "dl",
      { class: "figures" },
      el("dt", {}, word("lag")),
      el("dd", {}, `${(info.lag_s || 0).toFixed(1)} s`),
      el("dt", {}, word("rtf")),
      el("dd", {}, `${(info.rtf || 0).toFixed(1)}×`),
      el("dt", {}, word("level")),
      el("dd", {}, levelBar(info.level_dbfs))
    ),
    el("p", { class: "words", title: word("last_words") }, state.lastWords.get(info.id) || "…"),
    el("p", { class: "chips", "aria-label": word("open_alerts") }, ...chips, ...health),
    originForm
  );
}

function renderWall() {
  const wall = $("wall");
  const streams = [...state.streams.values()].sort((a, b) => a.id.localeCompare(b.id));
  if (!streams.length) {
    wall.replaceChildren(el("p", { class: "empty" }, word("no_streams")));
  } else {
    // Keep a tile whose origin field has focus: the operator is typing in it.
    const focused = document.activeElement && document.activeElement.closest(".tile");
    wall.replaceChildren(
      ...streams.map((info) =>
        focused && focused.dataset.stream === info.id ? focused : tile(info)
      )
    );
  }
  const select = $("filters").elements.stream;
  const chosen = select.value;
  const ids = new Set([...state.streams.keys(), ...[...state.alerts.values()].map((a) => a.stream)]);
  select.replaceChildren(el("option", { value: "" }, word("all")), ...[...ids].sort().map((id) => el("option", { value: id }, id)));
  select.value = chosen;
}

async function refreshStreams() {
  try {
    const { data } = await api("GET", "/streams");
    state.streams = new Map(data.map((s) => [s.id, s]));
    renderWall();
  } catch (_) {
    // The connection indicator says what is wrong; the next tick tries again.
  }
}

// ---- the alert queue ----

function saidAt(alert) {
  return alert.said_at || alert.at || "";
}

function localTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(document.documentElement.lang);
}

function matches(alert, f) {
  const review = reviewOf(alert).state;
  if (f.stream && alert.stream !== f.stream) return false;
  if (f.category && alert.category !== f.category) return false;
  if (f.severity && alert.severity !== f.severity) return false;
  if (f.review && review !== f.review) return false;
  const t = new Date(saidAt(alert)).getTime();
  if (f.from && !(t >= new Date(f.from).getTime())) return false;
  if (f.to && !(t <= new Date(f.to).getTime())) return false;
  return true;
}

// A health change as a queue row: not an alert to review, but what an operator must see too
// (a silent or broken broadcast). Shown unless the filters ask for alerts only.
function healthRow(h) {
  return el(
    "tr",
    { class: `health ${h.active ? "on" : "off"}`, "data-event": String(h.event_id) },
    el("td", {}, localTime(h.at)),
    el("td", {}, h.stream),
    el("td", {}, el("span", { class: "chip health" }, word("health"))),
    el("td", {}, word(h.condition)),
    el("td", { class: "said" }, h.message),
    el("td", {}, h.active ? "●" : "○")
  );
}

function renderQueue() {
  const f = Object.fromEntries(new FormData($("filters")).entries());
  const shown = [...state.alerts.values()]
    .filter((a) => matches(a, f))
    .sort((a, b) => (b.event_id || 0) - (a.event_id || 0));
  $("alert-count").textContent = `${shown.length} / ${state.alerts.size}`;
  const health =
    f.category || f.severity || f.review
      ? []
      : state.health.filter((h) => !f.stream || h.stream === f.stream);
  const body = $("queue");
  if (!shown.length && !health.length) {
    body.replaceChildren(el("tr", { class: "empty" }, el("td", { colSpan: 6 }, word("no_alerts"))));
    return;
  }
  const rows = [
    ...shown.map((a) => ({ id: a.event_id || 0, alert: a })),
    ...health.map((h) => ({ id: h.event_id || 0, health: h })),
  ].sort((a, b) => b.id - a.id);
  body.replaceChildren(
    ...rows.map(({ alert: a, health: h }) => {
      if (h) return healthRow(h);
      const row = el(
        "tr",
        { class: `alert sev-${a.severity}`, "data-alert": a.id, tabIndex: 0 },
        el("td", {}, localTime(saidAt(a))),
        el("td", {}, a.stream),
        el("td", {}, el("span", { class: `chip sev-${a.severity}` }, word(a.severity))),
        el("td", {}, word(a.category)),
        el("td", { class: "said" }, ...saidCell(a)),
        el("td", { class: "review" }, el("span", { class: `rv rv-${reviewOf(a).state}` }, word(reviewOf(a).state)))
      );
      const open = () => showDetail(a.id);
      row.addEventListener("click", open);
      row.addEventListener("keydown", (e) => {
        if (e.key === "Enter") open();
      });
      return row;
    })
  );
}

// A comment alert says who posted it, and how many comments it stands for.
function saidCell(alert) {
  if (alert.source !== "comment" || !alert.comment) return [alert.text];
  const count = alert.comment.count > 1 ? ` ×${alert.comment.count}` : "";
  return [el("span", { class: "who" }, `💬 ${alert.comment.user}${count}: `), alert.text];
}

function applyEscalation(up) {
  const alert = state.alerts.get(up.alert_id);
  if (!alert || !alert.comment) return;
  alert.comment.count = up.count;
  alert.severity = up.severity;
  renderQueue();
  if (state.open === up.alert_id) renderDetail(alert);
}

function addAlert(alert) {
  state.alerts.set(alert.id, Object.assign(state.alerts.get(alert.id) || {}, alert));
}

async function loadAlerts() {
  let url = "/alerts?limit=1000";
  while (url) {
    const { data, response } = await api("GET", url);
    for (const alert of data) addAlert(alert);
    const link = response.headers.get("link") || "";
    const next = /<([^>]+)>;\s*rel="next"/.exec(link);
    url = next ? next[1] : null;
  }
}

// ---- the detail ----

function highlight(text, claim) {
  const at = claim ? text.indexOf(claim) : -1;
  if (at < 0) return [text];
  return [text.slice(0, at), el("mark", {}, claim), text.slice(at + claim.length)];
}

async function renderTranscript(alert) {
  const box = $("detail-transcript");
  box.replaceChildren();
  try {
    const { data } = await api("GET", `/streams/${encodeURIComponent(alert.stream)}/transcript`);
    const start = alert.start_s ?? 0;
    const end = alert.end_s ?? start;
    const near = data.filter((s) => s.end_s >= start - 30 && s.start_s <= end + 30);
    box.replaceChildren(
      ...near.map((s) => {
        const claimHere = s.start_s <= end + 0.5 && s.end_s >= start - 0.5;
        return el(
          "p",
          { class: claimHere ? "here" : "" },
          el("span", { class: "t" }, `${s.start_s.toFixed(1)} s `),
          ...(claimHere ? highlight(s.text, alert.text) : [s.text])
        );
      })
    );
  } catch (err) {
    box.replaceChildren(el("p", { class: "muted" }, err.message));
  }
}

function renderDetail(alert) {
  const review = reviewOf(alert);
  $("detail-h").replaceChildren(el("span", { class: `chip sev-${alert.severity}` }, word(alert.severity)), " ", word(alert.category), " — ", alert.text);
  const c = alert.source === "comment" ? alert.comment : null;
  const where = c
    ? `💬 ${c.user} · ${word("comment")} ${c.id}${c.count > 1 ? ` ×${c.count}` : ""}`
    : `${(alert.start_s ?? 0).toFixed(1)}–${(alert.end_s ?? 0).toFixed(1)} s`;
  $("detail-meta").textContent = `${alert.stream} · ${localTime(saidAt(alert))} · ${where} · ${alert.id}`;
  $("detail-rule").textContent = alert.rule;
  $("detail-law").textContent = alert.legal_basis || "";
  $("detail-why").textContent = alert.explanation || "";
  $("detail-suggestion").textContent = alert.suggestion || "";
  const who = review.by ? ` · ${word("reviewed_by")}: ${review.by}` : "";
  const note = review.note ? ` · ${review.note}` : "";
  $("detail-review").replaceChildren(el("span", { class: `rv rv-${review.state}` }, word(review.state)), who + note);
}

function showDetail(id) {
  const alert = state.alerts.get(id);
  if (!alert) return;
  state.open = id;
  renderDetail(alert);
  const audio = $("detail-audio");
  $("review-result").textContent = "";
  if (alert.source === "comment") {
    // A comment has no audio: the evidence is the comment itself.
    audio.removeAttribute("src");
    audio.hidden = true;
    $("detail-noclip").hidden = true;
    $("detail-transcript").replaceChildren(el("p", { class: "here" }, ...highlight(alert.context, alert.text)));
  } else {
    $("detail-noclip").hidden = true;
    audio.hidden = false;
    audio.onerror = () => {
      audio.hidden = true;
      $("detail-noclip").hidden = false;
    };
    audio.src = `/alerts/${encodeURIComponent(id)}/clip`;
    renderTranscript(alert);
  }
  const dialog = $("detail");
  if (!dialog.open) dialog.showModal();
}

$("detail").addEventListener("close", () => {
  state.open = null;
  $("detail-audio").pause();
});

$("review-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const decision = event.submitter && event.submitter.value;
  const id = state.open;
  if (!decision || !id) return;
  const note = event.target.elements.note.value;
  try {
    await api("POST", `/alerts/${encodeURIComponent(id)}/review`, { state: decision, note });
    $("review-result").textContent = word(decision);
    event.target.elements.note.value = "";
  } catch (err) {
    $("review-result").textContent = `${word("error")}: ${err.message}`;
  }
});

// ---- attach ----

$("attach-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const f = Object.fromEntries(new FormData(event.target).entries());
  const body = { id: f.id.trim(), source: f.source.trim(), lang: f.lang };
  if (f.origin.trim()) body.origin = f.origin.trim();
  try {
    await api("POST", "/streams", body);
    $("attach-result").textContent = "✓";
    event.target.reset();
    await refreshStreams();
  } catch (err) {
    $("attach-result").textContent = `${word("error")}: ${err.message}`;
  }
});

$("filters").addEventListener("input", renderQueue);
$("filters").addEventListener("change", () => {
  renderQueue();
  const stream = $("filters").elements.stream.value;
  $("export").href = stream ? `/alerts.csv?stream=${encodeURIComponent(stream)}` : "/alerts.csv";
});

// ---- live events ----

function connection(which) {
  const node = $("connection");
  node.dataset.state = which;
  node.textContent = word(which === "open" ? "connected" : "reconnecting");
}

function onEvent(kind, message) {
  const id = Number(message.lastEventId || 0);
  if (id && id <= state.seen) return; // replayed after a reconnect: applied already
  if (id) state.seen = id;
  const body = JSON.parse(message.data);
  if (kind === "alert") {
    addAlert(body);
    renderQueue();
    renderWall();
  } else if (kind === "transcript") {
    state.lastWords.set(body.stream, body.text);
    const tileWords = document.querySelector(`.tile[data-stream="${CSS.escape(body.stream)}"] .words`);
    if (tileWords) tileWords.textContent = body.text;
  } else if (kind === "review") {
    applyReview(body);
  } else if (kind === "escalation") {
    applyEscalation(body);
  } else if (kind === "health") {
    state.health.push(body);
    if (state.health.length > 200) state.health.shift();
    renderQueue();
    refreshStreams();
  } else if (kind === "status") {
    refreshStreams();
  }
}

function listen(from) {
  const source = new EventSource(`/events?last_event_id=${from}`);
  for (const kind of ["alert", "transcript", "status", "health", "review", "escalation"]) {
    source.addEventListener(kind, (message) => onEvent(kind, message));
  }
  source.addEventListener("open", () => connection("open"));
  source.addEventListener("error", () => connection("closed"));
}

async function start() {
  connection("closed");
  // Where the history stands now: events after it come over SSE; alerts before it from /alerts.
  const { data: health } = await api("GET", "/healthz");
  const from = Math.max(0, (health.next_event_id || 1) - 1);
  await loadAlerts();
  state.seen = 0;
  await refreshStreams();
  for (const info of state.streams.values()) {
    try {
      const { data } = await api("GET", `/streams/${encodeURIComponent(info.id)}/transcript`);
      if (data.length) state.lastWords.set(info.id, data[data.length - 1].text);
    } catch (_) {
      // a stream with no transcript yet
    }
  }
  renderWall();
  renderQueue();
  listen(from);
  setInterval(refreshStreams, 1000);
}

start().catch((err) => {
  $("connection").textContent = `${word("error")}: ${err.message}`;
});
