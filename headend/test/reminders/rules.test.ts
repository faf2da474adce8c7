/**
 * Which reminders are due, on fixed dates: windows crossing the month end, February (short and leap),
 * reminder days outside the window, verification N days ahead, already-submitted accounts, meters the
 * resident cannot submit (expired verification refused). And the Russian texts (DD.MM.YYYY, plurals).
 */
import { describe, expect, it } from 'vitest';
import { dueReminders, localHour, verificationDue, windowReminder, ruDate, type MeterState } from '../../src/reminders/rules.js';
import { digestMail, reminderMail, ruDays, ruDateTime } from '../../src/reminders/messages.js';
import { DEFAULT_SETTINGS } from '../../src/collection/rules.js';

const day = (s: string) => ({ y: Number(s.slice(0, 4)), m: Number(s.slice(5, 7)), d: Number(s.slice(8, 10)) });
const win = (start: number, end: number, reminder_days: number[], over: object = {}) =>
  ({ ...DEFAULT_SETTINGS, window_start_day: start, window_end_day: end, reminder_days, ...over });

describe('windowReminder', () => {
  it('default settings (15–25, reminders {15,25}): opens on the 15th, closes today on the 25th, nothing between', () => {
    const s = win(15, 25, [15, 25]);
    expect(windowReminder(day('2026-11-15'), s)).toEqual({ kind: 'window_open', start: '2026-11-15', end: '2026-11-25', daysLeft: 10 });
    expect(windowReminder(day('2026-11-25'), s)).toEqual({ kind: 'window_due', start: '2026-11-15', end: '2026-11-25', daysLeft: 0 });
    expect(windowReminder(day('2026-11-20'), s)).toBeNull();
  });

  it('a window crossing the month end (25–5): opens in January, due in February with the days counted across the month', () => {
    const s = win(25, 5, [25, 3, 5]);
    expect(windowReminder(day('2026-01-25'), s)).toEqual({ kind: 'window_open', start: '2026-01-25', end: '2026-02-05', daysLeft: 11 });
    expect(windowReminder(day('2026-02-03'), s)).toEqual({ kind: 'window_due', start: '2026-01-25', end: '2026-02-05', daysLeft: 2 });
    expect(windowReminder(day('2026-02-05'), s)).toMatchObject({ kind: 'window_due', daysLeft: 0 });
    // December → January crosses the year too.
    expect(windowReminder(day('2027-01-03'), s)).toEqual({ kind: 'window_due', start: '2026-12-25', end: '2027-01-05', daysLeft: 2 });
  });

  it('February: day 31 is the month\'s last day (28th, or 29th in a leap year), for the window and the reminder alike', () => {
    const s = win(20, 31, [20, 31]);
    expect(windowReminder(day('2026-02-28'), s)).toEqual({ kind: 'window_due', start: '2026-02-20', end: '2026-02-28', daysLeft: 0 });
    expect(windowReminder(day('2028-02-28'), s)).toBeNull();
    expect(windowReminder(day('2028-02-29'), s)).toEqual({ kind: 'window_due', start: '2028-02-20', end: '2028-02-29', daysLeft: 0 });
    expect(windowReminder(day('2026-03-31'), s)).toEqual({ kind: 'window_due', start: '2026-03-20', end: '2026-03-31', daysLeft: 0 });
  });

  it('a reminder day outside the window, collection disabled, or no reminder days: nothing', () => {
    expect(windowReminder(day('2026-11-10'), win(15, 25, [10, 15]))).toBeNull();
    expect(windowReminder(day('2026-11-15'), win(15, 25, [15], { enabled: false }))).toBeNull();
    expect(windowReminder(day('2026-11-15'), win(15, 25, []))).toBeNull();
  });
});

describe('verificationDue', () => {
  const today = day('2026-11-23');
  it('0…N days ahead: due with the days left; further off or already past: not', () => {
    expect(verificationDue(today, '2026-12-23', 30)).toBe(30);
    expect(verificationDue(today, '2026-12-24', 30)).toBeNull();
    expect(verificationDue(today, '2026-11-23', 30)).toBe(0);
    expect(verificationDue(today, '2026-11-22', 30)).toBeNull();
    expect(verificationDue(today, '2027-01-02', 40)).toBe(40);
    expect(verificationDue(today, null, 30)).toBeNull();
  });
});

