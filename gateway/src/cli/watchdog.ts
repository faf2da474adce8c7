/**
 * systemd watchdog without a native sd_notify binding: when systemd set NOTIFY_SOCKET (unit has
 * WatchdogSec= and NotifyAccess=all), we run `systemd-notify WATCHDOG=1` at half the interval —
 * but only while the event loop is responsive and `healthy()` says so. A hung or wedged gateway
 * stops pinging and systemd restarts it.
 */
import { execFile } from 'node:child_process';

export function startWatchdog(healthy: () => boolean): () => void {
  const usec = Number(process.env.WATCHDOG_USEC ?? 0);
  if (!process.env.NOTIFY_SOCKET || !usec) return () => undefined;
  const notify = (msg: string) => execFile('systemd-notify', [`--pid=${process.pid}`, msg], () => undefined);
  notify('READY=1');
  const t = setInterval(() => {
    if (healthy()) notify('WATCHDOG=1');
  }, Math.max(1000, usec / 2000));
  t.unref();
  return () => clearInterval(t);
}
