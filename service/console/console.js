// The modelpin console: plain JavaScript over the service's /v1 API (docs/console.md). No build
// step, no framework, nothing from another origin. The token lives in this tab's sessionStorage and
// goes out only as an Authorization header; every text from the server is inserted as text, never
// as HTML.
"use strict";

const TOKEN_KEY = "modelpin.token";
const $ = (id) => document.getElementById(id);
const state = { view: "profiles", profiles: null, orders: {}, events: [], stream: null, nextSessions: null };

// ---- helpers ---------------------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}

function agent() { return $("agent").value.trim(); }
function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? "?" + s : "";
}
function setStatus(text, isError) {
  const s = $("status");
  s.textContent = text || "";
  s.classList.toggle("error", !!isError);
}

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(method, path, body) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const init = { method, headers: { Authorization: "Bearer " + token }, cache: "no-store" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const type = res.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await res.json() : await res.text();
  if (!res.ok) {
    const message = data && data.error ? data.error.message : String(data).slice(0, 200);
    if (res.status === 401 || res.status === 403) signedOut(`The service refused the token (${res.status}): ${message}`);
    throw new ApiError(res.status, message);
  }
  return data;
}

function confirmAction(text) {
  const dialog = $("confirm");
  $("confirm-text").textContent = text;
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
    $("confirm-ok").focus();
  });
}

function formatLeft(ms) {
  if (ms <= 0) return "now";
  const s = Math.ceil(ms / 1000);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return h ? `${h}h ${String(m).padStart(2, "0")}m` : `${m}:${String(sec).padStart(2, "0")}`;
}
function when(iso) { return iso ? iso.replace("T", " ").replace(/\.\d+Z$|Z$/, " UTC") : "never"; }

// ---- sign-in ---------------------------------------------------------------------------------

function signedOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  stopStream();
  for (const id of ["tabs", "who"]) $(id).hidden = true;
  for (const v of document.querySelectorAll(".view")) v.hidden = true;
  $("signin").hidden = false;
  const err = $("signin-error");
  err.hidden = !message;
  err.textContent = message || "";
  setStatus("");
  $("token").focus();
}

async function signIn(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
  try {
    await api("GET", "/v1/profiles" + query({ agent: agent() }));
  } catch (e) {
    if (!(e instanceof ApiError) || (e.status !== 401 && e.status !== 403)) signedOut("Cannot reach the service: " + e.message);
    return;
  }
  $("signin").hidden = true;
  $("signin-error").hidden = true;
  $("tabs").hidden = false;
  $("who").hidden = false;
  startStream();
  show(state.view);
}

// ---- views -----------------------------------------------------------------------------------

function show(view) {
  state.view = view;
  for (const b of document.querySelectorAll("#tabs button")) b.setAttribute("aria-selected", String(b.dataset.view === view));
  for (const v of document.querySelectorAll(".view")) v.hidden = v.id !== "view-" + view;
  if (view === "profiles") loadProfiles();
  if (view === "sessions") loadSessions(false);
  if (view === "live") renderEvents();
  if (view === "timeline") loadTimeline();
}

// Profiles: per provider, in route order, with state, countdowns and actions.
async function loadProfiles() {
  try {
    const data = await api("GET", "/v1/profiles" + query({ agent: agent() }));
    state.profiles = data;
    const providers = [...new Set(data.profiles.map((p) => p.provider))];
    state.orders = {};
    await Promise.all(providers.map(async (p) => {
      try { state.orders[p] = await api("GET", "/v1/order/" + encodeURIComponent(p) + query({ agent: agent() })); }
      catch (e) { state.orders[p] = null; }
    }));
    renderProfiles();
    setStatus(`${data.profiles.length} profiles of agent ${data.agentId}, updated ${new Date().toLocaleTimeString()}`);
  } catch (e) {
    if (!(e instanceof ApiError && (e.status === 401 || e.status === 403))) setStatus("Profiles: " + e.message, true);
  }
}