describe('dueReminders', () => {
  const s = win(20, 5, [20, 1, 5]);
  const meter = (meterId: number, accountId: number, over: Partial<MeterState> = {}): MeterState => ({
    meterId, accountId, resource: 'cold_water', serialNumber: `S-${meterId}`, nextVerificationOn: '2030-01-01', submitted: false, settings: s, ...over,
  });

  it('on the window\'s first day one "opens" reminder per account lists its unsubmitted meters; a fully submitted account gets none', () => {
    const r = dueReminders(day('2026-11-20'), [
      meter(1, 10), meter(2, 10, { resource: 'hot_water', submitted: true }),
      meter(3, 20, { submitted: true }), meter(4, 20, { resource: 'hot_water', submitted: true }),
    ], 30);
    expect(r).toEqual([{
      kind: 'window_open', accountId: 10, key: 'window_open:10:2026-11-20:2026-12-05', start: '2026-11-20', end: '2026-12-05', daysLeft: 15,
      pending: [{ meterId: 1, resource: 'cold_water', serialNumber: 'S-1' }], total: 2,
    }]);
  });

  it('on a later reminder day across the month end: "closes in 4 days", the key names the day (a rerun the same day is the same key)', () => {
    const meters = [meter(1, 10), meter(2, 10)];
    const r = dueReminders(day('2026-12-01'), meters, 30);
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ kind: 'window_due', daysLeft: 4, total: 2, key: 'window_due:10:2026-11-20:2026-12-05:2026-12-01' });
    expect(dueReminders(day('2026-12-01'), meters, 30)[0].key).toBe(r[0].key);
    expect(dueReminders(day('2026-12-05'), meters, 30)[0]).toMatchObject({ daysLeft: 0, key: 'window_due:10:2026-11-20:2026-12-05:2026-12-05' });
  });

  it('a meter with expired verification the building refuses is not counted; accepted when the building accepts them', () => {
    const expired = meter(1, 10, { nextVerificationOn: '2026-10-01' });
    expect(dueReminders(day('2026-11-20'), [expired], 30)).toEqual([]);
    const accepting = { ...expired, settings: { ...s, accept_expired_verification: true } };
    expect(dueReminders(day('2026-11-20'), [accepting], 30)).toMatchObject([{ kind: 'window_open', total: 1 }]);
    const r = dueReminders(day('2026-11-20'), [expired, meter(2, 10)], 30);
    expect(r).toMatchObject([{ kind: 'window_open', total: 1, pending: [{ meterId: 2 }] }]);
  });

  it('verification N days before: one per meter and date, whether or not submitted, also outside the window', () => {
    const m = meter(7, 30, { nextVerificationOn: '2026-12-15', submitted: true });
    expect(dueReminders(day('2026-11-10'), [m], 30)).toEqual([]); // 35 days ahead
    expect(dueReminders(day('2026-11-15'), [m], 30)).toEqual([{
      kind: 'verification', accountId: 30, key: 'verification:30:7:2026-12-15', meter: { meterId: 7, resource: 'cold_water', serialNumber: 'S-7' },
      on: '2026-12-15', daysLeft: 30, acceptsExpired: false,
    }]);
    expect(dueReminders(day('2026-11-16'), [m], 30)[0]).toMatchObject({ key: 'verification:30:7:2026-12-15', daysLeft: 29 });
    expect(dueReminders(day('2026-11-15'), [{ ...m, settings: { ...s, enabled: false } }], 30)).toEqual([]);
  });

  it('resources with different windows give separate reminders', () => {
    const electricity = meter(5, 10, { resource: 'electricity', settings: win(15, 25, [15, 25]) });
    const r = dueReminders(day('2026-11-20'), [meter(1, 10), electricity], 30);
    expect(r.map((x) => [x.kind, x.key])).toEqual([['window_open', 'window_open:10:2026-11-20:2026-12-05']]);
    const r25 = dueReminders(day('2026-11-25'), [meter(1, 10), electricity], 30);
    expect(r25.map((x) => x.key)).toEqual(['window_due:10:2026-11-15:2026-11-25:2026-11-25']);
  });
});

