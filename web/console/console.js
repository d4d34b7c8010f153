// The DPO console: sign in (a pasted token locally, OpenID Connect with PKCE
// when deployed), the request list with its filters, one request's detail
// with progress, extension, audit trail and its check, the DPO's actions,
// the figures, and the register as CSV.
//
// The DPO's token lives in the variable `session.token` only: never in
// storage, a cookie, a URL or a log.

import { createI18n, bindLanguageButtons, translateDom } from '../shared/i18n.js';
import { createApi, problemMessages } from '../shared/api.js';
import { el, clear, announce, saveBlob } from '../shared/dom.js';
import { strings } from './strings.js';
import { STATUSES, TYPES, deadlineClass } from './classify.js';
import { allowedActions, checkText, MAX_TEXT } from './actions.js';
import { registerCsv, registerFilename } from './csv.js';
import { renderChart } from './chart.js';
import { createConfirm } from './dialog.js';
import { startSignIn, completeSignIn } from './oidc.js';
import { parseCallback } from './pkce.js';
import { listQuery } from './filters.js';

const $ = (id) => document.getElementById(id);
const i18n = createI18n(strings, { storageKey: 'dsr.lang' });
const t = i18n.t;

const statusRegion = $('console-status');
const errorRegion = $('console-errors');
const reloadButton = $('reload');

const PAGE = 25;
const EXPORT_PAGE = 100;
const MAX_EXPORT_PAGES = 10000;

// Everything a signed-in session holds. A new session (sign-in, sign-out)
// gets a new epoch: answers of an older one are dropped.
const session = {
  epoch: 0,
  token: null,
  filters: {},
  items: [],
  cursor: '',
  view: null,
  auditEntries: [],
  auditCursor: '',
  auditCheck: null,
  metrics: null,
};

let config = { api: '', console: { signIn: 'token' } };
let api = createApi({ base: '', fetchImpl: (...a) => globalThis.fetch(...a) });
let lastErrors = null; // re-rendered when the language changes
const confirm = createConfirm($('confirm'), { yes: $('confirm-yes'), no: $('confirm-no'), text: $('confirm-text') });

// ---------------------------------------------------------------- helpers

const statusWords = (s) => (i18n.has(`status.${s}`) ? t(`status.${s}`) : String(s));
const typeWords = (ty) => (i18n.has(`type.${ty}`) ? t(`type.${ty}`) : String(ty));
const date = (iso) => (iso ? i18n.formatDate(iso) : '');
const dateTime = (iso) => (iso ? i18n.formatDate(iso, { withTime: true }) : '');
const requestPath = (id, tail = '') => `/v1/dpo/requests/${encodeURIComponent(id)}${tail}`;

function timeEl(iso, text) {
  return el('time', { datetime: iso }, text);
}

function say(text) {
  announce(statusRegion, text);
}

function badge(kind, text) {
  return el('span', { class: `badge ${kind}` }, text);
}

function deadlineBadge(view) {
  const c = deadlineClass(view);
  if (c === 'overdue') return badge('overdue', t('badgeOverdue'));
  if (c === 'due-soon') return badge('due-soon', t('badgeDueSoon'));
  return null;
}

function setHidden(node, hidden) {
  node.hidden = !!hidden;
}

// ----------------------------------------------------------------- errors

/** Every control that can carry a field error, and its message element. */
function fieldControls() {
  return [...document.querySelectorAll('.field-error')].map((m) => [document.getElementById(m.id.replace(/-error$/, '')), m]);
}

function clearErrors() {
  lastErrors = null;
  clear(errorRegion);
  setHidden(reloadButton, true);
  for (const [control, msg] of fieldControls()) {
    msg.textContent = '';
    if (control) control.removeAttribute('aria-invalid');
  }
}

/**
 * Shows errors: a summary in #console-errors (role=alert) and each field's
 * message next to it. spec: {summary, extra, fields: [{field, message, id}],
 * conflict}. Moves focus to the summary when focus is true.
 */
function showErrors(spec, { focus = true } = {}) {
  clearErrors();
  lastErrors = spec;
  renderErrors(spec);
  if (focus) errorRegion.focus();
}

function renderErrors(spec) {
  const build = typeof spec === 'function' ? spec() : spec;
  clear(errorRegion);
  for (const [control, msg] of fieldControls()) {
    msg.textContent = '';
    if (control) control.removeAttribute('aria-invalid');
  }
  errorRegion.append(el('h2', {}, t('errorsHeading')));
  if (build.summary) errorRegion.append(el('p', {}, build.summary));
  if (build.serverDetail) errorRegion.append(el('p', { class: 'server-detail' }, t('serverSays'), ' ', el('span', { lang: 'en' }, build.serverDetail)));
  const items = (build.fields || []).map((f) => {
    const control = f.id ? $(f.id) : null;
    const msg = f.id ? $(`${f.id}-error`) : null;
    if (control && msg) {
      msg.textContent = f.message;
      control.setAttribute('aria-invalid', 'true');
      const link = el('a', { href: `#${f.id}` }, f.message);
      link.addEventListener('click', (e) => {
        e.preventDefault();
        control.focus();
      });
      return el('li', { 'data-field': f.field }, link);
    }
    return el('li', { 'data-field': f.field }, f.message);
  });
  if (items.length) errorRegion.append(el('ul', {}, ...items));
  setHidden(reloadButton, !build.conflict);
}

