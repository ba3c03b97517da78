// The cluster view: nodes, VMs, this node's running tasks. Refreshed every few seconds.
"use strict";

const clusterView = {
  async render(view) {
    const [cluster, vms, running] = await Promise.all([api.get("/api/v1/cluster"), api.get("/api/v1/vms"),
      api.get("/api/v1/tasks?status=running")]);
    const addressOf = Object.fromEntries(cluster.nodes.map(n => [n.name, n.agent_address]));
    view.replaceChildren(
      el("h1", {}, "Cluster ", cluster.cluster),
      el("h2", {}, "Nodes"),
      table(["node", "lease", "agent", "maintenance", "memory available", "QEMU", "VMs", ""], cluster.nodes.map(n => [
        n.name === cluster.node ? el("b", {}, n.name, " (this node)") : el("a", { href: nodeUi(n.agent_address) }, n.name),
        el("span", { class: n.alive ? "ok" : "bad" }, n.alive ? "alive" : "lapsed"),
        el("span", { class: n.answers ? "ok" : "bad", title: n.error || "" }, n.answers ? "answers" : "no answer"),
        n.maintenance === undefined ? el("span", { class: "muted" }, "–") : n.maintenance ? el("span", { class: "warn" },
          "maintenance") : "no",
        n.mem_available_bytes === undefined ? el("span", { class: "muted" }, "–")
          : bytes(n.mem_available_bytes) + " of " + bytes(n.mem_total_bytes),
        n.qemu || "–", n.vms, nodeActions(n, cluster, vms)])),
      el("h2", {}, "VMs"),
      vms.length === 0 ? el("p", { class: "muted" }, "No VMs.") : table(["VM", "name", "owner", "state", "lock", ""],
        vms.map(v => [
          el("a", { href: "#/vm/" + v.vmid, "data-vm": v.vmid }, v.vmid), v.name,
          el("span", { "data-owner": v.vmid }, v.owner),
          v.status ? el("span", { class: v.status === "running" ? "ok" : "" }, v.status)
            : el("span", { class: "muted" }, "on node " + v.owner),
          v.lock ? el("span", { class: "warn" }, v.lock + (v.lock_task ? " (" + v.lock_task + ")" : "")) : "",
          v.owner === cluster.node ? (v.lock ? "" : el("button", { onclick: () => migrateDialog.open(v, cluster),
            "data-migrate": v.vmid }, "Migrate…"))
            : el("a", { href: nodeUi(addressOf[v.owner]) + "#/vm/" + v.vmid }, "open on node " + v.owner)])),
      el("h2", {}, "Running tasks on this node"),
      running.length === 0 ? el("p", { class: "muted" }, "None.") : table(["task", "VM", "target", "started"],
        running.map(t => [el("a", { href: "#/task/" + encodeURIComponent(t.id) }, t.id), t.vmid, t.target,
          when(t.started)])));
  },
  refreshMs: 3000,
};

/**
 * Evacuate (this node only: an evacuation runs in the agent of the node it empties, so another
 * node's is started from that node's page), the running evacuation's page, and Resume.
 */
function nodeActions(n, cluster, vms) {
  const here = n.name === cluster.node;
  const page = id => (here ? "" : nodeUi(n.agent_address)) + "#/task/" + encodeURIComponent(id);
  return el("span", { class: "actions" },
    n.evacuation ? el("a", { href: page(n.evacuation), "data-evacuation": n.name }, "evacuating…")
      : here ? el("button", { onclick: () => evacuateDialog.open(n.name, cluster, vms), "data-evacuate": n.name },
        "Evacuate…")
      : el("a", { href: nodeUi(n.agent_address), title: "an evacuation runs in the agent of the node it empties" },
        "evacuate from its page"),
    n.maintenance && !n.evacuation ? el("button", { onclick: () => resumeNode(n.name), "data-resume": n.name },
      "Resume") : null);
}

function nodeUi(address) { return "https://" + address + "/ui/"; }
