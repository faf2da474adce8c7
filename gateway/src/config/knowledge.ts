/**
 * What the gateway knows how to talk to: register maps, meter profiles, line speeds. The config
 * schema checks names against these lists, so `check`, `run` and a remote `set_config` refuse the
 * same mistakes with the same words — a name nobody implements fails at commissioning, not as a
 * warning at the first poll. Pure.
 */
import { REGISTER_MAPS } from '@amr/protocols';
import { MBUS_PROFILES } from '../profiles/mbus-profiles.js';

/** Serial line speeds (the standard UART set that USB adapters and meters offer). */
export const STANDARD_BAUDS = [300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200] as const;
/** EN 13757-2 allows 300…38400 Bd on M-Bus; meters ship at 300, 2400 or 9600. */
export const MBUS_BAUDS = [300, 600, 1200, 2400, 4800, 9600, 19200, 38400] as const;

export function registerMapNames(): string[] {
  return Object.keys(REGISTER_MAPS);
}

export function profileNames(): string[] {
  return ['auto', ...MBUS_PROFILES.map((p) => p.name)];
}

/** Levenshtein distance (insert, delete, substitute, each 1), case-insensitive. */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const cur = [i];
    for (let j = 1; j <= t.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (s[i - 1] === t[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[t.length];
}

/**
 * The known name a typo most likely meant: the nearest by edit distance, if it is near enough to
 * be a slip of the keyboard (at most a third of the name), or one name containing the other
 * ("sdm630-v2" → "sdm630"). Null when nothing is plausibly meant.
 */
export function closestName(name: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(name, k);
    if (d < bestD) [best, bestD] = [k, d];
  }
  if (best !== null && bestD <= Math.max(2, Math.floor(name.length / 3))) return best;
  const lower = name.toLowerCase();
  return known.find((k) => k.length >= 3 && (lower.includes(k.toLowerCase()) || k.toLowerCase().includes(lower))) ?? null;
}

/** "unknown register map "x"; known: a, b, c — did you mean "b"?" */
export function unknownNameMessage(what: string, name: string, known: readonly string[]): string {
  const near = closestName(name, known);
  return `unknown ${what} "${name}"; known: ${known.join(', ')}${near ? ` — did you mean "${near}"?` : ''}`;
}

/** Problem with a bus's baud for its protocol, or null. */
export function baudProblem(protocol: 'mbus' | 'modbus' | 'pulse', baud: number): string | null {
  const set: readonly number[] = protocol === 'mbus' ? MBUS_BAUDS : STANDARD_BAUDS;
  if (set.includes(baud)) return null;
  const near = set.reduce((a, b) => (Math.abs(b - baud) < Math.abs(a - baud) ? b : a));
  const what = protocol === 'mbus' ? 'an M-Bus baud rate (EN 13757-2; meters usually run at 300, 2400 or 9600)' : 'a standard baud rate';
  return `${baud} is not ${what}; use one of ${set.join(', ')} (closest: ${near})`;
}
