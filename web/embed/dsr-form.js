// <dsr-request-form lang="de" api="https://api.example.com"></dsr-request-form>
//
// One script a company puts on its own site:
//   <script type="module" src="https://<privacy site>/embed/dsr-form.js"></script>
// The element renders the privacy center's request flow (../privacy/flow.js) in its shadow DOM,
// styled by a constructed stylesheet (no inline styles, so a strict CSP is fine).
// Attributes: lang ("de" | "en"; default: the browser's languages), api (the API's base URL;
// default: this script's origin), heading-level (of its headings, default 2).
// The host page's CSP must allow this script's origin in script-src, and the API and the
// report store in connect-src; the API must list the page's origin in AllowedOrigins.

import { createI18n, pickLanguage } from "../shared/i18n.js";
import { createApi } from "../shared/api.js";
import { mountFlow } from "../privacy/flow.js";
import { strings } from "../privacy/strings.js";

const SCRIPT_ORIGIN = new URL(import.meta.url).origin;

const CSS = `
:host {
  --dsr-text: #1b1b1b; --dsr-muted: #4d4d4d; --dsr-bg: #ffffff; --dsr-surface: #f4f6f8;
  --dsr-border: #6b6b6b; --dsr-line: #d0d5db; --dsr-primary: #0b4f8a; --dsr-primary-dark: #083a66;
  --dsr-error: #a3001b; --dsr-error-bg: #fdf1f2; --dsr-focus: #15233b; --dsr-radius: 0.375rem;
  display: block; max-width: 46rem; box-sizing: border-box;
  color: var(--dsr-text); background: var(--dsr-bg);
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif;
  font-size: 1rem; line-height: 1.55; overflow-wrap: break-word;
}
:host([hidden]) { display: none; }
*, *::before, *::after { box-sizing: border-box; }
.dsr { padding: 0.25rem; }
h1, h2, h3, h4, h5, h6 { line-height: 1.25; margin: 1rem 0 0.5rem; font-size: 1.25rem; }
.downloads h1, .downloads h2, .downloads h3, .downloads h4, .downloads h5, .downloads h6 { font-size: 1.0625rem; }
p, ul, dl { margin: 0 0 1rem; }
:focus { outline: none; }
:focus-visible { outline: 3px solid var(--dsr-focus); outline-offset: 2px; }
.visually-hidden { position: absolute !important; width: 1px; height: 1px; margin: -1px; padding: 0; border: 0;
  overflow: hidden; clip: rect(0 0 0 0); clip-path: inset(50%); white-space: nowrap; }
.hint { color: var(--dsr-muted); font-size: 0.9375rem; margin: 0.25rem 0 0.5rem; }
button, input, textarea { font: inherit; color: inherit; }
button { display: inline-flex; align-items: center; justify-content: center; min-height: 2.75rem; min-width: 2.75rem;
  padding: 0.5rem 1.125rem; border: 2px solid var(--dsr-primary); border-radius: var(--dsr-radius);
  background: var(--dsr-primary); color: #fff; font-weight: 600; line-height: 1.2; cursor: pointer; }
button:hover { background: var(--dsr-primary-dark); border-color: var(--dsr-primary-dark); }
button.secondary { background: var(--dsr-bg); color: var(--dsr-primary); }
button.secondary:hover { background: var(--dsr-surface); color: var(--dsr-primary-dark); }
button[aria-disabled="true"] { cursor: not-allowed; background: #e6e6e6; border-color: #767676; color: #3d3d3d; }
input[type="text"], input[type="email"], textarea { display: block; width: 100%; max-width: 32rem; min-height: 2.75rem;
  padding: 0.5rem 0.75rem; border: 2px solid var(--dsr-border); border-radius: var(--dsr-radius); background: var(--dsr-bg); }
textarea { min-height: 7rem; resize: vertical; }
input[type="radio"], input[type="checkbox"] { width: 1.5rem; height: 1.5rem; margin: 0.125rem 0 0; flex: none; accent-color: var(--dsr-primary); }
[aria-invalid="true"] { border-color: var(--dsr-error); border-width: 3px; }
label { font-weight: 600; cursor: pointer; }
fieldset { border: 0; margin: 0 0 1rem; padding: 0; min-width: 0; }
legend { font-weight: 700; padding: 0; margin-bottom: 0.5rem; }
.field { margin: 0 0 1.25rem; }
.field > label { display: block; margin-bottom: 0.25rem; }
.choice { display: flex; gap: 0.75rem; align-items: flex-start; padding: 0.5rem 0; }
.choice-body { flex: 1; min-width: 0; }
.choice-about p { margin: 0.25rem 0 0; }
.type-choice { border: 1px solid var(--dsr-line); border-radius: var(--dsr-radius); padding: 0.75rem; margin-bottom: 0.75rem; }
.is-disabled label { color: var(--dsr-muted); cursor: not-allowed; }
#purposes-section { border-left: 0.375rem solid var(--dsr-line); padding-left: 1rem; margin: 0 0 1.25rem; }
.notice { border-left: 0.375rem solid var(--dsr-primary); background: var(--dsr-surface); padding: 0.75rem 1rem; margin: 0 0 1rem; }
.notice p:last-child { margin-bottom: 0; }
.actions { margin: 1.25rem 0; }
.row { display: flex; flex-wrap: wrap; gap: 0.75rem; }
.error-summary { border: 2px solid var(--dsr-error); border-left-width: 0.5rem; border-radius: var(--dsr-radius);
  background: var(--dsr-error-bg); padding: 0.75rem 1rem; margin: 0 0 1.25rem; }
.error-summary p { margin: 0; font-weight: 700; }
.error-summary ul { margin: 0.5rem 0 0; padding-left: 1.25rem; }
.field-error { color: var(--dsr-error); font-weight: 600; margin: 0.25rem 0; }
.field-error:empty { display: none; }
.status-live { font-size: 1.125rem; padding: 0.75rem 1rem; border: 2px solid var(--dsr-primary); border-radius: var(--dsr-radius); background: var(--dsr-surface); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.375rem 1rem; }
dl.facts dt { font-weight: 700; }
dl.facts dd { margin: 0; }
.recipients ul { padding-left: 1.25rem; }
@media (max-width: 40rem) {
  dl.facts { grid-template-columns: 1fr; }
  .row { flex-direction: column; align-items: stretch; }
  .actions button, .downloads button { width: 100%; }
}
@media (prefers-reduced-motion: reduce) {
  *, *::before, *::after { animation-duration: 0.01ms !important; transition-duration: 0.01ms !important; }
}
`;