function renderProfiles() {
  const root = $("profiles");
  root.replaceChildren();
  const data = state.profiles;
  if (!data) return;
  const byProvider = new Map();
  for (const p of data.profiles) {
    if (!byProvider.has(p.provider)) byProvider.set(p.provider, []);
    byProvider.get(p.provider).push(p);
  }
  for (const [provider, list] of byProvider) {
    const order = state.orders[provider] && state.orders[provider].order;
    const ids = order ? order.filter((id) => list.some((p) => p.id === id)) : list.map((p) => p.id);
    const rows = ids.map((id) => list.find((p) => p.id === id));
    for (const p of list) if (!ids.includes(p.id)) rows.push(p);  // not in the stored order: after it
    root.append(el("h3", { class: "provider" }, provider, " ",
      el("span", { class: "muted" }, order ? "(stored order)" : "(automatic order)"),
      order ? el("button", { type: "button", class: "danger", onclick: () => clearOrder(provider) }, "Clear order") : null));
    const table = el("table", { "data-provider": provider },
      el("thead", {}, el("tr", {}, ["#", "Profile", "Type", "Credential", "State", "Errors", "Last used", "Last good",
        "Calls", "Cost", ""].map((h) => el("th", { scope: "col" }, h)))));
    const body = el("tbody");
    rows.forEach((p, i) => body.append(profileRow(p, i, rows, provider)));
    table.append(body);
    root.append(table);
  }
  tickCountdowns();
}

function profileRow(p, i, rows, provider) {
  const stateClass = "state-" + p.state.replace(/ /g, "-");
  const until = p.until ? Date.parse(p.until) : 0;
  const stateCell = el("td", { "data-label": "State" },
    el("span", { class: "badge " + stateClass, "data-state": p.state }, p.state),
    until ? el("span", { class: "countdown mono", "data-until": String(until) }, "") : null,
    p.reason ? el("div", { class: "muted" }, p.reason) : null,
    until ? el("div", { class: "muted" }, "until " + when(p.until)) : null,
    p.expires ? el("div", { class: "muted" }, "expires " + when(p.expires)) : null);
  const usage = p.usage || {};
  const cost = usage.costUsd === undefined ? "" : usage.costUsd === null ? "unknown" : "$" + Number(usage.costUsd).toFixed(4);
  const actions = el("td", { class: "actions" });
  if (p.state !== "ok" || p.errorCount > 0)
    actions.append(el("button", { type: "button", "data-action": "clear", onclick: () => clearCooldown(p.id) }, "Clear cooldown"));
  if (i > 0) actions.append(el("button", { type: "button", "aria-label": `Move ${p.id} up`, onclick: () => move(provider, rows, i, -1) }, "↑"));
  if (i < rows.length - 1) actions.append(el("button", { type: "button", "aria-label": `Move ${p.id} down`, onclick: () => move(provider, rows, i, 1) }, "↓"));
  return el("tr", { "data-profile": p.id },
    el("td", { "data-label": "#" }, String(i + 1)),
    el("td", { "data-label": "Profile", class: "mono" }, p.id),
    el("td", { "data-label": "Type" }, p.type),
    el("td", { "data-label": "Credential", class: "mono secret" }, p.secret),
    stateCell,
    el("td", { "data-label": "Errors" }, String(p.errorCount)),
    el("td", { "data-label": "Last used" }, when(p.lastUsed)),
    el("td", { "data-label": "Last good" }, p.lastGood ? "yes" : ""),
    el("td", { "data-label": "Calls" }, usage.calls === undefined ? "" : String(usage.calls)),
    el("td", { "data-label": "Cost" }, cost),
    actions);
}

function tickCountdowns() {
  const now = Date.now();
  let expired = false;
  for (const c of document.querySelectorAll(".countdown")) {
    const left = Number(c.dataset.until) - now;
    c.textContent = left > 0 ? " " + formatLeft(left) + " left" : " over";
    if (left <= 0 && !c.dataset.done) { c.dataset.done = "1"; expired = true; }
  }
  if (expired && state.view === "profiles") setTimeout(loadProfiles, 500);
}

