// The page: four views behind tabs (the URL's #hash picks one), and the API key asked for when refused.
import { onKeyRefused, setApiKey } from "./api.js";
import { $ } from "./ui.js";
import * as chat from "./chat.js";
import * as compare from "./compare.js";
import * as adapters from "./adapters.js";
import * as stats from "./stats.js";

const views = { chat, compare, adapters, server: stats };

function show(name) {
  if (!views[name]) name = "chat";
  for (const tab of document.querySelectorAll("[role=tab]")) {
    const on = tab.dataset.view === name;
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
    document.getElementById(tab.dataset.view).hidden = !on;
  }
  for (const [n, v] of Object.entries(views)) if (n !== name && v.hide) v.hide();
  views[name].show();
}

/** Reloads everything the views read: after a key is given, or when adapters change. */
function refreshAll() {
  for (const v of Object.values(views)) if (v.refresh) v.refresh();
}

function setupKey() {
  const form = $("#key-form");
  onKeyRefused((e) => {
    $("#key-message").textContent = `The server refused the request (${e.describe()}).`;
    form.hidden = false;
  });
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    setApiKey($("#key-input").value);
    $("#key-message").textContent = "";
    form.hidden = true;
    refreshAll();
  });
}

document.addEventListener("models-changed", refreshAll);
setupKey();
const tabs = [...document.querySelectorAll("[role=tab]")];
for (const tab of tabs) {
  tab.addEventListener("click", () => (location.hash = tab.dataset.view));
  // the tab list's keyboard: arrows move between tabs, as a screen reader user expects of role=tab
  tab.addEventListener("keydown", (ev) => {
    const step = { ArrowRight: 1, ArrowLeft: -1 }[ev.key];
    if (!step) return;
    const next = tabs[(tabs.indexOf(tab) + step + tabs.length) % tabs.length];
    next.focus();
    location.hash = next.dataset.view;
  });
}
window.addEventListener("hashchange", () => show(location.hash.slice(1)));
for (const v of Object.values(views)) v.init();
show(location.hash.slice(1));
refreshAll();
