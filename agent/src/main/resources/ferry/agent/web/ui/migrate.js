// The migrate dialog: a target, the options of 'ferry migrate', and before the click the plan
// for each target (POST /vms/{id}/plan runs prepare's checks, so a refusal shows here first).
"use strict";

const migrateDialog = {
  vm: null,

  open(vm, cluster) {
    this.vm = vm;
    const d = document.getElementById("migrate-dialog");
    document.getElementById("m-vmid").textContent = vm.vmid + " " + (vm.name || "");
    const targets = cluster.nodes.filter(n => n.name !== vm.owner);
    document.getElementById("m-target").replaceChildren(...targets.map(n =>
      el("option", { value: n.name, disabled: n.maintenance === true },
        n.name + (n.maintenance ? " (maintenance)" : n.alive ? "" : " (lease lapsed)"))));
    document.getElementById("m-online").checked = vm.status === "running";
    document.getElementById("m-error").textContent = "";
    document.querySelector("#m-plans tbody").replaceChildren();
    d.showModal();
  },

  /** The request as the API takes it (the CLI's flags, snake_case). */
  request(target) {
    const v = id => document.getElementById(id);
    const num = id => v(id).value === "" ? undefined : Number(v(id).value);
    const r = {
      vmid: this.vm.vmid, target, online: v("m-online").checked, policy: v("m-policy").value,
      downtime: num("m-max-downtime"), max_duration: num("m-max-duration"), bwlimit: num("m-bwlimit"),
      allow_throttle: v("m-allow-throttle").checked, allow_postcopy: v("m-allow-postcopy").checked,
      allow_pause: v("m-allow-pause").checked, with_local_disks: v("m-local-disks").checked,
      target_storage: v("m-target-storage").value || undefined,
    };
    return Object.fromEntries(Object.entries(r).filter(([, x]) => x !== undefined));
  },

  /** One row per target, one after the other (each plan samples the guest for a second). */
  async plan() {
    const body = document.querySelector("#m-plans tbody");
    body.replaceChildren();
    for (const opt of document.getElementById("m-target").options) {
      const row = el("tr", { "data-plan": opt.value }, el("td", {}, opt.value), el("td", { colspan: 5 }, "planning…"));
      body.append(row);
      try {
        const p = await api.post("/api/v1/vms/" + this.vm.vmid + "/plan", { ...this.request(opt.value), sample_seconds: 1 });
        const s = p.prediction; // the outcome of the policy the migration would run with, as the agent judges it
        row.replaceChildren(el("td", {}, opt.value),
          el("td", { title: p.reason || "" }, "recommended: " + (p.recommended || "–")),
          el("td", {}, s ? s.seconds.toFixed(1) + " s" : "–"), el("td", {}, s ? Math.round(s.downtime_ms) + " ms" : "–"),
          el("td", { class: s && s.converges ? "ok" : "bad" }, s ? (s.converges ? "yes" : "no") : "–"),
          el("td", {}, (s && s.strategy) + (s && s.note ? ": " + s.note : "")));
      } catch (e) {
        row.replaceChildren(el("td", {}, opt.value), el("td", { colspan: 5, class: "bad" }, "refused: " + e.message));
      }
    }
  },

  async start() {
    const target = document.getElementById("m-target").value;
    const err = document.getElementById("m-error");
    err.textContent = "";
    try {
      const task = await api.post("/api/v1/migrations", this.request(target));
      document.getElementById("migrate-dialog").close();
      location.hash = "#/task/" + encodeURIComponent(task.id);
    } catch (e) {
      err.textContent = "refused: " + e.message;
    }
  },
};

document.getElementById("m-plan").addEventListener("click", () => migrateDialog.plan());
document.getElementById("m-start").addEventListener("click", () => migrateDialog.start());
document.getElementById("m-cancel").addEventListener("click", () => document.getElementById("migrate-dialog").close());
