// The request flow of the privacy center and of the embeddable form (web/embed/dsr-form.js):
// choose a request, enter the address, enter the e-mailed code, follow the status, download
// the result. mountFlow renders it into any element or shadow root.
//
// The status token lives only in sessionStorage ("dsr.request" = {id, token, type, api}) and in
// memory; never in a URL, a log, localStorage or a cookie. Presigned links are never navigated to.

import { el, clear, announce, downloadFromLink } from "../shared/dom.js";
import { problemMessages } from "../shared/api.js";
import { text, tx, applyBindings } from "./bind.js";
import { RIGHT_TYPES, rightsState, rightsSections, showRights, renderRightsChoices, readRights, validateRights, rightsBody } from "./rights.js";

export const STORAGE_KEY = "dsr.request";
export const FINAL_STATUSES = Object.freeze(["completed", "failed", "rejected", "expired"]);
export const REQUEST_TYPES = Object.freeze(["access", "erasure", "objection-marketing", "objection-purposes", ...RIGHT_TYPES]);
const STATUSES = ["awaiting_verification", "queued", "in_progress", ...FINAL_STATUSES];
const FAST_POLL_MS = 2000;
const SLOW_POLL_MS = 10000;
const FAST_PHASE_MS = 60000;
const FIELD_ORDER = ["type", "purposes", "grounds", "attribute", "corrected", "evidence", "ground", "restrict", "reason",
  "format", "transmitTo", "changes", "email", "code"];
const MAX_GROUNDS = 2000;

/**
 * mountFlow(root, {api, apiBase, i18n, storage, headingLevel}) → {destroy()}
 * root: the element (or shadow root) to render into; api: createApi(...); apiBase: the base it
 * was made with (a stored request is resumed only for the same API); i18n: createI18n(...) with
 * the strings of web/privacy/strings.js; storage: sessionStorage by default; headingLevel: of the
 * steps' headings (2).
 */
export function mountFlow(root, { api, apiBase = "", i18n, storage = sessionStore(), headingLevel = 2 } = {}) {
  const ctx = newContext(root, { api, apiBase, i18n, storage, headingLevel });
  buildFrame(ctx);
  const off = i18n.onChange(() => refresh(ctx));
  start(ctx);
  return {
    destroy() {
      ctx.dead = true;
      off();
      stopPolling(ctx);
      clear(root);
    },
  };
}

function sessionStore() {
  try {
    return globalThis.sessionStorage ?? null;
  } catch {
    return null; // blocked: the request is kept in memory only
  }
}

function newContext(root, { api, apiBase, i18n, storage, headingLevel }) {
  const ctx = {
    root, api, apiBase: String(apiBase ?? ""), i18n, storage,
    t: (key, vars) => i18n.t(key, vars),
    ...headings(headingLevel),
    bindings: [], fields: {}, errorProducer: null, dead: false,
    el: {}, poll: { timer: null, since: 0 },
    state: { step: null, req: null, view: null, email: "", choice: "", grounds: "", checked: new Set(),
      rights: rightsState(), purposes: null, purposesFailed: null, sentPurposes: [], busy: false },
  };
  ctx.purposeLabel = (name) => purposeLabel(ctx, name);
  return ctx;
}

function headings(level) {
  const n = Math.min(5, Math.max(1, Math.trunc(Number(level)) || 2));
  return { h: `h${n}`, hSub: `h${n + 1}` };
}

function buildFrame(ctx) {
  ctx.el.errors = el("div", { id: "errors", role: "alert", class: "errors" });
  ctx.el.announcer = el("div", { class: "visually-hidden", "aria-live": "polite", "aria-atomic": "true" });
  ctx.el.step = el("div", { class: "flow-step" });
  clear(ctx.root).append(ctx.el.errors, ctx.el.step, ctx.el.announcer);
}

function start(ctx) {
  const saved = loadRequest(ctx);
  if (!saved) return renderForm(ctx, { focus: false });
  ctx.state.req = saved;
  renderStatus(ctx, { focus: false }); // the first poll moves to the code step if still unverified
}

function refresh(ctx) {
  applyBindings(ctx);
  loadDescriptions(ctx);
  renderErrors(ctx, false);
}

// ---------------------------------------------------------------- steps

