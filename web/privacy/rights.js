// The request types besides access, erasure and objection: rectification (Art. 16), restriction
// (Art. 18), portability (Art. 20) and preferences (consent per channel). Each has a section of
// the request form, shown while it is chosen, its checks before sending (validateRights) and its
// fields of the body (rightsBody). The choices come from GET /v1/purposes: the attributes a
// purpose lets be corrected, its channels and frequencies, whether it is portable.

import { el, clear } from "../shared/dom.js";
import { text, tx } from "./bind.js";

export const RIGHT_TYPES = Object.freeze(["rectification", "restriction", "portability", "preferences"]);
export const RESTRICTION_GROUNDS = Object.freeze(["accuracy_contested", "unlawful", "no_longer_needed", "objection_pending"]);
export const EXPORT_FORMATS = Object.freeze(["json", "csv"]);
export const MAX_TEXT = 2000;
export const MAX_CORRECTED = 500;

/** The empty state of the sections, kept across language changes and re-renders. */
export function rightsState() {
  return { attribute: "", corrected: "", evidence: "", ground: "", restricted: new Set(), reason: "",
    format: "json", transmitTo: "", withdrawn: new Set(), frequencies: {} };
}

/** The sections of the form, one per type, each hidden unless its type is chosen. */
export function rightsSections(ctx) {
  ctx.el.rights = {
    rectification: rectificationSection(ctx),
    restriction: restrictionSection(ctx),
    portability: portabilitySection(ctx),
    preferences: preferencesSection(ctx),
  };
  showRights(ctx, ctx.state.choice);
  return Object.values(ctx.el.rights);
}

/** Shows the section of choice (if it has one) and hides the others. */
export function showRights(ctx, choice) {
  for (const [type, section] of Object.entries(ctx.el.rights ?? {})) section.hidden = type !== choice;
}

/** Fills the choices that come from the registry, once GET /v1/purposes has answered. */
export function renderRightsChoices(ctx) {
  if (!ctx.el.rights) return;
  renderAttributes(ctx);
  renderChecklist(ctx, ctx.el.restrictList, "restricted", ctx.state.purposes ?? [], "restrict");
  renderPreferences(ctx);
}

function section(ctx, type, ...children) {
  return el("div", { id: `${type}-section`, class: "right-section" }, tx(ctx, "p", { class: "hint" }, `${type}.intro`), ...children);
}

function field(ctx, name, input, { hint = true } = {}) {
  const error = el("p", { id: `${name}-error`, class: "field-error" });
  input.setAttribute("aria-describedby", hint ? `${name}-hint ${name}-error` : `${name}-error`);
  ctx.fields[name] = { inputs: [input], focus: input, error };
  return el("div", { class: "field" }, tx(ctx, "label", { for: name }, `${name}.label`),
    hint ? tx(ctx, "p", { id: `${name}-hint`, class: "hint" }, `${name}.hint`) : null, input, error);
}

function group(ctx, name, ...children) {
  const error = el("p", { id: `${name}-error`, class: "field-error" });
  const fs = el("fieldset", { id: `${name}-group`, "aria-describedby": `${name}-hint ${name}-error` },
    tx(ctx, "legend", {}, `${name}.legend`), tx(ctx, "p", { id: `${name}-hint`, class: "hint" }, `${name}.hint`), ...children, error);
  ctx.fields[name] = { inputs: [], focus: null, error };
  return fs;
}

function keep(ctx, key) {
  return { input: (e) => { ctx.state.rights[key] = e.target.value; } };
}

function textArea(ctx, id, key, max = MAX_TEXT) {
  return el("textarea", { id, name: id, maxlength: String(max), rows: "4", value: ctx.state.rights[key], on: keep(ctx, key) });
}

// ---------------------------------------------------------------- rectification (Art. 16)

function rectificationSection(ctx) {
  ctx.el.attribute = el("select", { id: "attribute", name: "attribute", on: { change: (e) => { ctx.state.rights.attribute = e.target.value; } } });
  const corrected = el("input", { type: "text", id: "corrected", name: "corrected", maxlength: String(MAX_CORRECTED),
    autocomplete: "off", value: ctx.state.rights.corrected, on: keep(ctx, "corrected") });
  const s = section(ctx, "rectification", field(ctx, "attribute", ctx.el.attribute), field(ctx, "corrected", corrected),
    field(ctx, "evidence", textArea(ctx, "evidence", "evidence")));
  renderAttributes(ctx);
  return s;
}

/** The attributes some purpose lets be corrected, once each, with the first label given. */
export function rectifiableAttributes(purposes) {
  const out = new Map();
  for (const p of purposes ?? []) {
    for (const a of Array.isArray(p.rectifiable) ? p.rectifiable : []) {
      if (a && typeof a.attribute === "string" && !out.has(a.attribute)) out.set(a.attribute, typeof a.label === "string" ? a.label : a.attribute);
    }
  }
  return [...out].map(([attribute, label]) => ({ attribute, label }));
}

