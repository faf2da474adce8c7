/**
 * Pure alert decisions and texts, with worked examples.
 */
import { describe, expect, it } from 'vitest';
import { decideImbalance, decideSilence, isSilent, severityOf, silenceCutoff, type WatchedSubject } from '../../src/alerts/decisions.js';
import { emailSubject, emailText, gatewaySilentMessage, imbalanceMessage, joinMessage, meterSilentMessage, monthLabel } from '../../src/alerts/messages.js';
import { channelsOf, webhookBody } from '../../src/alerts/notify.js';

const NOW = new Date('2026-01-15T12:00:00Z');
const minutesAgo = (m: number) => new Date(NOW.getTime() - m * 60_000);

describe('silence', () => {
  it('cutoff is now minus the threshold', () => {
    expect(silenceCutoff(NOW, 60).toISOString()).toBe('2026-01-15T11:00:00.000Z');
  });

  it('silent only when last seen MORE than the threshold ago; never seen counts from registration', () => {
    const created = minutesAgo(10_000);
    expect(isSilent({ lastSeenAt: minutesAgo(59), createdAt: created }, NOW, 60)).toBe(false);
    expect(isSilent({ lastSeenAt: minutesAgo(60), createdAt: created }, NOW, 60)).toBe(false); // exactly at the threshold: not yet
    expect(isSilent({ lastSeenAt: minutesAgo(61), createdAt: created }, NOW, 60)).toBe(true);
    // Registered 30 min ago, never heard from: still in its grace period.
    expect(isSilent({ lastSeenAt: null, createdAt: minutesAgo(30) }, NOW, 60)).toBe(false);
    expect(isSilent({ lastSeenAt: null, createdAt: minutesAgo(90) }, NOW, 60)).toBe(true);
    // Clock skew: seen "in the future" is not silent.
    expect(isSilent({ lastSeenAt: new Date(NOW.getTime() + 5 * 60_000), createdAt: created }, NOW, 60)).toBe(false);
  });

  it('raises for new silence, clears when heard again or no longer watched, leaves open alerts of still-silent subjects alone', () => {
    const s = (id: string, lastSeen: number | null, openAlertId: number | null, watched = true): WatchedSubject<string> =>
      ({ id, watched, lastSeenAt: lastSeen === null ? null : minutesAgo(lastSeen), createdAt: minutesAgo(100_000), openAlertId });
    const d = decideSilence([
      s('silent-new', 120, null), // silent 2 h, no alert → raise
      s('silent-known', 120, 7), // silent, alert open → nothing (no repeated notification)
      s('back', 1, 8), // alert open, seen a minute ago → clear
      s('fine', 1, null), // nothing
      s('disabled', 120, 9, false), // silent but no longer watched → clear
      s('disabled-no-alert', 120, null, false), // not watched → never raise
      s('never', null, null), // never seen, registered long ago → raise
    ], NOW, 60);
    expect(d).toEqual({ raise: ['silent-new', 'never'], clear: ['back', 'disabled'] });
  });

  it('a meter behind a silent gateway raises nothing new; it keeps an alert it has, and clears as usual', () => {
    const s = (id: string, lastSeen: number, openAlertId: number | null): WatchedSubject<string> =>
      ({ id, watched: true, lastSeenAt: minutesAgo(lastSeen), createdAt: minutesAgo(100_000), openAlertId, coveredByGateway: true });
    expect(decideSilence([s('covered', 120, null), s('covered-open', 120, 3), s('covered-back', 1, 4)], NOW, 60)).toEqual({ raise: [], clear: ['covered-back'] });
  });
});

