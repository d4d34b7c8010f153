import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deadlineClass, isOpen, OPEN_STATUSES, STATUSES } from './classify.js';
import { allowedActions, extendMonths, canReject, canRetry, pendingDecisions, restrictionPurposes, canDecideRectification, liftPurposes, checkText } from './actions.js';

const now = new Date('2026-02-10T12:00:00Z');
const day = 24 * 60 * 60 * 1000;
const at = (ms) => new Date(now.getTime() + ms).toISOString();

test('open statuses', () => {
  assert.deepEqual(OPEN_STATUSES, ['failed', 'awaiting_verification', 'queued', 'in_progress']);
  assert.equal(STATUSES.length, 7);
  assert.ok(isOpen('queued'));
  assert.ok(!isOpen('completed'));
});

test('overdue: open and past due, or the API says so', () => {
  assert.equal(deadlineClass({ status: 'queued', dueAt: at(-1000), overdue: false }, now), 'overdue');
  assert.equal(deadlineClass({ status: 'failed', dueAt: at(day), overdue: true }, now), 'overdue');
  assert.equal(deadlineClass({ status: 'in_progress', dueAt: at(-30 * day) }, now), 'overdue');
});

test('due soon: open and due within the next 7 days', () => {
  assert.equal(deadlineClass({ status: 'queued', dueAt: at(1000), overdue: false }, now), 'due-soon');
  assert.equal(deadlineClass({ status: 'awaiting_verification', dueAt: at(7 * day - 1), overdue: false }, now), 'due-soon');
  assert.equal(deadlineClass({ status: 'queued', dueAt: at(7 * day), overdue: false }, now), '');
  assert.equal(deadlineClass({ status: 'queued', dueAt: at(20 * day), overdue: false }, now), '');
});

test('closed requests are neither, whatever their due date', () => {
  for (const status of ['completed', 'rejected', 'expired']) {
    assert.equal(deadlineClass({ status, dueAt: at(-day) }, now), '');
    assert.equal(deadlineClass({ status, dueAt: at(day) }, now), '');
  }
});

test('no due date, or a bad one: neither', () => {
  assert.equal(deadlineClass({ status: 'queued' }, now), '');
  assert.equal(deadlineClass({ status: 'queued', dueAt: 'soon' }, now), '');
  assert.equal(deadlineClass(null, now), '');
});

test('extend: open, verified, at most 2 months in all, within the first month', () => {
  const received = at(-2 * day);
  assert.deepEqual(extendMonths({ status: 'queued', receivedAt: received, dueAt: at(10 * day) }, now), [1, 2]);
  assert.deepEqual(extendMonths({ status: 'in_progress', receivedAt: received, dueAt: at(10 * day), extendedMonths: 1 }, now), [1]);
  assert.deepEqual(extendMonths({ status: 'queued', receivedAt: received, dueAt: at(40 * day), extendedMonths: 2 }, now), []);
  // Overdue, but the first month from receipt has not ended: the server allows it.
  assert.deepEqual(extendMonths({ status: 'in_progress', receivedAt: received, dueAt: at(-day) }, now), [1, 2]);
  // Received long ago: the first month has surely ended.
  assert.deepEqual(extendMonths({ status: 'queued', receivedAt: at(-60 * day), dueAt: at(-day) }, now), []);
  assert.deepEqual(extendMonths({ status: 'queued', receivedAt: at(-33 * day), dueAt: at(-day) }, now), [1, 2]);
  assert.deepEqual(extendMonths({ status: 'awaiting_verification', receivedAt: received, dueAt: at(10 * day) }, now), []);
  assert.deepEqual(extendMonths({ status: 'completed', receivedAt: received, dueAt: at(10 * day) }, now), []);
  assert.deepEqual(extendMonths({ status: 'queued', receivedAt: received }, now), []);
});

test('reject before processing; retry failed only; decisions of objections in progress (parts done) or completed', () => {
  assert.ok(canReject({ status: 'awaiting_verification' }));
  assert.ok(canReject({ status: 'queued' }));
  assert.ok(!canReject({ status: 'in_progress' }));
  assert.ok(canRetry({ status: 'failed', failureReason: 'dead-lettered' }));
  assert.ok(!canRetry({ status: 'failed', failureReason: 'superseded: erased' }));
  assert.ok(!canRetry({ status: 'queued' }));
  const objection = { type: 'objection', status: 'completed', purposes: [{ purpose: 'customer_care', decision: 'pending' }, { purpose: 'marketing' }, { purpose: 'x', decision: 'upheld:applying' }] };
  assert.deepEqual(pendingDecisions(objection), ['customer_care']);
  assert.deepEqual(pendingDecisions({ ...objection, status: 'in_progress' }), []); // not restricted yet
  const restricted = { ...objection, status: 'in_progress', purposes: [{ purpose: 'customer_care', decision: 'pending', done: true }, { purpose: 'y', decision: 'pending', done: false }] };
  assert.deepEqual(pendingDecisions(restricted), ['customer_care']);
  assert.deepEqual(pendingDecisions({ ...restricted, status: 'queued' }), []);
  assert.deepEqual(pendingDecisions({ ...objection, type: 'access' }), []);
  assert.deepEqual(allowedActions({ status: 'failed', receivedAt: at(-day), dueAt: at(day), failureReason: 'x' }, now), { extend: [1, 2], reject: false, retry: true, decide: [], restrictions: [], rectify: false, lift: [] });
});

test('restrictions: kept longer only for a completed erasure, its own purposes', () => {
  const erasure = { type: 'erasure', status: 'completed', purposes: [{ purpose: 'marketing', done: true }, { purpose: 'billing', done: true }] };
  assert.deepEqual(restrictionPurposes(erasure), ['marketing', 'billing']);
  assert.deepEqual(restrictionPurposes({ ...erasure, status: 'in_progress' }), []);
  assert.deepEqual(restrictionPurposes({ ...erasure, type: 'objection' }), []);
  assert.deepEqual(restrictionPurposes(null), []);
});

test('rectifications: decided while in progress and pending; restrictions lifted purpose by purpose while held', () => {
  const rectification = { type: 'rectification', status: 'in_progress', rectification: { attribute: 'name', decision: 'pending' } };
  assert.ok(canDecideRectification(rectification));
  assert.ok(!canDecideRectification({ ...rectification, rectification: { attribute: 'name', decision: 'confirmed' } }));
  assert.ok(!canDecideRectification({ ...rectification, status: 'completed' }));
  assert.ok(!canDecideRectification({ ...rectification, type: 'objection' }));
  assert.ok(!canDecideRectification({ type: 'rectification', status: 'in_progress' }));
  const restriction = { type: 'restriction', status: 'completed', purposes: [{ purpose: 'customer_care', decision: 'restricted' }, { purpose: 'billing', decision: 'lifted:applying' }, { purpose: 'marketing', decision: 'lifted' }] };
  assert.deepEqual(liftPurposes(restriction), ['customer_care']);
  assert.deepEqual(liftPurposes({ ...restriction, status: 'in_progress' }), []);
  assert.deepEqual(liftPurposes({ ...restriction, type: 'objection' }), []);
  assert.deepEqual(liftPurposes(null), []);
});

test('free texts: required, at most 2000 characters', () => {
  assert.equal(checkText(''), 'required');
  assert.equal(checkText('   \n'), 'required');
  assert.equal(checkText('ok'), '');
  assert.equal(checkText('ü'.repeat(2000)), '');
  assert.equal(checkText('x'.repeat(2001)), 'tooLong');
});
