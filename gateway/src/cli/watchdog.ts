/**
 * systemd watchdog without a native sd_notify binding: when systemd set NOTIFY_SOCKET (unit has
 * WatchdogSec= and NotifyAccess=all), we run `systemd-notify WATCHDOG=1` at half the interval —
 * but only while the event loop is responsive and `check()` says healthy: the same judgement as
 * /health's 200/503 (a bus unavailable or all its meters silent, the broker away, beyond the grace),
 * plus a wedged bus. An unhealthy gateway stops pinging and systemd restarts it; the outbox and the
 * per-meter state are on disk, so a restart loses no reading and no meter_back.
 */
import { execFile } from 'node:child_process';

export interface WatchdogOptions {
  env?: NodeJS.ProcessEnv;
  /** Sends one sd_notify message (default: the systemd-notify helper). */
  notify?: (msg: string) => void;
  /** Told once when pings stop (with the reasons) and once when they resume. */
  onChange?: (healthy: boolean, problems: string[]) => void;
  /** Ping period override (default half of WATCHDOG_USEC, at least 1 s). */
  periodMs?: number;
}

export function startWatchdog(check: () => { ok: boolean; problems: string[] }, o: WatchdogOptions = {}): () => void {
  const env = o.env ?? process.env;
  const usec = Number(env.WATCHDOG_USEC ?? 0);
  if (!env.NOTIFY_SOCKET || !usec) return () => undefined;
  const notify = o.notify ?? ((msg: string) => execFile('systemd-notify', [`--pid=${process.pid}`, msg], () => undefined));
  notify('READY=1');
  let last = true;
  const t = setInterval(() => {
    let h: { ok: boolean; problems: string[] };
    try {
      h = check();
    } catch (e) {
      h = { ok: false, problems: [`health check failed: ${(e as Error).message}`] };
    }
    if (h.ok !== last) o.onChange?.(h.ok, h.problems);
    last = h.ok;
    if (h.ok) notify('WATCHDOG=1');
  }, o.periodMs ?? Math.max(1000, usec / 2000));
  t.unref();
  return () => clearInterval(t);
}
