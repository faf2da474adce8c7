/**
 * The alerts and gateways screens in Chromium on the real API: a storm of 60 alerts reads as four
 * groups with their counts, one group is acknowledged in bulk with a reason (and the API agrees), a
 * selection too; an alert reads in Russian or English with its time in the building's zone
 * (Yekaterinburg, +05); the gateways show their state and outbox, and a command sent from a gateway's
 * page is stored, answered and listed. Both screens pass the screen check.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { CONTRACT_VERSION, parseTopic, topics } from '@amr/protocols';
import { createCommandService, type CommandService } from '../../src/commands/index.js';
import { fixedClock } from '../../src/util/clock.js';
import { seedStorm, STORM_NOW, type Storm } from '../alerts/storm.js';
import { checkScreen, startConsole, type Console } from './console.js';

let c: Console;
let s: Storm;
let engToken: string;
const published: { topic: string; payload: string }[] = [];

beforeAll(async () => {
  let service: CommandService;
  // The gateway's side of the MQTT channel: every command published is answered a moment later, as a
  // gateway on the broker would, through the service's own reply handling (stored in the database).
  const channel = {
    ready: Promise.resolve(),
    async close() {},
    async publish(topic: string, payload: string) {
      published.push({ topic, payload });
      const t = parseTopic(topic)!;
      const req = JSON.parse(payload) as { id: string };
      setTimeout(() => {
        void service.handleReply(topics.reply(t.gatewayId, t.command!), Buffer.from(JSON.stringify({ v: CONTRACT_VERSION, id: req.id, ok: true, ts: new Date().toISOString(), result: { mqtt: { url: 'mqtt://broker:1883' }, buses: ['mbus0'] } })));
      }, 300);
    },
  };
  c = await startConsole('alerts', {
    clock: fixedClock(STORM_NOW),
    commands: (h) => (service = createCommandService({ db: h.opened.db, channel, timeoutMs: 30_000, logger: pino({ level: 'silent' }) })),
  });
  s = await seedStorm(c.h.opened.db);
  // An online gateway in the Moscow building, heard two minutes before the check.
  await c.h.opened.db.query(`INSERT INTO gateways (id, name, building_id, last_seen_at, status, online, last_status) VALUES ('gw-len', 'Подвал', $1, $2, 'active', true, $3::jsonb)`,
    [s.lenina, new Date('2026-11-20T08:58:00Z'), JSON.stringify({ state: 'online', software: '1.5.0', outboxDepth: 0 })]);
  engToken = await c.h.userToken('engineer', { username: 'eng-north', buildingIds: [s.lenina, s.kosmonavtov] });
  await c.signIn('eng-north');
}, 120_000);

afterAll(async () => { await c?.close(); });

const key = (b: number, kind: string) => `${b}-${kind}`;
interface Alert { id: number; acknowledged_at: string | null; acknowledged_by: string | null }
const alerts = async (q: string) => (await c.h.call<Alert[]>('GET', `/alerts?limit=1000&${q}`, engToken)).body;

describe('alerts screen', () => {
  it('the storm of 60 alerts shows as four groups per building and kind with their counts', async () => {
    await c.open('/alerts', 'alert-groups');
    const titles = await c.page.locator('.group-title').allTextContents();
    expect(titles).toEqual([
      'ул. Ленина, 1 — прибор молчит: 30',
      'пр. Космонавтов, 5 — прибор молчит: 28',
      'пр. Космонавтов, 5 — шлюз не на связи: 1',
      'ул. Ленина, 1 — небаланс: 1',
    ]);
  }, 30_000);

  it('an alert reads in the user\'s language, its time in the building\'s zone (Yekaterinburg, +05)', async () => {
    await c.open(`/alerts?open=${key(s.kosmonavtov, 'meter_silent')}`, `group-alerts-${key(s.kosmonavtov, 'meter_silent')}`);
    const item = c.page.locator('.alert-text', { hasText: s.ekbSerial });
    const ru = await item.textContent();
    // Last heard 19 Nov 20:30 UTC = 20 Nov 01:30 in Yekaterinburg.
    expect(ru).toBe(`Прибор Пульсар №${s.ekbSerial} (ГВС) не передаёт данные с 20.11.2026, 01:30 (GMT+5)`);
    await c.setLanguage('en');
    await c.byTestId(`group-alerts-${key(s.kosmonavtov, 'meter_silent')}`).waitFor();
    const en = await item.textContent();
    expect(en).toBe(`Meter Пульсар №${s.ekbSerial} (hot water) has sent no data since 20/11/2026, 01:30 (GMT+5)`);
    // Apart from the meter's own name (data), neither text has a word of the other language.
    expect(en!.replace('Пульсар', '')).not.toMatch(/[А-Яа-яЁё]/);
    expect(ru!.replace(s.ekbSerial, '').replace(/\(GMT[^)]*\)/, '')).not.toMatch(/[A-Za-z]{3,}/);
    const imb = c.page.locator('.group-title').last();
    expect(await imb.textContent()).toBe('ул. Ленина, 1 — imbalance: 1');
    await c.setLanguage('ru');
  }, 30_000);

  it('one group acknowledged in bulk with a reason: the API shows all of it acknowledged by that user, the rest open', async () => {
    const g = key(s.lenina, 'meter_silent');
    await c.setLanguage('ru');
    await c.open('/alerts', `group-ack-${g}`);
    await c.byTestId(`group-ack-${g}`).click();
    await c.page.fill(`#group-ack-form-${g}-reason`, 'отключение подстанции, бригада выехала');
    await c.byTestId(`group-ack-form-${g}-submit`).click();
    expect(await c.byTestId('alerts-done').textContent()).toBe('Квитировано 30 тревог.');
    const group = await alerts(`building_id=${s.lenina}&kind=meter_silent`);
    expect(group).toHaveLength(30);
    expect(group.every((a) => a.acknowledged_by === 'eng-north' && a.acknowledged_at)).toBe(true);
    const reasons = await c.h.opened.db.query<{ reason: string; n: string }>(`SELECT reason, count(*) AS n FROM audit_log WHERE entity = 'alert' AND action = 'acknowledge' GROUP BY reason`);
    expect(reasons.rows.map((r) => [r.reason, Number(r.n)])).toEqual([['отключение подстанции, бригада выехала', 30]]);
    expect(await alerts('acknowledged=false')).toHaveLength(30);
    await c.page.locator('.group-title').first().waitFor();
    expect(await c.page.locator('.group-title').allTextContents()).toEqual([
      'пр. Космонавтов, 5 — прибор молчит: 28', 'пр. Космонавтов, 5 — шлюз не на связи: 1', 'ул. Ленина, 1 — небаланс: 1',
    ]);
  }, 30_000);

  it('a selection of alerts is acknowledged with one reason', async () => {
    const g = key(s.kosmonavtov, 'meter_silent');
    await c.open(`/alerts?open=${g}`, `group-alerts-${g}`);
    const boxes = c.page.locator(`[data-testid="group-alerts-${g}"] input[type="checkbox"]`);
    await boxes.nth(0).check();
    await boxes.nth(1).check();
    await c.page.fill('#selection-ack-reason', 'проверяем связь');
    await c.byTestId('selection-ack-submit').click();
    await c.page.locator('[data-testid="alerts-done"]', { hasText: 'Квитированы 2 тревоги.' }).waitFor();
    const acked = (await alerts(`building_id=${s.kosmonavtov}&kind=meter_silent&acknowledged=true`));
    expect(acked.map((a) => a.acknowledged_by)).toEqual(['eng-north', 'eng-north']);
    await c.page.locator('.group-title', { hasText: 'пр. Космонавтов, 5 — прибор молчит: 26' }).waitFor();
  }, 30_000);

  it('passes the screen check (both languages and viewports, axe, no sideways scroll)', async () => {
    // An expanded group of one alert: the same markup as a long one, and axe stays quick.
    const r = await checkScreen(c, 'alerts', `/alerts?state=open&open=${key(s.kosmonavtov, 'gateway_silent')}`, `group-alerts-${key(s.kosmonavtov, 'gateway_silent')}`);
    expect(r.problems).toEqual([]);
  }, 120_000);
});

describe('gateways screen', () => {
  it('shows each gateway online or offline with its outbox and software', async () => {
    await c.setLanguage('ru');
    await c.open('/gateways', 'gateways-list');
    const ekb = `gw-ekb-storm`;
    expect(await c.byTestId(`gateway-state-${ekb}`).getAttribute('data-online')).toBe('false');
    expect(await c.byTestId(`gateway-state-${ekb}`).textContent()).toContain('нет связи');
    expect(await c.byTestId(`gateway-outbox-${ekb}`).textContent()).toBe('312');
    expect(await c.byTestId(`gateway-software-${ekb}`).textContent()).toBe('1.4.2');
    expect(await c.byTestId('gateway-state-gw-len').getAttribute('data-online')).toBe('true');
    expect(await c.byTestId('gateway-outbox-gw-len').textContent()).toBe('0');
    // Last seen in the building's zone: 07:40 UTC = 12:40 in Yekaterinburg.
    expect(await c.byTestId(`gateway-${ekb}`).textContent()).toContain('20.11.2026, 12:40 (GMT+5)');
  }, 30_000);

  it('a command sent from a gateway\'s page is listed by the API with its reply', async () => {
    await c.open('/gateways/gw-len', 'command-form');
    await c.byTestId('command-name').selectOption('get_config');
    await c.byTestId('command-send').click();
    const item = c.page.locator('.command-item[data-name="get_config"]');
    await c.page.locator('.command-item[data-name="get_config"][data-status="ok"]').waitFor({ timeout: 10_000 }).catch(async (e: Error) => {
      throw new Error(`${e.message}\npage: ${await c.byTestId('commands-card').textContent()}\napi: ${JSON.stringify((await c.h.call('GET', '/gateways/gw-len/commands', engToken)).body)}`);
    });
    expect(await item.locator('.reply-short').textContent()).toContain('mqtt://broker:1883');
    const list = await c.h.call<{ name: string; status: string; requested_by: { name: string }; result: unknown }[]>('GET', '/gateways/gw-len/commands', engToken);
    expect(list.body).toHaveLength(1);
    expect(list.body[0]).toMatchObject({ name: 'get_config', status: 'ok', requested_by: { name: 'eng-north' }, result: { buses: ['mbus0'] } });
    expect(published.map((p) => p.topic)).toEqual([topics.command('gw-len', 'get_config')]);
    // Bad arguments are refused on the page, naming what to type.
    await c.page.fill('[data-testid="command-args"]', '[1, 2]');
    await c.byTestId('command-send').click();
    expect(await c.page.locator('.send-command small.error').textContent()).toContain('{}');
  }, 30_000);

  it('the list and a gateway\'s page pass the screen check', async () => {
    const list = await checkScreen(c, 'gateways', '/gateways', 'gateways-list');
    expect(list.problems).toEqual([]);
    const one = await checkScreen(c, 'gateway', '/gateways/gw-len', 'command-list');
    expect(one.problems).toEqual([]);
  }, 120_000);
});