let sheet = null;
function styleSheet() {
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
  }
  return sheet;
}

/** The API base an api attribute names: its URL without a trailing slash; the script's origin when absent or unusable. */
export function apiBaseOf(attr, fallback = SCRIPT_ORIGIN) {
  const value = String(attr ?? "").trim();
  if (!value) return fallback;
  try {
    const url = new URL(value);
    if (url.protocol !== "https:" && !["localhost", "127.0.0.1", "[::1]"].includes(url.hostname)) return fallback;
    return (url.origin + url.pathname).replace(/\/+$/, "");
  } catch {
    return fallback;
  }
}

export class DsrRequestForm extends HTMLElement {
  static get observedAttributes() {
    return ["lang", "api", "heading-level"];
  }

  constructor() {
    super();
    this.attachShadow({ mode: "open" });
    this.shadowRoot.adoptedStyleSheets = [styleSheet()];
  }

  connectedCallback() {
    if (!this.flow) this.mount();
  }

  disconnectedCallback() {
    this.unmount();
  }

  attributeChangedCallback(name, before, after) {
    if (!this.flow || before === after) return;
    if (name === "lang") this.i18n.setLang(pickLanguage(after) ?? this.i18n.lang);
    else this.remount();
  }

  mount() {
    const box = document.createElement("div");
    box.className = "dsr";
    this.shadowRoot.replaceChildren(box);
    // The element's own lang attribute (or the browser's languages) chooses; never stored.
    this.i18n = createI18n(strings, { storageKey: null, lang: pickLanguage(this.getAttribute("lang")) ?? undefined, langTarget: box });
    const base = apiBaseOf(this.getAttribute("api"));
    this.flow = mountFlow(box, { api: createApi({ base }), apiBase: base, i18n: this.i18n,
      headingLevel: Number(this.getAttribute("heading-level")) || 2 });
  }

  unmount() {
    this.flow?.destroy();
    this.flow = null;
  }

  remount() {
    this.unmount();
    this.mount();
  }
}

if (!customElements.get("dsr-request-form")) customElements.define("dsr-request-form", DsrRequestForm);
