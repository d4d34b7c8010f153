// The list's filters as the query of GET /v1/dpo/requests. Pure.

/**
 * The start of day (YYYY-MM-DD, from <input type="date">) in the browser's
 * time zone, as an RFC 3339 time in UTC without fractions; '' when empty or
 * not a date. "Due before 1 March" lists what is due by the end of 28 February.
 */
export function dueBeforeParam(day) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day || '');
  if (!m) return '';
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  const at = new Date(y, mo - 1, d);
  if (Number.isNaN(at.getTime()) || at.getFullYear() !== y || at.getMonth() !== mo - 1 || at.getDate() !== d) return '';
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The query of the filters {status, type, dueBefore (a day), overdue (bool),
 * awaitingDecision (bool)}: only the parameters set (the API refuses empty
 * ones), the booleans as "true".
 */
export function listQuery({ status = '', type = '', dueBefore = '', overdue = false, awaitingDecision = false } = {}) {
  const q = {};
  if (status) q.status = status;
  if (type) q.type = type;
  const due = dueBeforeParam(dueBefore);
  if (due) q.dueBefore = due;
  if (overdue) q.overdue = 'true';
  if (awaitingDecision) q.awaitingDecision = 'true';
  return q;
}
