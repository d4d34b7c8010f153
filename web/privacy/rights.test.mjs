import { test } from "node:test";
import assert from "node:assert/strict";
import { rightsState, readRights, validateRights, rightsBody, rectifiableAttributes, preferencePurposes } from "./rights.js";
import { validateForm, submissionBody } from "./flow.js";
import { strings } from "./strings.js";

function state(change) {
  const rights = { ...rightsState(), ...change };
  return { rights };
}

test("the sections' state is read as sent: trimmed, with the withdrawn channels and the frequencies as changes", () => {
  const r = readRights(state({ corrected: "  Ada King ", withdrawn: new Set(["marketing/post", "marketing/email"]), frequencies: { newsletter: "monthly", marketing: "" } }));
  assert.equal(r.corrected, "Ada King");
  assert.deepEqual(r.changes, [
    { purpose: "marketing", channel: "email", consent: "withdrawn" },
    { purpose: "marketing", channel: "post", consent: "withdrawn" },
    { purpose: "newsletter", frequency: "monthly" },
  ]);
});

test("each section is checked before it is sent", () => {
  const cases = [
    ["rectification", {}, ["attribute", "corrected"]],
    ["rectification", { attribute: "name", corrected: "Ada King" }, []],
    ["rectification", { attribute: "name", corrected: "x".repeat(501) }, ["corrected"]],
    ["rectification", { attribute: "name", corrected: "A", evidence: "x".repeat(2001) }, ["evidence"]],
    ["restriction", {}, ["ground"]],
    ["restriction", { ground: "accuracy_contested" }, []],
    ["restriction", { ground: "because" }, ["ground"]],
    ["restriction", { ground: "unlawful", reason: "x".repeat(2001) }, ["reason"]],
    ["portability", {}, []],
    ["portability", { transmitTo: "https://receiver.example/inbox" }, []],
    ["portability", { transmitTo: "http://receiver.example/inbox" }, ["transmitTo"]],
    ["portability", { transmitTo: "https://user@receiver.example/" }, ["transmitTo"]],
    ["portability", { transmitTo: "receiver.example" }, ["transmitTo"]],
    ["preferences", {}, ["changes"]],
    ["preferences", { withdrawn: new Set(["marketing/email"]) }, []],
  ];
  for (const [choice, change, fields] of cases) {
    const problems = validateRights(choice, readRights(state(change)));
    assert.deepEqual(problems.map((p) => p.field), fields, `${choice} ${JSON.stringify(change)}`);
    for (const p of problems) assert.ok(strings.de[p.key] && strings.en[p.key], p.key);
  }
  const base = { email: "ada@example.com", purposes: [], grounds: "" };
  assert.deepEqual(validateForm({ ...base, choice: "restriction", rights: readRights(state({})) }).map((p) => p.field), ["ground"]);
});

test("the bodies of POST /v1/requests for the other rights", () => {
  const email = "ada@example.com";
  const body = (choice, change) => submissionBody({ choice, email, purposes: ["ignored"], grounds: "ignored", language: "en", rights: readRights(state(change)) });
  assert.deepEqual(body("rectification", { attribute: "name", corrected: "Ada King" }),
    { type: "rectification", email, attribute: "name", corrected: "Ada King", language: "en" });
  assert.deepEqual(body("rectification", { attribute: "name", corrected: "Ada King", evidence: "marriage" }),
    { type: "rectification", email, attribute: "name", corrected: "Ada King", evidence: "marriage", language: "en" });
  assert.deepEqual(body("restriction", { ground: "accuracy_contested" }), { type: "restriction", email, ground: "accuracy_contested", language: "en" });
  assert.deepEqual(body("restriction", { ground: "unlawful", restricted: new Set(["customer_care"]), reason: "why" }),
    { type: "restriction", email, ground: "unlawful", purposes: ["customer_care"], reason: "why", language: "en" });
  assert.deepEqual(body("portability", {}), { type: "portability", email, format: "json", language: "en" });
  assert.deepEqual(body("portability", { format: "csv", transmitTo: "https://receiver.example/inbox" }),
    { type: "portability", email, format: "csv", transmitTo: "https://receiver.example/inbox", language: "en" });
  assert.deepEqual(body("preferences", { withdrawn: new Set(["marketing/email"]) }),
    { type: "preferences", email, changes: [{ purpose: "marketing", channel: "email", consent: "withdrawn" }], language: "en" });
  assert.deepEqual(rightsBody("access", readRights(state({}))), {});
});

test("the registry's choices: rectifiable attributes once each, and the purposes with preferences", () => {
  const purposes = [
    { purpose: "newsletter", rectifiable: [{ attribute: "name", label: "Name" }], channels: ["email"], frequencies: ["weekly", "monthly"] },
    { purpose: "marketing", rectifiable: [{ attribute: "name", label: "Your name" }, { attribute: "street", label: "Street" }], channels: ["email", "post"] },
    { purpose: "billing", rectifiable: [], channels: [] },
    { purpose: "odd", rectifiable: [{ label: "no attribute" }, null] },
  ];
  assert.deepEqual(rectifiableAttributes(purposes), [{ attribute: "name", label: "Name" }, { attribute: "street", label: "Street" }]);
  assert.deepEqual(preferencePurposes(purposes).map((p) => p.purpose), ["newsletter", "marketing"]);
  assert.deepEqual(rectifiableAttributes(null), []);
});