describe('imbalance', () => {
  const jan = new Date('2025-12-31T21:00:00Z'); // January 2026 in Moscow time
  const dec = new Date('2025-11-30T21:00:00Z');
  const r = (status: 'ok' | 'high_loss' | 'negative_imbalance' | 'insufficient_data' | 'not_applicable', periodStart = jan, periodKind: 'month' | 'day' | 'hour' = 'month') => ({ status, periodStart, periodKind });

  it('month reports of the latest month: high_loss / negative raise, ok clears, insufficient_data does neither', () => {
    expect(decideImbalance(r('high_loss'), jan)).toBe('raise');
    expect(decideImbalance(r('negative_imbalance'), jan)).toBe('raise');
    expect(decideImbalance(r('ok'), jan)).toBe('clear');
    expect(decideImbalance(r('insufficient_data'), jan)).toBe('none');
    // Billed by area: never raises; clears a false alert raised before (nothing to clear = no change).
    expect(decideImbalance(r('not_applicable'), jan)).toBe('clear');
    // No month stored yet (hook before the first store): this one is the latest.
    expect(decideImbalance(r('high_loss'), null)).toBe('raise');
  });

  it('a recomputed older month neither raises nor clears the current alert', () => {
    expect(decideImbalance(r('high_loss', dec), jan)).toBe('none');
    expect(decideImbalance(r('ok', dec), jan)).toBe('none');
  });

  it('day and hour reports never alert', () => {
    expect(decideImbalance(r('high_loss', jan, 'day'), null)).toBe('none');
    expect(decideImbalance(r('ok', jan, 'hour'), null)).toBe('none');
  });

  it('worked sequence ok → high_loss → insufficient_data (new month) → ok', () => {
    const feb = new Date('2026-01-31T21:00:00Z');
    const steps = [
      decideImbalance(r('ok', jan), jan), // clear (no-op: nothing open)
      decideImbalance(r('high_loss', jan), jan), // raise
      decideImbalance(r('insufficient_data', feb), feb), // February just began: the January alert stays open
      decideImbalance(r('ok', feb), feb), // clear
    ];
    expect(steps).toEqual(['clear', 'raise', 'none', 'clear']);
  });
});