function stepSection(ctx, step) {
  const heading = tx(ctx, ctx.h, { id: `${step}-heading`, tabindex: "-1" }, `${step}.heading`);
  const section = el("section", { class: `step step-${step}`, "aria-labelledby": `${step}-heading` }, heading);
  return { section, heading };
}

function show(ctx, step, { section, heading }, focus) {
  stopPolling(ctx);
  ctx.state.step = step;
  clearErrors(ctx);
  clear(ctx.el.step).append(section);
  if (focus) heading.focus();
}

function newRequestButton(ctx, key) {
  return tx(ctx, "button", { type: "button", id: "new-request", class: "secondary", on: { click: () => newRequest(ctx) } }, key);
}

function newRequest(ctx) {
  forgetRequest(ctx);
  Object.assign(ctx.state, { email: "", choice: "", grounds: "", checked: new Set(), rights: rightsState() });
  renderForm(ctx, { focus: true });
}

// ---------------------------------------------------------------- step 1: the request form

function renderForm(ctx, { focus }) {
  ctx.fields = {};
  const parts = stepSection(ctx, "form");
  const form = el("form", { id: "request-form", novalidate: true, on: { submit: (e) => onSubmit(ctx, e) } },
    typeFieldset(ctx), purposesSection(ctx), ...rightsSections(ctx), emailField(ctx), timeNote(ctx), submitButton(ctx));
  parts.section.append(tx(ctx, "p", { class: "intro" }, "form.intro"), form);
  show(ctx, "form", parts, focus);
  if (!ctx.state.purposes) loadPurposes(ctx);
}

function typeFieldset(ctx) {
  const error = el("p", { id: "type-error", class: "field-error" });
  const fs = el("fieldset", { id: "type-group", "aria-describedby": "type-error" }, tx(ctx, "legend", {}, "type.legend"));
  const inputs = REQUEST_TYPES.map((value) => {
    const { row, input } = typeChoice(ctx, value);
    fs.append(row);
    return input;
  });
  fs.append(error);
  ctx.fields.type = { inputs, focus: inputs[0], error };
  return fs;
}

function typeChoice(ctx, value) {
  const id = `type-${value}`;
  const input = el("input", { type: "radio", name: "type", id, value, "aria-describedby": `${id}-about`,
    checked: ctx.state.choice === value, on: { change: () => onTypeChange(ctx, value) } });
  const about = el("div", { id: `${id}-about`, class: "choice-about" },
    tx(ctx, "p", {}, `type.${value}.what`), tx(ctx, "p", { class: "hint" }, `type.${value}.more`));
  const body = el("div", { class: "choice-body" }, tx(ctx, "label", { for: id }, `type.${value}.label`), about);
  return { input, row: el("div", { class: "choice type-choice" }, input, body) };
}

function onTypeChange(ctx, value) {
  ctx.state.choice = value;
  if (ctx.el.purposes) ctx.el.purposes.hidden = value !== "objection-purposes";
  showRights(ctx, value);
  if (value !== "access" && value !== "erasure" && !ctx.state.purposes) loadPurposes(ctx);
}

function purposesSection(ctx) {
  const list = el("div", { class: "purpose-list" });
  const error = el("p", { id: "purposes-error", class: "field-error" });
  const fs = el("fieldset", { id: "purposes-group", "aria-describedby": "purposes-hint purposes-error" },
    tx(ctx, "legend", {}, "purposes.legend"), tx(ctx, "p", { id: "purposes-hint", class: "hint" }, "purposes.hint"), list, error);
  ctx.el.purposeList = list;
  ctx.fields.purposes = { inputs: [], focus: null, error };
  ctx.el.purposes = el("div", { id: "purposes-section", hidden: ctx.state.choice !== "objection-purposes" }, fs, groundsField(ctx));
  renderPurposeList(ctx);
  return ctx.el.purposes;
}

function groundsField(ctx) {
  const error = el("p", { id: "grounds-error", class: "field-error" });
  const input = el("textarea", { id: "grounds", name: "grounds", maxlength: String(MAX_GROUNDS), rows: "5",
    "aria-describedby": "grounds-hint grounds-error", value: ctx.state.grounds,
    on: { input: (e) => { ctx.state.grounds = e.target.value; } } });
  ctx.fields.grounds = { inputs: [input], focus: input, error };
  return el("div", { class: "field" }, tx(ctx, "label", { for: "grounds" }, "grounds.label"),
    tx(ctx, "p", { id: "grounds-hint", class: "hint" }, "grounds.hint"), input, error);
}

