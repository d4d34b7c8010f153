// The API client every page uses, and the words for its problem answers.
// Requests never carry cookies or a referrer and are never cached. Nothing here logs.

/**
 * createApi({base, fetchImpl}) → {get(path, {token, query, language}), post(path, body, {token, idempotencyKey})}
 * language ("de" or "en") is sent as Accept-Language: the API answers texts in it.
 * Each call resolves to {ok, status, body, retryAfter}: body is the parsed JSON (or null),
 * retryAfter the seconds of Retry-After (or null). HTTP errors do not throw; a network
 * failure is {ok: false, status: 0, body: null, retryAfter: null}.
 */
export function createApi({ base = "", fetchImpl = fetch } = {}) {
  const root = String(base ?? "").replace(/\/+$/, "");
  const call = (method, path, { token, query, body, idempotencyKey, language } = {}) => {
    const init = {
      method,
      headers: headers(token, body !== undefined, idempotencyKey, language),
      credentials: "omit",
      referrerPolicy: "no-referrer",
      cache: "no-store",
    };
    if (body !== undefined) init.body = JSON.stringify(body);
    return send(fetchImpl, root + withQuery(checkPath(path), query), init);
  };
  return {
    get: (path, { token, query, language } = {}) => call("GET", path, { token, query, language }),
    post: (path, body, { token, idempotencyKey } = {}) => call("POST", path, { token, body: body ?? {}, idempotencyKey }),
  };
}

function checkPath(path) {
  // Only paths of this API: never another host ("//evil.example") or a full URL.
  if (typeof path !== "string" || !path.startsWith("/") || path.startsWith("//")) {
    throw new TypeError("api: path must start with a single /");
  }
  return path;
}

function withQuery(path, query) {
  if (!query) return path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== "") q.append(k, String(v));
  }
  const s = q.toString();
  return s ? path + (path.includes("?") ? "&" : "?") + s : path;
}

function headers(token, hasBody, idempotencyKey, language) {
  const h = { Accept: "application/json, application/problem+json" };
  if (language) h["Accept-Language"] = language;
  if (hasBody) h["Content-Type"] = "application/json";
  if (token) h.Authorization = `Bearer ${token}`;
  if (idempotencyKey) h["Idempotency-Key"] = idempotencyKey;
  return h;
}

async function send(fetchImpl, url, init) {
  let res;
  try {
    res = await fetchImpl(url, init);
  } catch {
    return { ok: false, status: 0, body: null, retryAfter: null };
  }
  return { ok: res.ok, status: res.status, body: await readBody(res), retryAfter: retryAfterOf(res) };
}

async function readBody(res) {
  const type = res.headers?.get?.("content-type") ?? "";
  if (!/json/i.test(type)) return null;
  try {
    return await res.json();
  } catch {
    return null;
  }
}