describe('texts', () => {
  it('names the month by the middle of the period, whatever the time zone of its start', () => {
    expect(monthLabel(new Date('2025-12-31T21:00:00Z'), new Date('2026-01-31T21:00:00Z'))).toBe('2026-01');
    expect(monthLabel(new Date('2026-02-01T00:00:00Z'), new Date('2026-03-01T00:00:00Z'))).toBe('2026-02');
  });

  it('messages carry Russian and English', () => {
    const m = meterSilentMessage({ meterId: 17, buildingId: 3, resource: 'heat', make: 'Пульсар', serialNumber: 'A-1', lastSeenAt: new Date('2026-01-14T08:30:00Z'), createdAt: NOW, minutes: 1440 });
    expect(m.ru).toBe('Счётчик Пульсар №A-1 (Отопление (тепловая энергия), дом 3) не передаёт данные с 2026-01-14 08:30 UTC — дольше 1440 мин.');
    expect(m.en).toBe('Meter Пульсар №A-1 (Heat, building 3) silent since 2026-01-14 08:30 UTC — over 1440 min.');
    expect(joinMessage(m)).toBe(`${m.ru}\n${m.en}`);

    const g = gatewaySilentMessage({ gatewayId: 'gw-1', name: null, buildingId: null, lastSeenAt: null, createdAt: new Date('2026-01-15T10:00:00Z'), minutes: 60 });
    expect(g.en).toBe('Gateway gw-1 (no building) has not connected since it was registered 2026-01-15 10:00 UTC — over 60 min.');
    expect(g.ru).toContain('ни разу не выходил на связь');

    const i = imbalanceMessage({ buildingId: 3, resource: 'cold_water', status: 'high_loss', periodStart: new Date('2025-12-31T21:00:00Z'), periodEnd: new Date('2026-01-31T21:00:00Z'), imbalancePct: 14.23, highLossPct: 10, negativePct: 2 });
    expect(i.en).toBe('Imbalance: Cold water, building 3, 2026-01: loss 14.2% above the 10% threshold.');
    expect(i.ru).toBe('Небаланс: Холодная вода, дом 3, 2026-01: потери 14.2% выше порога 10%.');
    const n = imbalanceMessage({ buildingId: 3, resource: 'heat', status: 'negative_imbalance', periodStart: new Date('2025-12-31T21:00:00Z'), periodEnd: new Date('2026-01-31T21:00:00Z'), imbalancePct: -5, highLossPct: 10, negativePct: 2 });
    expect(n.en).toContain('negative imbalance -5.0% (tolerance −2%)');
  });

  it('name the building by its address when the raiser knows it', () => {
    const m = meterSilentMessage({ meterId: 17, buildingId: 3, address: 'ул. Ленина, 1', resource: 'heat', make: '', serialNumber: 'A-1', lastSeenAt: new Date('2026-01-14T08:30:00Z'), createdAt: NOW, minutes: 60 });
    expect(m.ru).toBe('Счётчик №A-1 (Отопление (тепловая энергия), ул. Ленина, 1) не передаёт данные с 2026-01-14 08:30 UTC — дольше 60 мин.');
    expect(gatewaySilentMessage({ gatewayId: 'gw-1', name: null, buildingId: 3, address: 'ул. Ленина, 1', lastSeenAt: null, createdAt: NOW, minutes: 60 }).en).toContain('Gateway gw-1 (ул. Ленина, 1)');
    expect(imbalanceMessage({ buildingId: 3, address: 'ул. Ленина, 1', resource: 'cold_water', status: 'high_loss', periodStart: new Date('2025-12-31T21:00:00Z'), periodEnd: new Date('2026-01-31T21:00:00Z'), imbalancePct: 14.23, highLossPct: 10, negativePct: 2 }).ru)
      .toBe('Небаланс: Холодная вода, ул. Ленина, 1, 2026-01: потери 14.2% выше порога 10%.');
  });

  it('e-mail subject and body, webhook body', () => {
    const a = { id: 5, kind: 'gateway_silent' as const, subject: 'gateway:gw-1', severity: 'critical' as const, message: 'ру\nen', raisedAt: NOW, clearedAt: new Date('2026-01-15T13:00:00Z') };
    expect(emailSubject('raised', a)).toBe('[AMR] Тревога / Alert: gateway_silent gateway:gw-1');
    expect(emailSubject('cleared', a)).toBe('[AMR] Снято / Cleared: gateway_silent gateway:gw-1');
    expect(emailText('cleared', a).split('\n')).toEqual([
      'Снято / Cleared — critical', '', 'ру', 'en', '', 'Вид / kind: gateway_silent', 'Объект / subject: gateway:gw-1',
      'Поднята / raised: 2026-01-15 12:00 UTC', 'Снята / cleared: 2026-01-15 13:00 UTC', 'Тревога № / alert id: 5',
    ]);
    const body = webhookBody('raised', { id: 5, kind: 'meter_silent', subject: 'meter:1', building_id: 3, meter_id: 1, gateway_id: null, resource: 'heat', severity: 'warning', message: 'm', data: { x: 1 }, raised_at: NOW, cleared_at: null, acknowledged_at: null, acknowledged_by: null });
    expect(body).toEqual({ event: 'raised', alert: { id: 5, kind: 'meter_silent', subject: 'meter:1', building_id: 3, meter_id: 1, gateway_id: null, resource: 'heat', severity: 'warning', message: 'm', data: { x: 1 }, raised_at: NOW.toISOString(), cleared_at: null, acknowledged_at: null, acknowledged_by: null } });
  });

  it('channels: webhook target stored redacted; e-mail needs SMTP_URL and recipients', () => {
    const base = { METER_SILENT_MINUTES: 1440, GATEWAY_SILENT_MINUTES: 60, SMTP_FROM: 'amr@localhost' };
    expect(channelsOf({ ...base, ALERT_WEBHOOK_URL: 'https://u:secret@hooks.example/x', SMTP_URL: 'smtp://a:b@mail:25', ALERT_EMAIL_TO: 'a@x.ru, b@x.ru' })).toEqual([
      { channel: 'webhook', target: 'https://u:***@hooks.example/x' },
      { channel: 'email', target: 'a@x.ru, b@x.ru' },
    ]);
    expect(channelsOf({ ...base, SMTP_URL: 'smtp://mail:25' })).toEqual([]);
    expect(channelsOf({ ...base, ALERT_EMAIL_TO: 'a@x.ru' })).toEqual([]);
  });

  it('severity: a silent gateway is critical, the rest warnings', () => {
    expect([severityOf('gateway_silent'), severityOf('meter_silent'), severityOf('imbalance')]).toEqual(['critical', 'warning', 'warning']);
  });
});