/**
 * The errors of an API answer: fieldIds maps the API's field names to the
 * ids of the controls. A 409 says the request changed and offers #reload.
 */
function errorsOf(res, fieldIds = {}) {
  return () => {
    const m = problemMessages(res, t) || { summary: '', fields: [] };
    const detail = res && res.body && typeof res.body.detail === 'string' ? res.body.detail : '';
    const fields = (m.fields || []).map((f) => ({ field: f.field, message: f.message, id: fieldIds[f.field] || fieldIds[String(f.field).replace(/\[\d+\]$/, '')] || null }));
    if (res.status === 409) {
      return { summary: t('conflict'), serverDetail: detail.slice(0, 500), fields, conflict: true };
    }
    return { summary: m.summary, fields };
  };
}

/** Handles a failed answer; true when it ended the session (401/403). */
function handleFailure(res, fieldIds) {
  if (session.token && (res.status === 401 || res.status === 403)) {
    endSession(res.status === 403 ? t('tokenForbidden') : t('sessionEnded'));
    return true;
  }
  showErrors(errorsOf(res, fieldIds));
  return false;
}

// ---------------------------------------------------------------- sign-in

async function loadConfig() {
  try {
    const res = await globalThis.fetch('/config.json', { cache: 'no-store', credentials: 'same-origin' });
    if (!res.ok) throw new Error('config');
    const c = await res.json();
    if (!c || typeof c !== 'object') throw new Error('config');
    return { ok: true, config: { api: typeof c.api === 'string' ? c.api : '', console: c.console && typeof c.console === 'object' ? c.console : { signIn: 'token' } } };
  } catch {
    return { ok: false, config: { api: '', console: { signIn: 'token' } } };
  }
}

function oidcConfig() {
  const c = config.console || {};
  const ok = ['authorizeUrl', 'tokenUrl', 'clientId', 'redirectUri'].every((k) => typeof c[k] === 'string' && c[k] !== '');
  return ok ? { authorizeUrl: c.authorizeUrl, tokenUrl: c.tokenUrl, clientId: c.clientId, redirectUri: c.redirectUri, scope: c.scope || 'openid' } : null;
}

function showSignIn() {
  const mode = config.console && config.console.signIn === 'oidc' ? 'oidc' : 'token';
  setHidden($('sign-in-section'), false);
  setHidden($('token-form'), mode !== 'token');
  setHidden($('oidc-form'), mode !== 'oidc');
  setHidden($('app'), true);
  setHidden($('sign-out'), true);
}

/** Checks token with GET /v1/dpo/metrics; on success the session starts. */
async function signInWith(token) {
  clearErrors();
  say(t('checkingToken'));
  const epoch = ++session.epoch;
  const res = await api.get('/v1/dpo/metrics', { token });
  if (epoch !== session.epoch) return;
  if (!res.ok) {
    session.token = null;
    say('');
    if (res.status === 401) showErrors({ summary: t('tokenRefused'), fields: $('token-form').hidden ? [] : [{ field: 'token', id: 'token', message: t('tokenRefused') }] });
    else if (res.status === 403) showErrors({ summary: t('tokenForbidden'), fields: [] });
    else showErrors(errorsOf(res));
    return;
  }
  session.token = token;
  $('token').value = '';
  setHidden($('sign-in-section'), true);
  setHidden($('app'), false);
  setHidden($('sign-out'), false);
  session.metrics = res.body;
  renderMetrics();
  say(t('signedIn'));
  $('metrics-heading').focus();
  await loadList({ quiet: true });
}

/** Forgets the token and everything read with it; message says why (an error unless info). */
function endSession(message, { info = false } = {}) {
  session.epoch++;
  session.token = null;
  Object.assign(session, { filters: {}, items: [], cursor: '', view: null, auditEntries: [], auditCursor: '', auditCheck: null, metrics: null });
  const dialog = $('confirm');
  if (dialog.open) dialog.close();
  clear($('requests-body'));
  clear($('audit'));
  clear($('progress'));
  clear($('extension'));
  $('audit-check').textContent = '';
  setHidden($('detail'), true);
  setHidden($('more'), true);
  resetActionForms();
  $('filters').reset();
  $('register-form').reset();
  clearRegistration();
  clearErrors();
  showSignIn();
  if (info) {
    say(message);
  } else {
    say('');
    showErrors({ summary: message, fields: [] }, { focus: false });
  }
  const first = $('token-form').hidden ? $('sign-in-oidc') : $('token');
  first.focus();
}

$('token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  clearErrors();
  const token = $('token').value.replace(/\s+/g, '');
  if (!token) {
    showErrors({ summary: t('tokenMissing'), fields: [{ field: 'token', id: 'token', message: t('tokenMissing') }] });
    return;
  }
  signInWith(token);
});

$('sign-in-oidc').addEventListener('click', async () => {
  clearErrors();
  const c = oidcConfig();
  if (!c) {
    showErrors({ summary: t('oidcMisconfigured'), fields: [] });
    return;
  }
  say(t('oidcStarting'));
  try {
    await startSignIn(c);
  } catch {
    say('');
    showErrors({ summary: t('oidcErrorNetwork'), fields: [] });
  }
});

