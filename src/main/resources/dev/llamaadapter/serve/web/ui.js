// Small DOM helpers: every text from the server or a model goes in as textContent, never as HTML.

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") e.textContent = v;
    else if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

/** Shows an error (an ApiError or any Error) in a view's alert region; null clears it. */
export function showError(region, error) {
  if (!error) {
    region.textContent = "";
    region.hidden = true;
    return;
  }
  region.textContent = error.describe ? error.describe() : String(error.message || error);
  region.hidden = false;
}

/** The number in an input, or fallback when it is empty. */
export function numberOf(input, fallback) {
  const v = input.value.trim();
  return v === "" ? fallback : Number(v);
}

/** Fills a select with the served models, keeping the chosen one when it is still served. */
export function fillModels(select, list) {
  const was = select.value;
  select.replaceChildren(...list.map((m) => el("option", { value: m.id, text: m.parent ? `${m.id} (adapter)` : `${m.id} (base)` })));
  if (list.some((m) => m.id === was)) select.value = was;
}

/** Tokens per second of an answer: its tokens over the seconds from the request to its end. */
export function rate(tokens, millis) {
  return millis > 0 ? (tokens / (millis / 1000)).toFixed(1) : "–";
}
