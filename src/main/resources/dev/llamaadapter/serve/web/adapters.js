// Adapters: what is loaded and what each is (the admin listing), load from the adapters directory, unload.
// When the server refuses the admin endpoints (403), the controls are hidden and the page says why.
import { ApiError, deleteJson, getJson, models, postJson } from "./api.js";
import { $, el, showError } from "./ui.js";

let admin = true; // false once the server refused the admin endpoints

export function init() {
  $("#adapter-load").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const path = $("#adapter-path").value.trim();
    const name = $("#adapter-name").value.trim();
    const body = {};
    if (path) body.path = path;
    if (name) body.name = name;
    try {
      await postJson("/admin/adapters", body);
      $("#adapter-path").value = "";
      $("#adapter-name").value = "";
      showError($("#adapters-error"), null);
      document.dispatchEvent(new Event("models-changed"));
    } catch (e) {
      showError($("#adapters-error"), e);
    }
  });
  $("#adapters-refresh").addEventListener("click", refresh);
}

export function show() {}

export async function refresh() {
  let list;
  try {
    list = (await getJson("/admin/adapters")).data;
    setAdmin(true, null);
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 403) {
      showError($("#adapters-error"), e);
      return;
    }
    setAdmin(false, e.message);
    try {
      list = await models(); // the names at least, without the details
    } catch (e2) {
      showError($("#adapters-error"), e2);
      return;
    }
  }
  showError($("#adapters-error"), null);
  const adapters = list.filter((m) => m.parent);
  $("#adapter-list").replaceChildren(...(adapters.length ? adapters.map(card) : [el("p", { class: "empty", text: "No adapters are loaded." })]));
}

function setAdmin(on, why) {
  admin = on;
  for (const e of document.querySelectorAll(".admin-only")) e.hidden = !on;
  const note = $("#adapters-refused");
  note.hidden = on;
  note.textContent = on ? "" : `Loading and unloading are off: ${why}`;
}

function row(term, value) {
  return value === null || value === undefined || value === "" ? null : [el("dt", { text: term }), el("dd", { text: String(value) })];
}

function card(m) {
  const d = m.adapter;
  const facts = el("dl", { class: "facts" });
  if (d) {
    const last = d.first_layer + d.adapter_layers - 1;
    for (const r of [
      row("format", d.format),
      row("adapter_len (K)", d.adapter_len),
      row("layers (L)", `${d.adapter_layers} (layers ${d.first_layer}–${last})`),
      row("gate activation", d.gate_activation),
      row("parameters", Number(d.parameters).toLocaleString("en")),
      row("memory once prepared", `${(d.bytes / 1024).toFixed(1)} KiB`),
      row("trained with template", d.template),
      row("path", m.path),
    ]) if (r) facts.append(...r);
  } else facts.append(...row("path", m.path || "(details need the admin endpoints)"));
  const parts = [el("h3", { text: m.id }), facts];
  if (d && d.training && Object.keys(d.training).length) {
    const t = el("dl", { class: "facts" });
    for (const [k, v] of Object.entries(d.training)) t.append(...row(k, v));
    parts.push(el("details", { class: "training" }, el("summary", { text: "Training summary" }), t));
  }
  if (admin) {
    parts.push(el("button", { type: "button", class: "danger", "aria-label": `Unload ${m.id}`, text: "Unload", onclick: () => unload(m.id) }));
  }
  return el("article", { class: "card", "data-adapter": m.id }, ...parts);
}

async function unload(name) {
  try {
    await deleteJson("/admin/adapters/" + encodeURIComponent(name));
    showError($("#adapters-error"), null);
    document.dispatchEvent(new Event("models-changed"));
  } catch (e) {
    showError($("#adapters-error"), e);
  }
}