$('sign-out').addEventListener('click', () => endSession(t('signedOut'), { info: true }));

const OIDC_ERRORS = { provider: 'oidcErrorProvider', state: 'oidcErrorState', exchange: 'oidcErrorExchange', nonce: 'oidcErrorNonce', network: 'oidcErrorNetwork' };

async function finishOidc() {
  const c = oidcConfig();
  if (!c) {
    if (parseCallback(location.search)) history.replaceState(null, '', location.pathname);
    showErrors({ summary: t('oidcMisconfigured'), fields: [] }, { focus: false });
    return;
  }
  if (!parseCallback(location.search)) return;
  say(t('oidcFinishing'));
  const out = await completeSignIn(c);
  if (!out) return;
  if (out.error) {
    say('');
    showErrors({ summary: t(OIDC_ERRORS[out.error] || 'oidcErrorExchange'), fields: [] });
    return;
  }
  await signInWith(out.token);
}

// ---------------------------------------------------------------- metrics

function renderMetrics() {
  const m = session.metrics;
  if (!m) return;
  const num = (n) => i18n.formatNumber(Number(n) || 0);
  $('metrics-overdue').textContent = num(m.overdue);
  $('metrics-due-soon').textContent = num(m.dueWithin7Days);
  const med = m.medianHoursToComplete;
  $('metrics-median').textContent = typeof med === 'number' ? t('metricsMedianHours', { hours: i18n.formatNumber(Math.round(med * 100) / 100) }) : t('metricsMedianNone');
  $('metrics-total').textContent = num(m.requests);
  const byType = m.byType || {};
  $('metrics-by-type').textContent = TYPES.map((ty) => `${typeWords(ty)}: ${num(byType[ty])}`).join(' · ');
  const byStatus = m.byStatus || {};
  renderChart($('metrics-chart'), byStatus, STATUSES, { label: statusWords, number: num, title: t('chartTitle'), desc: t('chartDesc') });
  const body = $('metrics-table-body');
  clear(body);
  for (const s of STATUSES) body.append(el('tr', {}, el('th', { scope: 'row' }, statusWords(s)), el('td', {}, num(byStatus[s]))));
}

async function refreshMetrics({ quiet = false } = {}) {
  const epoch = session.epoch;
  const res = await api.get('/v1/dpo/metrics', { token: session.token });
  if (epoch !== session.epoch) return;
  if (!res.ok) {
    if (!quiet) handleFailure(res);
    else if (res.status === 401 || res.status === 403) handleFailure(res);
    return;
  }
  session.metrics = res.body;
  renderMetrics();
  if (!quiet) say(t('metricsUpdated'));
}

$('refresh-metrics').addEventListener('click', () => {
  clearErrors();
  refreshMetrics();
});

// ------------------------------------------------------------ the list

function fillSelect(select, options, keep = true) {
  const value = select.value;
  clear(select);
  for (const [v, text] of options) select.append(el('option', { value: v }, text));
  if (keep && options.some(([v]) => v === value)) select.value = value;
}

function renderFilterOptions() {
  fillSelect($('filter-status'), [['', t('filterStatusAll')], ...STATUSES.map((s) => [s, statusWords(s)])]);
  fillSelect($('filter-type'), [['', t('filterTypeAll')], ...TYPES.map((ty) => [ty, typeWords(ty)])]);
}

function readFilters() {
  return listQuery({
    status: $('filter-status').value,
    type: $('filter-type').value,
    dueBefore: $('filter-due-before').value,
    overdue: $('filter-overdue').checked,
    awaitingDecision: $('filter-awaiting-decision').checked,
  });
}

const FILTER_FIELDS = {
  status: 'filter-status', type: 'filter-type', dueBefore: 'filter-due-before', overdue: 'filter-overdue',
  awaitingDecision: 'filter-awaiting-decision',
};

function rowOf(view) {
  const cls = deadlineClass(view);
  const badges = [
    deadlineBadge(view),
    view.extendedMonths ? badge('extended', t('badgeExtended')) : null,
    view.awaitingDecision ? badge('awaiting-decision', t('badgeAwaitingDecision')) : null,
  ].filter(Boolean);
  const open = el('button', { type: 'button', class: 'open secondary', 'data-id': view.id }, t('open'), el('span', { class: 'visually-hidden' }, ` ${t('openSuffix', { id: view.id })}`));
  open.addEventListener('click', () => openDetail(view.id, open));
  const tr = el('tr', { 'data-id': view.id },
    el('td', { class: 'id' }, view.id),
    el('td', {}, typeWords(view.type)),
    el('td', {}, el('span', { 'data-status': view.status }, statusWords(view.status))),
    el('td', {}, view.subject || ''),
    el('td', {}, timeEl(view.receivedAt, date(view.receivedAt))),
    el('td', {}, view.dueAt ? timeEl(view.dueAt, date(view.dueAt)) : t('noDue')),
    el('td', {}, ...badges),
    el('td', {}, open));
  if (cls) tr.classList.add(cls);
  if (session.view && session.view.id === view.id) tr.classList.add('selected');
  return tr;
}