async function loadPurposes(ctx) {
  if (ctx.state.purposesLoading) return;
  ctx.state.purposesLoading = true;
  const lang = ctx.i18n.lang;
  const res = await ctx.api.get("/v1/purposes", { language: lang });
  ctx.state.purposesLoading = false;
  if (ctx.dead) return;
  const list = res.ok && Array.isArray(res.body?.purposes) ? res.body.purposes.filter(isPurpose) : null;
  for (const p of list ?? []) p.descriptions = { [lang]: p.description };
  ctx.state.purposes = list;
  ctx.state.purposesFailed = list ? null : res;
  renderPurposeList(ctx);
  renderRightsChoices(ctx);
}

// The registry's descriptions come from the API in the page's language; after a switch to
// another language they are asked for once more, in it.
async function loadDescriptions(ctx) {
  const lang = ctx.i18n.lang;
  const list = ctx.state.purposes;
  if (!list || list.every((p) => typeof p.descriptions?.[lang] === "string") || ctx.state.descriptionsLoading === lang) return;
  ctx.state.descriptionsLoading = lang;
  const res = await ctx.api.get("/v1/purposes", { language: lang });
  ctx.state.descriptionsLoading = null;
  if (ctx.dead || !res.ok || !Array.isArray(res.body?.purposes)) return;
  for (const q of res.body.purposes.filter(isPurpose)) {
    const p = list.find((x) => x.purpose === q.purpose);
    if (p && typeof q.description === "string") p.descriptions[lang] = q.description;
  }
  applyBindings(ctx);
}

function purposeDescription(ctx, p) {
  return p.descriptions?.[ctx.i18n.lang] ?? registryText(ctx, p.description);
}

function isPurpose(p) {
  return p && typeof p.purpose === "string" && p.purpose !== "";
}

function renderPurposeList(ctx) {
  const list = ctx.el.purposeList;
  if (!list || !ctx.fields.purposes) return; // the form is no longer shown
  clear(list);
  const { purposes, purposesFailed } = ctx.state;
  if (purposes) {
    const rows = purposes.map((p, i) => purposeChoice(ctx, p, i));
    list.append(...rows.map((r) => r.row));
    ctx.fields.purposes.inputs = rows.map((r) => r.input);
    ctx.fields.purposes.focus = rows.map((r) => r.input).find((x) => !x.disabled) ?? null;
  } else if (purposesFailed) {
    list.append(text(ctx, el("p"), () => problemMessages(purposesFailed, ctx.t).summary),
      tx(ctx, "button", { type: "button", id: "purposes-retry", class: "secondary", on: { click: () => retryPurposes(ctx) } }, "purposes.retry"));
  } else {
    list.append(tx(ctx, "p", { class: "hint" }, "purposes.loading"));
  }
}

function retryPurposes(ctx) {
  ctx.state.purposesFailed = null;
  renderPurposeList(ctx);
  loadPurposes(ctx);
}

function purposeChoice(ctx, p, i) {
  const id = `purpose-${i}`;
  const enabled = p.objectionable === true;
  const input = el("input", { type: "checkbox", name: "purpose", id, value: p.purpose, disabled: !enabled,
    "aria-describedby": `${id}-about`, checked: enabled && ctx.state.checked.has(p.purpose),
    on: { change: (e) => toggleChecked(ctx, p.purpose, e.target.checked) } });
  const about = el("div", { id: `${id}-about`, class: "choice-about" },
    typeof p.description === "string" ? text(ctx, el("p"), () => purposeDescription(ctx, p)) : null,
    typeof p.legalBasis === "string" ? text(ctx, el("p", { class: "hint" }), () => ctx.t("purposes.basis", { basis: registryText(ctx, p.legalBasis) })) : null,
    enabled ? null : tx(ctx, "p", { class: "hint why-disabled" }, "purposes.notObjectable"),
    enabled && p.directMarketing === true ? tx(ctx, "p", { class: "hint" }, "purposes.directMarketing") : null);
  const label = text(ctx, el("label", { for: id }), () => purposeLabel(ctx, p.purpose));
  return { input, row: el("div", { class: enabled ? "choice" : "choice is-disabled" }, input, el("div", { class: "choice-body" }, label, about)) };
}

