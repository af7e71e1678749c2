// Server: the scheduler's counters from /admin/stats, refreshed every two seconds while the view is open.
import { ApiError, getJson } from "./api.js";
import { $, el, showError } from "./ui.js";

let timer = null;

// [key in /admin/stats, label, how to show it]
const SHOWN = [
  ["slotsInUse", "Slots in use", (s) => `${s.slotsInUse} of ${s.slots}`],
  ["queued", "Waiting for a slot", (s) => s.queued],
  ["tokensPerSecond", "Tokens/s, last minute", (s) => s.tokensPerSecond.toFixed(1)],
  ["completed", "Requests served", (s) => s.completed],
  ["rejected", "Rejected (queue full)", (s) => s.rejected],
  ["cancelled", "Cancelled", (s) => s.cancelled],
  ["failed", "Failed", (s) => s.failed],
  ["inFlight", "Waiting or running", (s) => s.inFlight],
  ["completionTokens", "Tokens generated", (s) => s.completionTokens],
  ["promptTokens", "Prompt tokens", (s) => s.promptTokens],
  ["maxBatch", "Largest batch", (s) => s.maxBatch],
  ["steps", "Decoding steps", (s) => s.steps],
  ["uptimeSeconds", "Up for", (s) => `${Math.floor(s.uptimeSeconds / 60)} min ${s.uptimeSeconds % 60} s`],
];

export function init() {
  $("#server-auto").addEventListener("change", () => (isShown() ? show() : hide()));
}

function isShown() {
  return !$("#server").hidden;
}

export function show() {
  refresh();
  clearInterval(timer);
  timer = $("#server-auto").checked ? setInterval(refresh, 2000) : null;
}

export function hide() {
  clearInterval(timer);
  timer = null;
}

export async function refresh() {
  if (!isShown()) return;
  try {
    const s = await getJson("/admin/stats");
    $("#server-stats").replaceChildren(...SHOWN.flatMap(([key, label, f]) => [
      el("div", { class: "stat", "data-stat": key }, el("dt", { text: label }), el("dd", { text: String(f(s)) })),
    ]));
    $("#server-updated").textContent = "updated " + new Date().toLocaleTimeString();
    showError($("#server-error"), null);
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) hide(); // refused for good: no point asking every 2 s
    showError($("#server-error"), e);
  }
}