/** Seconds from a Retry-After header (whole seconds or an HTTP date), or null. */
export function retryAfterOf(res) {
  const v = res.headers?.get?.("retry-after");
  if (v == null || v === "") return null;
  if (/^\d+$/.test(v.trim())) return Number(v.trim());
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

// ---------------------------------------------------------------- problems in words

const FIELD_LABELS = ["email", "type", "code", "purposes", "grounds", "scope", "months", "reason",
  "detail", "outcome", "purpose", "format"];

// The API's reasons (internal/dsr, internal/intake) and the keys of their translations.
const REASONS = [
  [/^is required$/, "reason.required"],
  [/^is longer than (?<n>\d+) characters$/, "reason.tooLong"],
  [/^is not valid UTF-8$/, "reason.badUtf8"],
  [/^contains a space, control or invisible character$/, "reason.invisible"],
  [/^is not a valid e-mail address$/, "reason.notEmail"],
  [/^is not a valid e-mail address: (?<why>.+)$/, "reason.notEmailBecause"],
  [/^has a character before the "@" that is a variant of another/, "reason.variant"],
  [/^has a character before the "@" whose upper or lower case is ambiguous/, "reason.ambiguousCase"],
  [/^must be one of "access", "erasure", "objection"/, "reason.typeOneOf"],
  [/^give either "scope" or "purposes", not both$/, "reason.scopeOrPurposes"],
  [/^must be "direct_marketing"$/, "reason.scopeValue"],
  [/^an objection needs "scope"/, "reason.objectionNeeds"],
  [/^must name at least one purpose$/, "reason.atLeastOnePurpose"],
  [/^is not a purpose of the registry/, "reason.unknownPurpose"],
  [/^cannot be objected to: it rests on (?<basis>.+?) \(Art\. 21 covers/, "reason.notObjectable"],
  [/^is only allowed for objections$/, "reason.onlyObjections"],
  [/^is not a known field/, "reason.unknownField"],
  [/^must be (a string|true or false|a whole number|a number|an array of strings|an array of JSON objects|an array|a JSON object|another type)$/, "reason.wrongKind"],
  [/^must not be null/, "reason.noNull"],
  [/^is given more than once$/, "reason.duplicate"],
  [/^must be 6 digits$/, "reason.sixDigits"],
  [/^does not match the code we sent$/, "reason.codeMismatch"],
  [/^must be "json" or "html"$/, "reason.format"],
  [/^must be "manifestly_unfounded" or "excessive"/, "reason.rejectReason"],
  [/^is required: the person must be told the reasons/, "reason.detailRequired"],
  [/^must be 1 or 2$/, "reason.months"],
  [/^is required: the person must be told why/, "reason.extensionRequired"],
  [/^must be "upheld" or "overridden"$/, "reason.outcome"],
  [/^is required: the decision must be reasoned/, "reason.groundsRequired"],
  [/^has no decision pending in this objection$/, "reason.noDecisionPending"],
  [/^is not a cursor of this list/, "reason.badCursor"],
];

const WHY = [
  [/^it has no "@"$/, "why.noAt"],
  [/^nothing before the "@"$/, "why.nothingBefore"],
  [/^the part before the "@" is longer than 64 bytes$/, "why.localTooLong"],
  [/^a dot at the start or end/, "why.dots"],
  [/^the part before the "@" may hold letters, digits, dots and/, "why.localChars"],
  [/^nothing after the "@"$/, "why.nothingAfter"],
  [/^an address at an IP literal is not accepted$/, "why.ipLiteral"],
  [/^the domain is not a valid host name/, "why.badHost"],
  [/^the domain needs a dot/, "why.needsDot"],
  [/^the domain has an empty label or one longer than 63 characters$/, "why.badLabel"],
  [/^the domain is longer than 253 characters$/, "why.domainTooLong"],
  [/^an address at an IP address is not accepted$/, "why.ipAddress"],
];

// The API's details worth saying in words (the summary adds them to the status's sentence).
const DETAILS = [
  [/^too many wrong codes were entered for this address today/, "detail.wrongCodesToday"],
  [/^this address was sent (?<n>\d+) codes today/, "detail.codesToday"],
  [/^this address has (?<n>\d+) requests waiting for their code/, "detail.openRequests"],
  [/^too many requests from your network/, "detail.network"],
  [/^links to this request's result were signed (?<n>\d+) times this hour/, "detail.links"],
  [/^the verification code has expired/, "detail.codeExpired"],
  [/^too many wrong codes; this request has expired/, "detail.tooManyWrong"],
  [/^this request has expired/, "detail.expired"],
  [/^the (report|certificate) has been deleted after its retention period$/, "detail.fileDeleted"],
  [/^this request was rejected$/, "detail.rejected"],
  [/^this request is already verified$/, "detail.alreadyVerified"],
  [/^the (report|certificate) is not ready/, "detail.notReady"],
  [/^the code is wrong; (?<n>\d+) attempt\(s\) left$/, "detail.attemptsLeft"],
  [/^the code is wrong; no attempt is left today/, "detail.noAttemptToday"],
];

// t(key, vars), but the fallback text where the key has no text.
function tOr(t, key, vars, fallback) {
  const s = t(key, vars);
  return s === key ? fallback : s;
}

function matchTable(table, text) {
  for (const [re, key] of table) {
    const m = re.exec(text);
    if (m) return { key, vars: { ...(m.groups ?? {}) } };
  }
  return null;
}

/** The words for the API's reason: translated where known, else the API's own text. */
function reasonText(reason, t) {
  const hit = matchTable(REASONS, reason);
  if (!hit) return reason;
  if (hit.key === "reason.notEmailBecause") {
    const why = matchTable(WHY, hit.vars.why);
    if (!why) return tOr(t, "reason.notEmail", { api: reason }, reason);
    hit.vars.why = tOr(t, why.key, { api: hit.vars.why }, hit.vars.why);
  }
  return tOr(t, hit.key, { ...hit.vars, api: reason }, reason);
}

function fieldLabel(field, t, labels) {
  if (labels && typeof labels[field] === "string") return labels[field];
  const item = /^purposes\[(\d+)\]$/.exec(field);
  if (item) return tOr(t, "field.purposeN", { n: Number(item[1]) + 1 }, `Purpose ${Number(item[1]) + 1}`);
  if (FIELD_LABELS.includes(field)) return tOr(t, `field.${field}`, undefined, field);
  return tOr(t, "field.other", { name: field.slice(0, 64) }, field.slice(0, 64));
}

function detailOf(body, t) {
  const detail = typeof body?.detail === "string" ? body.detail : "";
  const hit = matchTable(DETAILS, detail);
  if (!hit) return { key: null, text: "" };
  if (hit.vars.n !== undefined) hit.vars.n = Number(hit.vars.n);
  return { key: hit.key, text: tOr(t, hit.key, hit.vars, "") };
}

function statusSummary(res, t) {
  const s = Number(res?.status) || 0;
  if (s === 429) return tooManySummary(res.retryAfter, t);
  if (s >= 500) return t("problem.5xx");
  if ([0, 400, 401, 403, 404, 409, 410, 413, 415].includes(s)) return t(`problem.${s}`);
  return t("problem.other");
}

function tooManySummary(retryAfter, t) {
  if (typeof retryAfter !== "number" || !Number.isFinite(retryAfter)) return t("problem.429.later");
  const minutes = Math.max(1, Math.ceil(retryAfter / 60));
  if (minutes >= 120) return t("problem.429.hours", { minutes, hours: Math.round(minutes / 60) });
  return t("problem.429", { minutes });
}

function fieldErrors(body) {
  const list = Array.isArray(body?.errors) ? body.errors : [];
  return list.filter((e) => e && typeof e.field === "string" && typeof e.reason === "string");
}

/**
 * problemMessages(res, t, {labels}) → {summary, fields: [{field, message}]}
 * res: an api result; t: a translate function (i18n.t). labels optionally names fields
 * ({"purposes[0]": "Customer care"}). Uses only the status, Retry-After, the known details
 * and errors[].field/reason: never the raw body.
 */
export function problemMessages(res, t, { labels } = {}) {
  const detail = detailOf(res?.body, t);
  const summary = [statusSummary(res, t), detail.text].filter(Boolean).join(" ");
  const attempts = /^detail\.(attemptsLeft|noAttemptToday)$/.test(detail.key ?? "") ? detail.text : "";
  const fields = fieldErrors(res?.body).map((e) => ({ field: e.field, message: fieldMessage(e, t, labels, attempts) }));
  return { summary, fields };
}

function fieldMessage({ field, reason }, t, labels, attempts) {
  if (field === "code" && attempts) return attempts; // "The code is wrong. You have 2 attempts left."
  const label = fieldLabel(field, t, labels);
  const text = reasonText(reason.slice(0, 500), t);
  return tOr(t, "field.message", { label, reason: text }, `${label}: ${text}`);
}