function toggleChecked(ctx, name, on) {
  if (on) ctx.state.checked.add(name);
  else ctx.state.checked.delete(name);
}

function purposeLabel(ctx, name) {
  const key = `purpose.${name}`;
  return ctx.i18n.has(key) ? ctx.t(key) : name.replace(/_/g, " ");
}

// The registry's legal basis is the controller's own text (English in the demo), and so is a
// description the API did not give in the page's language: a German translation is shown only
// where strings.js has one for exactly that text.
function registryText(ctx, s) {
  const key = `registry.${s}`;
  return ctx.i18n.lang !== "en" && ctx.i18n.has(key) ? ctx.t(key) : s;
}

function emailField(ctx) {
  const error = el("p", { id: "email-error", class: "field-error" });
  const input = el("input", { type: "email", id: "email", name: "email", autocomplete: "email", required: true,
    spellcheck: "false", autocapitalize: "none", "aria-describedby": "email-hint email-error", value: ctx.state.email });
  ctx.fields.email = { inputs: [input], focus: input, error };
  return el("div", { class: "field" }, tx(ctx, "label", { for: "email" }, "email.label"),
    tx(ctx, "p", { id: "email-hint", class: "hint" }, "email.hint"), input, error);
}

function timeNote(ctx) {
  return el("div", { class: "notice time-note" }, tx(ctx, "p", {}, "form.time"), tx(ctx, "p", {}, "form.verify"));
}

function submitButton(ctx) {
  ctx.el.submit = tx(ctx, "button", { type: "submit", id: "submit" }, "form.submit");
  return el("div", { class: "actions" }, ctx.el.submit);
}

/** The address as it is sent: without white space around it or inside it (pasted text). */
export function cleanEmail(value) {
  return String(value ?? "").replace(/\s+/g, "");
}

function readForm(ctx) {
  const email = ctx.fields.email.inputs[0];
  email.value = cleanEmail(email.value);
  const checked = ctx.fields.purposes.inputs.filter((x) => x.checked && !x.disabled).map((x) => x.value);
  const grounds = ctx.fields.grounds.inputs[0].value.trim();
  return { choice: ctx.state.choice, email: email.value, purposes: checked, grounds, language: ctx.i18n.lang, rights: readRights(ctx.state) };
}

/** The problems a form has before it is sent: [{field, key}] (keys of strings.js). */
export function validateForm({ choice, email, purposes, grounds, rights }) {
  const out = rights ? validateRights(choice, rights) : [];
  if (!REQUEST_TYPES.includes(choice)) out.push({ field: "type", key: "error.typeMissing" });
  if (choice === "objection-purposes" && !purposes.length) out.push({ field: "purposes", key: "error.purposesMissing" });
  if (choice === "objection-purposes" && [...grounds].length > MAX_GROUNDS) out.push({ field: "grounds", key: "error.groundsTooLong" });
  if (!email) out.push({ field: "email", key: "error.emailMissing" });
  else if (!/^[^@]+@[^@]+$/.test(email)) out.push({ field: "email", key: "error.emailIncomplete" });
  return out;
}

/**
 * The body of POST /v1/requests for a checked form, with the page's language (de or en): the
 * person is answered in it (the access report).
 */
export function submissionBody({ choice, email, purposes, grounds, language, rights }) {
  const lang = language === "de" || language === "en" ? { language } : {};
  if (RIGHT_TYPES.includes(choice)) return { type: choice, email, ...rightsBody(choice, rights), ...lang };
  if (choice === "objection-marketing") return { type: "objection", email, scope: "direct_marketing", ...lang };
  if (choice === "objection-purposes") return { type: "objection", email, purposes, ...(grounds ? { grounds } : {}), ...lang };
  return { type: choice, email, ...lang };
}

