import { test } from "node:test";
import assert from "node:assert/strict";
import { createApi, retryAfterOf } from "./api.js";

function response(status, body, headers = {}) {
  const h = new Map(Object.entries({ "content-type": "application/json", ...headers }).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    ok: status >= 200 && status < 300,
    status,
    headers: { get: (k) => h.get(k.toLowerCase()) ?? null },
    json: async () => (typeof body === "string" ? JSON.parse(body) : body),
  };
}

function stubFetch(answer) {
  const calls = [];
  const fetchImpl = async (url, init) => {
    calls.push({ url, init });
    return typeof answer === "function" ? answer(url, init) : answer;
  };
  return { fetchImpl, calls };
}

test("get sends the token as Bearer, no cookies, no referrer, no cache", async () => {
  const { fetchImpl, calls } = stubFetch(response(200, { id: "01J", status: "queued" }));
  const api = createApi({ base: "https://api.example.com/", fetchImpl });
  const res = await api.get("/v1/requests/01J", { token: "tok-123" });
  assert.deepEqual(res, { ok: true, status: 200, body: { id: "01J", status: "queued" }, retryAfter: null });
  const { url, init } = calls[0];
  assert.equal(url, "https://api.example.com/v1/requests/01J");
  assert.equal(init.method, "GET");
  assert.equal(init.headers.Authorization, "Bearer tok-123");
  assert.equal(init.credentials, "omit");
  assert.equal(init.referrerPolicy, "no-referrer");
  assert.equal(init.cache, "no-store");
  assert.equal(init.body, undefined);
  assert.equal(init.headers["Content-Type"], undefined);
});

test("no Authorization header without a token", async () => {
  const { fetchImpl, calls } = stubFetch(response(200, { purposes: [] }));
  const api = createApi({ fetchImpl });
  await api.get("/v1/purposes");
  await api.post("/v1/requests", { type: "access", email: "ada@example.com" });
  for (const { init } of calls) {
    assert.equal("Authorization" in init.headers, false);
    assert.equal(Object.keys(init.headers).some((k) => k.toLowerCase() === "authorization"), false);
  }
  assert.equal(calls[0].url, "/v1/purposes");
});

test("get sends the language as Accept-Language", async () => {
  const { fetchImpl, calls } = stubFetch(response(200, { purposes: [] }));
  const api = createApi({ fetchImpl });
  await api.get("/v1/purposes", { language: "de" });
  await api.get("/v1/purposes");
  assert.equal(calls[0].init.headers["Accept-Language"], "de");
  assert.equal("Accept-Language" in calls[1].init.headers, false);
});

test("post sends JSON", async () => {
  const { fetchImpl, calls } = stubFetch(response(202, { id: "01J", statusToken: "t" }));
  const api = createApi({ base: "", fetchImpl });
  const res = await api.post("/v1/requests/01J/verify", { code: "123456" }, { token: "t" });
  assert.equal(res.status, 202);
  const { init } = calls[0];
  assert.equal(init.method, "POST");
  assert.equal(init.headers["Content-Type"], "application/json");
  assert.equal(init.headers.Authorization, "Bearer t");
  assert.equal(init.body, '{"code":"123456"}');
  assert.equal(init.credentials, "omit");
});

test("query parameters are encoded; empty ones are left out", async () => {
  const { fetchImpl, calls } = stubFetch(response(200, {}));
  const api = createApi({ base: "https://api.example.com", fetchImpl });
  await api.get("/v1/dpo/requests", { query: { status: "failed", type: "", cursor: "a+b/c", limit: 5, overdue: undefined } });
  assert.equal(calls[0].url, "https://api.example.com/v1/dpo/requests?status=failed&cursor=a%2Bb%2Fc&limit=5");
  await api.get("/v1/requests/x/report?format=html", { query: { extra: "1" } });
  assert.equal(calls[1].url, "https://api.example.com/v1/requests/x/report?format=html&extra=1");
});

test("HTTP errors resolve with the problem body and Retry-After", async () => {
  const problem = { type: "https://privacyops.example/problems/too-many-requests", title: "Too Many Requests", status: 429, detail: "x" };
  const { fetchImpl } = stubFetch(response(429, problem, { "Content-Type": "application/problem+json", "Retry-After": "120" }));
  const res = await createApi({ fetchImpl }).post("/v1/requests", {});
  assert.equal(res.ok, false);
  assert.equal(res.status, 429);
  assert.deepEqual(res.body, problem);
  assert.equal(res.retryAfter, 120);
});

test("a network failure is status 0", async () => {
  const api = createApi({ fetchImpl: async () => { throw new TypeError("Failed to fetch"); } });
  assert.deepEqual(await api.get("/v1/purposes"), { ok: false, status: 0, body: null, retryAfter: null });
  assert.deepEqual(await api.post("/v1/requests", {}), { ok: false, status: 0, body: null, retryAfter: null });
});

test("a body that is not JSON is null", async () => {
  const { fetchImpl } = stubFetch(response(502, "<html>", { "content-type": "text/html" }));
  const res = await createApi({ fetchImpl }).get("/v1/purposes");
  assert.deepEqual(res, { ok: false, status: 502, body: null, retryAfter: null });
  const broken = stubFetch({ ...response(500, {}), json: async () => { throw new SyntaxError("bad"); } });
  assert.equal((await createApi({ fetchImpl: broken.fetchImpl }).get("/x")).body, null);
});

test("paths must be this API's", () => {
  const api = createApi({ fetchImpl: async () => response(200, {}) });
  assert.throws(() => api.get("//evil.example/x"), TypeError);
  assert.throws(() => api.get("https://evil.example/x"), TypeError);
  assert.throws(() => api.get("v1/purposes"), TypeError);
});

test("Retry-After as seconds or as a date", () => {
  const r = (v) => ({ headers: { get: () => v } });
  assert.equal(retryAfterOf(r("30")), 30);
  assert.equal(retryAfterOf(r(null)), null);
  assert.equal(retryAfterOf(r("soon")), null);
  const inAMinute = new Date(Date.now() + 60_000).toUTCString();
  const s = retryAfterOf(r(inAMinute));
  assert.ok(s > 50 && s <= 61, String(s));
});

test("an idempotency key goes in its header", async () => {
  let init;
  const api = createApi({ fetchImpl: async (_url, i) => { init = i; return new Response("{}", { status: 202, headers: { "content-type": "application/json" } }); } });
  await api.post("/v1/requests", {}, { idempotencyKey: "6f1c2d0e-8a5b-4c1e-9f3a-2b7d4e6a8c01" });
  assert.equal(init.headers["Idempotency-Key"], "6f1c2d0e-8a5b-4c1e-9f3a-2b7d4e6a8c01");
  await api.post("/v1/requests", {});
  assert.equal(init.headers["Idempotency-Key"], undefined);
});