function renderList() {
  const body = $('requests-body');
  clear(body);
  if (session.items.length === 0) {
    body.append(el('tr', {}, el('td', { colspan: '8' }, t('noRequests'))));
  } else {
    for (const v of session.items) body.append(rowOf(v));
  }
  setHidden($('more'), !session.cursor);
}

/** Reads one page of the list for filters; follows empty pages a little. */
async function fetchPage(filters, cursor, limit = PAGE) {
  let items = [];
  let next = cursor;
  for (let hops = 0; hops < 10; hops++) {
    const query = { ...filters, limit: String(limit) };
    if (next) query.cursor = next;
    const res = await api.get('/v1/dpo/requests', { token: session.token, query });
    if (!res.ok) return { res };
    items = items.concat(Array.isArray(res.body && res.body.items) ? res.body.items : []);
    next = (res.body && res.body.cursor) || '';
    if (items.length > 0 || !next) break;
  }
  return { items, cursor: next };
}

async function loadList({ quiet = false } = {}) {
  const epoch = session.epoch;
  const filters = { ...session.filters };
  const page = await fetchPage(filters, '');
  if (epoch !== session.epoch) return;
  if (page.res) {
    handleFailure(page.res, FILTER_FIELDS);
    return;
  }
  session.items = page.items;
  session.cursor = page.cursor;
  renderList();
  if (!quiet) say(session.items.length === 1 ? t('listLoadedOne') : t('listLoaded', { n: session.items.length }));
}

$('filters').addEventListener('submit', async (e) => {
  e.preventDefault();
  clearErrors();
  session.filters = readFilters();
  await loadList();
});

$('more').addEventListener('click', async () => {
  clearErrors();
  const epoch = session.epoch;
  const before = session.items.length;
  const page = await fetchPage(session.filters, session.cursor);
  if (epoch !== session.epoch) return;
  if (page.res) {
    handleFailure(page.res, FILTER_FIELDS);
    return;
  }
  session.items = session.items.concat(page.items);
  session.cursor = page.cursor;
  renderList();
  say(t('moreLoaded', { n: page.items.length }));
  if (!session.cursor) {
    // The button is gone: focus the first row that came.
    const rows = $('requests-body').querySelectorAll('button.open');
    const first = rows[before] || rows[rows.length - 1];
    if (first) first.focus();
  }
});

$('export-csv').addEventListener('click', async () => {
  clearErrors();
  const button = $('export-csv');
  const epoch = session.epoch;
  const filters = { ...session.filters };
  button.disabled = true;
  try {
    const all = [];
    let cursor = '';
    for (let pages = 0; pages < MAX_EXPORT_PAGES; pages++) {
      const query = { ...filters, limit: String(EXPORT_PAGE) };
      if (cursor) query.cursor = cursor;
      const res = await api.get('/v1/dpo/requests', { token: session.token, query });
      if (epoch !== session.epoch) return;
      if (!res.ok) {
        handleFailure(res, FILTER_FIELDS);
        return;
      }
      all.push(...(Array.isArray(res.body && res.body.items) ? res.body.items : []));
      cursor = (res.body && res.body.cursor) || '';
      if (!cursor) break;
      if (pages % 5 === 4) say(t('exporting', { n: all.length }));
    }
    saveBlob(document, new Blob([registerCsv(all)], { type: 'text/csv;charset=utf-8' }), registerFilename());
    say(t('exported', { n: all.length }));
  } finally {
    button.disabled = false;
  }
});

// ---------------------------------------------------------------- detail

function actorWords(actor) {
  const a = String(actor || '');
  if (a === 'subject') return t('actor.subject');
  if (a === 'system' || a.startsWith('system:')) return t('actor.system', { name: a.slice(7) || 'system' });
  return t('actor.dpo', { sub: a });
}

function actionWords(action) {
  return i18n.has(`action.${action}`) ? t(`action.${action}`) : String(action);
}

function renderProgress(view) {
  const list = $('progress');
  clear(list);
  const purposes = Array.isArray(view.purposes) ? view.purposes : [];
  if (purposes.length === 0) {
    list.append(el('li', {}, t('progressNone')));
    return;
  }
  for (const p of purposes) {
    const parts = [el('strong', {}, p.purpose), ': ', p.done ? t('progressDone') : t('progressOpen')];
    if (p.done) parts.push(`, ${t('progressChunks', { n: i18n.formatNumber(p.chunks || 0) })}`);
    if (p.decision) parts.push(' – ', el('span', { 'data-decision': p.decision }, i18n.has(`decision.${p.decision}`) ? t(`decision.${p.decision}`) : p.decision));
    if (p.decisionDueAt) parts.push(', ', t('decisionDue', { due: '' }), timeEl(p.decisionDueAt, dateTime(p.decisionDueAt)));
    list.append(el('li', { 'data-purpose': p.purpose, 'data-done': String(!!p.done) }, ...parts));
  }
}