async function onSubmit(ctx, e) {
  e.preventDefault();
  if (ctx.state.busy) return;
  const input = readForm(ctx);
  const invalid = validateForm(input);
  if (invalid.length) return showLocalErrors(ctx, invalid);
  ctx.state.sentPurposes = input.purposes;
  const res = await busy(ctx, ctx.el.submit, "form.sending", () => submitOnce(ctx.api, submissionBody(input)));
  if (ctx.dead) return;
  if (!res.ok || !isSubmitted(res.body)) return showProblem(ctx, res.ok ? { ...res, ok: false, status: 500 } : res);
  ctx.state.email = input.email;
  saveRequest(ctx, { id: res.body.id, token: res.body.statusToken, type: res.body.type });
  renderCode(ctx, { focus: true });
}

/**
 * Submits body with an idempotency key drawn for this submission, and when no
 * answer arrives (the connection failed, or a gateway timed out) sends it once
 * more with the same key: the API then answers with the request the first
 * call stored, if it did, rather than make a second one (docs/api.md).
 */
export async function submitOnce(api, body, { key = crypto.randomUUID(), pause = 1000 } = {}) {
  const send = () => api.post("/v1/requests", body, { idempotencyKey: key });
  const res = await send();
  if (![0, 502, 504].includes(res.status)) return res;
  await new Promise((resolve) => setTimeout(resolve, pause));
  return send();
}

function isSubmitted(b) {
  return b && typeof b.id === "string" && typeof b.statusToken === "string" && typeof b.type === "string";
}

// ---------------------------------------------------------------- step 2: the code

function renderCode(ctx, { focus }) {
  ctx.fields = {};
  const parts = stepSection(ctx, "code");
  parts.section.append(
    text(ctx, el("p"), () => (ctx.state.email ? ctx.t("code.sentTo", { email: ctx.state.email }) : ctx.t("code.sent"))),
    tx(ctx, "p", {}, "code.validity"),
    codeForm(ctx),
    tx(ctx, "p", { class: "hint" }, "code.noMail"),
    newRequestButton(ctx, "code.startOver"));
  show(ctx, "code", parts, focus);
}

function codeForm(ctx) {
  const error = el("p", { id: "code-error", class: "field-error" });
  const input = el("input", { type: "text", id: "code", name: "code", inputmode: "numeric", pattern: "[0-9]{6}",
    autocomplete: "one-time-code", required: true, spellcheck: "false", "aria-describedby": "code-hint code-error" });
  ctx.fields.code = { inputs: [input], focus: input, error };
  const verify = tx(ctx, "button", { type: "submit", id: "verify" }, "code.verify");
  return el("form", { id: "code-form", novalidate: true, on: { submit: (e) => onVerify(ctx, e, input, verify) } },
    el("div", { class: "field" }, tx(ctx, "label", { for: "code" }, "code.label"),
      tx(ctx, "p", { id: "code-hint", class: "hint" }, "code.hint"), input, error),
    el("div", { class: "actions" }, verify));
}

/** The code as it is sent: digits only, white space removed; null unless exactly six digits. */
export function cleanCode(value) {
  const code = String(value ?? "").replace(/\s+/g, "");
  return /^[0-9]{6}$/.test(code) ? code : null;
}

async function onVerify(ctx, e, input, button) {
  e.preventDefault();
  if (ctx.state.busy) return;
  input.value = input.value.replace(/\s+/g, "");
  const code = cleanCode(input.value);
  if (!code) return showLocalErrors(ctx, [{ field: "code", key: input.value ? "error.codeFormat" : "error.codeMissing" }]);
  const req = ctx.state.req;
  const res = await busy(ctx, button, "code.verifying",
    () => ctx.api.post(`/v1/requests/${encodeURIComponent(req.id)}/verify`, { code }, { token: req.token }));
  if (ctx.dead || ctx.state.req !== req) return;
  afterVerify(ctx, res, input);
}

function afterVerify(ctx, res, input) {
  if (res.ok || res.status === 409) {
    ctx.state.view = res.ok && isView(res.body) ? res.body : null;
    return renderStatus(ctx, { focus: true });
  }
  if (res.status === 410) {
    renderStatus(ctx, { focus: true }); // shows "expired"
    return setErrors(ctx, (t) => problemMessages(res, t), { focus: false });
  }
  if (res.status === 404) return requestGone(ctx, res);
  showProblem(ctx, res);
  if (res.status === 400) input.select();
}

// ---------------------------------------------------------------- step 3: the status

