import { test } from "node:test";
import assert from "node:assert/strict";
import { cleanEmail, cleanCode, validateForm, submissionBody, submitOnce, REQUEST_TYPES } from "./flow.js";
import { RIGHT_TYPES, RESTRICTION_GROUNDS, EXPORT_FORMATS } from "./rights.js";
import { strings } from "./strings.js";

test("the address loses white space around and inside it", () => {
  assert.equal(cleanEmail("  Ada@Example.com \n"), "Ada@Example.com");
  assert.equal(cleanEmail("ada @ example.com"), "ada@example.com");
  assert.equal(cleanEmail("ada\u00a0@example.com"), "ada@example.com");
  assert.equal(cleanEmail(undefined), "");
});

test("the code is exactly six digits", () => {
  assert.equal(cleanCode("123456"), "123456");
  assert.equal(cleanCode(" 123 456 "), "123456");
  assert.equal(cleanCode("12345"), null);
  assert.equal(cleanCode("1234567"), null);
  assert.equal(cleanCode("12a456"), null);
  assert.equal(cleanCode("１２３４５６"), null); // full-width digits are not sent
});

test("the form is checked before it is sent", () => {
  const base = { choice: "access", email: "ada@example.com", purposes: [], grounds: "" };
  assert.deepEqual(validateForm(base), []);
  assert.deepEqual(validateForm({ ...base, choice: "" }).map((e) => e.field), ["type"]);
  assert.deepEqual(validateForm({ ...base, email: "" }).map((e) => e.key), ["error.emailMissing"]);
  assert.deepEqual(validateForm({ ...base, email: "ada" }).map((e) => e.key), ["error.emailIncomplete"]);
  assert.deepEqual(validateForm({ ...base, choice: "objection-purposes" }).map((e) => e.field), ["purposes"]);
  const long = { ...base, choice: "objection-purposes", purposes: ["customer_care"], grounds: "x".repeat(2001) };
  assert.deepEqual(validateForm(long).map((e) => e.field), ["grounds"]);
  for (const e of validateForm({ choice: "", email: "", purposes: [], grounds: "" })) {
    assert.ok(strings.de[e.key] && strings.en[e.key], e.key);
  }
});

test("the bodies of POST /v1/requests", () => {
  const email = "ada@example.com";
  assert.deepEqual(submissionBody({ choice: "access", email }), { type: "access", email });
  assert.deepEqual(submissionBody({ choice: "access", email, language: "de" }), { type: "access", email, language: "de" });
  assert.deepEqual(submissionBody({ choice: "objection-marketing", email, language: "en" }),
    { type: "objection", email, scope: "direct_marketing", language: "en" });
  assert.deepEqual(submissionBody({ choice: "erasure", email, language: "fr" }), { type: "erasure", email });
  assert.deepEqual(submissionBody({ choice: "erasure", email }), { type: "erasure", email });
  assert.deepEqual(submissionBody({ choice: "objection-marketing", email, purposes: ["x"], grounds: "y" }),
    { type: "objection", email, scope: "direct_marketing" });
  assert.deepEqual(submissionBody({ choice: "objection-purposes", email, purposes: ["customer_care"], grounds: "" }),
    { type: "objection", email, purposes: ["customer_care"] });
  assert.deepEqual(submissionBody({ choice: "objection-purposes", email, purposes: ["customer_care"], grounds: "my reasons" }),
    { type: "objection", email, purposes: ["customer_care"], grounds: "my reasons" });
});

test("every text key the flow uses exists in both languages", async () => {
  const { readFile } = await import("node:fs/promises");
  const src = await readFile(new URL("./flow.js", import.meta.url), "utf8") + await readFile(new URL("./rights.js", import.meta.url), "utf8");
  const keys = new Set([...src.matchAll(/"((?:form|type|purposes|grounds|email|error|code|status|request|downloads|attribute|changes)\.[A-Za-z_.-]+)"/g)].map((m) => m[1]));
  for (const t of REQUEST_TYPES) {
    for (const part of ["label", "what", "more"]) keys.add(`type.${t}.${part}`);
  }
  for (const s of ["awaiting_verification", "queued", "in_progress", "completed", "failed", "rejected", "expired"]) {
    keys.add(`status.${s}`);
    if (s !== "completed") keys.add(`status.explain.${s}`);
  }
  for (const t of ["access", "erasure", "objection", ...RIGHT_TYPES]) {
    keys.add(`status.explain.completed.${t}`);
    keys.add(`request.${t}`);
  }
  for (const step of ["form", "code", "status"]) keys.add(`${step}.heading`);
  for (const t of RIGHT_TYPES) keys.add(`${t}.intro`);
  for (const s of ["delivered", "failed"]) keys.add(`downloads.transmission.${s}`);
  for (const f of ["attribute", "corrected", "evidence", "reason", "transmitTo"]) for (const part of ["label", "hint"]) keys.add(`${f}.${part}`);
  for (const g of ["ground", "restrict", "format", "changes"]) for (const part of ["legend", "hint"]) keys.add(`${g}.${part}`);
  for (const g of RESTRICTION_GROUNDS) keys.add(`ground.${g}`).add(`ground.${g}.about`);
  for (const f of EXPORT_FORMATS) keys.add(`format.${f}`);
  for (const c of ["email", "post", "phone", "sms"]) keys.add(`channel.${c}`);
  for (const key of keys) {
    assert.ok(key in strings.de, `de: ${key}`);
    assert.ok(key in strings.en, `en: ${key}`);
  }
});

test("a submission sends one idempotency key, and again only when no answer arrived", async () => {
  for (const [answers, calls] of [[[202], 1], [[0, 202], 2], [[504, 202], 2], [[503], 1], [[400], 1], [[0, 0], 2]]) {
    const seen = [];
    const api = {
      post: async (path, body, opts) => {
        seen.push({ path, body, key: opts.idempotencyKey });
        return { ok: answers[seen.length - 1] === 202, status: answers[seen.length - 1] };
      },
    };
    const res = await submitOnce(api, { type: "access", email: "ada@example.com" }, { pause: 0 });
    assert.equal(seen.length, calls, `answers ${answers}`);
    assert.equal(res.status, answers[calls - 1]);
    assert.ok(/^[0-9a-f-]{36}$/.test(seen[0].key), "a UUID");
    assert.ok(seen.every((s) => s.key === seen[0].key && s.path === "/v1/requests"), "the same key each time");
  }
});