function renderExtension(view) {
  const box = $('extension');
  clear(box);
  const exts = Array.isArray(view.extensions) ? view.extensions : [];
  if (exts.length === 0 && !view.extendedMonths) {
    box.append(el('p', {}, t('extensionNone')));
    return;
  }
  const list = el('ul', { class: 'plain-list' });
  for (const x of exts) {
    list.append(el('li', { 'data-months': String(x.months) },
      el('p', {}, t('extensionItem', { months: i18n.formatNumber(x.months), due: dateTime(x.dueAt), at: dateTime(x.at), by: x.by })),
      el('p', {}, t('extensionReason'), x.reason)));
  }
  box.append(list);
}

function renderAudit() {
  const list = $('audit');
  clear(list);
  const brokenAt = session.auditCheck && !session.auditCheck.intact ? session.auditCheck.brokenAt : 0;
  if (session.auditEntries.length === 0) {
    list.append(el('li', {}, t('auditNone')));
  }
  for (const e of session.auditEntries) {
    const broken = brokenAt && e.seq === brokenAt;
    const li = el('li', { 'data-seq': String(e.seq), 'data-action': e.action },
      el('span', { class: 'what' }, `${t('auditEntry', { seq: e.seq })} · ${actionWords(e.action)}`), ' ',
      broken ? badge('broken', t('auditBrokenBadge')) : '',
      el('br', {}),
      el('span', { class: 'when' }, timeEl(e.at, dateTime(e.at)), ' · ', actorWords(e.actor)));
    if (e.detail) li.append(el('br', {}), el('span', { class: 'detail', lang: 'en' }, e.detail));
    if (broken) li.classList.add('broken');
    list.append(li);
  }
  setHidden($('audit-older'), !session.auditCursor);
  renderAuditCheck();
}

function renderAuditCheck() {
  const node = $('audit-check');
  const c = session.auditCheck;
  clear(node);
  if (!c) {
    node.setAttribute('data-intact', 'false');
    return;
  }
  if (c.failed) {
    node.setAttribute('data-intact', 'false');
    node.textContent = t('auditCheckFailed');
    return;
  }
  node.setAttribute('data-intact', String(!!c.intact));
  if (c.intact) {
    node.textContent = c.entries === 1 ? t('auditIntactOne') : t('auditIntact', { n: i18n.formatNumber(c.entries) });
    return;
  }
  if (!c.entries) {
    node.textContent = t('auditEmpty');
    return;
  }
  node.append(t('auditBroken', { at: i18n.formatNumber(c.brokenAt || 0), n: i18n.formatNumber(c.entries) }));
  if (c.reason) node.append(' ', el('span', { lang: 'en' }, `(${c.reason})`));
}

function renderDetail() {
  const v = session.view;
  if (!v) return;
  $('detail-heading').textContent = t('detailHeading', { id: v.id });
  $('detail-type').textContent = typeWords(v.type);
  const st = $('detail-status');
  st.textContent = statusWords(v.status);
  st.setAttribute('data-status', v.status);
  const badges = $('detail-badges');
  clear(badges);
  const b = deadlineBadge(v);
  if (b) badges.append(b);
  if (v.extendedMonths) badges.append(badge('extended', t('badgeExtended')));
  $('detail-subject').textContent = v.subject || '';
  const rec = $('detail-received');
  clear(rec);
  rec.append(timeEl(v.receivedAt, dateTime(v.receivedAt)));
  const due = $('detail-due');
  clear(due);
  if (v.dueAt) due.append(timeEl(v.dueAt, dateTime(v.dueAt)));
  else due.textContent = t('noDue');
  due.setAttribute('data-due', v.dueAt || '');
  setHidden($('detail-completed-row'), !v.completedAt);
  const comp = $('detail-completed');
  clear(comp);
  if (v.completedAt) comp.append(timeEl(v.completedAt, dateTime(v.completedAt)));
  setHidden($('detail-failure-row'), !v.failureReason);
  $('detail-failure').textContent = v.failureReason || '';
  setHidden($('detail-waiting-row'), !v.waitingFor);
  $('detail-waiting').textContent = v.waitingFor || '';
  renderProgress(v);
  renderExtension(v);
  renderActions(v);
  renderAudit();
  for (const tr of $('requests-body').querySelectorAll('tr[data-id]')) tr.classList.toggle('selected', tr.getAttribute('data-id') === v.id);
}

/** Reads request id and its audit check; focus: 'heading' or an element to keep. */
async function loadDetail(id, { announceIt = true, focusHeading = true } = {}) {
  const epoch = session.epoch;
  const [res, check] = await Promise.all([
    api.get(requestPath(id), { token: session.token }),
    api.get(requestPath(id, '/audit'), { token: session.token }),
  ]);
  if (epoch !== session.epoch) return false;
  if (!res.ok) {
    if (res.status === 404) {
      showErrors({ summary: t('notFound'), fields: [] });
      return false;
    }
    handleFailure(res);
    return false;
  }
  const changed = !session.view || session.view.id !== id;
  session.view = res.body;
  session.auditEntries = Array.isArray(res.body.audit) ? res.body.audit : [];
  session.auditCursor = res.body.auditCursor || '';
  session.auditCheck = check.ok ? check.body : { failed: true };
  if (!check.ok && (check.status === 401 || check.status === 403)) {
    handleFailure(check);
    return false;
  }
  if (changed) resetActionForms();
  updateListItem(res.body);
  setHidden($('detail'), false);
  renderDetail();
  if (focusHeading) $('detail-heading').focus();
  if (announceIt) say(t('detailLoaded', { id }));
  return true;
}