function renderAttributes(ctx) {
  const select = ctx.el.attribute;
  if (!select) return;
  clear(select).append(tx(ctx, "option", { value: "" }, ctx.state.purposes ? "attribute.choose" : "purposes.loading"));
  for (const a of rectifiableAttributes(ctx.state.purposes)) {
    select.append(el("option", { value: a.attribute, selected: a.attribute === ctx.state.rights.attribute }, a.label));
  }
}

// ---------------------------------------------------------------- restriction (Art. 18)

function restrictionSection(ctx) {
  const grounds = group(ctx, "ground");
  const choices = RESTRICTION_GROUNDS.map((g) => radio(ctx, "ground", g, `ground.${g}`, `ground.${g}.about`));
  grounds.insertBefore(el("div", { class: "choices" }, choices.map((c) => c.row)), grounds.lastChild);
  ctx.fields.ground.inputs = choices.map((c) => c.input);
  ctx.fields.ground.focus = choices[0].input;
  ctx.el.restrictList = el("div", { class: "purpose-list" });
  const purposes = group(ctx, "restrict", ctx.el.restrictList);
  const s = section(ctx, "restriction", grounds, purposes, field(ctx, "reason", textArea(ctx, "reason", "reason")));
  renderChecklist(ctx, ctx.el.restrictList, "restricted", ctx.state.purposes ?? [], "restrict");
  return s;
}

function radio(ctx, name, value, labelKey, aboutKey) {
  const id = `${name}-${value}`;
  const input = el("input", { type: "radio", name, id, value, checked: ctx.state.rights[name] === value,
    "aria-describedby": aboutKey ? `${id}-about` : null, on: { change: () => { ctx.state.rights[name] = value; } } });
  const body = el("div", { class: "choice-body" }, tx(ctx, "label", { for: id }, labelKey),
    aboutKey ? tx(ctx, "p", { id: `${id}-about`, class: "hint" }, aboutKey) : null);
  return { input, row: el("div", { class: "choice" }, input, body) };
}

function renderChecklist(ctx, list, key, purposes, prefix) {
  if (!list) return;
  clear(list);
  const rows = purposes.map((p) => {
    const id = `${prefix}-${p.purpose}`;
    const input = el("input", { type: "checkbox", id, value: p.purpose, checked: ctx.state.rights[key].has(p.purpose),
      on: { change: (e) => toggle(ctx.state.rights[key], p.purpose, e.target.checked) } });
    return { input, row: el("div", { class: "choice" }, input, el("div", { class: "choice-body" }, text(ctx, el("label", { for: id }), () => ctx.purposeLabel(p.purpose)))) };
  });
  list.append(...(ctx.state.purposes ? rows.map((r) => r.row) : [tx(ctx, "p", { class: "hint" }, "purposes.loading")]));
  ctx.fields[prefix].inputs = rows.map((r) => r.input);
  ctx.fields[prefix].focus = rows[0]?.input ?? null;
}

function toggle(set, value, on) {
  if (on) set.add(value);
  else set.delete(value);
}

// ---------------------------------------------------------------- portability (Art. 20)

function portabilitySection(ctx) {
  const formats = group(ctx, "format");
  const choices = EXPORT_FORMATS.map((f) => radio(ctx, "format", f, `format.${f}`));
  formats.insertBefore(el("div", { class: "choices" }, choices.map((c) => c.row)), formats.lastChild);
  ctx.fields.format.inputs = choices.map((c) => c.input);
  ctx.fields.format.focus = choices[0].input;
  const url = el("input", { type: "url", id: "transmitTo", name: "transmitTo", inputmode: "url", spellcheck: "false",
    autocapitalize: "none", autocomplete: "off", value: ctx.state.rights.transmitTo, on: keep(ctx, "transmitTo") });
  return section(ctx, "portability", formats, field(ctx, "transmitTo", url));
}

// ---------------------------------------------------------------- preferences (consent per channel)

function preferencesSection(ctx) {
  ctx.el.preferenceList = el("div", { class: "preference-list" });
  const s = section(ctx, "preferences", group(ctx, "changes", ctx.el.preferenceList));
  renderPreferences(ctx);
  return s;
}

/** The purposes a person can set preferences for: those with channels or a frequency. */
export function preferencePurposes(purposes) {
  return (purposes ?? []).filter((p) => (Array.isArray(p.channels) && p.channels.length) || (Array.isArray(p.frequencies) && p.frequencies.length));
}

