// Evacuating a node: a dialog that says what will happen before the click, then one request to
// the node's own agent, which runs the evacuation as a task (it goes on when this page closes);
// the task's page follows its log and shows the summary at the end. And Resume, which ends a
// node's maintenance.
"use strict";

const evacuateDialog = {
  node: null,
  vms: [],

  open(node, cluster, vms) {
    this.node = node;
    this.vms = vms.filter(v => v.owner === node);
    const v = id => document.getElementById(id);
    v("e-node").textContent = node;
    v("e-maintenance-node").textContent = node;
    v("e-error").textContent = "";
    v("e-to").replaceChildren(...cluster.nodes.filter(n => n.name !== node).map(n =>
      el("label", {}, el("input", { type: "checkbox", value: n.name, "data-to": n.name, checked: !n.maintenance,
        disabled: n.maintenance === true }), " " + n.name + (n.maintenance ? " (maintenance)" : "")
        + (n.mem_for_vms_bytes !== undefined ? " – " + bytes(n.mem_for_vms_bytes) + " for VMs" : ""))));
    this.describe();
    v("evacuate-dialog").showModal();
  },

  /** The VMs and what becomes of each, as the options now say. */
  describe() {
    const all = document.getElementById("e-all").checked;
    const list = document.getElementById("e-vms");
    list.replaceChildren(...this.vms.map(vm => el("li", { "data-evac-plan": vm.vmid }, "VM " + vm.vmid + " "
      + (vm.name || "") + ": " + (vm.status === "running" ? "migrated live"
        : all ? "moved offline (stopped)" : "stays (stopped; check “stopped VMs too” to move it)")
      + (vm.lock ? " – locked (" + vm.lock + "), waited for or reported" : ""))));
    if (this.vms.length === 0) list.replaceChildren(el("li", { class: "muted" }, "no VM: only maintenance is set"));
    const p = document.getElementById("e-parallel").value || "2";
    const c = document.getElementById("e-cluster-limit").value || "5";
    document.getElementById("e-limits").textContent = "at most " + p + " at a time from " + this.node + ", " + c
      + " in the whole cluster";
  },

  /** The request as the API takes it (ferry node evacuate's flags, snake_case). */
  request() {
    const v = id => document.getElementById(id);
    const num = id => v(id).value === "" ? undefined : Number(v(id).value);
    const boxes = [...document.querySelectorAll("#e-to input")];
    const checked = boxes.filter(b => b.checked).map(b => b.value);
    const r = {
      // every node that may take VMs left checked: the default, which also counts nodes added meanwhile
      to: checked.length === boxes.filter(b => !b.disabled).length ? undefined : checked,
      all: v("e-all").checked, parallel: num("e-parallel"), cluster_limit: num("e-cluster-limit"),
      policy: v("e-policy").value, allow_throttle: v("e-allow-throttle").checked,
      allow_postcopy: v("e-allow-postcopy").checked, with_local_disks: v("e-local-disks").checked,
    };
    return Object.fromEntries(Object.entries(r).filter(([, x]) => x !== undefined));
  },

  async start() {
    const err = document.getElementById("e-error");
    err.textContent = "";
    if (document.querySelectorAll("#e-to input:checked").length === 0) {
      err.textContent = "check at least one node to move the VMs to";
      return;
    }
    try {
      const task = await api.post("/api/v1/nodes/" + encodeURIComponent(this.node) + "/evacuate", this.request());
      document.getElementById("evacuate-dialog").close();
      location.hash = "#/task/" + encodeURIComponent(task.id);
    } catch (e) {
      err.textContent = "refused: " + e.message;
    }
  },
};

async function resumeNode(node) {
  if (!confirm("End the maintenance of node " + node + "? Migrations may go to it again.")) return;
  try {
    await api.post("/api/v1/nodes/" + encodeURIComponent(node) + "/resume");
  } catch (e) {
    alert("refused: " + e.message);
  }
  route();
}

/** A moved VM's note: the targets whose prepare refused it before one took it. */
function refusedBy(v) {
  return (v.refusals || []).map(r => r.node + " refused: " + r.reason).join("; ");
}

/** An evacuation task's page: its settings, status, log and, at the end, the summary table. */
const evacuationView = {
  refreshMs: 1000,

  async render(view, rawId) {
    const id = decodeURIComponent(rawId);
    const path = "/api/v1/tasks/" + encodeURIComponent(id);
    const [t, log] = await Promise.all([api.get(path), api.get(path + "/log?from=0")]);
    const r = t.result;
    const running = t.status === "running";
    view.replaceChildren(...[
      el("h1", {}, "Evacuation of node ", t.node),
      el("p", { class: "muted" }, "task ", t.id, " · started ", when(t.started), " · at most ", t.parallel,
        " at a time from ", t.node, ", ", t.cluster_limit, " in the cluster · to ",
        t.to.length ? t.to.join(", ") : "any other node", t.all ? " · stopped VMs too" : ""),
      el("div", { class: "facts" },
        el("div", {}, el("span", { class: "muted" }, "status"),
          el("b", { id: "evac-status", class: outcomeClass(t.status) }, t.status)),
        r ? [el("div", {}, el("span", { class: "muted" }, "moved"), el("b", {}, r.moved)),
          el("div", {}, el("span", { class: "muted" }, "not moved"), el("b", {}, r.failed)),
          el("div", {}, el("span", { class: "muted" }, "stopped left"), el("b", {}, r.skipped))] : null),
      running ? el("button", { id: "evac-stop", onclick: () => this.stop(path) }, "Stop starting VMs") : null,
      t.error ? el("p", { class: "error" }, t.error) : null,
      el("h2", {}, "Summary"),
      r ? this.summary(r) : el("p", { class: "muted" }, "The table appears when every VM has moved or failed. "
        + "The evacuation runs in node " + t.node + "'s agent: it goes on if this page closes."),
      r ? el("p", {}, "Node " + t.node + " stays in maintenance until it is resumed (on the cluster page).") : null,
      el("h2", {}, "Task log"),
      el("pre", { class: "log", id: "evac-log" }, log.lines.join("\n"))].filter(Boolean));
    this.refreshMs = running ? 1000 : 10000;
  },

  summary(r) {
    return r.vms.length === 0 ? el("p", { class: "muted" }, "The node had no VM.")
      : table(["VM", "name", "target", "outcome", "downtime", "duration", "note"], r.vms.map(v => [
        el("span", { "data-evac-vm": v.vmid }, v.vmid), v.name,
        el("span", { "data-evac-target": v.vmid, title: v.placement || "" }, v.target || "–"),
        el("span", { "data-evac-outcome": v.vmid, class: outcomeClass(v.outcome) },
          v.task ? el("a", { href: "#/task/" + encodeURIComponent(v.task) }, v.outcome) : v.outcome),
        ms(v.downtime_ms), v.duration_ms === null ? "–" : (v.duration_ms / 1000).toFixed(1) + " s", v.error || refusedBy(v)]));
  },

  async stop(path) {
    if (!confirm("Start no further VM? The migrations under way go on to their end.")) return;
    await api.post(path + "/cancel");
    route();
  },
};

for (const id of ["e-all", "e-parallel", "e-cluster-limit"]) {
  document.getElementById(id).addEventListener("input", () => evacuateDialog.describe());
}
document.getElementById("e-start").addEventListener("click", () => evacuateDialog.start());
document.getElementById("e-cancel").addEventListener("click", () => document.getElementById("evacuate-dialog").close());
