/**
 * Routes translate; SQL lives in stores (headend/README.md, layers). A routes file that queries the
 * database or carries a statement is where a check gets forgotten: the scope one route applies and its
 * neighbour does not. Scans every routes file of the head-end's source.
 */
import { describe, expect, it } from 'vitest';
import { filesBelow, linesMatching } from './scan-sources.js';

const SRC = new URL('../../src/', import.meta.url).pathname;
const SQL = /(\.query\s*[<(])|\b(SELECT\s+[\w*(]|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b/;

describe('no SQL in routes', () => {
  it('every routes file calls stores; none queries or holds a statement', () => {
    const routes = filesBelow(SRC, (n) => /(^|-)routes\.ts$/.test(n));
    expect(routes.length).toBeGreaterThan(15); // the glob still finds the feature folders' routes
    expect(linesMatching(routes, SRC, SQL, { skipComments: true })).toEqual([]);
  });

  it('the pattern catches what it must (so the test above can fail)', () => {
    expect(SQL.test("await db.query('SELECT 1')")).toBe(true);
    expect(SQL.test('q.query<{ id: string }>(')).toBe(true);
    expect(SQL.test("buildingSql: '(SELECT p.building_id FROM premises p)'")).toBe(true);
    expect(SQL.test('`UPDATE meters SET status = $2`')).toBe(true);
    expect(SQL.test("summary: 'Select the readings of a month'")).toBe(false);
    expect(SQL.test("tags: ['registry'], summary: 'Update a premise'")).toBe(false);
  });
});
