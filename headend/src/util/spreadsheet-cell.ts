/**
 * Formula injection in exported spreadsheets (CSV and Excel): a text cell that begins with = + - @, a
 * tab or a carriage return may be run as a formula when the file is opened (=HYPERLINK(…) sending data
 * away, @SUM(…), DDE). Every CSV/Excel export passes its cells through `safeCell`, which prefixes such
 * text with ' (the OWASP rule) so it shows as text. Numbers stay numbers: a number value, and text that
 * is just a number ("-12.50", a negative amount formatted as roubles), pass unchanged.
 */

const FORMULA_START = /^[=+\-@\t\r]/;
const PLAIN_NUMBER = /^[+-]?(\d+([.,]\d+)?|[.,]\d+)([eE][+-]?\d+)?$/;

export function safeCell<T>(v: T): T | string {
  if (typeof v !== 'string' || !FORMULA_START.test(v) || PLAIN_NUMBER.test(v)) return v;
  return `'${v}`;
}
