// The server's own API, and nothing else: JSON requests, server-sent event streams, the API key.
// The key lives in this module's memory only (never in storage or the URL): a reload forgets it.

let apiKey = null;
const keyListeners = [];

export function setApiKey(key) {
  apiKey = key ? key.trim() : null;
}

/** Called with the server's 401 message whenever a request was refused for its key. */
export function onKeyRefused(listener) {
  keyListeners.push(listener);
}

/** An error answered by the server (OpenAI's error object), or a failure to reach it. */
export class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code || null;
  }

  /** How the page shows it: the status and the server's own words. */
  describe() {
    return this.status ? `${this.status}: ${this.message}` : this.message;
  }
}

function headers(json) {
  const h = {};
  if (json) h["Content-Type"] = "application/json";
  if (apiKey) h["Authorization"] = "Bearer " + apiKey;
  return h;
}

async function refusal(res) {
  let message = res.statusText || "request failed", code = null;
  try {
    const body = await res.json();
    if (body && body.error) {
      message = body.error.message || message;
      code = body.error.code || null;
    }
  } catch (_) {
    // not JSON: keep the status text
  }
  const e = new ApiError(res.status, message, code);
  if (res.status === 401) keyListeners.forEach((l) => l(e));
  return e;
}

async function send(method, path, body, signal) {
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: headers(body !== undefined),
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(0, "the server cannot be reached: " + e.message);
  }
  if (!res.ok) throw await refusal(res);
  return res;
}

export async function getJson(path) {
  return (await send("GET", path)).json();
}

export async function postJson(path, body) {
  return (await send("POST", path, body)).json();
}

export async function deleteJson(path) {
  return (await send("DELETE", path)).json();
}

/**
 * Posts a streaming request and calls onEvent with each event's JSON until [DONE]. An error event in the
 * stream (the server gave up part way) is thrown as an ApiError. Aborting signal closes the connection,
 * which the server takes as a cancel: the sequence stops and its slot is freed.
 */
export async function stream(path, body, signal, onEvent) {
  const res = await send("POST", path, body, signal);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffered.indexOf("\n\n")) >= 0) {
      const event = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      for (const line of event.split("\n")) {
        if (!line.startsWith("data: ")) continue; // comments (keep-alives) and other fields
        const data = line.slice(6);
        if (data === "[DONE]") return;
        const json = JSON.parse(data);
        if (json.error) throw new ApiError(json.error.code === "cancelled" ? 503 : 500, json.error.message, json.error.code);
        onEvent(json);
      }
    }
  }
}

/** The models served: the base first (parent null), then its adapters. */
export async function models() {
  return (await getJson("/v1/models")).data;
}
