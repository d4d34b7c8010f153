import { test } from "node:test";
import assert from "node:assert/strict";
import { createI18n, detectLanguage, pickLanguage, bindLanguageButtons } from "./i18n.js";

const strings = {
  de: { hello: "Hallo {name}", only: "nur deutsch", count: (v) => (v.n === 1 ? "ein Ding" : "{n} Dinge") },
  en: { hello: "Hello {name}", english: "only English", count: (v) => (v.n === 1 ? "one thing" : "{n} things") },
};

function memoryStorage(initial = {}) {
  const data = new Map(Object.entries(initial));
  return { getItem: (k) => (data.has(k) ? data.get(k) : null), setItem: (k, v) => data.set(k, String(v)), data };
}

function fakeElement() {
  const attrs = {};
  return { attrs, setAttribute: (k, v) => { attrs[k] = v; }, getAttribute: (k) => attrs[k] ?? null };
}

const nav = (languages) => ({ languages, language: languages[0] });

test("pickLanguage reads de*/en* tags only", () => {
  assert.equal(pickLanguage("de-AT"), "de");
  assert.equal(pickLanguage("EN_us"), "en");
  assert.equal(pickLanguage("de"), "de");
  assert.equal(pickLanguage("dexx"), null);
  assert.equal(pickLanguage("fr"), null);
  assert.equal(pickLanguage(null), null);
});

test("detectLanguage: de* → de, else en", () => {
  assert.equal(detectLanguage(nav(["de-DE", "en"])), "de");
  assert.equal(detectLanguage(nav(["en-US", "de"])), "en");
  assert.equal(detectLanguage(nav(["fr-FR"])), "en");
  assert.equal(detectLanguage(nav(["fr-FR", "de-CH"])), "de");
  assert.equal(detectLanguage({ language: "de-DE" }), "de");
  assert.equal(detectLanguage(undefined), "en");
});

test("the stored choice wins over the browser", () => {
  const storage = memoryStorage({ "dsr.lang": "en" });
  const i18n = createI18n(strings, { storage, navigator: nav(["de-DE"]), langTarget: null });
  assert.equal(i18n.lang, "en");
});

test("without a stored choice, navigator.languages decides", () => {
  const i18n = createI18n(strings, { storage: memoryStorage(), navigator: nav(["de-AT", "en"]), langTarget: null });
  assert.equal(i18n.lang, "de");
  const other = createI18n(strings, { storage: memoryStorage({ "dsr.lang": "xx" }), navigator: nav(["it"]), langTarget: null });
  assert.equal(other.lang, "en");
});

test("globals are used when no storage or navigator is given", () => {
  const saved = Object.getOwnPropertyDescriptors(globalThis);
  Object.defineProperty(globalThis, "navigator", { value: nav(["de-DE"]), configurable: true, writable: true });
  Object.defineProperty(globalThis, "localStorage", { value: memoryStorage(), configurable: true, writable: true });
  try {
    const i18n = createI18n(strings, { langTarget: null });
    assert.equal(i18n.lang, "de");
    i18n.setLang("en");
    assert.equal(globalThis.localStorage.data.get("dsr.lang"), "en");
  } finally {
    for (const k of ["navigator", "localStorage"]) {
      if (saved[k]) Object.defineProperty(globalThis, k, saved[k]);
      else delete globalThis[k];
    }
  }
});

test("blocked localStorage does not break the page", () => {
  const throwing = { getItem() { throw new Error("blocked"); }, setItem() { throw new Error("blocked"); } };
  const i18n = createI18n(strings, { storage: throwing, navigator: nav(["de"]), langTarget: null });
  assert.equal(i18n.lang, "de");
  assert.equal(i18n.setLang("en"), "en");
});

