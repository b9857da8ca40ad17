// Hotline failover dashboard, part 4 of 4 (loaded after dash-format.js, dash-callpath.js and
// dash-controls.js): fetching, the stale-data banner, components, events, sign-in.
// Plain JS, no dependencies, no inline code (the page's CSP forbids it). Every value from the API
// is cleaned of control and bidi characters (cleanDeep) and written with textContent, never HTML.
// Extension point: window.hotlineDashboard = {api, refresh, addPanel, fmtTime, el, clean, may};
// and if GET /v1/demo answers {"actions": [{"label": "...", "path": "/v1/demo/...",
// "method": "POST", "body": {...}}]}, its buttons appear in the "Demo lab" card.
"use strict";

(function () {
  const H = (window.hotlineDashboard = window.hotlineDashboard || {});
  const TOKEN_KEY = "hotline.token";
  // /dashboard#poll=N (seconds, 1..60) polls faster or slower than every 5 s. A fragment, not a
  // query: it never reaches the server (which refuses unknown query parameters).
  const POLL_S = Math.min(60, Math.max(1, Number(new URLSearchParams(location.hash.slice(1))
    .get("poll")) || 5));
  const STALE_AFTER_POLLS = 3;  // no good answer for this many intervals: the banner shows
  const FETCH_TIMEOUT_MS = Math.max(2000, Math.min(10000, POLL_S * 2000));
  const EVENTS_STEP = 20;
  const $ = (id) => document.getElementById(id);
  const state = {
    timer: null, ticker: null, topology: null, panels: [], lastGood: null, lastError: null,
    eventsLimit: EVENTS_STEP, whoami: undefined, demoAsked: false,
  };

  function token() { return sessionStorage.getItem(TOKEN_KEY); }

  class ApiError extends Error {
    constructor(status, detail) { super(detail); this.status = status; }
  }

  function describeDetail(body, status) {
    if (!body || body.detail === undefined) return "HTTP " + status;
    if (typeof body.detail === "string") return body.detail;
    if (Array.isArray(body.detail)) {
      return body.detail.map((d) => (d.loc || []).slice(1).join(".") + ": " + d.msg).join("; ");
    }
    return "HTTP " + status;
  }

  async function api(method, path, body) {
    const headers = { "Authorization": "Bearer " + (token() || "") };
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), FETCH_TIMEOUT_MS);
    const init = { method: method, headers: headers, cache: "no-store", signal: abort.signal };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let resp;
    let data = null;
    try {
      resp = await fetch(path, init);
      try { data = H.cleanDeep(await resp.json()); } catch (e) { data = null; }
    } catch (e) {
      throw new ApiError(0, abort.signal.aborted ? "no answer within " +
        FETCH_TIMEOUT_MS / 1000 + " s" : "cannot reach the controller (" + e.message + ")");
    } finally {
      clearTimeout(timer);
    }
    if (resp.status === 401) { signOut("The token was refused; enter a valid one."); }
    if (!resp.ok && resp.status !== 202 && resp.status !== 409) {
      throw new ApiError(resp.status, describeDetail(data, resp.status));
    }
    return { status: resp.status, data: data };
  }

  // The banner that cannot be missed: the last good answer is too old, or a fetch failed.
  function renderStale() {
    const now = Date.now();
    const age = state.lastGood === null ? null : (now - state.lastGood) / 1000;
    const stale = state.lastError !== null || (age !== null && age > STALE_AFTER_POLLS * POLL_S);
    const banner = $("stale");
    document.body.classList.toggle("stale", stale);
    banner.hidden = !stale;
    if (!stale) return;
    const seen = state.lastGood === null ? "nothing was received yet"
      : "what you see is from " + H.fmtTime(state.lastGood);
    H.setText("stale-text", "No answer from the controller" +
      (age === null ? "" : " for " + H.fmtAge(age)) + " — " + seen);
    H.setText("stale-why", state.lastError ? "Last try: " + state.lastError : "Waiting for an answer…");
    banner.dataset.age = age === null ? "" : String(Math.floor(age));
  }

  function renderHeader(s) {
    H.setText("node", "node " + s.node);
    H.setText("leader", s.is_leader ? "leader" : "standby (leader: " + (s.leader || "none") + ")");
    $("leader").classList.toggle("ok", s.is_leader);
    const mode = $("mode");
    mode.textContent = H.modeName(s.mode);
    mode.dataset.mode = H.clean(s.mode);
  }

  function componentRow(name, kind, status, since, latency, reason) {
    const tr = H.el("tr", "component " + status);
    tr.dataset.component = name;
    const cell = H.el("td", "name", name);
    cell.append(H.el("span", "kind", kind));
    tr.append(cell, H.el("td", "state", status === "down" ? "DOWN" : status),
      H.el("td", "since", since), H.el("td", "latency", latency), H.el("td", "why", reason));
    return tr;
  }

  function renderComponents(s, health) {
    const body = $("components-body");
    body.replaceChildren();
    (s.components || []).forEach((c) => {
      const latency = typeof c.latency_ms === "number" ? c.latency_ms.toFixed(1) + " ms" : "—";
      body.append(componentRow(c.name, H.kindName(c.kind), c.status, H.fmtTime(c.since), latency,
        c.reason || ""));
    });
    const cl = state.topology && state.topology.pbx_cluster;
    if (cl && health.cluster) {
      const row = componentRow(cl.name, "PBX cluster", health.cluster.state, "—", "—",
        health.cluster.detail + " (" + cl.nodes.join(", ") + ")");
      row.classList.add("cluster");
      body.append(row);
    }
  }

  function renderEvents(events) {
    const ol = $("events-list");
    ol.replaceChildren();
    events.slice().reverse().forEach((e) => {
      const li = H.el("li", "event " + e.kind + (e.outcome ? " outcome-" + e.outcome : ""));
      li.dataset.eventId = e.id;
      li.append(H.el("time", "at", H.fmtTime(e.at)), H.el("span", "kind", e.kind));
      if (e.route_from || e.route_to) {
        li.append(H.el("span", "routes", (e.route_from || "?") + " → " + (e.route_to || "?")));
      }
      if (e.outcome) li.append(H.el("span", "outcome", e.outcome));
      if (e.who) li.append(H.el("span", "who", e.who));
      li.append(H.el("span", "text", e.reason || ""));
      ol.append(li);
    });
    $("events-more").hidden = events.length < state.eventsLimit || state.eventsLimit >= 1000;
    $("events-less").hidden = state.eventsLimit <= EVENTS_STEP;
    H.setText("events-count", events.length ? "latest " + events.length : "none yet");
  }

  async function loadWhoami() {
    if (state.whoami !== undefined) return;
    try {
      state.whoami = (await api("GET", "/v1/whoami")).data;
    } catch (e) {
      if (e.status !== 404) throw e;
      state.whoami = null;  // an older API: show every control, the server refuses what it must
    }
    H.applyRole(state.whoami);
  }

  async function refresh() {
    if (!token()) return;
    try {
      await loadWhoami();
      if (!state.topology) state.topology = (await api("GET", "/v1/topology")).data;
      const s = (await api("GET", "/v1/status")).data;
      const ev = (await api("GET", "/v1/events?limit=" + state.eventsLimit)).data;
      renderHeader(s);
      const health = H.renderCallPath(s, state.topology);
      H.renderNotices(s, health);
      H.controlsSee(state.topology, s);
      renderComponents(s, health);
      renderEvents(ev);
      state.panels.forEach((fn) => { try { fn(s); } catch (e) { /* a panel's bug stays local */ } });
      if (!state.demoAsked) { state.demoAsked = true; H.loadDemo(); }  // below the rendered cards
      state.lastGood = Date.now();
      state.lastError = null;
      H.setText("updated", "Updated " + H.fmtTime(state.lastGood));
      document.body.dataset.loaded = "true";
    } catch (e) {
      if (!token()) return;
      state.lastError = (e.status ? "HTTP " + e.status + ": " : "") +
        (e.message || "cannot reach the controller");
    }
    renderStale();
  }

  function schedule() {
    clearTimeout(state.timer);
    state.timer = setTimeout(async () => { await refresh(); if (token()) schedule(); }, POLL_S * 1000);
  }

  function showLogin(message) {
    $("main").hidden = true;
    $("logout").hidden = true;
    $("stale").hidden = true;
    document.body.classList.remove("stale");
    $("login").hidden = false;
    H.setText("login-error", message || "");
    $("token-input").focus();
  }

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    clearTimeout(state.timer);
    clearInterval(state.ticker);
    Object.assign(state, { topology: null, whoami: undefined, lastGood: null, lastError: null,
      demoAsked: false });
    H.resetRole();
    showLogin(message);
  }

  async function start() {
    $("login").hidden = true;
    $("main").hidden = false;
    $("logout").hidden = false;
    clearInterval(state.ticker);
    state.ticker = setInterval(renderStale, 1000);  // the age grows even while a fetch hangs
    await refresh();
    if (token()) schedule();
  }

  function moreEvents(step) {
    state.eventsLimit = Math.max(EVENTS_STEP, Math.min(1000, state.eventsLimit + step));
    refresh();
  }

  function init() {
    $("login-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const value = $("token-input").value.trim();
      if (!value) return;
      sessionStorage.setItem(TOKEN_KEY, value);
      $("token-input").value = "";
      start();
    });
    $("logout").addEventListener("click", () => signOut(""));
    $("events-more").addEventListener("click", () => moreEvents(EVENTS_STEP));
    $("events-less").addEventListener("click", () => moreEvents(-1000));
    H.initControls();
    if (token()) start(); else showLogin("");
  }

  Object.assign(H, {
    api: api,
    refresh: refresh,
    addPanel: function (fn) { state.panels.push(fn); },
    pollSeconds: POLL_S,
  });
  document.addEventListener("DOMContentLoaded", init);
})();
