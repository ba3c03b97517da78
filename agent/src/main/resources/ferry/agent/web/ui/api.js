// Talking to this node's agent: JSON over fetch with the login's session cookie. A 401 means
// "not logged in" and shows the login form; the X-Ferry-UI header marks calls from this UI
// (the agent refuses changes from a browser session without it).
"use strict";

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

const api = {
  async call(method, path, body) {
    const opts = { method, headers: { "X-Ferry-UI": "1" }, credentials: "same-origin" };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    const r = await fetch(path, opts);
    const text = await r.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = { error: text }; }
    if (r.status === 401 && !path.startsWith("/ui/")) { showLogin(); }
    if (!r.ok) { throw new ApiError(r.status, (data && data.error) || r.statusText); }
    return data;
  },
  get(path) { return this.call("GET", path); },
  post(path, body) { return this.call("POST", path, body === undefined ? {} : body); },
};

// Small helpers to build the DOM without innerHTML (no markup from data).
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c !== undefined && c !== null) e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

function table(headers, rows) {
  return el("table", {}, el("thead", {}, el("tr", {}, headers.map(h => el("th", {}, h)))),
    el("tbody", {}, rows.map(r => el("tr", {}, r.map(c => el("td", {}, c))))));
}

const MiB = 1024 * 1024;
function bytes(n) {
  if (n === undefined || n === null) return "–";
  if (n >= 1024 * MiB) return (n / 1024 / MiB).toFixed(1) + " GiB";
  if (n >= MiB) return (n / MiB).toFixed(1) + " MiB";
  if (n >= 1024) return (n / 1024).toFixed(1) + " KiB";
  return n + " B";
}
function ms(n) { return n === undefined || n === null ? "–" : n >= 10000 ? (n / 1000).toFixed(1) + " s" : n + " ms"; }
function when(epochMs) { return epochMs ? new Date(epochMs).toLocaleString() : "–"; }
function outcomeClass(s) {
  return s === "completed" ? "ok" : s === "running" ? "warn" : ["failed", "aborted", "cancelled", "not-converged",
    "interrupted", "problems"].includes(s) ? "bad" : "";
}