async function clearCooldown(id) {
  if (!(await confirmAction(`Clear the cooldown and errors of ${id}? It becomes usable at once.`))) return;
  try {
    const r = await api("POST", "/v1/cooldowns/clear", { agent: agent() || undefined, profile: id });
    setStatus(r.cleared.length ? "Cleared " + r.cleared.join(", ") : "Nothing to clear");
  } catch (e) { setStatus("Clear: " + e.message, true); }
  loadProfiles();
}

async function move(provider, rows, i, delta) {
  const ids = rows.map((p) => p.id);
  const [moved] = ids.splice(i, 1);
  ids.splice(i + delta, 0, moved);
  if (!(await confirmAction(`Store the ${provider} order as ${ids.join(", ")}?`))) return;
  try {
    await api("PUT", "/v1/order/" + encodeURIComponent(provider), { agent: agent() || undefined, profiles: ids });
    setStatus(`Stored the ${provider} order`);
  } catch (e) { setStatus("Order: " + e.message, true); }
  loadProfiles();
}

async function clearOrder(provider) {
  if (!(await confirmAction(`Clear the stored ${provider} order? The automatic order applies again.`))) return;
  try {
    await api("DELETE", "/v1/order/" + encodeURIComponent(provider) + query({ agent: agent() }));
    setStatus(`Cleared the ${provider} order`);
  } catch (e) { setStatus("Order: " + e.message, true); }
  loadProfiles();
}

// Sessions: by key prefix, a page at a time; one session's model, pin, scope and history.
async function loadSessions(more) {
  const list = $("sessions");
  if (!more) { list.replaceChildren(); state.nextSessions = null; $("session-detail").replaceChildren(); }
  try {
    const data = await api("GET", "/v1/sessions" + query({
      agent: agent(), prefix: $("session-prefix").value.trim(), limit: 50, after: more ? state.nextSessions : "" }));
    for (const s of data.sessions)
      list.append(el("li", {}, el("button", { type: "button", class: "link mono", onclick: () => showSession(s.key) }, s.key)));
    state.nextSessions = data.next;
    $("sessions-more").hidden = !data.next;
    if (!list.children.length) list.append(el("li", { class: "muted" }, "No sessions."));
  } catch (e) { setStatus("Sessions: " + e.message, true); }
}

async function showSession(key) {
  const box = $("session-detail");
  try {
    const s = await api("GET", "/v1/sessions/" + encodeURIComponent(key) + query({ agent: agent() }));
    const e = s.entry || {};
    const model = e.providerOverride && e.modelOverride ? `${e.providerOverride}/${e.modelOverride}` : "the agent's default";
    const rows = [["Session", s.key], ["Model", model], ["Auth pin", e.authProfileOverride ? `${e.authProfileOverride} (${e.authProfileOverrideSource || "user"})` : "none"],
      ["Thinking", e.thinkingLevel || "default"], ["Scope", s.history && s.history.scope ? JSON.stringify(s.history.scope) : "none"]];
    const history = (s.history && s.history.events) || [];
    box.replaceChildren(el("h3", {}, "Session"),
      el("dl", { class: "kv" }, rows.map(([k, v]) => [el("dt", {}, k), el("dd", { class: "mono" }, v)])),
      el("h4", {}, `History (${history.length})`),
      el("pre", { class: "mono" }, JSON.stringify(history, null, 1)),
      el("button", { type: "button", class: "danger", onclick: () => resetSession(key) }, "Reset session"));
  } catch (e) { setStatus("Session: " + e.message, true); }
}

async function resetSession(key) {
  if (!(await confirmAction(`Reset ${key}? Its next message starts from the defaults.`))) return;
  try {
    await api("DELETE", "/v1/sessions/" + encodeURIComponent(key) + query({ agent: agent() }));
    setStatus("Reset " + key);
    showSession(key);
  } catch (e) { setStatus("Reset: " + e.message, true); }
}

