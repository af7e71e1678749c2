// Compare: one prompt to the base and 1-4 adapters at once; the server decodes them in one batch.
import { ApiError, models, stream } from "./api.js";
import { $, el, numberOf, rate, showError } from "./ui.js";

const MAX_ADAPTERS = 4;
let running = null; // AbortController shared by the columns of one run

export function init() {
  $("#compare-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    run();
  });
  $("#compare-stop").addEventListener("click", () => running && running.abort());
  $("#compare-adapters").addEventListener("change", limit);
}

export function show() {}

export async function refresh() {
  try {
    const list = await models();
    const box = $("#compare-adapters");
    const was = new Set(chosen());
    const adapters = list.filter((m) => m.parent);
    box.replaceChildren(el("legend", { text: `Adapters (1–${MAX_ADAPTERS})` }));
    if (!adapters.length) box.append(el("p", { class: "empty", text: "No adapters are loaded." }));
    adapters.forEach((m, i) => {
      const id = "compare-adapter-" + i;
      const check = el("input", { type: "checkbox", id, value: m.id, checked: was.size ? was.has(m.id) : i < MAX_ADAPTERS });
      box.append(el("label", { for: id, class: "check" }, check, " " + m.id));
    });
    box.dataset.base = (list.find((m) => !m.parent) || {}).id || "";
    limit();
    showError($("#compare-error"), null);
  } catch (e) {
    showError($("#compare-error"), e);
  }
}

function chosen() {
  return [...document.querySelectorAll("#compare-adapters input:checked")].map((c) => c.value);
}

/** At most four adapters: the other boxes are disabled once four are ticked. */
function limit() {
  const full = chosen().length >= MAX_ADAPTERS;
  for (const c of document.querySelectorAll("#compare-adapters input")) c.disabled = full && !c.checked;
}

function column(model, isBase) {
  const text = el("pre", { class: "out", "aria-label": `Answer of ${model}` });
  const meta = el("p", { class: "meta", text: "waiting…" });
  const col = el("article", { class: "column", "data-model": model }, el("h3", { text: isBase ? `${model} (base)` : model }), text, meta);
  return { col, text, meta };
}

async function run() {
  if (running) return;
  const picked = chosen();
  const base = $("#compare-adapters").dataset.base;
  if (!picked.length) {
    showError($("#compare-error"), new ApiError(0, "pick at least one adapter to compare with the base"));
    return;
  }
  showError($("#compare-error"), null);
  const prompt = $("#compare-prompt").value;
  const settings = {
    prompt,
    max_tokens: numberOf($("#compare-max-tokens"), 64),
    temperature: numberOf($("#compare-temperature"), 0),
    seed: numberOf($("#compare-seed"), 0),
    stream: true,
    stream_options: { include_usage: true },
  };
  const columns = [base, ...picked].map((m, i) => ({ model: m, ...column(m, i === 0) }));
  $("#compare-columns").replaceChildren(...columns.map((c) => c.col));
  running = new AbortController();
  $("#compare-run").disabled = true;
  $("#compare-stop").disabled = false;
  const signal = running.signal;
  // all requests leave together, so the server's scheduler takes them into the same batch
  await Promise.all(columns.map((c) => one(c, settings, signal)));
  running = null;
  $("#compare-run").disabled = false;
  $("#compare-stop").disabled = true;
}

async function one(c, settings, signal) {
  const started = performance.now();
  let usage = null, finish = null;
  try {
    await stream("/v1/completions", { model: c.model, ...settings }, signal, (ev) => {
      if (ev.usage) usage = ev.usage;
      const choice = ev.choices && ev.choices[0];
      if (!choice) return;
      if (choice.text) c.text.textContent += choice.text;
      if (choice.finish_reason) finish = choice.finish_reason;
    });
    const ms = performance.now() - started;
    c.meta.textContent = usage ? `${usage.completion_tokens} tokens · ${rate(usage.completion_tokens, ms)} tok/s · ${finish}` : String(finish);
    c.col.dataset.done = "true";
  } catch (e) {
    c.col.dataset.done = "true";
    if (e.name === "AbortError") c.meta.textContent = "stopped";
    else {
      c.meta.textContent = "failed";
      showError($("#compare-error"), e instanceof ApiError ? e : new ApiError(0, String(e)));
    }
  }
}
