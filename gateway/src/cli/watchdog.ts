/**
 * systemd watchdog without a native sd_notify binding: when systemd set NOTIFY_SOCKET (unit has
 * WatchdogSec= and NotifyAccess=all), we run `systemd-notify WATCHDOG=1` at half the interval —
 * but only while the event loop is responsive and `check()` says healthy: the same judgement as
 * /health's 200/503 (a bus unavailable or all its meters silent, the broker away, beyond the grace),
 * plus a wedged bus. An unhealthy gateway stops pinging and systemd restarts it; the outbox and the
 * per-meter state are on disk, so a restart loses no reading and no meter_back.
 *
 * A restart cannot cure everything (a meter that is really dead, a broker down for a day): the pings
 * are withheld only after the gateway has been unhealthy for `holdMs`, which the CLI doubles with each
 * restart for health in a row (restartHoldMs), so such a site restarts at most about once an hour
 * instead of every few minutes.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

export interface WatchdogOptions {
  env?: NodeJS.ProcessEnv;
  /** Sends one sd_notify message (default: the systemd-notify helper). */
  notify?: (msg: string) => void;
  /** Unhealthy this long (continuously) before the pings stop; default 0. */
  holdMs?: number;
  /** Told once when the pings stop, with the reasons. */
  onWithhold?: (problems: string[]) => void;
  /** Told once when they resume. */
  onResume?: () => void;
  /** Ping period override (default half of WATCHDOG_USEC, at least 1 s). */
  periodMs?: number;
  now?: () => number;
}

export function startWatchdog(check: () => { ok: boolean; problems: string[] }, o: WatchdogOptions = {}): () => void {
  const env = o.env ?? process.env;
  const usec = Number(env.WATCHDOG_USEC ?? 0);
  if (!env.NOTIFY_SOCKET || !usec) return () => undefined;
  const notify = o.notify ?? ((msg: string) => execFile('systemd-notify', [`--pid=${process.pid}`, msg], () => undefined));
  const now = o.now ?? Date.now;
  notify('READY=1');
  let unhealthySince: number | null = null;
  let withholding = false;
  const t = setInterval(() => {
    let h: { ok: boolean; problems: string[] };
    try {
      h = check();
    } catch (e) {
      h = { ok: false, problems: [`health check failed: ${(e as Error).message}`] };
    }
    if (h.ok) {
      unhealthySince = null;
      if (withholding) o.onResume?.();
      withholding = false;
    } else {
      unhealthySince ??= now();
      if (!withholding && now() - unhealthySince >= (o.holdMs ?? 0)) {
        withholding = true;
        o.onWithhold?.(h.problems);
      }
    }
    if (!withholding) notify('WATCHDOG=1');
  }, o.periodMs ?? Math.max(1000, usec / 2000));
  t.unref();
  return () => clearInterval(t);
}

/** Hold before withholding pings after `restarts` restarts for health in a row: 0, 1 min, 2, 4 … 60 min. Pure. */
export function restartHoldMs(restarts: number): number {
  return restarts <= 0 ? 0 : Math.min(3_600_000, 60_000 * 2 ** (restarts - 1));
}

/** Restarts for health in a row, kept in `file` (bufferDir/watchdog.json) across the restarts themselves. */
export const healthRestarts = {
  read(file: string): number {
    try {
      const n = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { restarts?: unknown }).restarts : 0;
      return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : 0;
    } catch {
      return 0; // a damaged file only costs the hold
    }
  },
  write(file: string, restarts: number): void {
    writeFileSync(`${file}.tmp`, JSON.stringify({ restarts, at: new Date().toISOString() }));
    renameSync(`${file}.tmp`, file);
  },
};
