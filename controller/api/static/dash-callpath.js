// Hotline dashboard, part 2 of 4: the call-path picture and the conditions in plain words.
// A line is up when every component it depends on is up and the PBX cluster has its quorum, the
// same rule as the controller's decide() (a line's depends_on may name the cluster itself).
"use strict";

(function () {
  const H = (window.hotlineDashboard = window.hotlineDashboard || {});
  const ROUTES = ["primary", "secondary", "oncall"];
  const $ = (id) => document.getElementById(id);

  function worst(states) {
    if (states.indexOf("down") >= 0) return "down";
    if (states.indexOf("unknown") >= 0) return "unknown";
    return "up";
  }

  // {state: up|down|unknown, detail: "0/2 up, quorum 1"} of the PBX cluster, or null.
  function clusterHealth(topo, byName) {
    const cl = topo && topo.pbx_cluster;
    if (!cl) return null;
    const up = cl.nodes.filter((n) => byName[n] === "up").length;
    const unknown = cl.nodes.filter((n) => byName[n] !== "up" && byName[n] !== "down").length;
    let state = "unknown";
    if (up >= cl.quorum) state = "up";
    else if (up + unknown < cl.quorum) state = "down";
    return { state: state, detail: up + "/" + cl.nodes.length + " up, quorum " + cl.quorum };
  }

  // Each line's health: {primary: {state, down: [names]}, secondary: {...}}.
  function lineHealth(topo, s) {
    const byName = {};
    (s.components || []).forEach((c) => { byName[c.name] = c.status; });
    const cluster = clusterHealth(topo, byName);
    const out = {};
    ["primary", "secondary"].forEach((r) => {
      const line = topo && topo.lines && topo.lines[r];
      if (!line) { out[r] = { state: "unknown", down: [] }; return; }
      const clusterName = topo.pbx_cluster ? topo.pbx_cluster.name : null;
      const own = line.depends_on.filter((n) => n !== clusterName);
      const states = own.map((n) => byName[n] || "unknown");
      const down = own.filter((n) => byName[n] === "down");
      if (cluster) {
        states.push(cluster.state);
        if (cluster.state === "down") down.push(clusterName);
      }
      out[r] = { state: worst(states), down: down };
    });
    out.oncall = { state: "up", down: [] };
    out.cluster = cluster;
    return out;
  }

  // What is wrong with the edge the calls take, as a short label on the picture (null: nothing).
  function activeTrouble(s, health) {
    const active = s.active.route;
    if (!active) return null;
    if (s.active.failed) return { kind: "failed", label: "switch FAILED" };
    if (health[active].state === "down") {
      return s.mode === "paused" ? { kind: "dead", label: "paused · DOWN" }
        : { kind: "dead", label: "line DOWN" };
    }
    if (!s.active.verified) return { kind: "unverified", label: "not verified" };
    return null;
  }

  function renderTarget(r, s, health) {
    const active = s.active.route;
    const target = $("target-" + r);
    const edge = $("edge-" + r);
    const trouble = r === active ? activeTrouble(s, health) : null;
    const desired = r === s.desired && r !== active;
    target.classList.toggle("active", r === active);
    edge.classList.toggle("active", r === active && trouble === null);
    ["failed", "dead", "unverified"].forEach((k) => {
      edge.classList.toggle(k, trouble !== null && trouble.kind === k);
      target.classList.toggle(k, trouble !== null && trouble.kind === k);
    });
    target.classList.toggle("desired", desired);
    edge.classList.toggle("desired", desired);
    target.classList.toggle("down", health[r].state === "down");
    target.classList.toggle("unknown", health[r].state === "unknown");
    H.setText("edge-label-" + r, trouble ? trouble.label : desired ? "wanted" : "");
    $("edge-label-" + r).setAttribute("class",
      "edge-label" + (trouble ? " " + trouble.kind : desired ? " desired" : ""));
    let stateText = health[r].state === "down" ? "DOWN: " + health[r].down.join(", ")
      : health[r].state === "unknown" ? "state unknown" : "up";
    if (r === "oncall") stateText = s.oncall ? "on call: " + s.oncall : "";
    H.setText("state-" + r, stateText);
  }

  function renderCallPath(s, topo) {
    const health = lineHealth(topo, s);
    ROUTES.forEach((r) => renderTarget(r, s, health));
    if (topo) {
      H.setText("hotline-number", topo.hotline);
      H.setText("number-primary", topo.lines.primary.number);
      H.setText("number-secondary", topo.lines.secondary.number);
    }
    const active = s.active.route;
    H.setText("number-oncall", active === "oncall" && s.active.number ? s.active.number : "");
    let summary = "Where calls go is not known yet (the modem's forwarding was not read)";
    if (active) {
      summary = "Calls go to the " + H.routeName(active) +
        (s.active.number ? " (" + s.active.number + ")" : "") +
        " since " + H.fmtTime(s.active.since) +
        (s.active.verified ? " — verified" : " — NOT verified");
      if (s.active.failed) summary += " — last switch FAILED";
    }
    H.setText("route-summary", summary);
    H.setText("decision-reason", s.reason ? "Decision: " + s.reason : "");
    return health;
  }

  function downLines(health) {
    return ["primary", "secondary"].filter((r) => health[r].state === "down");
  }

  // One condition identifier → {sev: bad|warn|info, text}, or null when another notice says it.
  function conditionNotice(code, s, health) {
    const active = s.active.route;
    switch (code) {
      case "total_outage":
        return { sev: "bad", text: "Total outage — both lines are down" +
          (active === "oncall" ? "; calls go to the on-call mobile" : "") };
      case "partial_outage": {
        const down = downLines(health);
        const which = down.length === 1 ? "the " + H.routeName(down[0]) + " is down"
          : "one line is down";
        const onDead = active && health[active] && health[active].state === "down";
        return { sev: "warn", text: "Partial outage — " + which +
          (onDead ? " and calls still go to it" : active ? "; calls go to " + H.theRoute(active)
            : "") };
      }
      case "paused_on_down_route":
        return { sev: "bad", text: "Paused on a line that is down — calls may be lost; " +
          "resume automatic switching or fail over" };
      case "override_refused":
        return { sev: "bad", text: "Manual override refused — its line is down " +
          "(Force insists)" };
      case "health_unknown":
        return { sev: "warn", text: "Health not known yet for some components" };
      case "flapping":
        return s.flapping ? null : { sev: "bad", text: "Flapping — automatic switching is held" };
      case "paused":
        return s.pause ? null : { sev: "warn", text: "Paused — automatic switching is off" };
      case "override":
        return s.override ? null : { sev: "warn", text: "Manual override in force" };
      case "off_hours":
        return { sev: "info", text: "Outside business hours — calls take the off-hours route" };
      case "pause_expired": return { sev: "info", text: "The pause has expired" };
      case "override_expired": return { sev: "info", text: "The manual override has expired" };
      case "failback_pending":
        return { sev: "info", text: "Failing back once the better line has been up long enough" };
      default: return { sev: "warn", text: H.humane(code) };
    }
  }

  function routeNotices(s) {
    const out = [];
    if (s.cluster && s.cluster.quorum === false) {
      out.push({ sev: "bad", code: "no_quorum", text: "No ZooKeeper quorum — this node cannot " +
        "confirm the cluster's state (last read " + H.fmtTime(s.cluster.as_of) + ")" });
    } else if (!s.leader) {
      out.push({ sev: "bad", code: "no_leader", text: "No node may act now (no leader)" });
    }
    if (s.active.failed) {
      const to = s.desired && s.desired !== s.active.route ? " to " + H.theRoute(s.desired) : "";
      out.push({ sev: "bad", code: "switch_failed", text: "The last switch" + to +
        " FAILED — calls still go to " + H.theRoute(s.active.route) });
    } else if (s.active.route && !s.active.verified) {
      out.push({ sev: "warn", code: "unverified",
        text: "Not verified — the modem has not confirmed where calls go" });
    } else if (!s.active.route) {
      out.push({ sev: "warn", code: "route_unknown", text: "Where calls go is not known yet" });
    }
    if (s.override) {
      out.push({ sev: "warn", code: "override", text: "Manual override → " + H.theRoute(s.override.to) +
        " by " + s.override.who + " until " + H.fmtTime(s.override.expires_at) +
        (s.override.force ? " (forced)" : "") + ": " + s.override.reason });
    }
    if (s.pause) {
      out.push({ sev: "warn", code: "pause", text: "Paused by " + s.pause.who + " since " +
        H.fmtTime(s.pause.since) + ": " + s.pause.reason });
    }
    if (s.flapping) {
      out.push({ sev: "bad", code: "flapping", text: "Flapping — automatic switching is held" });
    }
    return out;
  }

  const RANK = { bad: 0, warn: 1, info: 2, ok: 3 };

  function renderNotices(s, health) {
    const notices = routeNotices(s);
    (s.conditions || []).forEach((code) => {
      const n = conditionNotice(code, s, health);
      if (n) { n.code = code; notices.push(n); }
    });
    if (!notices.some((n) => n.sev === "bad" || n.sev === "warn")) {
      notices.unshift({ sev: "ok", code: "normal",
        text: "Normal — calls go to " + H.theRoute(s.active.route) });
    }
    notices.sort((a, b) => RANK[a.sev] - RANK[b.sev]);
    const ul = $("banners");
    ul.replaceChildren();
    notices.forEach((n) => {
      const li = H.el("li", "banner sev-" + n.sev, n.text);
      li.dataset.code = n.code;
      ul.append(li);
    });
  }

  Object.assign(H, {
    lineHealth: lineHealth,
    renderCallPath: renderCallPath,
    renderNotices: renderNotices,
  });
})();