function openDetail(id) {
  clearErrors();
  loadDetail(id);
}

/** Puts the list fields of view into the list, where the request is shown. */
function updateListItem(view) {
  const i = session.items.findIndex((x) => x.id === view.id);
  if (i < 0) return;
  const { purposes, audit, auditCursor, ...listView } = view;
  session.items[i] = { ...session.items[i], ...listView };
  renderList();
}

$('audit-older').addEventListener('click', async () => {
  const v = session.view;
  if (!v || !session.auditCursor) return;
  clearErrors();
  const epoch = session.epoch;
  const res = await api.get(requestPath(v.id), { token: session.token, query: { auditCursor: session.auditCursor } });
  if (epoch !== session.epoch || !session.view || session.view.id !== v.id) return;
  if (!res.ok) {
    handleFailure(res);
    return;
  }
  const older = Array.isArray(res.body.audit) ? res.body.audit : [];
  const seen = new Set(session.auditEntries.map((e) => e.seq));
  session.auditEntries = older.filter((e) => !seen.has(e.seq)).concat(session.auditEntries);
  session.auditCursor = res.body.auditCursor || '';
  renderAudit();
  say(t('auditOlderLoaded', { n: older.length }));
  if (!session.auditCursor) $('audit-heading').focus();
});

reloadButton.addEventListener('click', async () => {
  const v = session.view;
  clearErrors();
  if (!v) return;
  if (await loadDetail(v.id, { announceIt: false })) say(t('detailReloaded'));
});

$('close-detail').addEventListener('click', () => {
  const id = session.view && session.view.id;
  session.view = null;
  setHidden($('detail'), true);
  clearErrors();
  renderList();
  const button = id && [...$('requests-body').querySelectorAll('button.open')].find((b) => b.getAttribute('data-id') === id);
  (button || $('list-heading')).focus();
});

// --------------------------------------------------------------- actions

const ACTION_FORMS = ['extend-form', 'reject-form', 'retry-form', 'decide-form', 'restriction-form', 'rectify-form', 'lift-form'];

function resetActionForms() {
  for (const id of ACTION_FORMS) $(id).reset();
}

function renderActions(v) {
  const a = allowedActions(v);
  const months = $('extend-months');
  const keep = months.value;
  clear(months);
  for (const m of a.extend) months.append(el('option', { value: String(m) }, m === 1 ? t('extendMonthsOne') : t('extendMonthsTwo')));
  if (a.extend.map(String).includes(keep)) months.value = keep;
  setHidden($('extend-form'), a.extend.length === 0);
  setHidden($('reject-form'), !a.reject);
  setHidden($('retry-form'), !a.retry);
  const purpose = $('decision-purpose');
  fillSelect(purpose, a.decide.map((p) => [p, p]));
  setHidden($('decide-form'), a.decide.length === 0);
  const restricted = $('restriction-purpose');
  fillSelect(restricted, a.restrictions.map((p) => [p, p]));
  if (a.restrictions.includes('billing')) restricted.value = 'billing';
  setHidden($('restriction-form'), a.restrictions.length === 0);
  renderRightsActions(v, a);
  setHidden($('actions-none'), a.extend.length > 0 || a.reject || a.retry || a.decide.length > 0 || a.restrictions.length > 0 ||
    a.rectify || a.lift.length > 0);
}

// The rectification to decide (what is asked, for the DPO's eyes only) and the restrictions to lift.
function renderRightsActions(v, a) {
  const asked = $('rectify-asked');
  clear(asked);
  const rc = v.rectification;
  if (a.rectify && rc) {
    for (const [key, value] of [['rectifyAttribute', rc.attribute], ['rectifyPurpose', rc.purpose || t('rectifyEveryPurpose')], ['rectifyCorrected', rc.corrected], ['rectifyEvidence', rc.evidence]]) {
      if (value) asked.append(el('dt', {}, t(key)), el('dd', {}, String(value)));
    }
  }
  setHidden($('rectify-form'), !a.rectify);
  fillSelect($('lift-purpose'), a.lift.map((p) => [p, p]));
  setHidden($('lift-form'), a.lift.length === 0);
}

function setBusy(busy) {
  for (const id of ['extend', 'reject', 'retry', 'decide', 'extend-restriction', 'rectify', 'lift', 'reload']) $(id).disabled = busy;
}

/** Client-side checks of the free texts: [{field, id, message}]. */
function textErrors(pairs) {
  const out = [];
  for (const [field, id] of pairs) {
    const why = checkText($(id).value);
    if (why) out.push({ field, id, message: why === 'tooLong' ? t('fieldTooLong') : t('fieldRequired') });
  }
  return out;
}

/**
 * Asks, then posts one action for the open request, then announces its
 * result and reloads the detail. Never retries on its own.
 */
