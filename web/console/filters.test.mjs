import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dueBeforeParam, listQuery } from './filters.js';

test('a day becomes the RFC 3339 time of its local start, without fractions', () => {
  const got = dueBeforeParam('2026-03-01');
  assert.match(got, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  assert.equal(new Date(got).getTime(), new Date(2026, 2, 1).getTime());
});

test('empty or impossible days give no parameter', () => {
  assert.equal(dueBeforeParam(''), '');
  assert.equal(dueBeforeParam(undefined), '');
  assert.equal(dueBeforeParam('2026-02-30'), '');
  assert.equal(dueBeforeParam('01.03.2026'), '');
});

test('only the filters set are sent', () => {
  assert.deepEqual(listQuery({}), {});
  assert.deepEqual(listQuery({ status: '', type: '', dueBefore: '', overdue: false }), {});
  const q = listQuery({ status: 'queued', type: 'access', dueBefore: '2026-03-01', overdue: true });
  assert.equal(q.status, 'queued');
  assert.equal(q.type, 'access');
  assert.equal(q.overdue, 'true');
  assert.equal(q.dueBefore, dueBeforeParam('2026-03-01'));
  assert.equal(q.awaitingDecision, undefined);
  assert.deepEqual(listQuery({ awaitingDecision: true }), { awaitingDecision: 'true' });
});
