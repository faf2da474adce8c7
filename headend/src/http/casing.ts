/**
 * The API speaks one JSON casing: snake_case keys, in requests and responses, like the database's
 * columns that most bodies mirror. Domain modules keep TypeScript's camelCase; a route converts at
 * the boundary with these two helpers and nothing else (snakecase-keys turns a name into snake_case
 * (change-case's word splitting); only plain objects and arrays are walked, Dates and strings untouched).
 *
 * - `toWire(domainObject)` → snake_case keys, deep. Keys that are data, not names (a map keyed by
 *   resource, month or zone), pass unchanged: name the map's own key in `keep` (either spelling).
 * - `fromWire(schema)` wraps a request schema written in snake_case so that a client still sending
 *   the camelCase keys of earlier versions (`buildingId`, `zoneShares`) is understood: its keys are
 *   snake_cased before validation. Where both spellings arrive, the snake_case one wins. A route then
 *   turns the validated body into the domain's shape with `toDomain`.
 */
import snakecaseKeys from 'snakecase-keys';
import { z } from 'zod';

const PLAIN = {}.constructor;
const isPlain = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && v.constructor === PLAIN;
const camel = (k: string) => k.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
const keeps = (keep: string[] | undefined) => {
  const names = new Set((keep ?? []).flatMap((k) => [k, camel(k), k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)]));
  return (key: string) => !names.has(key);
};

function snake(value: unknown, keep: string[] | undefined): unknown {
  if (Array.isArray(value)) return value.map((v) => snake(v, keep));
  if (!isPlain(value)) return value;
  return snakecaseKeys(value, { deep: true, shouldRecurse: keeps(keep) });
}

/** Deep snake_case keys; the values under the keys named in `keep` (data maps) are left as they are. */
export function toWire<T>(value: T, opts: { keep?: string[] } = {}): unknown {
  return snake(value, opts.keep);
}

/** Deep camelCase keys: a validated snake_case body into the domain's spelling (`keep` as for toWire). */
export function toDomain<T>(value: unknown, opts: { keep?: string[] } = {}): T {
  if (Array.isArray(value)) return value.map((v) => toDomain(v, opts)) as T;
  if (!isPlain(value)) return value as T;
  const stop = keeps(opts.keep);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[camel(k)] = stop(k) ? toDomain(v, opts) : v;
  return out as T;
}

function snakeAliases(value: unknown, keep: string[] | undefined): unknown {
  if (Array.isArray(value)) return value.map((v) => snakeAliases(v, keep));
  if (!isPlain(value)) return value;
  const stop = keeps(keep);
  const out: Record<string, unknown> = {};
  // camelCase keys first, so that a key sent in both spellings ends with the snake_case one's value.
  const entries = Object.entries(value).sort(([a], [b]) => Number(/[A-Z]/.test(b)) - Number(/[A-Z]/.test(a)));
  for (const [k, v] of entries) out[snakeKey(k)] = stop(k) ? snakeAliases(v, keep) : v;
  return out;
}
const snakeKey = (k: string) => (/[A-Z]/.test(k) ? Object.keys(snakecaseKeys({ [k]: 0 }))[0] : k);

/** A snake_case request schema that also understands the camelCase keys of earlier versions. */
export function fromWire<S extends z.ZodType>(schema: S, opts: { keep?: string[] } = {}) {
  return z.preprocess((v) => snakeAliases(v, opts.keep), schema);
}
