/**
 * Array parameters written as literals by the head-end (db/array-params.ts) arrive exactly as `pg`'s
 * own encoding delivers them, on both engines: numbers of every shape, nulls, and strings that need
 * quoting ('NULL', '', quotes, backslashes, commas, braces, Cyrillic). Arrays the fast path does not
 * take (dates, mixed) still go through `pg`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arrayLiteral } from '../../src/db/array-params.js';
import { openTestDb, TEST_ENGINE } from '../engine.js';
import type { OpenedDb } from '../../src/db/index.js';

const pad = <T>(xs: T[]): T[] => [...xs, ...Array.from({ length: 16 }, () => xs[0])]; // past the small-array cut-off

describe(`array parameters (${TEST_ENGINE})`, () => {
  let opened: OpenedDb;
  beforeAll(async () => { opened = await openTestDb(); });
  afterAll(async () => { await opened?.close(); });

  it('numbers and nulls: float8 and bigint round-trip exactly', async () => {
    const floats = pad([0.1, -0, 1e21, 123456.789, 5e-324, -1.5, null, 17, Number.MAX_SAFE_INTEGER]);
    const { rows } = await opened.db.query<{ v: number | null }>('SELECT v FROM unnest($1::float8[]) WITH ORDINALITY AS k(v, i) ORDER BY i', [floats]);
    expect(rows.map((r) => r.v)).toEqual(floats.map((v) => (v === null ? null : v === 0 ? 0 : v)));
    const ids = pad([1, 9007199254740991, null, 42]);
    const { rows: r2 } = await opened.db.query<{ v: number | null }>('SELECT v FROM unnest($1::bigint[]) WITH ORDINALITY AS k(v, i) ORDER BY i', [ids]);
    expect(r2.map((r) => r.v)).toEqual(ids);
  });

  it('strings that need quoting stay the same strings; null stays NULL', async () => {
    const texts = pad(['plain', 'NULL', '', 'a "quoted" word', 'back\\slash', 'comma, {braces}', 'кВт·ч', ' spaced ', null, 'tab\there']);
    const { rows } = await opened.db.query<{ v: string | null; isnull: boolean }>(
      'SELECT v, v IS NULL AS isnull FROM unnest($1::text[]) WITH ORDINALITY AS k(v, i) ORDER BY i', [texts]);
    expect(rows.map((r) => r.v)).toEqual(texts);
    expect(rows.filter((r) => r.isnull)).toHaveLength(1);
  });

  it('inside a transaction too; dates and mixed arrays are left to pg', async () => {
    const at = pad([new Date('2026-02-01T00:00:00Z'), new Date('2026-02-01T00:15:00.123Z')]);
    const mixed = pad([1, 'two', null]);
    const got = await opened.db.tx(async (q) => {
      const a = await q.query<{ t: Date }>('SELECT t FROM unnest($1::timestamptz[]) WITH ORDINALITY AS k(t, i) ORDER BY i', [at]);
      const b = await q.query<{ v: string | null }>('SELECT v FROM unnest($1::text[]) WITH ORDINALITY AS k(v, i) ORDER BY i', [mixed]);
      return { a: a.rows.map((r) => r.t.toISOString()), b: b.rows.map((r) => r.v) };
    });
    expect(got.a).toEqual(at.map((d) => d.toISOString()));
    expect(got.b).toEqual(mixed.map((v) => (v === null ? null : String(v))));
  });

  it('the literal itself: which arrays the fast path takes', () => {
    expect(arrayLiteral([1, null, 2.5])).toBe('{1,NULL,2.5}');
    expect(arrayLiteral(['a"b', 'c\\d', null])).toBe('{"a\\"b","c\\\\d",NULL}');
    expect(arrayLiteral([null, null])).toBe('{NULL,NULL}');
    expect(arrayLiteral([new Date(0)])).toBeUndefined();
    expect(arrayLiteral([1, 'x'])).toBeUndefined();
    expect(arrayLiteral([[1]])).toBeUndefined();
  });
});