async function act({ path, body, question, button, fieldIds, done }) {
  const v = session.view;
  if (!v) return;
  const yes = await confirm(question, button);
  if (!yes) {
    say(t('cancelled'));
    return;
  }
  const epoch = session.epoch;
  setBusy(true);
  say(t('sending'));
  let res;
  try {
    res = await api.post(requestPath(v.id, path), body, { token: session.token });
  } finally {
    setBusy(false);
  }
  if (epoch !== session.epoch) return;
  if (!res.ok) {
    say('');
    handleFailure(res, fieldIds);
    return;
  }
  const message = done(res.body || {});
  resetActionForms();
  updateListItem(res.body || {});
  await loadDetail(v.id, { announceIt: false, focusHeading: false });
  say(message);
  // Focus stays on the button if the new state still offers it, else goes to the detail.
  if (button.isConnected && !button.closest('[hidden]') && !button.disabled) button.focus();
  else $('detail-heading').focus();
  refreshMetrics({ quiet: true });
}

$('extend-form').addEventListener('submit', (e) => {
  e.preventDefault();
  clearErrors();
  const errs = textErrors([['reason', 'extend-reason']]);
  const months = Number($('extend-months').value);
  if (!months) errs.unshift({ field: 'months', id: 'extend-months', message: t('fieldChoose') });
  if (errs.length) {
    showErrors({ summary: t('problem.400'), fields: errs });
    return;
  }
  const id = session.view.id;
  act({
    path: '/extend',
    body: { months, reason: $('extend-reason').value },
    question: t('extendConfirm', { id, months: i18n.formatNumber(months) }),
    button: $('extend'),
    fieldIds: { months: 'extend-months', reason: 'extend-reason' },
    done: (b) => t('extendDone', { due: dateTime(b.dueAt) }),
  });
});

$('reject-form').addEventListener('submit', (e) => {
  e.preventDefault();
  clearErrors();
  const errs = textErrors([['detail', 'reject-detail']]);
  if (errs.length) {
    showErrors({ summary: t('problem.400'), fields: errs });
    return;
  }
  const reason = $('reject-reason').value;
  act({
    path: '/reject',
    body: { reason, detail: $('reject-detail').value },
    question: t('rejectConfirm', { id: session.view.id, reason: t(`reject.${reason}`) }),
    button: $('reject'),
    fieldIds: { reason: 'reject-reason', detail: 'reject-detail' },
    done: () => t('rejectDone'),
  });
});

$('retry-form').addEventListener('submit', (e) => {
  e.preventDefault();
  clearErrors();
  act({
    path: '/retry',
    body: {},
    question: t('retryConfirm', { id: session.view.id }),
    button: $('retry'),
    fieldIds: {},
    done: () => t('retryDone'),
  });
});

$('decide-form').addEventListener('submit', (e) => {
  e.preventDefault();
  clearErrors();
  const errs = textErrors([['grounds', 'decision-grounds']]);
  const purpose = $('decision-purpose').value;
  if (!purpose) errs.unshift({ field: 'purpose', id: 'decision-purpose', message: t('fieldChoose') });
  if (errs.length) {
    showErrors({ summary: t('problem.400'), fields: errs });
    return;
  }
  const outcome = $('decision-outcome').value;
  act({
    path: '/objection-decision',
    body: { purpose, outcome, grounds: $('decision-grounds').value },
    question: t('decideConfirm', { id: session.view.id, purpose, outcome: t(`outcome.${outcome}`) }),
    button: $('decide'),
    fieldIds: { purpose: 'decision-purpose', outcome: 'decision-outcome', grounds: 'decision-grounds' },
    done: () => t('decideDone'),
  });
});

$('rectify-form').addEventListener('submit', (e) => {
  e.preventDefault();
  clearErrors();
  const outcome = $('rectify-outcome').value;
  const reasons = $('rectify-reasons').value;
  const errs = outcome === 'refused' ? textErrors([['reasons', 'rectify-reasons']]) : [];
  if (outcome !== 'refused' && [...reasons].length > MAX_TEXT) errs.push({ field: 'reasons', id: 'rectify-reasons', message: t('fieldTooLong') });
  if (errs.length) {
    showErrors({ summary: t('problem.400'), fields: errs });
    return;
  }
  act({
    path: '/rectification-decision',
    body: { outcome, ...(reasons.trim() ? { reasons } : {}) },
    question: t('rectifyConfirm', { id: session.view.id, outcome: t(`rectifyOutcome.${outcome}`) }),
    button: $('rectify'),
    fieldIds: { outcome: 'rectify-outcome', reasons: 'rectify-reasons' },
    done: () => t('decideDone'),
  });
});

$('lift-form').addEventListener('submit', (e) => {
  e.preventDefault();
  clearErrors();
  const errs = textErrors([['reason', 'lift-reason']]);
  const purpose = $('lift-purpose').value;
  if (!purpose) errs.unshift({ field: 'purpose', id: 'lift-purpose', message: t('fieldChoose') });
  if (errs.length) {
    showErrors({ summary: t('problem.400'), fields: errs });
    return;
  }
  act({
    path: '/lift',
    body: { purpose, reason: $('lift-reason').value },
    question: t('liftConfirm', { id: session.view.id, purpose }),
    button: $('lift'),
    fieldIds: { purpose: 'lift-purpose', reason: 'lift-reason' },
    done: () => t('liftDone'),
  });
});

