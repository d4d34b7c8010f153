import { test } from 'node:test';
import assert from 'node:assert/strict';
import { csvCell, csvRow, registerCsv, registerFilename, REGISTER_COLUMNS } from './csv.js';

test('plain cells are written as they are', () => {
  assert.equal(csvCell('access'), 'access');
  assert.equal(csvCell(2), '2');
  assert.equal(csvCell(0), '0');
  assert.equal(csvCell(undefined), '');
  assert.equal(csvCell(null), '');
  assert.equal(csvCell('a***@e***.com'), 'a***@e***.com');
  assert.equal(csvCell('2026-01-31T09:15:00.123Z'), '2026-01-31T09:15:00.123Z');
});

test('RFC 4180 quoting: comma, quote, line breaks, outer spaces', () => {
  assert.equal(csvCell('a,b'), '"a,b"');
  assert.equal(csvCell('say "hi"'), '"say ""hi"""');
  assert.equal(csvCell('one\ntwo'), '"one\ntwo"');
  assert.equal(csvCell('one\r\ntwo'), '"one\r\ntwo"');
  assert.equal(csvCell(' x'), '" x"');
});

test('spreadsheet formulas are neutralised with a single quote', () => {
  assert.equal(csvCell('=HYPERLINK("http://x","y")'), '"\'=HYPERLINK(""http://x"",""y"")"');
  assert.equal(csvCell('+1'), "'+1");
  assert.equal(csvCell('-2+3'), "'-2+3");
  assert.equal(csvCell('@SUM(A1)'), "'@SUM(A1)");
  assert.equal(csvCell('\t=1'), "'\t=1");
  assert.equal(csvCell('=1,2'), '"\'=1,2"');
  assert.equal(csvCell('a=b'), 'a=b');
});

test('rows end with CRLF', () => {
  assert.equal(csvRow(['a', 'b,c']), 'a,"b,c"\r\n');
});

test('the register: header and one line per request, masked subject as given', () => {
  const csv = registerCsv([
    { id: '01JD3Q5ZKX8T4V2N6M9P0R1S2T', type: 'access', status: 'queued', subject: 'g***@e***.com', receivedAt: '2026-01-31T09:15:00.123Z', dueAt: '2026-04-30T23:59:59Z', extendedMonths: 2, overdue: false },
    { id: '01JD3S1A2B3C4D5E6F7G8H9J0K', type: 'objection', status: 'completed', subject: '=e***@x***.com', receivedAt: '2026-01-31T10:00:00Z', dueAt: '2026-02-28T23:59:59Z', completedAt: '2026-01-31T10:02:10Z' },
  ]);
  const lines = csv.split('\r\n');
  assert.equal(lines[0], REGISTER_COLUMNS.join(','));
  assert.equal(lines[0], 'id,type,status,subject,receivedAt,dueAt,completedAt,extended');
  assert.equal(lines[1], '01JD3Q5ZKX8T4V2N6M9P0R1S2T,access,queued,g***@e***.com,2026-01-31T09:15:00.123Z,2026-04-30T23:59:59Z,,2');
  assert.equal(lines[2], "01JD3S1A2B3C4D5E6F7G8H9J0K,objection,completed,'=e***@x***.com,2026-01-31T10:00:00Z,2026-02-28T23:59:59Z,2026-01-31T10:02:10Z,0");
  assert.equal(lines[3], '');
  assert.equal(lines.length, 4);
});

test('an empty register is just its header', () => {
  assert.equal(registerCsv([]), 'id,type,status,subject,receivedAt,dueAt,completedAt,extended\r\n');
});

test('the file name carries the local date', () => {
  assert.equal(registerFilename(new Date(2026, 0, 5, 12)), 'dsr-register-2026-01-05.csv');
  assert.match(registerFilename(), /^dsr-register-\d{4}-\d{2}-\d{2}\.csv$/);
});
