// A migration task, live: phase, a progress bar that never goes back, ETA, a chart over time
// (remaining bytes, transfer and dirty rate, throttle, downtime limit) and the task log, all
// pushed by the agent as server-sent events (GET /api/v1/tasks/{id}/events); a cancel button.
"use strict";

const liveView = {
  source: null,

  async render(view, id) {
    this.close();
    const task = await api.get("/api/v1/tasks/" + encodeURIComponent(id));
    const bar = el("div", { style: "width: 0%" });
    const label = el("span", { id: "percent" }, "0 %");
    const status = el("b", { id: "status" }, task.status);
    const phase = el("b", { id: "phase" }, "–");
    const eta = el("b", { id: "eta" }, "–");
    const sent = el("b", {}, "–");
    const downtime = el("b", { id: "downtime" }, "–");
    const chartBox = el("div", { id: "chart", "data-points": "0" });
    const log = el("pre", { class: "log", id: "log" });
    const cancel = el("button", { id: "cancel", onclick: () => this.cancel(id) }, "Cancel migration");
    view.replaceChildren(
      el("h1", {}, "Migration of VM ", el("a", { href: "#/vm/" + task.vmid }, task.vmid), ": ", task.node, " → ",
        task.target),
      el("p", { class: "muted" }, "task ", task.id),
      el("div", { class: "bar", id: "bar" }, bar, label),
      el("div", { class: "facts" }, el("div", {}, el("span", { class: "muted" }, "status"), status),
        el("div", {}, el("span", { class: "muted" }, "phase"), phase),
        el("div", {}, el("span", { class: "muted" }, "ETA"), eta),
        el("div", {}, el("span", { class: "muted" }, "sent"), sent),
        el("div", {}, el("span", { class: "muted" }, "downtime"), downtime)),
      cancel, chartBox, el("h2", {}, "Task log"), log);

    const chart = new Chart(chartBox);
    let percent = 0;
    const show = p => {
      // the agent's percent never goes back; the bar keeps its own maximum all the same
      percent = Math.max(percent, p);
      bar.style.width = percent + "%";
      label.textContent = percent.toFixed(1) + " %";
    };
    const ended = t => {
      status.textContent = t.status;
      status.className = outcomeClass(t.status);
      cancel.disabled = true;
      if (t.status === "completed" || t.status === "problems") show(100);
      phase.textContent = "ended";
      if (t.result) {
        downtime.textContent = ms(t.result.downtime_ms);
        eta.textContent = "done in " + ms(t.result.duration_ms);
      }
    };
    if (task.status !== "running") ended(task);

    const es = new EventSource("/api/v1/tasks/" + encodeURIComponent(id) + "/events");
    this.source = es;
    es.addEventListener("progress", e => {
      const p = JSON.parse(e.data);
      show(p.percent);
      phase.textContent = p.phase + " (" + p.status + ", pass " + p.pass + ")";
      eta.textContent = p.eta_seconds === null || p.eta_seconds === undefined ? "not converging at these rates"
        : Math.ceil(p.eta_seconds) + " s";
      sent.textContent = bytes(p.transferred) + " of " + bytes(p.total);
      if (p.phase !== "disks") chart.add(p);
    });
    es.addEventListener("log", e => {
      const l = JSON.parse(e.data);
      const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
      log.append(l.line + "\n");
      if (atEnd) log.scrollTop = log.scrollHeight;
    });
    es.addEventListener("end", e => { ended(JSON.parse(e.data)); es.close(); });
    es.addEventListener("error", e => {
      if (e.data) log.append("ERROR: " + JSON.parse(e.data).error + "\n");
      if (es.readyState === EventSource.CLOSED) return;
      if (e.data) es.close();
    });
  },

  async cancel(id) {
    if (!confirm("Cancel this migration? The VM stays where it is.")) return;
    await api.post("/api/v1/tasks/" + encodeURIComponent(id) + "/cancel");
  },

  close() {
    if (this.source) { this.source.close(); this.source = null; }
  },
};

/** uPlot over the task's samples: x = seconds since the stream started. */
class Chart {
  constructor(box) {
    this.box = box;
    this.data = [[], [], [], [], [], []];
    const series = (label, scale, stroke, unit) => ({ label, scale, stroke, width: 2,
      value: (u, v) => v === null || v === undefined ? "–" : v.toFixed(1) + " " + unit });
    this.plot = new uPlot({
      width: Math.min(960, box.clientWidth || 900), height: 320,
      series: [{ label: "s", value: (u, v) => v === null || v === undefined ? "–" : v.toFixed(1) + " s" },
        series("remaining", "MiB", "#1d3557", "MiB"),
        series("transfer rate", "MiB/s", "#2a9d8f", "MiB/s"),
        series("dirty rate", "MiB/s", "#e76f51", "MiB/s"),
        series("throttle", "limits", "#8d5fd3", "%"),
        series("downtime limit", "limits", "#999", "ms")],
      // throttle (0–99 %) and the downtime limit (ms) share a third axis: both are the policy's knobs
      scales: { x: { time: false }, limits: { range: (u, min, max) => [0, Math.max(100, max * 1.1)] } },
      axes: [{ label: "seconds" }, { scale: "MiB", label: "MiB remaining" },
        { scale: "MiB/s", side: 1, label: "MiB/s", grid: { show: false } },
        { scale: "limits", side: 1, label: "throttle % · downtime limit ms", grid: { show: false } }],
    }, this.data, box);
  }

  add(p) {
    const x = p.elapsed_ms / 1000;
    const last = this.data[0].length ? this.data[0][this.data[0].length - 1] : -1;
    if (x <= last) return; // a sample seen already (the stream starts with the whole history)
    const values = [x, p.remaining / MiB, p.bytes_per_second / MiB, p.dirty_bytes_per_second / MiB,
      p.throttle_percent, p.downtime_limit_ms];
    values.forEach((v, i) => this.data[i].push(v));
    this.plot.setData(this.data);
    this.plot.setLegend({ idx: this.data[0].length - 1 }); // the legend shows the newest values
    this.box.setAttribute("data-points", String(this.data[0].length));
  }
}