$('restriction-form').addEventListener('submit', (e) => {
  e.preventDefault();
  clearErrors();
  const errs = textErrors([['reason', 'restriction-reason']]);
  const purpose = $('restriction-purpose').value;
  const until = $('restriction-until').value;
  if (!until) errs.unshift({ field: 'until', id: 'restriction-until', message: t('fieldRequired') });
  if (!purpose) errs.unshift({ field: 'purpose', id: 'restriction-purpose', message: t('fieldChoose') });
  if (errs.length) {
    showErrors({ summary: t('problem.400'), fields: errs });
    return;
  }
  act({
    path: '/restrictions',
    body: { purpose, until, reason: $('restriction-reason').value },
    question: t('restrictionConfirm', { id: session.view.id, purpose, until }),
    button: $('extend-restriction'),
    fieldIds: { purpose: 'restriction-purpose', until: 'restriction-until', reason: 'restriction-reason' },
    done: (b) => t('restrictionDone', { count: i18n.formatNumber(b.recordsExtended || 0), until: b.until || until }),
  });
});


// ------------------------------------------------------------ registration

const CHANNELS = ['letter', 'phone', 'email', 'in_person'];
const IDENTITY_CHECKS = ['signature_compared', 'callback', 'reply_from_address', 'id_document_seen'];
let registerKey = ''; // the Idempotency-Key of the registration being made; new once it is done

function renderRegisterOptions() {
  fillSelect($('register-type'), TYPES.map((ty) => [ty, typeWords(ty)]));
  fillSelect($('register-channel'), CHANNELS.map((c) => [c, t(`channel.${c}`)]));
  fillSelect($('register-identity'), IDENTITY_CHECKS.map((c) => [c, t(`identity.${c}`)]));
}

/** Forgets a registration's answer: its status token is shown once. */
function clearRegistration() {
  registerKey = '';
  $('register-token').textContent = '';
  $('register-done').textContent = '';
  setHidden($('register-result'), true);
}

/** The registration's body from the form, and the fields missing. */
function registrationBody() {
  const errs = [];
  const email = $('register-email').value.replace(/\s+/g, '');
  if (!email) errs.push({ field: 'email', id: 'register-email', message: t('fieldRequired') });
  const local = $('register-received').value;
  const received = local ? new Date(local) : null;
  if (!received || Number.isNaN(received.getTime())) errs.push({ field: 'receivedAt', id: 'register-received', message: t('fieldRequired') });
  const body = {
    type: $('register-type').value, email,
    receivedAt: received && !Number.isNaN(received.getTime()) ? received.toISOString().replace(/\.\d{3}Z$/, 'Z') : '',
    channel: $('register-channel').value, identityCheck: $('register-identity').value,
  };
  if (body.type === 'objection') {
    const purposes = $('register-purposes').value.split(',').map((p) => p.trim()).filter(Boolean);
    if (purposes.length) body.purposes = purposes;
    else body.scope = 'direct_marketing';
  }
  if ($('register-note').value.trim()) body.identityNote = $('register-note').value.trim();
  return { body, errs };
}

$('register-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  clearErrors();
  const { body, errs } = registrationBody();
  if (errs.length) {
    showErrors({ summary: t('problem.400'), fields: errs });
    return;
  }
  const button = $('register');
  const yes = await confirm(t('registerConfirm', { type: typeWords(body.type), received: dateTime(body.receivedAt) }), button);
  if (!yes) {
    say(t('cancelled'));
    return;
  }
  if (!registerKey) registerKey = globalThis.crypto.randomUUID();
  const epoch = session.epoch;
  button.disabled = true;
  say(t('sending'));
  let res;
  try {
    res = await api.post('/v1/dpo/requests', body, { token: session.token, idempotencyKey: registerKey });
  } finally {
    button.disabled = false;
  }
  if (epoch !== session.epoch) return;
  if (!res.ok) {
    say('');
    handleFailure(res, {
      type: 'register-type', email: 'register-email', purposes: 'register-purposes', scope: 'register-purposes',
      receivedAt: 'register-received', channel: 'register-channel', identityCheck: 'register-identity', identityNote: 'register-note',
    });
    return;
  }
  registerKey = '';
  const r = res.body || {};
  $('register-form').reset();
  renderRegisterOptions();
  $('register-done').textContent = t('registerDone', { id: String(r.id || ''), due: dateTime(r.dueAt) });
  $('register-token').textContent = String(r.statusToken || '');
  setHidden($('register-result'), false);
  say(t('registerDone', { id: String(r.id || ''), due: dateTime(r.dueAt) }));
  refreshMetrics({ quiet: true });
});

// ------------------------------------------------------------------ start

function rerender() {
  renderFilterOptions();
  renderRegisterOptions();
  if (session.token) {
    renderMetrics();
    renderList();
    if (session.view) renderDetail();
  }
  if (lastErrors) renderErrors(lastErrors);
}

async function start() {
  translateDom(i18n, document);
  bindLanguageButtons(i18n, document);
  i18n.onChange(rerender);
  renderFilterOptions();
  renderRegisterOptions();
  const loaded = await loadConfig();
  config = loaded.config;
  api = createApi({ base: config.api, fetchImpl: (...a) => globalThis.fetch(...a) });
  showSignIn();
  if (!loaded.ok) showErrors({ summary: t('configFailed'), fields: [] }, { focus: false });
  if (config.console.signIn === 'oidc') await finishOidc();
}

start();
