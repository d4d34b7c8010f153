import { test } from "node:test";
import assert from "node:assert/strict";
import { problemMessages } from "./api.js";
import { createI18n } from "./i18n.js";

const storage = () => ({ getItem: () => null, setItem() {} });
const i18n = (lang) => createI18n({}, { lang, storage: storage(), langTarget: null });
const de = i18n("de").t;
const en = i18n("en").t;

const bad = (errors, detail = "the request body is invalid") => ({
  ok: false, status: 400, retryAfter: null,
  body: { type: "https://privacyops.example/problems/bad-request", title: "Bad Request", status: 400, detail, errors },
});

test("fields get translated labels and reasons", () => {
  const res = bad([
    { field: "email", reason: "is not a valid e-mail address: it has no \"@\"" },
    { field: "purposes[1]", reason: "is not a purpose of the registry: marketing, newsletter" },
    { field: "type", reason: "is required" },
  ]);
  const m = problemMessages(res, de);
  assert.equal(m.summary, "Bitte prüfen Sie Ihre Angaben.");
  assert.deepEqual(m.fields, [
    { field: "email", message: "E-Mail-Adresse: ist keine gültige E-Mail-Adresse: Es fehlt das „@“" },
    { field: "purposes[1]", message: "Zweck 2: ist kein Zweck aus unserem Verzeichnis" },
    { field: "type", message: "Art der Anfrage: fehlt" },
  ]);
  const e = problemMessages(res, en);
  assert.equal(e.fields[0].message, "E-mail address: is not a valid e-mail address: it has no \"@\"");
  assert.equal(e.fields[1].message, "Purpose 2: is not a purpose of the registry: marketing, newsletter");
});

test("labels can name a field", () => {
  const res = bad([{ field: "purposes[0]", reason: "cannot be objected to: it rests on legal obligation (Art. 6(1)(c)) - commercial and tax law (Art. 21 covers processing for legitimate interests or a public task, and direct marketing)" }]);
  const m = problemMessages(res, de, { labels: { "purposes[0]": "Rechnungen" } });
  assert.match(m.fields[0].message, /^Rechnungen: Widerspruch nicht möglich: Diese Verarbeitung beruht auf „legal obligation \(Art\. 6\(1\)\(c\)\) - commercial and tax law“/);
});

test("every field of the contract has a label in both languages", () => {
  for (const field of ["email", "type", "code", "purposes", "purposes[0]", "grounds", "scope", "months", "reason", "detail", "outcome", "purpose", "format"]) {
    for (const t of [de, en]) {
      const [f] = problemMessages(bad([{ field, reason: "is required" }]), t).fields;
      assert.doesNotMatch(f.message, /^(field\.|Feld|Field)/, `${field}: ${f.message}`);
    }
  }
  const [other] = problemMessages(bad([{ field: "Type", reason: "is not a known field (names are case-sensitive)" }]), de).fields;
  assert.equal(other.message, "Feld „Type“: ist kein bekanntes Feld (Groß- und Kleinschreibung zählt)");
});

test("unknown reasons are shown as the API gives them", () => {
  const [f] = problemMessages(bad([{ field: "email", reason: "is something new" }]), de).fields;
  assert.equal(f.message, "E-Mail-Adresse: is something new");
});

test("a wrong code says how many attempts are left, at the field", () => {
  const res = bad([{ field: "code", reason: "does not match the code we sent" }], "the code is wrong; 2 attempt(s) left");
  const m = problemMessages(res, de);
  assert.equal(m.fields[0].message, "Der Code ist falsch. Sie haben noch 2 Versuche.");
  assert.match(m.summary, /Sie haben noch 2 Versuche\./);
  const one = problemMessages(bad([{ field: "code", reason: "does not match the code we sent" }], "the code is wrong; 1 attempt(s) left"), en);
  assert.equal(one.fields[0].message, "The code is wrong. You have 1 attempt left.");
  const none = problemMessages(bad([{ field: "code", reason: "does not match the code we sent" }], "the code is wrong; no attempt is left today: please try again tomorrow (UTC)"), de);
  assert.match(none.fields[0].message, /kein weiterer Versuch/);
  const format = problemMessages(bad([{ field: "code", reason: "must be 6 digits" }]), de);
  assert.equal(format.fields[0].message, "Code: muss aus 6 Ziffern bestehen");
});

test("429 says the wait in minutes from Retry-After", () => {
  const res = (retryAfter, detail) => ({ ok: false, status: 429, retryAfter, body: { status: 429, title: "Too Many Requests", detail } });
  assert.equal(problemMessages(res(120), en).summary, "Too many attempts — please try again in 2 minutes.");
  assert.equal(problemMessages(res(61), de).summary, "Zu viele Versuche – bitte versuchen Sie es in 2 Minuten erneut.");
  assert.equal(problemMessages(res(1), en).summary, "Too many attempts — please try again in 1 minute.");
  assert.equal(problemMessages(res(null), en).summary, "Too many attempts — please try again later.");
  const tomorrow = problemMessages(res(36000, "too many wrong codes were entered for this address today; please try again tomorrow (UTC)"), de).summary;
  assert.match(tomorrow, /in 600 Minuten \(etwa 10 Stunden\)/);
  assert.match(tomorrow, /zu viele falsche Codes/);
});

test("status summaries", () => {
  const s = (status, t = en) => problemMessages({ ok: false, status, body: null, retryAfter: null }, t).summary;
  assert.match(s(404), /not found, or the link is no longer valid/);
  assert.match(s(404, de), /nicht gefunden/);
  assert.match(s(410), /expired|deleted/);
  assert.match(s(409), /current state/);
  assert.match(s(413), /too long/);
  assert.match(s(415), /format/);
  assert.match(s(500), /temporarily unavailable/);
  assert.match(s(503, de), /vorübergehend nicht erreichbar/);
  assert.match(s(0), /No connection/);
  assert.match(s(0, de), /Keine Verbindung/);
  assert.match(s(418), /Something went wrong/);
});

test("never the raw body", () => {
  const secret = "ada@example.com";
  const res = {
    ok: false, status: 400, retryAfter: null,
    body: { type: "https://privacyops.example/problems/bad-request", title: "Bad Request <script>", status: 400,
      detail: `internal: dynamodb.ConditionalCheckFailedException for ${secret}`, stack: "goroutine 1 [running]",
      errors: [{ field: "email", reason: "is required" }, { field: 7, reason: secret }, null, "junk"] },
  };
  for (const t of [de, en]) {
    const m = problemMessages(res, t);
    const all = [m.summary, ...m.fields.map((f) => f.field + " " + f.message)].join("\n");
    for (const leak of [secret, "dynamodb", "goroutine", "<script>", "problems/", "Bad Request", "{", "internal"]) {
      assert.equal(all.includes(leak), false, `${leak} leaked: ${all}`);
    }
    assert.equal(m.fields.length, 1);
  }
  const gateway = problemMessages({ ok: false, status: 429, retryAfter: null, body: { message: "Too Many Requests" } }, en);
  assert.equal(gateway.summary, "Too many attempts — please try again later.");
  assert.deepEqual(problemMessages({ ok: false, status: 500, body: "<html>stack</html>", retryAfter: null }, en).fields, []);
});

test("a stub t that knows no keys still gives words", () => {
  const t = (key) => key;
  const m = problemMessages(bad([{ field: "email", reason: "is required" }]), t);
  assert.equal(m.fields[0].message, "email: is required");
});