describe('messages', () => {
  it('Russian plurals and DD.MM.YYYY dates', () => {
    expect([1, 2, 4, 5, 11, 12, 21, 22, 25, 101].map(ruDays)).toEqual(['1 день', '2 дня', '4 дня', '5 дней', '11 дней', '12 дней', '21 день', '22 дня', '25 дней', '101 день']);
    expect(ruDate('2026-02-05')).toBe('05.02.2026');
    expect(ruDateTime(new Date('2026-11-23T11:35:00Z'), 'Europe/Moscow')).toBe('23.11.2026 14:35');
    expect(localHour(new Date('2026-11-23T21:30:00Z'), 'Europe/Moscow')).toBe(0);
    expect(localHour(new Date('2026-11-23T06:59:00Z'), 'Asia/Yekaterinburg')).toBe(11);
  });

  const account = { accountNumber: 'LS-1', address: 'ул. Ленина, 1', premiseNumber: '12', residentName: 'Иванов И. И.' };
  it('window reminders say the dates, the count and the meters', () => {
    const due = { kind: 'window_due' as const, accountId: 1, key: 'k', start: '2026-01-25', end: '2026-02-05', daysLeft: 2, total: 2, pending: [{ meterId: 1, resource: 'cold_water', serialNumber: 'CW-1' }] };
    const m = reminderMail(due, account);
    expect(m.subject).toBe('До конца приёма показаний осталось 2 дня (до 05.02.2026)');
    expect(m.text).toContain('Здравствуйте, Иванов И. И.!');
    expect(m.text).toContain('лицевой счёт № LS-1, ул. Ленина, 1, помещение 12');
    expect(m.text).toContain('приём показаний закрывается 05.02.2026, через 2 дня (период с 25.01.2026 по 05.02.2026)');
    expect(m.text).toContain('Не переданы показания 1 из 2 счётчиков:\n— Холодная вода, счётчик № CW-1');
    expect(reminderMail({ ...due, daysLeft: 0 }, account).subject).toBe('Сегодня последний день приёма показаний (05.02.2026)');
    expect(reminderMail({ ...due, daysLeft: 1 }, account).subject).toBe('До конца приёма показаний остался 1 день (до 05.02.2026)');
    expect(reminderMail({ ...due, kind: 'window_open' }, account).subject).toBe('Приём показаний счётчиков открыт до 05.02.2026');
  });

  it('verification reminder: the date, the days left, and what happens after it', () => {
    const m = reminderMail({ kind: 'verification', accountId: 1, key: 'k', meter: { meterId: 3, resource: 'hot_water', serialNumber: 'HW-9' }, on: '2026-12-23', daysLeft: 30, acceptsExpired: false }, account);
    expect(m.subject).toBe('Срок поверки счётчика № HW-9 истекает 23.12.2026');
    expect(m.text).toContain('истекает 23.12.2026 (через 30 дней)');
    expect(m.text).toContain('показания счётчика не принимаются');
  });

  it('staff digest groups by building', () => {
    const sub = (auditId: number, buildingId: number, address: string) => ({
      auditId, at: new Date('2026-11-23T11:35:00Z'), buildingId, address, timezone: 'Europe/Moscow', meterId: auditId, resource: 'cold_water', serialNumber: `CW-${auditId}`,
      premiseNumber: '5', accounts: ['LS-5'], value: 12.5, readingTime: new Date('2026-11-14T21:00:00Z'), version: auditId === 2 ? 2 : 1, submittedBy: 'account-5',
    });
    const m = digestMail([sub(1, 1, 'ул. А, 1'), sub(2, 1, 'ул. А, 1'), sub(3, 2, 'ул. Б, 2')]);
    expect(m.subject).toBe('[AMR] Показания от жителей: 3 — 2 дома');
    expect(m.text).toContain('ул. А, 1 (дом 1) — 2:\n— 23.11.2026 14:35: пом. 5, ЛС LS-5, Холодная вода № CW-1: 12.5\n— 23.11.2026 14:35: пом. 5, ЛС LS-5, Холодная вода № CW-2: 12.5 (исправление, версия 2)');
    expect(m.text).toContain('ул. Б, 2 (дом 2) — 1:');
    expect(digestMail([sub(1, 1, 'ул. А, 1')]).subject).toBe('[AMR] Показания от жителей: 1 — ул. А, 1');
  });
});
