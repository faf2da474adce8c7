/**
 * Every writer of what a heat statement reads marks the statement's day (readings/statement-marks.ts): the source's
 * functions that insert or update readings, reading_rows, meter_archive_ns or reading_reviews must each
 * mark — with the mark SQL (markDaysSql), markStatementDays, or the readings core's beforeWrite, which
 * calls it — in the same function, so the next writer added without it fails here instead of leaving
 * signed statements silently outdated. The one exception, named: deleting a failed import's rows, which
 * were never visible to a statement.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = new URL('../../src/', import.meta.url).pathname;
const WRITES = /\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM|COPY|MERGE\s+INTO)\s+(readings|reading_rows|meter_archive_ns|reading_reviews)\b/i;
const MARKS = /\b(markDaysSql|markStatementDays|beforeWrite)\(/;
/** Writers that need no mark, and why. */
const EXEMPT: Record<string, string> = {
  'readings/import-staging.ts discardImport': 'a refused or abandoned import\'s rows were never visible to a statement',
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The source's top-level functions, each with its text (from its declaration to the next one). */
function functions(text: string): { name: string; body: string }[] {
  const starts = [...text.matchAll(/^(?:export )?(?:async )?function (\w+)/gm)];
  return starts.map((m, i) => ({ name: m[1], body: text.slice(m.index, starts[i + 1]?.index ?? text.length) }));
}

describe('every writer of a statement\'s inputs marks its day', () => {
  it('each function writing readings, reading_rows, meter_archive_ns or reading_reviews marks, or is exempt by name', () => {
    const writers = files(SRC).flatMap((f) => functions(readFileSync(f, 'utf8'))
      .filter((fn) => WRITES.test(fn.body)).map((fn) => ({ at: `${relative(SRC, f)} ${fn.name}`, marks: MARKS.test(fn.body) })));
    // The writers this rule is about exist (so the check below can fail): the bulk write, the version writers, the archive records, the reviews.
    expect(writers.map((w) => w.at)).toEqual(expect.arrayContaining([
      'readings/bulk-write.ts writeReadingRows', 'readings/write-store.ts insertVersion', 'readings/write-store.ts insertVersions',
      'ingest/writer.ts writeArchiveRecords', 'validation/review-store.ts reviewReading',
    ]));
    expect(writers.filter((w) => !w.marks && !EXEMPT[w.at]).map((w) => w.at)).toEqual([]);
    expect(Object.keys(EXEMPT).filter((k) => !writers.some((w) => w.at === k))).toEqual([]);
  });
});
