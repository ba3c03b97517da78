// One VM: its definition, its disks, the migrations of it this node orchestrated.
"use strict";

const vmView = {
  async render(view, vmid) {
    const [vm, tasks, cluster] = await Promise.all([api.get("/api/v1/vms/" + vmid), api.get("/api/v1/tasks"),
      api.get("/api/v1/cluster")]);
    const cfg = vm.config || {};
    const mine = tasks.filter(t => t.vmid === vm.vmid).reverse();
    view.replaceChildren(
      el("h1", {}, "VM ", vm.vmid, " ", cfg.name || ""),
      el("div", { class: "facts" },
        fact("owner", vm.owner), fact("state", vm.status || "on node " + vm.owner), fact("memory", (cfg.memory || "?") + " MiB"),
        fact("vCPUs", cfg.vcpus || 1), fact("lock", vm.lock || "none")),
      vm.owner === cluster.node && !vm.lock ? el("button", { onclick: () => migrateDialog.open(vm, cluster) }, "Migrate…")
        : "",
      el("h2", {}, "Disks"),
      (cfg.disks || []).length === 0 ? el("p", { class: "muted" }, "No disks.") : table(
        ["storage", "volume", "format", "bus", "cache", "media"],
        cfg.disks.map(d => [d.storage, d.volume, d.format || "raw", d.bus || "", d.cache || "none", d.media || "disk"])),
      el("h2", {}, "Migrations orchestrated by this node"),
      mine.length === 0 ? el("p", { class: "muted" }, "None.") : table(
        ["task", "from → to", "started", "outcome", "duration", "downtime"],
        mine.map(t => [el("a", { href: "#/task/" + encodeURIComponent(t.id) }, t.id), t.source + " → " + t.target,
          when(t.started), el("span", { class: outcomeClass(t.status) }, t.status), ms(t.duration_ms),
          ms(t.downtime_ms)])),
      el("h2", {}, "Definition"),
      el("pre", { class: "json" }, JSON.stringify(cfg, null, 2)));
  },
  refreshMs: 5000,
};

function fact(label, value) { return el("div", {}, el("span", { class: "muted" }, label), el("b", {}, value)); }
