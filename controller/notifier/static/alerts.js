// Dashboard panels for alerts and calls: open incidents (with ACK, for operators), the callback
// list (with "called back"), and the call statistics of a day (today unless another is picked). Loaded after dashboard.js; uses its extension
// point window.hotlineDashboard.{api, addPanel}. Values are written with textContent only.
"use strict";

(function () {
  const dash = window.hotlineDashboard;
  if (!dash) return;

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function when(iso) {
    if (dash.fmtTime) return dash.fmtTime(iso);  // the page's one formatter (date, time, zone)
    if (!iso) return "—";
    const d = new Date(iso);
    return isNaN(d.getTime()) ? "—" : d.toLocaleString();
  }

  function card(id, title) {
    let sec = document.getElementById(id);
    if (sec) return sec.querySelector("div.body");
    const main = document.getElementById("main");
    if (!main) return null;
    sec = el("section", "card");
    sec.id = id;
    sec.appendChild(el("h2", null, title));
    const body = el("div", "body");
    sec.appendChild(body);
    const events = document.getElementById("events");
    main.insertBefore(sec, events && events.parentNode === main ? events : null);
    return body;
  }

  // The last action's error per panel: the panels are re-rendered on every refresh (5 s), the
  // message must outlive that until the next action in the same panel.
  const notes = {};

  function describe(e) {
    if (e.status === 403) return "Your token's role may not do this (an operator's token may).";
    return e.message || "failed";
  }

  function action(label, method, path, body, status) {
    const b = el("button", null, label);
    b.type = "button";
    b.addEventListener("click", async function () {
      b.disabled = true;
      try {
        await dash.api(method, path, body);
        notes[status.dataset.panel] = "";
        status.textContent = "";
        dash.refresh();
      } catch (e) {
        notes[status.dataset.panel] = describe(e);
        status.textContent = notes[status.dataset.panel];
        b.disabled = false;
      }
    });
    return b;
  }

  function statusLine(panel) {
    const p = el("p", "error", notes[panel] || "");
    p.dataset.panel = panel;
    p.setAttribute("role", "alert");
    return p;
  }

  function renderIncidents(body, incidents) {
    body.replaceChildren();
    const status = statusLine("incidents");
    if (!incidents.length) body.appendChild(el("p", null, "No open incident."));
    const ul = el("ul", "incidents");
    incidents.forEach(function (i) {
      const li = el("li", "incident sev-" + i.severity);
      li.appendChild(el("strong", null, "#" + i.id + " " + i.severity.toUpperCase() + " "));
      li.appendChild(el("span", null, i.summary));
      const who = i.acknowledged_by ? "acknowledged by " + i.acknowledged_by
        : "assigned to " + i.assignee + ", not acknowledged";
      li.appendChild(el("div", "meta", "since " + when(i.opened_at) + " · " + who));
      li.dataset.incidentId = String(i.id);
      if (!i.acknowledged_by) {
        const ack = action("Acknowledge", "POST", "/v1/incidents/" + i.id + "/ack", undefined, status);
        ack.title = "Take the incident: stops reminders and escalation (needs an operator's token)";
        li.appendChild(ack);
      }
      ul.appendChild(li);
    });
    body.appendChild(ul);
    body.appendChild(status);
  }

  function renderCallbacks(body, callbacks) {
    body.replaceChildren();
    const status = statusLine("callbacks");
    if (!callbacks.length) body.appendChild(el("p", null, "Nobody is waiting for a callback."));
    const ul = el("ul", "callbacks");
    callbacks.forEach(function (c) {
      const li = el("li", "callback");
      li.appendChild(el("strong", null, c.caller_display || c.caller || "withheld number"));
      li.appendChild(el("span", null, " on " + c.line + ", missed " + when(c.missed_at) + " "));
      li.appendChild(action("Called back", "POST", "/v1/callbacks/" + c.id + "/close", {}, status));
      ul.appendChild(li);
    });
    body.appendChild(ul);
    body.appendChild(status);
  }

  function renderStats(body, stats) {
    body.replaceChildren();
    const table = el("table", "stats");
    const head = el("tr");
    ["line", "calls", "answered", "missed", "ASR", "avg talk", "longest wait"].forEach(function (h) {
      head.appendChild(el("th", null, h));
    });
    table.appendChild(head);
    const rows = Object.entries(stats.lines || {});
    rows.push(["all lines", stats.total]);
    rows.forEach(function (pair) {
      const s = pair[1];
      const tr = el("tr");
      [pair[0], s.calls, s.answered, s.missed,
       s.answer_seizure_ratio === null ? "—" : Math.round(s.answer_seizure_ratio * 100) + " %",
       s.average_duration_s === null ? "—" : Math.round(s.average_duration_s) + " s",
       s.longest_wait_s === null ? "—" : Math.round(s.longest_wait_s) + " s",
      ].forEach(function (v) { tr.appendChild(el("td", null, v)); });
      table.appendChild(tr);
    });
    const picker = body.parentNode.querySelector("input.day");
    if (picker && document.activeElement !== picker) picker.value = stats.day;  // shows the day
    body.appendChild(el("p", "meta", stats.day + " (" + stats.timezone + ")"));
    const wrap = el("div", "scroll");  // seven columns: scroll inside the card, not the page
    wrap.appendChild(table);
    body.appendChild(wrap);
  }

  // The day shown by the statistics panel: "" is today (in the call log's time zone).
  let statsDay = "";

  function statsPath() {
    return "/v1/calls/stats" + (statsDay ? "?day=" + encodeURIComponent(statsDay) : "");
  }

  function dayPicker(body) {
    const sec = body.parentNode;
    if (sec.querySelector("input.day")) return;
    const label = el("label", "day", "Day ");
    const input = el("input", "day");
    input.type = "date";
    input.addEventListener("change", function () {
      statsDay = input.value;  // "" when cleared: back to today
      renderDay(body);
    });
    label.appendChild(input);
    sec.insertBefore(label, body);
  }

  async function renderDay(body) {
    const path = statsPath();
    try {
      const r = await dash.api("GET", path);
      if (path === statsPath()) renderStats(body, r.data);
    } catch (e) {
      body.replaceChildren(el("p", "error", e.message || "unavailable"));
    }
  }

  async function panel() {
    const parts = [
      ["alerts-incidents", "Open incidents", () => "/v1/incidents?state=open", renderIncidents],
      ["alerts-callbacks", "Callbacks", () => "/v1/callbacks", renderCallbacks],
      ["alerts-stats", "Calls per day", statsPath, renderStats],
    ];
    for (const [id, title, pathOf, render] of parts) {
      const body = card(id, title);
      if (!body) continue;
      if (id === "alerts-stats") dayPicker(body);
      const path = pathOf();
      try {
        const r = await dash.api("GET", path);
        if (path !== pathOf()) continue;  // another day was picked meanwhile: that one shows
        render(body, r.data);
      } catch (e) {
        body.replaceChildren(el("p", "error", e.message || "unavailable"));
      }
    }
  }

  dash.addPanel(function () { panel(); });
})();