function renderStatus(ctx, { focus }) {
  ctx.fields = {};
  const parts = stepSection(ctx, "status");
  const s = statusElements(ctx);
  parts.section.append(s.live, s.explain, s.facts, s.downloads, s.pollNote, newRequestButton(ctx, "status.newRequest"));
  show(ctx, "status", parts, focus);
  ctx.el.status = s;
  updateStatus(ctx);
  if (!isFinal(ctx.state.view)) startPolling(ctx);
}

function statusElements(ctx) {
  const view = () => ctx.state.view;
  const statusText = text(ctx, el("span", { id: "status" }), () => (view() ? ctx.t(`status.${view().status}`) : ctx.t("status.loading")));
  const value = el("strong", { id: "status-value", "data-status": "" }, statusText);
  const live = el("p", { id: "status-live", class: "status-live", "aria-live": "polite", "aria-atomic": "true" },
    tx(ctx, "span", { class: "status-label" }, "status.label"), " ", value);
  const explain = text(ctx, el("p", { id: "status-explain" }), () => statusExplanation(ctx));
  const facts = el("dl", { class: "facts" },
    fact(ctx, "status.type", el("dd"), () => (view() ? ctx.t(`request.${view().type}`) : "…")),
    fact(ctx, "status.received", el("dd"), () => (view() ? ctx.i18n.formatDate(view().receivedAt, { withTime: true }) : "…")),
    fact(ctx, "status.due", el("dd", { id: "due" }), () => dueText(ctx)));
  const downloads = el("div", { id: "downloads", class: "downloads", hidden: true });
  const pollNote = tx(ctx, "p", { class: "hint poll-note" }, "status.polling");
  return { statusText, value, live, explain, facts, downloads, pollNote };
}

function fact(ctx, key, dd, fn) {
  return [tx(ctx, "dt", {}, key), text(ctx, dd, fn)];
}

function dueText(ctx) {
  const v = ctx.state.view;
  if (!v) return "…";
  return v.dueAt ? ctx.i18n.formatDate(v.dueAt, { withTime: true }) : ctx.t("status.dueNotSet");
}

function statusExplanation(ctx) {
  const v = ctx.state.view;
  if (!v) return "";
  if (v.status === "completed") {
    const type = ["access", "erasure", "objection", ...RIGHT_TYPES].includes(v.type) ? v.type : "erasure";
    return ctx.t(`status.explain.completed.${type}`);
  }
  return ctx.t(`status.explain.${v.status}`);
}

function isView(b) {
  return b && typeof b.id === "string" && STATUSES.includes(b.status) && typeof b.type === "string";
}

function isFinal(view) {
  return !!view && FINAL_STATUSES.includes(view.status);
}

function updateStatus(ctx) {
  const s = ctx.el.status;
  const view = ctx.state.view;
  s.value.setAttribute("data-status", view ? view.status : "");
  applyBindings(ctx);
  s.pollNote.hidden = isFinal(view);
  if (view?.status === "completed") renderDownloads(ctx);
}

function startPolling(ctx) {
  stopPolling(ctx);
  ctx.poll.since = Date.now();
  poll(ctx);
}

function stopPolling(ctx) {
  clearTimeout(ctx.poll.timer);
  ctx.poll.timer = null;
}

function schedulePoll(ctx, retryAfter) {
  const fast = Date.now() - ctx.poll.since < FAST_PHASE_MS;
  const wait = Math.max(fast ? FAST_POLL_MS : SLOW_POLL_MS, (Number(retryAfter) || 0) * 1000);
  ctx.poll.timer = setTimeout(() => poll(ctx), wait);
}

async function poll(ctx) {
  const req = ctx.state.req;
  if (!req || ctx.state.step !== "status") return;
  const res = await ctx.api.get(`/v1/requests/${encodeURIComponent(req.id)}`, { token: req.token });
  if (ctx.dead || ctx.state.req !== req || ctx.state.step !== "status") return;
  onPoll(ctx, res);
}

function onPoll(ctx, res) {
  if (res.ok && isView(res.body)) return applyView(ctx, res.body);
  if (res.status === 404) return requestGone(ctx, res);
  ctx.pollFailed = true;
  setErrors(ctx, (t) => problemMessages(res, t), { focus: false });
  schedulePoll(ctx, res.retryAfter);
}

