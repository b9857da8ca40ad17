// Hotline dashboard, part 3 of 4: the controls. Shown by the token's role (GET /v1/whoami): a
// viewer sees none, an operator fails over / back and pauses / resumes, an admin also hands the
// leadership over. Forwarding to the on-call mobile, a forced action and a hand-over ask first.
// The server checks every action anyway (403); hiding is for the person, not for security.
"use strict";

(function () {
  const H = (window.hotlineDashboard = window.hotlineDashboard || {});
  const $ = (id) => document.getElementById(id);
  const ctl = { perms: null, topology: null, status: null };

  // null: not known (an API without /v1/whoami): everything is shown and the server decides.
  function may(permission) { return ctl.perms === null || ctl.perms.indexOf(permission) >= 0; }

  function applyRole(caller) {
    ctl.perms = caller ? caller.permissions : null;
    const body = document.body;
    body.dataset.role = caller ? caller.role : "unknown";
    body.dataset.mayOperate = may("operate") ? "yes" : "no";
    $("controls").hidden = !may("operate");
    $("btn-handover").hidden = !may("admin");
    $("whoami").textContent = caller ? H.clean(caller.name + " (" + caller.role + ")") : "";
  }

  // A modal question; resolves true only on the confirm button (Escape or Cancel: false).
  function ask(title, text, okLabel) {
    const dlg = $("confirm");
    H.setText("confirm-title", title);
    H.setText("confirm-text", text);
    H.setText("confirm-ok", okLabel);
    return new Promise((resolve) => {
      const done = (answer) => {
        $("confirm-ok").removeEventListener("click", yes);
        $("confirm-cancel").removeEventListener("click", no);
        dlg.removeEventListener("cancel", no);
        if (dlg.open) dlg.close();
        resolve(answer);
      };
      const yes = () => done(true);
      const no = (ev) => { if (ev) ev.preventDefault(); done(false); };
      $("confirm-ok").addEventListener("click", yes);
      $("confirm-cancel").addEventListener("click", no);
      dlg.addEventListener("cancel", no);
      dlg.showModal();
      $("confirm-cancel").focus();
    });
  }

  function failoverQuestion(body) {
    const parts = [];
    const hold = body.ttl_s ? " for " + Math.round(body.ttl_s / 60) + " min" : "";
    if (body.to === "oncall") {
      const hotline = ctl.topology ? " " + ctl.topology.hotline : "";
      const who = ctl.status && ctl.status.oncall ? " (" + ctl.status.oncall + " is on call)" : "";
      parts.push("Forward the hotline" + hotline + " to the on-call mobile" + hold + "? Every " +
        "call will ring a mobile phone" + who + " instead of the lines, until the override ends " +
        "or someone fails back.");
    }
    if (body.force) {
      parts.push("Force it: the controller will not check that " + H.theRoute(body.to) +
        " is up. If it is down, calls to the hotline are lost.");
    }
    return parts.join(" ");
  }

  function actionBody(kind) {
    if (kind === "handover") return undefined;  // the API takes no body: the audit has "who"
    const reason = $("action-reason").value.trim();
    if (!reason) throw Object.assign(new Error("Enter a reason first."), { status: 0 });
    if (kind !== "failover") return { reason: reason };
    const body = { to: $("action-to").value, reason: reason, force: $("action-force").checked };
    const minutes = $("action-ttl").value;
    if (minutes) body.ttl_s = Number(minutes) * 60;
    return body;
  }

  async function confirmed(kind, body) {
    if (kind === "failover" && (body.to === "oncall" || body.force)) {
      const title = body.to === "oncall" ? "Forward to the on-call mobile?" : "Force the failover?";
      const ok = body.to === "oncall" ? "Forward to the mobile" : "Force it";
      return ask(title, failoverQuestion(body), ok);
    }
    if (kind === "handover") {
      return ask("Hand over the leadership?", "This node stops acting; another node takes " +
        "over the modem and the decisions. Calls keep their route.", "Hand over");
    }
    return true;
  }

  const PATHS = { handover: "/v1/leader/handover" };
  const LABELS = { failover: "Failover", failback: "Failback", pause: "Pause", resume: "Resume",
    handover: "Hand-over" };

  async function act(kind) {
    const out = $("action-result");
    out.className = "result";
    try {
      const body = actionBody(kind);
      if (!(await confirmed(kind, body))) {
        out.textContent = LABELS[kind] + ": cancelled, nothing was sent";
        out.dataset.status = "cancelled";
        return;
      }
      out.textContent = LABELS[kind] + "…";
      const r = await H.api("POST", PATHS[kind] || "/v1/" + kind, body);
      const d = r.data || {};
      const label = r.status === 200 ? "done" : r.status === 202 ? "accepted, not verified yet"
        : "refused";
      out.classList.add(r.status === 409 ? "bad" : "good");
      out.textContent = LABELS[kind] + " " + label + ": " + H.clean(d.message || "");
      out.dataset.status = String(r.status);
    } catch (e) {
      out.classList.add("bad");
      out.textContent = LABELS[kind] + ": " +
        (e.status === 403 ? "your token's role may not do this" : H.clean(e.message));
      out.dataset.status = String(e.status || 0);
    }
    await H.refresh();
  }

  async function loadDemo() {
    const box = $("demo-actions");
    try {
      const r = await H.api("GET", "/v1/demo");
      const actions = (r.data && r.data.actions) || [];
      box.replaceChildren();
      actions.forEach((a) => {
        if (typeof a.path !== "string" || a.path.indexOf("/v1/demo/") !== 0) return;
        const b = H.el("button", "demo", a.label || a.path);
        b.type = "button";
        b.addEventListener("click", async () => {
          const name = a.label || a.path;
          try {
            const res = await H.api(a.method || "POST", a.path, a.body || {});
            H.setText("demo-result", name + ": " + ((res.data && res.data.message) || "ok"));
          } catch (e) { H.setText("demo-result", name + ": " + e.message); }
          await H.refresh();
        });
        box.append(b);
      });
      $("demo").hidden = box.children.length === 0 || !may("operate");
    } catch (e) {
      $("demo").hidden = true;  // no demo lab on this deployment
    }
  }

  function initControls() {
    ["failover", "failback", "pause", "resume", "handover"].forEach((k) => {
      $("btn-" + k).addEventListener("click", () => act(k));
    });
  }

  Object.assign(H, {
    may: may,
    applyRole: applyRole,
    loadDemo: loadDemo,
    initControls: initControls,
    controlsSee: (topology, status) => { ctl.topology = topology; ctl.status = status; },
    resetRole: () => { ctl.perms = null; },
  });
})();
