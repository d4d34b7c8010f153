// The request register as CSV (RFC 4180) for the accountability file
// (Art. 5(2) GDPR). Pure functions: no DOM, no network.

/** The columns of the register, in order. */
export const REGISTER_COLUMNS = ['id', 'type', 'status', 'subject', 'receivedAt', 'dueAt', 'completedAt', 'extended'];

// A cell a spreadsheet would read as a formula (or as the start of one)
// begins with one of these; OWASP adds tab and carriage return.
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One cell: formulas neutralised with a leading single quote, then quoted
 * when it holds a comma, a quote, a line break or spaces at an end.
 */
export function csvCell(value) {
  let s = value === undefined || value === null ? '' : String(value);
  if (FORMULA_START.test(s)) s = "'" + s;
  if (/[",\r\n]/.test(s) || /^\s|\s$/.test(s)) s = '"' + s.replace(/"/g, '""') + '"';
  return s;
}

/** One record (CRLF-terminated, as RFC 4180 writes it). */
export function csvRow(cells) {
  return cells.map(csvCell).join(',') + '\r\n';
}

/** The register's row of one request view of GET /v1/dpo/requests. */
export function registerRow(view) {
  return [
    view.id,
    view.type,
    view.status,
    view.subject, // masked by the API (a***@e***.com); never unmasked here
    view.receivedAt,
    view.dueAt,
    view.completedAt,
    view.extendedMonths ? view.extendedMonths : 0,
  ];
}

/** The whole register: a header line, then one line per request. */
export function registerCsv(views) {
  let out = csvRow(REGISTER_COLUMNS);
  for (const v of views) out += csvRow(registerRow(v));
  return out;
}

/** dsr-register-YYYY-MM-DD.csv, the day in the browser's time zone. */
export function registerFilename(now = new Date()) {
  const p = (n) => String(n).padStart(2, '0');
  return `dsr-register-${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())}.csv`;
}