function applyView(ctx, view) {
  if (view.status === "awaiting_verification") return renderCode(ctx, { focus: false });
  if (ctx.pollFailed) {
    ctx.pollFailed = false;
    clearErrors(ctx);
  }
  ctx.state.view = view;
  updateStatus(ctx);
  if (!isFinal(view)) schedulePoll(ctx);
}

function requestGone(ctx, res) {
  forgetRequest(ctx);
  renderForm(ctx, { focus: false });
  setErrors(ctx, (t) => problemMessages(res, t), { focus: true });
}

// ---------------------------------------------------------------- downloads

function renderDownloads(ctx) {
  const box = ctx.el.status.downloads;
  if (box.dataset.ready) return;
  box.dataset.ready = "true";
  const view = ctx.state.view;
  const id = encodeURIComponent(view.id);
  const safe = view.id.replace(/[^A-Za-z0-9]/g, "");
  box.append(tx(ctx, ctx.hSub, {}, "downloads.heading"), ...downloadsFor(ctx, view).filter(Boolean));
  box.append(tx(ctx, "p", { class: "hint" }, "downloads.linkNote"));
  const recipients = recipientsBlock(ctx, view);
  if (recipients) box.append(recipients);
  box.hidden = false;
}

// The result names the document: an access request (or a portability request) answered by the
// statement of an erasure that superseded it has a certificate.
function downloadsFor(ctx, view) {
  const id = encodeURIComponent(view.id);
  const safe = view.id.replace(/[^A-Za-z0-9]/g, "");
  const report = view.result ? "report" in view.result : view.type === "access";
  const button = (name, key, path, file) => downloadButton(ctx, `download-${name}`, key, `/v1/requests/${id}/${path}`, file);
  if (report && view.type === "portability") {
    return [tx(ctx, "p", {}, "downloads.exportNote"), transmissionNote(ctx, view.result?.transmission),
      el("div", { class: "row" },
        button("export-json", "downloads.exportJson", "report?format=json", `dsr-export-${safe}.json`),
        button("export-csv", "downloads.exportCsv", "report?format=csv", `dsr-export-${safe}.zip`))];
  }
  if (report) {
    return [tx(ctx, "p", {}, "downloads.accessNote"),
      el("div", { class: "row" },
        button("html", "downloads.html", "report?format=html", `dsr-report-${safe}.html`),
        button("json", "downloads.json", "report?format=json", `dsr-report-${safe}.json`))];
  }
  const superseded = view.type === "access" || view.type === "portability";
  return [tx(ctx, "p", {}, superseded ? "downloads.supersededNote" : "downloads.certificateNote"),
    el("div", { class: "row" }, button("certificate", "downloads.certificate", "certificate", `dsr-certificate-${safe}.json`))];
}

// What became of sending the export to the receiving controller (Art. 20(2)), if it was asked for.
function transmissionNote(ctx, t) {
  if (!t || (t.status !== "delivered" && t.status !== "failed")) return null;
  return tx(ctx, "p", { id: "transmission", "data-status": t.status }, `downloads.transmission.${t.status}`);
}

function downloadButton(ctx, id, key, path, filename) {
  const button = tx(ctx, "button", { type: "button", id, class: "secondary" }, key);
  button.addEventListener("click", () => onDownload(ctx, button, path, filename));
  return button;
}

async function onDownload(ctx, button, path, filename) {
  if (ctx.state.busy || !ctx.state.req) return;
  const token = ctx.state.req.token;
  const res = await busy(ctx, button, "downloads.preparing", () => downloadFromLink(ctx.api, path, token, filename));
  if (ctx.dead) return;
  if (!res.ok) return setErrors(ctx, (t) => problemMessages(res, t), { focus: false });
  clearErrors(ctx);
  announce(ctx.el.announcer, ctx.t("downloads.started", { file: filename }));
}

function recipientsBlock(ctx, view) {
  const list = Array.isArray(view.result?.recipients) ? view.result.recipients.filter((r) => r && typeof r.recipient === "string") : [];
  if (view.type === "access" || !list.length) return null;
  return el("div", { class: "recipients" },
    tx(ctx, "p", {}, "downloads.recipients"),
    el("ul", {}, list.map((r) => text(ctx, el("li"), () => recipientText(ctx, r)))));
}

