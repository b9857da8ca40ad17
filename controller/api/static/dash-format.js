// Hotline dashboard, part 1 of 4: text. One time formatter, one text cleaner, plain words for the
// controller's identifiers. Loaded first; fills window.hotlineDashboard (see dashboard.js).
"use strict";

(function () {
  const H = (window.hotlineDashboard = window.hotlineDashboard || {});

  // Control characters (C0, DEL, C1), bidi embeddings/overrides/isolates and marks, zero-width
  // characters and line/paragraph separators: a caller ID or a reason could carry them to make
  // the page show something else than the data says. Tabs and newlines become spaces.
  const UNSAFE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u061C\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF\uFFF9-\uFFFB]/g;
  const SPACES = /[\t\n\r\u2028\u2029]/g;

  function clean(value) {
    return String(value).replace(SPACES, " ").replace(UNSAFE, "\uFFFD");
  }

  // Every string of an API answer (keys too: some are shown, e.g. the line names of the stats).
  function cleanDeep(value) {
    if (typeof value === "string") return clean(value);
    if (Array.isArray(value)) return value.map(cleanDeep);
    if (value && typeof value === "object") {
      const out = {};
      Object.keys(value).forEach((k) => { out[clean(k)] = cleanDeep(value[k]); });
      return out;
    }
    return value;
  }

  // The one formatter for instants: "2026-12-01 08:29:56 UTC", the zone the controller's reasons
  // use. Accepts an ISO 8601 string, a Date or epoch milliseconds.
  function fmtTime(value) {
    if (value === null || value === undefined || value === "") return "—";
    const d = value instanceof Date ? value : new Date(value);
    if (isNaN(d.getTime())) return "—";
    return d.toISOString().slice(0, 19).replace("T", " ") + " UTC";
  }

  function fmtAge(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    if (s < 120) return s + " s";
    if (s < 7200) return Math.floor(s / 60) + " min " + (s % 60) + " s";
    return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = clean(text);
    return e;
  }

  function setText(id, text) {
    const node = document.getElementById(id);
    if (node) node.textContent = text === null || text === undefined ? "" : clean(text);
  }

  const ROUTE_NAMES = { primary: "primary line", secondary: "secondary line", oncall: "on-call mobile" };
  const MODE_NAMES = { auto: "Automatic", paused: "Paused", override: "Manual override" };
  const KIND_NAMES = {
    trunk: "SIP trunk", carrier: "carrier", pbx_node: "PBX node", modem: "GSM modem", other: "other",
  };

  function routeName(route) {
    if (!route) return "unknown";
    return ROUTE_NAMES[route] || clean(route);
  }

  // "the secondary line" / "the on-call mobile"
  function theRoute(route) { return route ? "the " + routeName(route) : "an unknown route"; }

  // An identifier the page has no words for: "some_new_thing" → "Some new thing".
  function humane(code) {
    const text = clean(code);
    if (!/^[a-z0-9_]+$/.test(text)) return text;
    const spaced = text.replace(/_/g, " ");
    return spaced.charAt(0).toUpperCase() + spaced.slice(1);
  }

  Object.assign(H, {
    clean: clean,
    cleanDeep: cleanDeep,
    fmtTime: fmtTime,
    fmtAge: fmtAge,
    el: el,
    setText: setText,
    routeName: routeName,
    theRoute: theRoute,
    modeName: (m) => MODE_NAMES[m] || humane(m || "unknown"),
    kindName: (k) => KIND_NAMES[k] || humane(k || ""),
    humane: humane,
  });
})();