function renderPreferences(ctx) {
  const list = ctx.el.preferenceList;
  if (!list) return;
  clear(list);
  if (!ctx.state.purposes) return list.append(tx(ctx, "p", { class: "hint" }, "purposes.loading"));
  const inputs = [];
  for (const p of preferencePurposes(ctx.state.purposes)) {
    const box = el("fieldset", { class: "preference" }, text(ctx, el("legend"), () => ctx.purposeLabel(p.purpose)));
    for (const c of Array.isArray(p.channels) ? p.channels : []) {
      const { row, input } = channelChoice(ctx, p.purpose, c);
      box.append(row);
      inputs.push(input);
    }
    if (Array.isArray(p.frequencies) && p.frequencies.length) box.append(frequencyChoice(ctx, p));
    list.append(box);
  }
  ctx.fields.changes.inputs = inputs;
  ctx.fields.changes.focus = inputs[0] ?? null;
}

function channelChoice(ctx, purpose, channel) {
  const id = `withdraw-${purpose}-${channel}`;
  const key = `${purpose}/${channel}`;
  const input = el("input", { type: "checkbox", id, checked: ctx.state.rights.withdrawn.has(key),
    on: { change: (e) => toggle(ctx.state.rights.withdrawn, key, e.target.checked) } });
  const label = text(ctx, el("label", { for: id }), () => ctx.t("changes.withdraw", { channel: channelName(ctx, channel) }));
  return { input, row: el("div", { class: "choice" }, input, el("div", { class: "choice-body" }, label)) };
}

function channelName(ctx, channel) {
  const key = `channel.${channel}`;
  return ctx.i18n.has(key) ? ctx.t(key) : channel;
}

function frequencyChoice(ctx, p) {
  const id = `frequency-${p.purpose}`;
  const select = el("select", { id, on: { change: (e) => { ctx.state.rights.frequencies[p.purpose] = e.target.value; } } },
    tx(ctx, "option", { value: "" }, "changes.frequencyKeep"),
    p.frequencies.filter((f) => typeof f === "string").map((f) => text(ctx, el("option", { value: f, selected: ctx.state.rights.frequencies[p.purpose] === f }),
      () => (ctx.i18n.has(`frequency.${f}`) ? ctx.t(`frequency.${f}`) : f))));
  return el("div", { class: "field" }, tx(ctx, "label", { for: id }, "changes.frequency"), select);
}

// ---------------------------------------------------------------- checks and bodies

/** What the sections hold, as sent: text trimmed, sets as sorted lists. */
export function readRights(state) {
  const r = state.rights;
  const changes = [...r.withdrawn].sort().map((key) => {
    const [purpose, channel] = key.split("/");
    return { purpose, channel, consent: "withdrawn" };
  });
  for (const [purpose, frequency] of Object.entries(r.frequencies)) if (frequency) changes.push({ purpose, frequency });
  return { attribute: r.attribute, corrected: r.corrected.trim(), evidence: r.evidence.trim(), ground: r.ground,
    restricted: [...r.restricted], reason: r.reason.trim(), format: r.format, transmitTo: r.transmitTo.trim(), changes };
}

/** The problems of a chosen section before it is sent: [{field, key}] (keys of strings.js). */
export function validateRights(choice, r) {
  const out = [];
  const add = (ok, field, key) => { if (!ok) out.push({ field, key }); };
  if (choice === "rectification") {
    add(r.attribute, "attribute", "error.attributeMissing");
    add(r.corrected, "corrected", "error.correctedMissing");
    add([...r.corrected].length <= MAX_CORRECTED, "corrected", "error.correctedTooLong");
    add([...r.evidence].length <= MAX_TEXT, "evidence", "error.textTooLong");
  } else if (choice === "restriction") {
    add(RESTRICTION_GROUNDS.includes(r.ground), "ground", "error.groundMissing");
    add([...r.reason].length <= MAX_TEXT, "reason", "error.textTooLong");
  } else if (choice === "portability") {
    add(!r.transmitTo || /^https:\/\/[^\s/?#@]+(\/[^\s#]*)?$/i.test(r.transmitTo), "transmitTo", "error.transmitToFormat");
  } else if (choice === "preferences") {
    add(r.changes.length > 0, "changes", "error.changesMissing");
  }
  return out;
}

/** The fields of the body of POST /v1/requests that a chosen section adds. */
export function rightsBody(choice, r) {
  switch (choice) {
    case "rectification":
      return { attribute: r.attribute, corrected: r.corrected, ...(r.evidence ? { evidence: r.evidence } : {}) };
    case "restriction":
      return { ground: r.ground, ...(r.restricted.length ? { purposes: r.restricted } : {}), ...(r.reason ? { reason: r.reason } : {}) };
    case "portability":
      return { format: r.format, ...(r.transmitTo ? { transmitTo: r.transmitTo } : {}) };
    case "preferences":
      return { changes: r.changes };
    default:
      return {};
  }
}