// Live: the event stream, newest first. EventSource cannot send a header, so the stream is read
// with fetch; it reconnects after a pause when it ends.
function stopStream() {
  if (state.stream) state.stream.abort();
  state.stream = null;
}

async function startStream() {
  stopStream();
  const controller = new AbortController();
  state.stream = controller;
  $("live-state").textContent = "connecting";
  try {
    const res = await fetch("/v1/events", { headers: { Authorization: "Bearer " + sessionStorage.getItem(TOKEN_KEY), Accept: "text/event-stream" },
      signal: controller.signal, cache: "no-store" });
    if (!res.ok) throw new Error("status " + res.status);
    $("live-state").textContent = "live";
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n");
        if (data) onEvent(data);
      }
    }
  } catch (e) {
    if (controller.signal.aborted) return;
  }
  if (state.stream === controller) {
    $("live-state").textContent = "reconnecting";
    setTimeout(() => { if (state.stream === controller) startStream(); }, 2000);
  }
}

let profilesRefresh = null;
function onEvent(text) {
  let ev;
  try { ev = JSON.parse(text); } catch (e) { return; }
  state.events.unshift(ev);
  if (state.events.length > 500) state.events.length = 500;
  if (state.view === "live") renderEvents();
  // Health changed: the profiles view follows without a reload (debounced).
  if (/cooldown|profile|fallback|outcome/.test(ev.kind || "") && state.view === "profiles") {
    clearTimeout(profilesRefresh);
    profilesRefresh = setTimeout(loadProfiles, 150);
  }
}

function renderEvents() {
  const kind = $("live-kind").value.trim();
  const a = agent();
  const list = $("events");
  list.replaceChildren();
  for (const ev of state.events) {
    if (kind && !(ev.kind || "").startsWith(kind)) continue;
    if (a && ev.agent && ev.agent !== a) continue;
    const { id, at, kind: k, ...rest } = ev;
    list.append(el("li", { "data-kind": k || "" }, el("span", { class: "kind" }, k || "event"),
      el("span", { class: "muted" }, when(at || ev.timestamp), " "), el("code", {}, JSON.stringify(rest))));
  }
  if (!list.children.length) list.append(el("li", { class: "muted" }, "No events yet."));
}

// Timeline: the SVG the service draws from its recorded events, fetched with the token and shown
// through a blob URL (an <img> cannot send a header).
async function loadTimeline() {
  const fig = $("timeline");
  try {
    const svg = await api("GET", "/v1/timeline" + query({ agent: agent(), since: $("timeline-since").value,
      provider: $("timeline-provider").value.trim() }));
    const url = URL.createObjectURL(new Blob([svg], { type: "image/svg+xml" }));
    const img = el("img", { src: url, alt: "Rotation timeline: which credential served each call, and when each cooled down" });
    img.addEventListener("load", () => URL.revokeObjectURL(url), { once: true });
    fig.replaceChildren(img);
  } catch (e) { setStatus("Timeline: " + e.message, true); }
}

// ---- wiring ----------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("signin-form").addEventListener("submit", (e) => { e.preventDefault(); signIn($("token").value.trim()); $("token").value = ""; });
  $("signout").addEventListener("click", () => signedOut(""));
  for (const b of document.querySelectorAll("#tabs button")) b.addEventListener("click", () => show(b.dataset.view));
  $("profiles-refresh").addEventListener("click", loadProfiles);
  $("sessions-form").addEventListener("submit", (e) => { e.preventDefault(); loadSessions(false); });
  $("sessions-more").addEventListener("click", () => loadSessions(true));
  $("live-kind").addEventListener("input", renderEvents);
  $("timeline-refresh").addEventListener("click", loadTimeline);
  $("timeline-since").addEventListener("change", loadTimeline);
  $("agent").addEventListener("change", () => show(state.view));
  setInterval(tickCountdowns, 1000);
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) signIn(token); else signedOut("");
});
