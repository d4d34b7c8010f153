// Deadline classification of a request view: overdue, due soon (within 7
// days), or neither. Pure; the same rules as GET /v1/dpo/metrics.

/** Statuses whose deadline runs (api.md / openapi RequestStatus). */
export const OPEN_STATUSES = ['failed', 'awaiting_verification', 'queued', 'in_progress'];

/** Every status, in the order the console shows them. */
export const STATUSES = ['awaiting_verification', 'queued', 'in_progress', 'completed', 'failed', 'rejected', 'expired'];

/** Every request type. */
export const TYPES = ['access', 'erasure', 'objection', 'rectification', 'restriction', 'portability', 'preferences'];

export const DUE_SOON_MS = 7 * 24 * 60 * 60 * 1000;

export function isOpen(status) {
  return OPEN_STATUSES.includes(status);
}

/**
 * 'overdue' when the request is open and its due date has passed (or the
 * API says so), 'due-soon' when open and due within the next 7 days, else ''.
 */
export function deadlineClass(view, now = new Date()) {
  if (!view || !isOpen(view.status)) return '';
  if (view.overdue === true) return 'overdue';
  if (!view.dueAt) return '';
  const due = Date.parse(view.dueAt);
  if (Number.isNaN(due)) return '';
  const t = now instanceof Date ? now.getTime() : Number(now);
  if (due < t) return 'overdue';
  if (due < t + DUE_SOON_MS) return 'due-soon';
  return '';
}
