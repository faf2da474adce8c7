/**
 * Zod types for spreadsheet cells (always text on the way in): empty → absent, "45,6" → 45.6,
 * "да"/"yes"/"1" → true, "31.12.2024" → 2024-12-31. Row schemas are built from these.
 */
import { z } from 'zod';

const blankToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : typeof v === 'string' ? v.trim() : v);

/** A cell as the user typed it, for an error message (cells are text; anything else shown as JSON). */
const shown = (v: unknown): string =>
  (v == null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v));

export const text = (max = 500) => z.preprocess(blankToUndefined, z.string().max(max));
/** An optional cell: blank → absent, before the inner type sees it. */
export const opt = <T extends z.ZodType>(s: T) => z.preprocess(blankToUndefined, s.optional());
export const optText = (max = 500) => opt(text(max));

export const num = () => z.preprocess((v) => {
  const s = blankToUndefined(v);
  if (typeof s !== 'string') return s;
  const n = Number(s.replace(/\s/g, '').replace(',', '.'));
  return Number.isNaN(n) ? s : n;
}, z.number({ error: (i) => (i.input === undefined ? 'required' : `not a number: "${shown(i.input)}"`) }));
export const int = () => num().pipe(z.number().int('must be a whole number'));

const TRUE = new Set(['true', 'yes', 'y', '1', 'да', 'д', '+']);
const FALSE = new Set(['false', 'no', 'n', '0', 'нет', 'н', '-']);
export const bool = () => z.preprocess((v) => {
  const s = blankToUndefined(v);
  if (typeof s !== 'string') return s;
  const l = s.toLowerCase();
  return TRUE.has(l) ? true : FALSE.has(l) ? false : s;
}, z.boolean({ error: (i) => `not yes/no: "${shown(i.input)}"` }));

export const date = () => z.preprocess((v) => {
  const s = blankToUndefined(v);
  if (typeof s !== 'string') return s;
  const ru = /^(\d{1,2})\.(\d{1,2})\.(\d{4})$/.exec(s);
  return ru ? `${ru[3]}-${ru[2].padStart(2, '0')}-${ru[1].padStart(2, '0')}` : s.slice(0, 10);
}, z.iso.date({ error: (i) => `not a date (YYYY-MM-DD or DD.MM.YYYY): "${shown(i.input)}"` }));