test("t fills placeholders and falls back to English, then the key", () => {
  const i18n = createI18n(strings, { storage: memoryStorage(), navigator: nav(["de"]), langTarget: null });
  assert.equal(i18n.t("hello", { name: "Ada" }), "Hallo Ada");
  assert.equal(i18n.t("hello"), "Hallo {name}");
  assert.equal(i18n.t("hello", { other: 1 }), "Hallo {name}");
  assert.equal(i18n.t("english"), "only English");
  assert.equal(i18n.t("no.such.key"), "no.such.key");
  assert.equal(i18n.t("count", { n: 1 }), "ein Ding");
  assert.equal(i18n.t("count", { n: 3 }), "3 Dinge");
  assert.equal(i18n.has("english"), true);
  assert.equal(i18n.has("nope"), false);
  const { t } = i18n; // usable detached
  assert.equal(t("hello", { name: "Grace" }), "Hallo Grace");
});

test("shared problem texts are merged in", () => {
  const i18n = createI18n(strings, { storage: memoryStorage(), navigator: nav(["en"]), langTarget: null });
  assert.match(i18n.t("problem.404"), /not found/);
  i18n.setLang("de");
  assert.match(i18n.t("problem.404"), /nicht gefunden/);
});

test("setLang stores, sets <html lang> and calls the listeners", () => {
  const storage = memoryStorage();
  const target = fakeElement();
  const i18n = createI18n(strings, { storage, navigator: nav(["en"]), langTarget: target });
  assert.equal(target.attrs.lang, "en");
  const seen = [];
  const off = i18n.onChange((l) => seen.push(l));
  i18n.setLang("de");
  assert.equal(i18n.lang, "de");
  assert.equal(target.attrs.lang, "de");
  assert.equal(storage.data.get("dsr.lang"), "de");
  i18n.setLang("fr"); // ignored
  assert.equal(i18n.lang, "de");
  off();
  i18n.setLang("en");
  assert.deepEqual(seen, ["de"]);
});

test("storageKey null never stores", () => {
  const storage = memoryStorage();
  const i18n = createI18n(strings, { storageKey: null, storage, lang: "de", langTarget: null });
  assert.equal(i18n.lang, "de");
  i18n.setLang("en");
  assert.equal(storage.data.size, 0);
});

test("dates and numbers follow the language", () => {
  const i18n = createI18n(strings, { storage: memoryStorage(), navigator: nav(["de"]), langTarget: null });
  const de = i18n.formatDate("2026-02-28T12:00:00Z", { timeZone: "UTC" });
  assert.match(de, /28\. Februar 2026/);
  assert.match(i18n.formatDate("2026-02-28T12:00:00Z", { withTime: true, timeZone: "UTC" }), /12:00/);
  assert.equal(i18n.formatNumber(1234.5), "1.234,5");
  i18n.setLang("en");
  assert.match(i18n.formatDate("2026-02-28T12:00:00Z", { timeZone: "UTC" }), /28 February 2026/);
  assert.equal(i18n.formatNumber(1234.5), "1,234.5");
  assert.equal(i18n.formatDate("not a date"), "");
  assert.equal(i18n.formatDate(undefined), "");
});

test("bindLanguageButtons sets aria-pressed and switches", () => {
  const buttons = {};
  for (const l of ["de", "en"]) {
    const handlers = [];
    buttons[l] = { attrs: {}, handlers,
      setAttribute(k, v) { this.attrs[k] = v; },
      addEventListener(type, fn) { handlers.push(fn); },
      removeEventListener() {} };
  }
  const root = { querySelector: (sel) => buttons[sel.replace("#lang-", "")] ?? null };
  const i18n = createI18n(strings, { storage: memoryStorage(), navigator: nav(["en"]), langTarget: null });
  bindLanguageButtons(i18n, root);
  assert.equal(buttons.en.attrs["aria-pressed"], "true");
  assert.equal(buttons.de.attrs["aria-pressed"], "false");
  buttons.de.handlers[0]();
  assert.equal(i18n.lang, "de");
  assert.equal(buttons.de.attrs["aria-pressed"], "true");
  assert.equal(buttons.en.attrs["aria-pressed"], "false");
});
