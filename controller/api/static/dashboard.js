// Hotline failover dashboard. Plain JS, no dependencies, no inline code (the page's CSP forbids it).
// Every value from the API is written with textContent, never as HTML.
// Extension point: window.hotlineDashboard = {api, refresh, addPanel}; and if GET /v1/demo answers
// {"actions": [{"label": "...", "path": "/v1/demo/...", "method": "POST", "body": {...}}]},
// its buttons appear in the "Demo lab" card.
"use strict";

(function () {
  const TOKEN_KEY = "hotline.token";
  const REFRESH_MS = 5000;
  const ROUTES = ["primary", "secondary", "oncall"];
  const $ = (id) => document.getElementById(id);
  const state = { timer: null, topology: null, panels: [] };

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
    const init = { method: method, headers: headers, cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const resp = await fetch(path, init);
    let data = null;
    try { data = await resp.json(); } catch (e) { data = null; }
    if (resp.status === 401) { signOut("The token was refused; enter a valid one."); }
    if (!resp.ok && resp.status !== 202 && resp.status !== 409) {
      throw new ApiError(resp.status, describeDetail(data, resp.status));
    }
    return { status: resp.status, data: data };
  }

  function fmtTime(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    if (isNaN(d.getTime())) return "—";
    const today = new Date().toDateString() === d.toDateString();
    return today ? d.toLocaleTimeString() : d.toLocaleString();
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function setText(id, text) { $(id).textContent = text === null || text === undefined ? "" : String(text); }

  function lineDown(route, status) {
    const topo = state.topology;
    if (!topo || !topo.lines || !topo.lines[route]) return false;
    const byName = {};
    (status.components || []).forEach((c) => { byName[c.name] = c.status; });
    return topo.lines[route].depends_on.some((n) => byName[n] === "down");
  }

  function renderCallPath(s) {
    const active = s.active.route;
    ROUTES.forEach((r) => {
      const target = $("target-" + r);
      const edge = $("edge-" + r);
      const isActive = r === active;
      target.classList.toggle("active", isActive);
      edge.classList.toggle("active", isActive);
      target.classList.toggle("unverified", isActive && !s.active.verified);
      target.classList.toggle("desired", r === s.desired && r !== active);
      edge.classList.toggle("desired", r === s.desired && r !== active);
      target.classList.toggle("down", r !== "oncall" && lineDown(r, s));
    });
    if (state.topology) {
      setText("hotline-number", state.topology.hotline);
      setText("number-primary", state.topology.lines.primary.number);
      setText("number-secondary", state.topology.lines.secondary.number);
    }
    const oncallText = s.oncall ? s.oncall : "";
    setText("number-oncall", active === "oncall" && s.active.number ? s.active.number : oncallText);
    let summary = "Calls go to: unknown";
    if (active) {
      summary = "Calls go to " + active + (s.active.number ? " (" + s.active.number + ")" : "") +
        " since " + fmtTime(s.active.since) + (s.active.verified ? " — verified" : " — not verified");
      if (s.active.failed) summary += " — last switch FAILED";
    }
    setText("route-summary", summary);
    setText("decision-reason", s.reason ? "Decision: " + s.reason : "");
  }

  function renderBanners(s) {
    const ul = $("banners");
    ul.replaceChildren();
    if (s.override) {
      ul.append(el("li", "banner override", "Override → " + s.override.to + " by " + s.override.who +
        " until " + fmtTime(s.override.expires_at) + (s.override.force ? " (forced)" : "") +
        ": " + s.override.reason));
    }
    if (s.pause) {
      ul.append(el("li", "banner pause", "Paused by " + s.pause.who + " since " +
        fmtTime(s.pause.since) + ": " + s.pause.reason));
    }
    if (s.flapping) ul.append(el("li", "banner flapping", "Flapping: automatic switching is held"));
    (s.conditions || []).forEach((c) => ul.append(el("li", "banner condition", c)));
  }

  function renderHeader(s) {
    setText("node", s.node);
    setText("leader", s.is_leader ? "leader" : "standby (leader: " + (s.leader || "none") + ")");
    $("leader").classList.toggle("ok", s.is_leader);
    const mode = $("mode");
    mode.textContent = s.mode;
    mode.dataset.mode = s.mode;
  }

  function renderComponents(s) {
    const body = $("components-body");
    body.replaceChildren();
    (s.components || []).forEach((c) => {
      const tr = el("tr", "component " + c.status);
      tr.dataset.component = c.name;
      const name = el("td", "name", c.name);
      name.append(el("span", "kind", c.kind));
      tr.append(name, el("td", "state", c.status), el("td", "since", fmtTime(c.since)),
        el("td", "latency", c.latency_ms === null || c.latency_ms === undefined ? "—" :
          c.latency_ms.toFixed(1) + " ms"),
        el("td", "why", c.reason || ""));
      body.append(tr);
    });
  }

  function renderEvents(events) {
    const ol = $("events-list");
    ol.replaceChildren();
    events.slice().reverse().forEach((e) => {
      const li = el("li", "event " + e.kind + (e.outcome ? " outcome-" + e.outcome : ""));
      li.dataset.eventId = e.id;
      li.append(el("time", "at", fmtTime(e.at)), el("span", "kind", e.kind));
      if (e.route_from || e.route_to) {
        li.append(el("span", "routes", (e.route_from || "?") + " → " + (e.route_to || "?")));
      }
      if (e.outcome) li.append(el("span", "outcome", e.outcome));
      if (e.who) li.append(el("span", "who", e.who));
      li.append(el("span", "text", e.reason || ""));
      ol.append(li);
    });
  }

  async function refresh() {
    if (!token()) return;
    try {
      if (!state.topology) state.topology = (await api("GET", "/v1/topology")).data;
      const s = (await api("GET", "/v1/status")).data;
      const ev = (await api("GET", "/v1/events?limit=50")).data;
      renderHeader(s);
      renderCallPath(s);
      renderBanners(s);
      renderComponents(s);
      renderEvents(ev);
      state.panels.forEach((fn) => { try { fn(s); } catch (e) { /* a panel's bug stays local */ } });
      setText("updated", "Updated " + new Date().toLocaleTimeString());
      setText("fetch-error", "");
      document.body.dataset.loaded = "true";
    } catch (e) {
      setText("fetch-error", e.message || "cannot reach the API");
    }
  }

  function schedule() {
    clearTimeout(state.timer);
    state.timer = setTimeout(async () => { await refresh(); if (token()) schedule(); }, REFRESH_MS);
  }

  function actionBody(kind) {
    const reason = $("action-reason").value.trim();
    if (!reason) throw new ApiError(0, "Enter a reason first.");
    if (kind !== "failover") return { reason: reason };
    const body = { to: $("action-to").value, reason: reason, force: $("action-force").checked };
    const minutes = $("action-ttl").value;
    if (minutes) body.ttl_s = Number(minutes) * 60;
    return body;
  }

  async function act(kind) {
    const out = $("action-result");
    out.className = "result";
    try {
      const body = actionBody(kind);
      out.textContent = kind + "…";
      const r = await api("POST", "/v1/" + kind, body);
      const d = r.data || {};
      const label = r.status === 200 ? "done" : r.status === 202 ? "accepted" : "refused";
      out.classList.add(r.status === 409 ? "bad" : "good");
      out.textContent = kind + " " + label + ": " + (d.message || "");
      out.dataset.status = String(r.status);
    } catch (e) {
      out.classList.add("bad");
      out.textContent = kind + ": " + (e.status === 403 ? "your token's role may not do this" : e.message);
      out.dataset.status = String(e.status || 0);
    }
    await refresh();
  }

  async function loadDemo() {
    try {
      const r = await api("GET", "/v1/demo");
      const actions = (r.data && r.data.actions) || [];
      const box = $("demo-actions");
      box.replaceChildren();
      actions.forEach((a) => {
        if (typeof a.path !== "string" || a.path.indexOf("/v1/demo/") !== 0) return;
        const b = el("button", "demo", a.label || a.path);
        b.type = "button";
        b.addEventListener("click", async () => {
          try {
            const res = await api(a.method || "POST", a.path, a.body || {});
            setText("demo-result", (a.label || a.path) + ": " + ((res.data && res.data.message) || "ok"));
          } catch (e) { setText("demo-result", (a.label || a.path) + ": " + e.message); }
          await refresh();
        });
        box.append(b);
      });
      $("demo").hidden = actions.length === 0;
    } catch (e) {
      $("demo").hidden = true;  // no demo lab on this deployment
    }
  }

  function showLogin(message) {
    $("main").hidden = true;
    $("logout").hidden = true;
    $("login").hidden = false;
    setText("login-error", message || "");
    $("token-input").focus();
  }

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    clearTimeout(state.timer);
    state.topology = null;
    showLogin(message);
  }

  async function start() {
    $("login").hidden = true;
    $("main").hidden = false;
    $("logout").hidden = false;
    await refresh();
    if (!token()) return;
    await loadDemo();
    schedule();
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
    ["failover", "failback", "pause", "resume"].forEach((k) => {
      $("btn-" + k).addEventListener("click", () => act(k));
    });
    if (token()) start(); else showLogin("");
  }

  window.hotlineDashboard = {
    api: api,
    refresh: refresh,
    addPanel: function (fn) { state.panels.push(fn); },
  };
  document.addEventListener("DOMContentLoaded", init);
})();
