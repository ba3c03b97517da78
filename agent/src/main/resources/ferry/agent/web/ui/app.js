// The page's router (#/, #/vm/ID, #/task/ID: a migration's live view or an evacuation's page) and the login.
"use strict";

let refresh = null;

function showLogin() {
  document.getElementById("login").hidden = false;
  document.getElementById("view").replaceChildren();
  document.getElementById("logout").hidden = true;
  clearTimeout(refresh);
  liveView.close();
}

async function route() {
  clearTimeout(refresh);
  liveView.close();
  const view = document.getElementById("view");
  const [, kind, id] = location.hash.match(/^#\/(vm|task)\/(.+)$/) || [];
  try {
    const me = await api.get("/api/v1/node");
    document.getElementById("login").hidden = true;
    document.getElementById("logout").hidden = false;
    document.getElementById("where").textContent = "node " + me.node;
    const evacuation = kind === "task" && decodeURIComponent(id).startsWith("evacuate-");
    if (kind === "task" && !evacuation) {
      await liveView.render(view, decodeURIComponent(id));
      return;
    }
    const page = kind === "vm" ? vmView : evacuation ? evacuationView : clusterView;
    const draw = async () => {
      try {
        // a dialog open over the page keeps the page as it is
        if (!document.querySelector("dialog[open]")) await page.render(view, id);
      } catch (e) {
        if (e.status !== 401) view.replaceChildren(el("p", { class: "error" }, e.message));
      }
      if (!document.getElementById("login").hidden) return;
      refresh = setTimeout(draw, page.refreshMs);
    };
    await draw();
  } catch (e) {
    if (e.status !== 401) view.replaceChildren(el("p", { class: "error" }, e.message));
  }
}

document.getElementById("login-form").addEventListener("submit", async ev => {
  ev.preventDefault();
  const err = document.getElementById("login-error");
  err.textContent = "";
  try {
    await api.post("/ui/login", { password: document.getElementById("password").value.trim() });
    document.getElementById("password").value = "";
    route();
  } catch (e) {
    err.textContent = e.message;
  }
});

document.getElementById("logout").addEventListener("click", async () => {
  await api.post("/ui/logout");
  showLogin();
});

window.addEventListener("hashchange", route);
route();
