/**
 * The readings table has one writer: src/readings/. Any other file of the head-end that inserts,
 * updates, deletes or copies into readings bypasses the rules every entry must pass (rights, window,
 * neighbours, versions) — the way a route once stored a reading below the previous one with no check.
 */
import { relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { filesBelow, linesMatching } from '../layers/scan-sources.js';

const SRC = new URL('../../src/', import.meta.url).pathname;
const WRITES = /\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM|COPY|TRUNCATE(\s+TABLE)?|MERGE\s+INTO)\s+(readings|reading_rows)\b/i;

describe('only src/readings/ writes the readings table', () => {
  it('no statement writing readings outside src/readings/', () => {
    const outside = filesBelow(SRC, (n) => n.endsWith('.ts')).filter((f) => !relative(SRC, f).startsWith('readings/'));
    expect(linesMatching(outside, SRC, WRITES, { skipComments: false })).toEqual([]);
  });

  it('the pattern catches what it must (so the test above can fail)', () => {
    expect(WRITES.test('`INSERT INTO readings (meter_id, time)')).toBe(true);
    expect(WRITES.test('UPDATE readings SET value = 1')).toBe(true);
    expect(WRITES.test('delete from readings where')).toBe(true);
    expect(WRITES.test('SELECT * FROM readings')).toBe(false);
    expect(WRITES.test('INSERT INTO reading_reviews')).toBe(false);
    // The hypertable under the readings view (import staging writes it directly, from src/readings/ only).
    expect(WRITES.test('DELETE FROM reading_rows WHERE import_id = $1')).toBe(true);
  });
});
