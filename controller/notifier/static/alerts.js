// Dashboard panels for alerts and calls: open incidents (with ACK), the callback list (with
// "called back"), and today's call statistics. Loaded after dashboard.js; uses its extension
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
    main.appendChild(sec);
    return body;
  }

  function action(label, method, path, body, status) {
    const b = el("button", null, label);
    b.type = "button";
    b.addEventListener("click", async function () {
      b.disabled = true;
      try {
        await dash.api(method, path, body);
        status.textContent = "";
        dash.refresh();
      } catch (e) {
        status.textContent = e.message || "failed";
        b.disabled = false;
      }
    });
    return b;
  }

  function renderIncidents(body, incidents) {
    body.replaceChildren();
    const status = el("p", "error");
    if (!incidents.length) body.appendChild(el("p", null, "No open incident."));
    const ul = el("ul", "incidents");
    incidents.forEach(function (i) {
      const li = el("li", "incident sev-" + i.severity);
      li.appendChild(el("strong", null, "#" + i.id + " " + i.severity.toUpperCase() + " "));
      li.appendChild(el("span", null, i.summary));
      const who = i.acknowledged_by ? "acknowledged by " + i.acknowledged_by
        : "assigned to " + i.assignee + ", not acknowledged";
      li.appendChild(el("div", "meta", "since " + when(i.opened_at) + " · " + who));
      if (!i.acknowledged_by) {
        li.appendChild(action("Acknowledge", "POST", "/v1/incidents/" + i.id + "/ack", undefined, status));
      }
      ul.appendChild(li);
    });
    body.appendChild(ul);
    body.appendChild(status);
  }

  function renderCallbacks(body, callbacks) {
    body.replaceChildren();
    const status = el("p", "error");
    if (!callbacks.length) body.appendChild(el("p", null, "Nobody is waiting for a callback."));
    const ul = el("ul", "callbacks");
    callbacks.forEach(function (c) {
      const li = el("li", "callback");
      li.appendChild(el("strong", null, c.caller || "withheld number"));
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
    body.appendChild(el("p", "meta", stats.day + " (" + stats.timezone + ")"));
    const wrap = el("div", "scroll");  // seven columns: scroll inside the card, not the page
    wrap.appendChild(table);
    body.appendChild(wrap);
  }

  async function panel() {
    const parts = [
      ["alerts-incidents", "Incidents", "/v1/incidents?state=open", renderIncidents],
      ["alerts-callbacks", "Callbacks", "/v1/callbacks", renderCallbacks],
      ["alerts-stats", "Calls today", "/v1/calls/stats", renderStats],
    ];
    for (const [id, title, path, render] of parts) {
      const body = card(id, title);
      if (!body) continue;
      try {
        const r = await dash.api("GET", path);
        render(body, r.data);
      } catch (e) {
        body.replaceChildren(el("p", "error", e.message || "unavailable"));
      }
    }
  }

  dash.addPanel(function () { panel(); });
})();
