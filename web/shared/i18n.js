// German and English for every page: language detection, texts with
// {placeholders}, dates and numbers in the chosen language.
// The choice is remembered in localStorage ("dsr.lang"); it is not personal data.

import { sharedStrings } from "./strings.js";

const LANGS = ["de", "en"];
const LOCALES = { de: "de-DE", en: "en-GB" };

/** The supported language a tag like "de-AT" or "en_US" stands for, or null. */
export function pickLanguage(tag) {
  const m = /^([a-z]{2})(?:[-_]|$)/i.exec(String(tag ?? "").trim());
  const l = m ? m[1].toLowerCase() : null;
  return LANGS.includes(l) ? l : null;
}

/** The language of a navigator: the first of its languages that is de* or en*, else "en". */
export function detectLanguage(nav = globalThis.navigator) {
  const list = (nav && (nav.languages?.length ? nav.languages : [nav.language])) || [];
  for (const tag of list) {
    const l = pickLanguage(tag);
    if (l) return l;
  }
  return "en";
}

function storageOf(storage) {
  if (storage !== undefined) return storage;
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null; // storage blocked (privacy settings, sandboxed frame)
  }
}

function readStored(storage, key) {
  if (!storage || !key) return null;
  try {
    return pickLanguage(storage.getItem(key));
  } catch {
    return null;
  }
}

function writeStored(storage, key, lang) {
  if (!storage || !key) return;
  try {
    storage.setItem(key, lang);
  } catch {
    // not remembered; the page still switches
  }
}

function defaultTarget() {
  return globalThis.document?.documentElement ?? null;
}

function mergeStrings(strings) {
  const out = {};
  for (const l of LANGS) out[l] = { ...sharedStrings[l], ...(strings?.[l] ?? {}) };
  return out;
}

function fill(text, vars) {
  if (typeof text === "function") text = text(vars ?? {});
  if (!vars) return String(text);
  return String(text).replace(/\{(\w+)\}/g, (all, name) =>
    Object.prototype.hasOwnProperty.call(vars, name) && vars[name] != null ? String(vars[name]) : all);
}

/**
 * createI18n(strings, options) → {lang, t, has, setLang, onChange, formatDate, formatNumber}
 * strings: {de: {key: text}, en: {key: text}}; a text may be a function (vars) => string (plurals).
 * options: storageKey ("dsr.lang"; null: never stored), lang (start with this language, e.g. an
 * embed's attribute), langTarget (element whose lang attribute follows; default <html>; null: none),
 * storage and navigator (for tests; default the browser's).
 */
export function createI18n(strings, { storageKey = "dsr.lang", lang, langTarget, storage, navigator } = {}) {
  const texts = mergeStrings(strings);
  const store = storageOf(storage);
  const target = langTarget === undefined ? defaultTarget() : langTarget;
  const listeners = new Set();
  let current = pickLanguage(lang) ?? readStored(store, storageKey) ?? detectLanguage(navigator ?? globalThis.navigator);
  if (target) target.setAttribute("lang", current);

  const i18n = {
    get lang() {
      return current;
    },
    t(key, vars) {
      const text = texts[current][key] ?? texts.en[key];
      return text === undefined ? String(key) : fill(text, vars);
    },
    has(key) {
      return texts[current][key] !== undefined || texts.en[key] !== undefined;
    },
    setLang(l) {
      const next = pickLanguage(l);
      if (!next) return current;
      writeStored(store, storageKey, next);
      if (target) target.setAttribute("lang", next);
      if (next !== current) {
        current = next;
        for (const fn of [...listeners]) fn(current);
      }
      return current;
    },
    onChange(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    formatDate(iso, { withTime = false, timeZone } = {}) {
      const d = new Date(iso);
      if (!iso || Number.isNaN(d.getTime())) return "";
      const opts = withTime ? { dateStyle: "long", timeStyle: "short" } : { dateStyle: "long" };
      if (timeZone) opts.timeZone = timeZone;
      return new Intl.DateTimeFormat(LOCALES[current], opts).format(d);
    },
    formatNumber(n) {
      return new Intl.NumberFormat(LOCALES[current]).format(n);
    },
  };
  i18n.t = i18n.t.bind(i18n);
  return i18n;
}

/**
 * Wires the buttons #lang-de and #lang-en under root (a document, shadow root or element):
 * a click switches the language; aria-pressed shows the current one. Returns an unbind function.
 */
export function bindLanguageButtons(i18n, root = document) {
  const buttons = LANGS.map((l) => [l, root.querySelector(`#lang-${l}`)]).filter(([, b]) => b);
  const show = () => {
    for (const [l, b] of buttons) b.setAttribute("aria-pressed", String(l === i18n.lang));
  };
  const handlers = buttons.map(([l, b]) => {
    const h = () => i18n.setLang(l);
    b.addEventListener("click", h);
    return [b, h];
  });
  show();
  const off = i18n.onChange(show);
  return () => {
    off();
    for (const [b, h] of handlers) b.removeEventListener("click", h);
  };
}

/**
 * Translates the static text of a page: every element with data-i18n="key" gets t(key) as its
 * text; data-i18n-attr="aria-label:key; title:key2" sets attributes. Again on every language change.
 */
export function translateDom(i18n, root = document) {
  const apply = () => {
    for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = i18n.t(node.dataset.i18n);
    for (const node of root.querySelectorAll("[data-i18n-attr]")) {
      for (const pair of node.dataset.i18nAttr.split(";")) {
        const [attr, key] = pair.split(":").map((s) => s.trim());
        if (attr && key) node.setAttribute(attr, i18n.t(key));
      }
    }
  };
  apply();
  return i18n.onChange(apply);
}
