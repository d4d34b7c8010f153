// Small DOM helpers. Text goes in as text (textContent), never as HTML; handlers are
// attached with addEventListener, never as attributes (the pages' CSP forbids both).

/**
 * el(tag, attrs, ...children) → Element
 * attrs: {class, id, type, ... (attributes), hidden/disabled/checked/value (properties),
 * on: {click: fn}}; true sets an empty attribute, false/null/undefined leaves it out.
 * children: strings (as text), nodes, arrays of them; null/false are skipped.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) setAttr(node, name, value);
  append(node, children);
  return node;
}

const PROPERTIES = new Set(["hidden", "disabled", "checked", "value", "textContent"]);

function setAttr(node, name, value) {
  if (name === "on") {
    for (const [type, fn] of Object.entries(value ?? {})) node.addEventListener(type, fn);
    return;
  }
  if (/^on/i.test(name) || name === "style" || name === "innerHTML") {
    throw new TypeError(`el: "${name}" is not allowed (CSP: no inline handlers or styles)`);
  }
  if (PROPERTIES.has(name)) {
    if (value !== undefined && value !== null) node[name] = value;
  } else if (name === "class" || name === "className") {
    if (value) node.className = Array.isArray(value) ? value.filter(Boolean).join(" ") : String(value);
  } else if (value === true) {
    node.setAttribute(name, "");
  } else if (value !== false && value !== null && value !== undefined) {
    node.setAttribute(name, String(value));
  }
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(typeof child === "string" || typeof child === "number" ? String(child) : child);
  }
}

/** Removes every child of node. */
export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

/**
 * Says text in an aria-live region. The region is emptied first and filled a moment later,
 * so that the same text said twice is announced twice.
 */
export function announce(region, text) {
  if (!region) return;
  region.textContent = "";
  setTimeout(() => {
    region.textContent = text;
  }, 60);
}

/**
 * Downloads a report or certificate: GET the link route (api, path, token), fetch the presigned
 * URL without referrer or credentials, hand the blob to a temporary <a download>. The URL is
 * never navigated to, put in an href, logged or stored. Resolves to the link route's api result
 * ({ok, status, ...}; its body without the URL), or to {ok: false, status} when the file could
 * not be fetched (0: no connection, 410: gone, 503: store unavailable).
 */
export async function downloadFromLink(api, path, token, filename, { fetchImpl = fetch, doc = document } = {}) {
  const res = await api.get(path, { token });
  const url = res.ok && typeof res.body?.url === "string" ? res.body.url : null;
  if (!res.ok || !url) return res.ok ? { ok: false, status: 503, body: null, retryAfter: null } : res;
  const file = await fetchFile(fetchImpl, url);
  if (!file.ok) return { ok: false, status: file.status, body: null, retryAfter: null };
  saveBlob(doc, file.blob, filename);
  return { ok: true, status: res.status, body: null, retryAfter: null };
}

async function fetchFile(fetchImpl, url) {
  try {
    const r = await fetchImpl(url, { referrerPolicy: "no-referrer", credentials: "omit", cache: "no-store", mode: "cors" });
    if (!r.ok) return { ok: false, status: r.status === 404 ? 410 : 503 };
    return { ok: true, blob: await r.blob() };
  } catch {
    return { ok: false, status: 0 };
  }
}

/**
 * Saves blob as filename through a temporary object URL and <a download>: nothing is navigated to,
 * nothing goes into the history. The URL is revoked once the download has started.
 */
export function saveBlob(doc, blob, filename) {
  const href = URL.createObjectURL(blob);
  const a = doc.createElement("a");
  a.href = href;
  a.download = filename;
  a.hidden = true;
  (doc.body ?? doc.documentElement).append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 1000);
}
