// Which DPO actions a request's state allows (docs/api.md, docs/openapi.yaml,
// internal/dpo). Pure. The server decides in the end: a 409 is still shown.

import { isOpen } from './classify.js';

export const MAX_EXTENSION_MONTHS = 2;
export const MAX_TEXT = 2000;

// The first month runs from the clock's start (receipt, or verification at
// most 15 minutes later), possibly rolled forward over weekends and
// holidays: after receivedAt + 1 month + this margin it has surely ended.
// Before that the server decides (a 409 names the date).
export const FIRST_MONTH_MARGIN_MS = 7 * 24 * 60 * 60 * 1000;

/** The end of the first month at the latest, in ms, or NaN. */
export function firstMonthEndsBy(receivedAt) {
  const r = new Date(receivedAt);
  if (!receivedAt || Number.isNaN(r.getTime())) return NaN;
  const end = new Date(r.getTime());
  end.setUTCMonth(end.getUTCMonth() + 1);
  return end.getTime() + FIRST_MONTH_MARGIN_MS;
}

/**
 * The months an extension may still add: [1, 2], [1] or []. Only open,
 * verified requests with a running clock, at most 2 months in all, decided
 * within the first month (Art. 12(3)). The due date itself does not say
 * when the first month ends (an overdue request may still be extended).
 */
export function extendMonths(view, now = new Date()) {
  if (!view || !isOpen(view.status) || view.status === 'awaiting_verification' || !view.dueAt) return [];
  const by = firstMonthEndsBy(view.receivedAt);
  if (!Number.isNaN(by) && now.getTime() > by) return [];
  const left = MAX_EXTENSION_MONTHS - (view.extendedMonths || 0);
  return [1, 2].filter((m) => m <= left);
}

/** Rejection (Art. 12(5)): before processing begins. */
export function canReject(view) {
  return !!view && (view.status === 'awaiting_verification' || view.status === 'queued');
}

/** Retry: failed requests only, and not an access superseded by an erasure. */
export function canRetry(view) {
  return !!view && view.status === 'failed' && !String(view.failureReason || '').startsWith('superseded:');
}

/**
 * The purposes whose objection decision is pending and can be taken: an
 * objection in progress waits for it once the purpose's records are
 * restricted (its part done); one answered before decisions held objections
 * open (completed) still takes it.
 */
export function pendingDecisions(view) {
  if (!view || view.type !== 'objection' || (view.status !== 'in_progress' && view.status !== 'completed')) return [];
  return (view.purposes || [])
    .filter((p) => p.decision === 'pending' && (view.status === 'completed' || p.done))
    .map((p) => p.purpose);
}

/**
 * The purposes whose statutory restriction a completed erasure may keep
 * longer: those it acted on (the server refuses one deleted on erasure).
 */
export function restrictionPurposes(view) {
  if (!view || view.type !== 'erasure' || view.status !== 'completed') return [];
  return (view.purposes || []).map((p) => p.purpose);
}

/** A rectification in progress waits for the DPO to confirm or refuse it (Art. 16). */
export function canDecideRectification(view) {
  return !!view && view.type === 'rectification' && view.status === 'in_progress' && view.rectification?.decision === 'pending';
}

/**
 * The purposes an answered restriction request still holds restricted,
 * which a DPO may lift (the person told first, Art. 18(3)).
 */
export function liftPurposes(view) {
  if (!view || view.type !== 'restriction' || view.status !== 'completed') return [];
  return (view.purposes || []).filter((p) => p.decision === 'restricted').map((p) => p.purpose);
}

/** Every action the state allows. */
export function allowedActions(view, now = new Date()) {
  return {
    extend: extendMonths(view, now),
    reject: canReject(view),
    retry: canRetry(view),
    decide: pendingDecisions(view),
    restrictions: restrictionPurposes(view),
    rectify: canDecideRectification(view),
    lift: liftPurposes(view),
  };
}

/** A required free text: '' when fine, else 'required' or 'tooLong'. */
export function checkText(value) {
  const s = String(value || '');
  if (s.trim() === '') return 'required';
  if ([...s].length > MAX_TEXT) return 'tooLong';
  return '';
}
