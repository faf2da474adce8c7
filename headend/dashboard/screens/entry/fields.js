/**
 * The staff entry screen's pure pieces (no DOM, no fetch): which meters a target holds, the premise
 * picker's matching, the typed value's parsing, and the server's refusals in the user's language.
 * Kept apart from the components so node tests import them without a browser.
 */
import { addMessages, has, locale, t, tc } from '../../i18n.js';
import { detailText, ERROR_TEXTS } from '../../../web-shared/errors.js';
import { fmtNumber } from '../../format.js';
// The fields of entry are the residents' page's too: one shared piece.
import { fieldKey, messagesByField, messagesByMeter, zonesOf } from '../../../web-shared/entry-fields.js';

export { fieldKey, zonesOf };

/** The entry target of the building's own meters (ОДПУ, common areas); any other target is a premise id. */
export const BUILDING = 'building';

/** Which meters an entry target holds: a premise's apartment meters, or the building's own. */
export function metersOf(meters, target) {
  return meters.filter((m) => m.status === 'active' && (target === BUILDING ? m.premise_id == null : String(m.premise_id) === String(target)));
}

/** Premises whose number starts with (or equals) what was typed, in natural order (2 before 10). */
export function matchPremises(premises, typed) {
  const q = String(typed ?? '').trim().toLowerCase();
  return premises
    .filter((p) => !q || String(p.number).toLowerCase().startsWith(q))
    .sort((a, b) => String(a.number).localeCompare(String(b.number), undefined, { numeric: true }));
}

/**
 * The premise whose number is exactly what was typed (spaces and case aside), else undefined: "1"
 * is flat 1 even with flats 10–19 in the building, and "1" never means flat 10.
 */
export function exactPremise(premises, typed) {
  const q = String(typed ?? '').trim().toLowerCase();
  return q ? premises.find((p) => String(p.number).trim().toLowerCase() === q) : undefined;
}

/** "12,5" (a Russian keyboard) or "12.5" → 12.5; empty → null; anything else → NaN. */
export function parseValue(text) {
  const s = String(text ?? '').trim().replace(/\s/g, '').replace(',', '.');
  if (!s) return null;
  return /^-?\d+(\.\d+)?$/.test(s) ? Number(s) : NaN;
}

addMessages(ERROR_TEXTS);

/**
 * The server's refusals and warnings in the user's language: a detail with its code and params from the
 * one catalogue (web-shared/errors.js). An answer without codes (an older server's, kept in the offline
 * queue) is English naming the meter: each known wording → its code and numbers, an unknown one as the
 * server said it, without its "meter N:" prefix.
 */
const num = (x) => fmtNumber(Number(x), 3);
const REFUSALS = [
  [/is less than the previous reading ([\d.]+)/, 'below_previous', (m) => ({ previous: num(m[1]) })],
  [/is more than the next reading ([\d.]+)/, 'above_next', (m) => ({ next: num(m[1]) })],
  [/is below the previous reading ([\d.]+); read as the \d+-digit register rolling over zero, consumption ([\d.]+)/, 'rollover', (m) => ({ previous: num(m[1]), consumption: num(m[2]) })],
  [/consumption ([\d.]+) is more than ([\d.]+)× the average of the last 3 months \(([\d.]+) a month\)/, 'high', (m) => ({ consumption: num(m[1]), factor: num(m[2]), average: num(m[3]) })],
  [/first reading ([\d.]+) is more than this premise could have used/, 'first_too_high', (m) => ({ value: num(m[1]) })],
  [/the collection window is closed/, 'window_closed'],
  [/outside the current collection window/, 'outside_window'],
  [/verification expired on (\S+?);/, 'verification_expired', (m) => ({ date: m[1] })],
  [/only whole numbers are accepted/, 'not_integer'],
  [/does not fit the register's (\d+) digits/, 'too_many_digits', (m) => ({ digits: m[1] })],
  [/already taken by the managing organisation \(([\d.]+)\)/, 'taken_by_staff', (m) => ({ value: num(m[1]) })],
  [/collection of readings for this resource is disabled/, 'disabled'],
  [/you may not write|needs the permission/, 'forbidden'],
  [/^meter \d+ not found/, 'not_found'],
  [/a reading is a non-negative number/, 'negative'],
];
export function refusalText(detail) {
  if (detail && typeof detail === 'object') {
    const coded = detailText(detail, { t, has, locale });
    if (coded !== null) return coded;
  }
  const text = String((detail && typeof detail === 'object' ? detail.message : detail) ?? '');
  for (const [re, code, params] of REFUSALS) {
    const m = re.exec(text);
    if (m) return t(`refusal.${code}`, params ? params(m) : undefined);
  }
  return text.replace(/^meter \d+:\s*/, '');
}

/** Error details of the API ("readings.N") → the field (meter and zone) of the N-th submitted item, in the user's words. */
export const detailsByField = (details, submitted) => messagesByField(details, submitted, refusalText);

/** The same per meter (zones merged). */
export const detailsByMeter = (details, submitted) => messagesByMeter(details, submitted, refusalText);

/** "m3" → "м³" in Russian; a unit without a label as it is. */
export const unitLabel = (unit) => (unit ? tc('unit', unit) : '');