function recipientText(ctx, r) {
  const country = typeof r.country === "string" && /^[A-Z]{2}$/.test(r.country) ? regionName(ctx, r.country) : "";
  return country ? ctx.t("downloads.recipient", { name: r.recipient, country }) : r.recipient;
}

function regionName(ctx, code) {
  try {
    return new Intl.DisplayNames([ctx.i18n.lang], { type: "region" }).of(code) ?? code;
  } catch {
    return code;
  }
}

// ---------------------------------------------------------------- errors

function showLocalErrors(ctx, list) {
  setErrors(ctx, (t) => ({ summary: t("error.checkEntries"), fields: list.map((f) => ({ field: f.field, message: t(f.key) })) }));
}

function showProblem(ctx, res) {
  const labels = Object.fromEntries(ctx.state.sentPurposes.map((p, i) => [`purposes[${i}]`, purposeLabel(ctx, p)]));
  setErrors(ctx, (t) => problemMessages(res, t, { labels }));
}

function setErrors(ctx, producer, { focus = true } = {}) {
  ctx.errorProducer = producer;
  renderErrors(ctx, focus);
}

function clearErrors(ctx) {
  ctx.errorProducer = null;
  renderErrors(ctx, false);
}

function renderErrors(ctx, focus) {
  const box = ctx.el.errors;
  clear(box);
  resetFieldErrors(ctx);
  if (!ctx.errorProducer) return;
  const { summary, fields } = ctx.errorProducer(ctx.t);
  const panel = el("div", { class: "error-summary", tabindex: "-1" }, el("p", {}, summary),
    fields.length ? el("ul", {}, fields.map((f) => el("li", { "data-field": f.field }, f.message))) : null);
  box.append(panel);
  const first = markFields(ctx, fields);
  if (focus) (first ?? panel).focus();
}

// The form field a problem's field belongs to: "purposes[1]" to the purposes, "changes[0].channel"
// to the changes; a restriction's purposes are its own list.
function groupOf(ctx, field) {
  const name = field.split(/[[.]/)[0];
  if (name === "purposes" && ctx.state.choice === "restriction") return "restrict";
  return name === "scope" ? "type" : name;
}

function markFields(ctx, fields) {
  const marked = new Set();
  for (const { field, message } of fields) {
    const g = ctx.fields[groupOf(ctx, field)];
    if (!g || !g.error.isConnected) continue;
    g.error.append(el("span", {}, message), " ");
    for (const input of g.inputs) input.setAttribute("aria-invalid", "true");
    marked.add(groupOf(ctx, field));
  }
  const first = FIELD_ORDER.find((name) => marked.has(name) && ctx.fields[name].focus);
  return first ? ctx.fields[first].focus : null;
}

function resetFieldErrors(ctx) {
  for (const g of Object.values(ctx.fields)) {
    clear(g.error);
    for (const input of g.inputs) input.removeAttribute("aria-invalid");
  }
}

async function busy(ctx, button, key, fn) {
  ctx.state.busy = true;
  button.setAttribute("aria-disabled", "true");
  announce(ctx.el.announcer, ctx.t(key));
  try {
    return await fn();
  } finally {
    ctx.state.busy = false;
    button.removeAttribute("aria-disabled");
  }
}

// ---------------------------------------------------------------- the stored request

function loadRequest(ctx) {
  try {
    const v = JSON.parse(ctx.storage?.getItem(STORAGE_KEY) ?? "null");
    const valid = v && typeof v.id === "string" && typeof v.token === "string" && v.id && v.token;
    return valid && (v.api ?? "") === ctx.apiBase ? { id: v.id, token: v.token, type: String(v.type ?? ""), api: ctx.apiBase } : null;
  } catch {
    return null;
  }
}

function saveRequest(ctx, { id, token, type }) {
  ctx.state.req = { id, token, type, api: ctx.apiBase };
  ctx.state.view = null;
  try {
    ctx.storage?.setItem(STORAGE_KEY, JSON.stringify(ctx.state.req));
  } catch {
    // kept in memory: this tab still follows the request
  }
}

function forgetRequest(ctx) {
  stopPolling(ctx);
  ctx.state.req = null;
  ctx.state.view = null;
  ctx.state.sentPurposes = [];
  try {
    ctx.storage?.removeItem(STORAGE_KEY);
  } catch {
    // nothing stored
  }
}
