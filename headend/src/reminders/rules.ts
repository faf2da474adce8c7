/**
 * Which reminders are due on a day, pure: no clock, no database. Callers pass the building's local date,
 * each meter's collection settings and whether it was submitted this period.
 *
 * `collection_settings.reminder_days` (migration 018, stored but unused before) are DAYS OF THE MONTH,
 * in the building's time zone, clamped to the month's length like the window's days (31 → Feb 28/29).
 * Its default {15,25} is the default window's first and last day: the CRM's "reminders on the first and
 * last day of the window, or on chosen days". On a reminder day:
 *   - the window's first day      → 'window_open'  ("readings are accepted from … to …");
 *   - a later day inside the window → 'window_due' ("closes in N days" / "closes today");
 *   - a day outside the window    → nothing (there is nothing a resident can do yet).
 * Both go only to accounts with at least one meter not yet submitted in this period; a meter whose
 * verification has expired while the building refuses such readings is left out (the resident cannot
 * submit it, nagging would not help). An empty list: no window reminders.
 * Verification: a meter whose next verification date is 0…N days ahead (N = verification_days_before)
 * gets one reminder per verification date — "once in the N days before", not "exactly N days before",
 * so a day the job did not run (or a meter registered late) does not lose the reminder.
 */
import { daysInMonth, fmt, windowState, type CollectionSettings, type LocalDate } from '../collection/rules.js';

const dayNumber = (x: LocalDate): number => Date.UTC(x.y, x.m - 1, x.d) / 86_400_000;
export const parseDate = (s: string): LocalDate => ({ y: Number(s.slice(0, 4)), m: Number(s.slice(5, 7)), d: Number(s.slice(8, 10)) });
export const daysBetween = (from: LocalDate, to: LocalDate): number => dayNumber(to) - dayNumber(from);

/** "2026-02-28" → "28.02.2026", as residents read dates. */
export const ruDate = (iso: string): string => `${iso.slice(8, 10)}.${iso.slice(5, 7)}.${iso.slice(0, 4)}`;

export type WindowKind = 'window_open' | 'window_due';
export interface WindowReminder { kind: WindowKind; start: string; end: string; daysLeft: number }

/** The window reminder a building × resource's settings call for today, or null. */
export function windowReminder(today: LocalDate, s: Pick<CollectionSettings, 'enabled' | 'window_start_day' | 'window_end_day' | 'reminder_days'>): WindowReminder | null {
  if (!s.enabled) return null;
  const last = daysInMonth(today.y, today.m);
  if (!s.reminder_days.some((d) => Math.min(d, last) === today.d)) return null;
  const w = windowState(today, s.window_start_day, s.window_end_day);
  if (!w.open) return null;
  const daysLeft = daysBetween(today, parseDate(w.end));
  return { kind: w.start === fmt(today) ? 'window_open' : 'window_due', start: w.start, end: w.end, daysLeft };
}

/** Days until a verification date when it is 0…daysBefore days ahead; else null (far off, or already past). */
export function verificationDue(today: LocalDate, nextVerificationOn: string | null, daysBefore: number): number | null {
  if (!nextVerificationOn) return null;
  const left = daysBetween(today, parseDate(nextVerificationOn));
  return left >= 0 && left <= daysBefore ? left : null;
}

export interface MeterState {
  meterId: number;
  accountId: number;
  resource: string;
  serialNumber: string;
  nextVerificationOn: string | null;
  /** A reading of this meter is dated inside the current (or last) collection period. */
  submitted: boolean;
  settings: Pick<CollectionSettings, 'enabled' | 'window_start_day' | 'window_end_day' | 'reminder_days' | 'accept_expired_verification'>;
}

export interface DueMeter { meterId: number; resource: string; serialNumber: string }

export type Reminder =
  | { kind: WindowKind; accountId: number; key: string; start: string; end: string; daysLeft: number; pending: DueMeter[]; total: number }
  | { kind: 'verification'; accountId: number; key: string; meter: DueMeter; on: string; daysLeft: number; acceptsExpired: boolean };

const due = (m: MeterState): DueMeter => ({ meterId: m.meterId, resource: m.resource, serialNumber: m.serialNumber });

/**
 * Every reminder due today for the meters given (any accounts). Window reminders are one per account
 * and window (meters of several resources with the same window share one message). `key` names the
 * reminder without its recipient: account, kind, and the period (window start and, for 'window_due',
 * the day) or the meter and its verification date.
 */
export function dueReminders(today: LocalDate, meters: MeterState[], verificationDaysBefore: number): Reminder[] {
  const out: Reminder[] = [];
  const groups = new Map<string, { w: WindowReminder; accountId: number; meters: MeterState[] }>();
  const todayIso = fmt(today);
  for (const m of meters) {
    const w = windowReminder(today, m.settings);
    if (w) {
      const g = `${m.accountId}|${w.kind}|${w.start}|${w.end}`;
      const entry = groups.get(g) ?? { w, accountId: m.accountId, meters: [] };
      entry.meters.push(m);
      groups.set(g, entry);
    }
    const left = m.settings.enabled ? verificationDue(today, m.nextVerificationOn, verificationDaysBefore) : null;
    if (left !== null) {
      out.push({
        kind: 'verification', accountId: m.accountId, key: `verification:${m.accountId}:${m.meterId}:${m.nextVerificationOn}`,
        meter: due(m), on: m.nextVerificationOn!, daysLeft: left, acceptsExpired: m.settings.accept_expired_verification,
      });
    }
  }
  for (const { w, accountId, meters: ms } of groups.values()) {
    const collectable = ms.filter((m) => m.settings.accept_expired_verification || !m.nextVerificationOn || m.nextVerificationOn >= todayIso);
    const pending = collectable.filter((m) => !m.submitted);
    if (pending.length === 0) continue;
    const key = w.kind === 'window_open' ? `window_open:${accountId}:${w.start}:${w.end}` : `window_due:${accountId}:${w.start}:${w.end}:${todayIso}`;
    out.push({ kind: w.kind, accountId, key, start: w.start, end: w.end, daysLeft: w.daysLeft, pending: pending.map(due), total: collectable.length });
  }
  return out.sort((a, b) => a.accountId - b.accountId || a.key.localeCompare(b.key));
}

/** The hour of the day (0–23) of an instant in a time zone: reminders wait for the building's reminder_hour. */
export function localHour(at: Date, timeZone: string): number {
  const h = new Intl.DateTimeFormat('en-GB', { timeZone, hour: 'numeric', hourCycle: 'h23' }).format(at);
  return Number(h);
}
