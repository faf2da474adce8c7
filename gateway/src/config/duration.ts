/**
 * Durations and sizes as people write them in a config file ("15m", "250ms", "64MiB"),
 * and the wall-clock alignment of poll schedules: a "15m" meter is read at :00, :15, :30, :45
 * so readings of all meters on a site line up for imbalance reports.
 */
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(text);
  if (!m) return null;
  return Math.round(Number(m[1]) * UNITS[m[2]]);
}

const SIZE_UNITS: Record<string, number> = { '': 1, B: 1, KB: 1e3, MB: 1e6, GB: 1e9, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

export function parseSize(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|KiB|MiB|GiB)?\s*$/.exec(text);
  if (!m) return null;
  return Math.round(Number(m[1]) * SIZE_UNITS[m[2] ?? '']);
}

/**
 * Next instant (ms since epoch) strictly after `now` that is a multiple of `intervalMs`
 * counted from midnight UTC plus `offsetMs`. Intervals that do not divide a day still align
 * to the epoch, which keeps them stable across restarts.
 */
export function nextAlignedTime(now: number, intervalMs: number, offsetMs = 0): number {
  const base = Math.floor((now - offsetMs) / intervalMs) * intervalMs + offsetMs;
  return base + intervalMs;
}

/** The aligned slot a time belongs to (used to count missed polls between two slots). */
export function slotOf(time: number, intervalMs: number, offsetMs = 0): number {
  return Math.floor((time - offsetMs) / intervalMs);
}
