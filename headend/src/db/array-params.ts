/**
 * Array parameters as PostgreSQL array literals, written fast. The set-based writers pass a batch as a
 * dozen arrays of a few thousand elements (unnest($1::bigint[], …)); `pg` turns each element into
 * text through its generic path (type checks, a quoted copy, two regular-expression replaces per
 * element), which was about a tenth of the head-end's CPU under full ingest. Arrays of numbers
 * (and nulls) and of strings (and nulls) — the writers' arrays — are written here with the same
 * result; any other array (dates, nested arrays, objects, buffers) is left to `pg` unchanged. There is
 * no library for this beyond `pg` itself (postgres-array parses, it does not write).
 */

const NEEDS_ESCAPE = /["\\]/;

/** The literal of an array of numbers/strings/nulls, or undefined when the array holds anything else. */
export function arrayLiteral(a: readonly unknown[]): string | undefined {
  let kind: 'number' | 'string' | null = null;
  for (const v of a) {
    if (v === null || v === undefined) continue;
    const t = typeof v;
    if (t !== 'number' && t !== 'string') return undefined;
    if (kind === null) kind = t;
    else if (kind !== t) return undefined;
  }
  if (kind === 'number') {
    // String(n) is what pg sends for a number (prepareValue: toString); null → NULL.
    let out = '{';
    for (let i = 0; i < a.length; i++) {
      if (i) out += ',';
      const v = a[i] as number | null | undefined;
      out += v === null || v === undefined ? 'NULL' : String(v);
    }
    return `${out}}`;
  }
  // Strings (or only nulls): every element quoted, as pg does, so 'NULL' or '' stay strings.
  let out = '{';
  for (let i = 0; i < a.length; i++) {
    if (i) out += ',';
    const v = a[i] as string | null | undefined;
    if (v === null || v === undefined) out += 'NULL';
    else out += NEEDS_ESCAPE.test(v) ? `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : `"${v}"`;
  }
  return `${out}}`;
}

/** The parameters with every number/string array written as its literal; the same array when none is. */
export function withArrayLiterals(params: readonly unknown[] | undefined): unknown[] | undefined {
  if (!params) return undefined;
  let out: unknown[] | undefined;
  for (let i = 0; i < params.length; i++) {
    const p = params[i];
    if (!Array.isArray(p) || p.length < 16) continue; // small arrays: not worth a pass
    const lit = arrayLiteral(p);
    if (lit === undefined) continue;
    out ??= [...params];
    out[i] = lit;
  }
  return out ?? (params as unknown[]);
}
