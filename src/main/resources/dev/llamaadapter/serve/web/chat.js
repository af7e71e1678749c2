// Chat: a conversation kept in this page, answers streamed from /v1/chat/completions.
import { ApiError, models, stream } from "./api.js";
import { $, el, fillModels, numberOf, rate, showError } from "./ui.js";

const conversation = []; // [{role, content}] sent with every request
let running = null; // the AbortController of the answer being streamed

export function init() {
  $("#chat-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    send();
  });
  $("#chat-input").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey) {
      ev.preventDefault();
      send();
    }
  });
  $("#chat-stop-button").addEventListener("click", () => running && running.abort());
  $("#chat-clear").addEventListener("click", () => {
    if (running) running.abort();
    conversation.length = 0;
    $("#chat-log").replaceChildren();
  });
}

export function show() {}

export async function refresh() {
  try {
    fillModels($("#chat-model"), await models());
    showError($("#chat-error"), null);
  } catch (e) {
    showError($("#chat-error"), e);
  }
}

function settings() {
  const body = {
    temperature: numberOf($("#chat-temperature"), 0.8),
    top_p: numberOf($("#chat-top-p"), 1),
    top_k: numberOf($("#chat-top-k"), 0),
    max_tokens: numberOf($("#chat-max-tokens"), 256),
  };
  const seed = numberOf($("#chat-seed"), null);
  if (seed !== null) body.seed = seed;
  const stop = $("#chat-stop").value.split("\n").filter((s) => s.length > 0);
  if (stop.length) body.stop = stop;
  return body;
}

function bubble(role, text) {
  const body = el("div", { class: "text", text });
  const item = el("li", { class: "msg " + role }, el("span", { class: "role", text: role === "user" ? "You" : "Model" }), body);
  $("#chat-log").append(item);
  item.scrollIntoView({ block: "end" });
  return item;
}

async function send() {
  const input = $("#chat-input");
  const text = input.value.trim();
  if (!text || running) return;
  const model = $("#chat-model").value;
  showError($("#chat-error"), null);
  conversation.push({ role: "user", content: text });
  bubble("user", text);
  input.value = "";
  const answer = bubble("assistant", "");
  answer.dataset.model = model;
  const out = answer.querySelector(".text");
  const meta = el("div", { class: "meta", text: "…" });
  answer.append(meta);
  running = new AbortController();
  setRunning(true);
  const started = performance.now();
  let usage = null, finish = null;
  try {
    await stream("/v1/chat/completions", { model, messages: conversation, stream: true, stream_options: { include_usage: true }, ...settings() },
      running.signal, (ev) => {
        if (ev.usage) usage = ev.usage;
        const choice = ev.choices && ev.choices[0];
        if (!choice) return;
        if (choice.delta && choice.delta.content) out.textContent += choice.delta.content;
        if (choice.finish_reason) finish = choice.finish_reason;
      });
    const ms = performance.now() - started;
    conversation.push({ role: "assistant", content: out.textContent });
    meta.textContent = usage
      ? `${model} · ${usage.prompt_tokens} prompt + ${usage.completion_tokens} completion tokens · ${rate(usage.completion_tokens, ms)} tok/s · ${finish}`
      : `${model} · ${finish}`;
    answer.dataset.finish = finish || "";
  } catch (e) {
    if (e.name === "AbortError") {
      meta.textContent = `${model} · stopped: the server cancelled the request and freed its slot`;
      answer.dataset.finish = "stopped";
      conversation.push({ role: "assistant", content: out.textContent });
    } else {
      meta.textContent = `${model} · failed`;
      answer.dataset.finish = "error";
      conversation.pop(); // the question was not answered: let it be asked again
      showError($("#chat-error"), e instanceof ApiError ? e : new ApiError(0, String(e)));
    }
  } finally {
    running = null;
    setRunning(false);
  }
}

function setRunning(on) {
  $("#chat-send").disabled = on;
  $("#chat-stop-button").disabled = !on;
}
