/**
 * The registry screens in Chromium on the real API: an office engineer creates a building, premises 1
 * and 10–19, an account and a two-zone meter with its verification date through the forms, and the API
 * then holds exactly those; a replacement through the screen and its undo; another organisation's
 * building is in no list and a typed route to it shows only "not found"; a gateway's MQTT password is
 * shown once; an office registers a resident with an e-mail (reminders go there) and sees who has no
 * contact, while another organisation's engineer sees and changes nothing of them; and the screens pass
 * the check in both languages and viewports.
 *
 * The registry is kept by engineers (and admins): the operator role (a meter inspector) reads it, and
 * the API refuses its writes — the screen says so in the user's language.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkScreen, startConsole, type Console } from './console.js';
import { fixedClock } from '../../src/util/clock.js';

const NOW = '2026-03-10T09:00:00Z';
let c: Console;
let orgA: number, bA0: number, bB: number, meterB: number;
let created: number; // the building made through the screen
let meterId: number;
let accountId: number; // the account made through the screen
let tokenB: string; // an engineer of organisation B

interface Row { id: number; number: string; serial_number: string; [k: string]: unknown }

const hashId = async (prefix: string) => Number(new RegExp(`${prefix}(\\d+)`).exec(await c.page.evaluate(() => (globalThis as unknown as { location: { hash: string } }).location.hash))?.[1]);

beforeAll(async () => {
  c = await startConsole('registry', { clock: fixedClock(NOW) });
  const t = c.h.adminToken;
  orgA = (await c.h.call('POST', '/organisations', t, { name: 'УК Восход' })).body.id;
  const orgB = (await c.h.call('POST', '/organisations', t, { name: 'УК Закат' })).body.id;
  bA0 = (await c.h.call('POST', '/buildings', t, { org_id: orgA, address: 'ул. Старая, 1', city: 'Казань' })).body.id;
  bB = (await c.h.call('POST', '/buildings', t, { org_id: orgB, address: 'ул. Чужая, 99', city: 'Самара' })).body.id;
  const pB = (await c.h.call('POST', '/premises', t, { building_id: bB, number: '7' })).body.id;
  meterB = (await c.h.call('POST', '/meters', t, { placement: 'apartment', premise_id: pB, resource: 'cold_water', serial_number: 'FOREIGN-777' })).body.id;
  await c.h.call('POST', '/gateways', t, { id: 'gw-foreign', name: 'Чужой шлюз', building_id: bB });
  await c.h.userToken('engineer', { username: 'office-a', buildingIds: [bA0] });
  await c.h.userToken('operator', { username: 'inspector-a', buildingIds: [bA0] });
  tokenB = await c.h.userToken('engineer', { username: 'office-b', buildingIds: [bB] });
  // The page's "today" (verification due within 30 days) is the test's date, not the machine's.
  await c.page.clock.setFixedTime(new Date(NOW));
}, 120_000);

afterAll(async () => { await c?.close(); });

async function select(testid: string, label: string) {
  await c.byTestId(testid).selectOption({ label });
}

describe('registry screens', () => {
  it('creates a building, premises 1 and 10–19, an account and a two-zone meter; the API holds exactly those', async () => {
    await c.signIn('office-a');
    await c.byTestId('nav-registry').click();
    await c.byTestId('registry-buildings').waitFor();
    await c.byTestId('building-add').click();
    // A required field left empty: refused under the field, nothing sent.
    await c.byTestId('building-save').click();
    expect(await c.byTestId('error-address').textContent()).toContain('Обязательное поле');
    await c.byTestId('field-address').fill('ул. Новая, 5');
    await c.byTestId('field-city').fill('Казань');
    await c.byTestId('field-external_id').fill('NEW-5');
    await c.byTestId('field-total_area_m2').fill('4520,5');
    await c.byTestId('building-save').click();
    await c.byTestId('registry-building').waitFor();
    expect(await c.byTestId('saved').isVisible()).toBe(true);
    created = await hashId('/registry/buildings/');
    expect(await c.byTestId('registry-address').textContent()).toBe('ул. Новая, 5, Казань');

    await c.byTestId('tab-premises').click();
    await c.byTestId('premise-add').click();
    await c.byTestId('field-many').check();
    await c.byTestId('field-number').fill('1, 10–19');
    await c.byTestId('field-area_m2').fill('45,5');
    await c.byTestId('field-residents').fill('2');
    await c.byTestId('premise-save').click();
    await c.byTestId('saved').waitFor();
    expect(await c.byTestId('saved').textContent()).toBe('Добавлено 11 помещений.');
    // Flat 1 among 10–19: the exact number comes first and is marked.
    await c.byTestId('premise-search').fill('1');
    await c.page.locator('[data-testid="premises-list"] tbody tr').first().locator('[data-testid="premise-exact"]').waitFor();
    expect(await c.page.locator('[data-testid="premises-list"] tbody tr').first().getAttribute('data-testid')).toBe('premise-row-1');
    // A duplicate number: the server's refusal, under the field, in Russian.
    await c.byTestId('premise-add').click();
    await c.byTestId('field-number').fill('10');
    await c.byTestId('premise-save').click();
    expect(await c.byTestId('error-number').textContent()).toBe('Помещение с таким номером в доме уже есть.');

    await c.byTestId('tab-accounts').click();
    await c.byTestId('account-add').click();
    await c.byTestId('field-number').fill('7700001');
    await select('field-premise_id', '1');
    await c.byTestId('field-holder_name').fill('Иванова Анна Петровна');
    await c.byTestId('account-save').click();
    await c.byTestId('account-row-7700001').waitFor();

    await c.byTestId('tab-meters').click();
    await c.byTestId('meter-add').click();
    await select('field-premise_id', '1');
    await select('field-resource', 'электроэнергия');
    await c.byTestId('field-serial_number').fill('E-100');
    await c.byTestId('field-make').fill('Меркурий');
    await c.byTestId('field-model').fill('200.02');
    await c.byTestId('field-register_digits').fill('6');
    await c.byTestId('field-register_decimals').fill('2');
    await select('field-zones', 'две: День / Ночь');
    await c.byTestId('field-last_verified_on').fill('2010-03-25');
    await c.byTestId('field-next_verification_on').fill('2026-03-25');
    await c.byTestId('meter-save').click();
    await c.byTestId('meter-row-E-100').waitFor();
    // 15 days ahead of the test's today: highlighted as due.
    expect(await c.byTestId('verif-E-100').getAttribute('data-state')).toBe('soon');

    const t = c.h.adminToken;
    const b = (await c.h.call('GET', `/buildings/${created}`, t)).body;
    expect(b).toMatchObject({ org_id: orgA, address: 'ул. Новая, 5', city: 'Казань', external_id: 'NEW-5', timezone: 'Europe/Moscow', total_area_m2: 4520.5 });
    const premises = (await c.h.call<Row[]>('GET', `/premises?building_id=${created}`, t)).body;
    expect(premises.map((p) => p.number)).toEqual(['1', '10', '11', '12', '13', '14', '15', '16', '17', '18', '19']);
    expect(premises.every((p) => p.area_m2 === 45.5 && p.residents === 2 && p.kind === 'residential')).toBe(true);
    const accounts = (await c.h.call<Row[]>('GET', `/accounts?building_id=${created}`, t)).body;
    expect(accounts).toHaveLength(1);
    expect(accounts[0]).toMatchObject({ org_id: orgA, number: '7700001', premise_id: premises[0].id, holder_name: 'Иванова Анна Петровна', active: true });
    const meters = (await c.h.call<Row[]>('GET', `/meters?building_id=${created}`, t)).body;
    expect(meters).toHaveLength(1);
    expect(meters[0]).toMatchObject({
      placement: 'apartment', premise_id: premises[0].id, resource: 'electricity', serial_number: 'E-100', make: 'Меркурий', model: '200.02',
      register_digits: 6, register_decimals: 2, zones: 2, last_verified_on: '2010-03-25', next_verification_on: '2026-03-25', remote_reading: false, status: 'active',
    });
    meterId = meters[0].id;
    accountId = accounts[0].id;
    expect(c.browser.pageErrors).toEqual([]);
  }, 60_000);

  it('replaces the meter through the screen and undoes it: the list shows the new serial, then the old again', async () => {
    await c.open(`/registry/meters/${meterId}`, 'registry-meter');
    await c.byTestId('replace-open').click();
    const form = c.byTestId('replace-form');
    await form.getByTestId('field-replaced_at').fill('2026-03-05T10:00');
    await form.getByTestId('field-removal_reading').fill('1234,5');
    await form.getByTestId('field-serial_number').fill('E-200');
    await form.getByTestId('field-installation_reading').fill('0,3');
    await form.getByTestId('field-work_order').fill('Н-17');
    await c.byTestId('replace-save').click();
    await c.byTestId('saved').waitFor();
    expect(await c.byTestId('saved').textContent()).toBe('Замена записана: установлен прибор № E-200.');
    const [r] = (await c.h.call<{ replaced_at: string; removal_reading: number; installation_reading: number; work_order: string }[]>('GET', `/meters/${meterId}/replacements`, c.h.adminToken)).body;
    // 10:00 in Moscow is 07:00 UTC.
    expect(r).toMatchObject({ replaced_at: '2026-03-05T07:00:00.000Z', removal_reading: 1234.5, installation_reading: 0.3, work_order: 'Н-17' });

    await c.byTestId('back-to-meters').click();
    await c.byTestId('meter-row-E-200').waitFor();
    expect(await c.byTestId('meter-row-E-100').count()).toBe(0);

    await c.open(`/registry/meters/${meterId}`, 'registry-meter');
    await c.byTestId('undo-reason').fill('ошибочный наряд');
    c.page.once('dialog', (d) => { void d.accept(); });
    await c.byTestId('undo-replacement').click();
    await c.page.getByText('Замена отменена.').waitFor();
    await c.byTestId('back-to-meters').click();
    await c.byTestId('meter-row-E-100').waitFor();
    expect(await c.byTestId('meter-row-E-200').count()).toBe(0);
    expect(c.browser.pageErrors).toEqual([]);
  }, 45_000);

  it('an engineer of organisation A sees nothing of B: not in the lists, and a typed route says not found', async () => {
    await c.open('/registry', 'buildings-list');
    await c.byTestId(`building-row-${created}`).waitFor();
    expect(await c.byTestId(`building-row-${bB}`).count()).toBe(0);
    await c.open('/registry/gateways', 'gateways-list');
    expect(await c.byTestId('gw-row-gw-foreign').count()).toBe(0);
    for (const route of [`/registry/buildings/${bB}`, `/registry/buildings/${bB}/premises`, `/registry/buildings/${bB}/meters`, `/registry/meters/${meterB}`, '/registry/gateways/gw-foreign']) {
      await c.open(route, 'registry-not-found');
      const text = await c.page.locator('main').innerText();
      expect(text, route).toContain('Не найдено или нет доступа');
      for (const secret of ['ул. Чужая', 'FOREIGN-777', 'Чужой шлюз', 'Самара']) expect(text, route).not.toContain(secret);
    }
  }, 30_000);

  it('shows a new gateway\'s MQTT password once, and not after a reload; binds and unbinds a meter', async () => {
    await c.open(`/registry/gateways?building_id=${created}`, 'gateways-list');
    await c.byTestId('gateway-add').click();
    await c.byTestId('field-id').fill('gw-novaya-5');
    await c.byTestId('field-name').fill('ИТП');
    await c.byTestId('gateway-save').click();
    const password = (await c.byTestId('gateway-password').textContent()) ?? '';
    expect(password.length).toBeGreaterThanOrEqual(16);
    await c.byTestId('gw-row-gw-novaya-5').waitFor();
    await c.page.reload();
    await c.byTestId('gw-row-gw-novaya-5').waitFor();
    expect(await c.byTestId('gateway-password-box').count()).toBe(0);
    expect(await c.page.locator('body').innerText()).not.toContain(password);

    await c.byTestId('gw-link-gw-novaya-5').click();
    await c.byTestId('bind-form').waitFor();
    await c.byTestId('field-bus').fill('mbus0');
    await c.byTestId('field-address').fill('5');
    await select('field-meter_id', 'E-100 · электроэнергия');
    await c.byTestId('bind-save').click();
    await c.byTestId('binding-mbus0-5').waitFor();
    const bound = (await c.h.call<{ meter_id: number }[]>('GET', '/gateways/gw-novaya-5/bindings', c.h.adminToken)).body;
    expect(bound.map((x) => x.meter_id)).toEqual([meterId]);
    c.page.once('dialog', (d) => { void d.accept(); });
    await c.byTestId('unbind-mbus0-5').click();
    await c.byTestId('bindings-list').getByText('Привязок нет.').waitFor();
    expect((await c.h.call<unknown[]>('GET', '/gateways/gw-novaya-5/bindings', c.h.adminToken)).body).toEqual([]);
    // Renamed and disabled through its card.
    await c.byTestId('gateway-edit').getByTestId('field-name').fill('ИТП, подвал');
    await c.byTestId('gateway-edit').getByTestId('field-status').selectOption('disabled');
    await c.byTestId('gateway-edit-save').click();
    await c.byTestId('saved').waitFor();
    expect((await c.h.call('GET', '/gateways/gw-novaya-5', c.h.adminToken)).body).toMatchObject({ name: 'ИТП, подвал', status: 'disabled', building_id: created });
  }, 30_000);

  it('an office registers a resident with an e-mail through the screen; another organisation\'s engineer neither sees nor changes them', async () => {
    const t = c.h.adminToken;
    // One resident already loaded without any contact: the screen counts and marks them.
    const silent = (await c.h.call('POST', '/residents', t, { account_id: accountId, full_name: 'Петров Олег Ильич' })).body.id as number;
    await c.open(`/registry/buildings/${created}/accounts`, 'accounts-list');
    await c.byTestId('account-residents-7700001').click();
    await c.byTestId('residents-list').waitFor();
    expect(await c.byTestId('residents-missing').textContent()).toBe('Без e-mail и телефона: 1 жилец — напоминания ему не придут.');
    await c.byTestId(`no-contact-${silent}`).waitFor();

    await c.byTestId('resident-add').click();
    // The account of the filter is chosen already; a malformed e-mail is refused under the field, nothing sent.
    await c.byTestId('field-full_name').fill('Иванова Анна Петровна');
    await c.byTestId('field-email').fill('anna.example.ru');
    await c.byTestId('resident-save').click();
    expect(await c.byTestId('error-email').textContent()).toBe('Адрес e-mail вида name@example.ru.');
    await c.byTestId('field-email').fill('anna@example.ru');
    await c.byTestId('field-phone').fill('+7 912 345-67-89');
    await c.byTestId('resident-save').click();
    await c.byTestId('saved').waitFor();
    expect(await c.byTestId('saved').textContent()).toBe('Жилец Иванова Анна Петровна сохранён.');
    const residents = (await c.h.call<{ id: number; full_name: string }[]>('GET', `/residents?account_id=${accountId}`, t)).body;
    const anna = residents.find((r) => r.full_name === 'Иванова Анна Петровна');
    expect(anna).toMatchObject({ account_id: accountId, email: 'anna@example.ru', phone: '+7 912 345-67-89', registered: true });

    // The one without contact gets a phone through its edit form: nobody is left unreachable.
    await c.byTestId('resident-no-contact-filter').check();
    expect(await c.byTestId(`resident-row-${anna!.id}`).count()).toBe(0);
    await c.byTestId(`resident-edit-${silent}`).click();
    await c.byTestId('field-phone').fill('+7 900 000-00-01');
    await c.byTestId('resident-save').click();
    // The list reloads after the save: wait for the new count rather than read the old one.
    await c.byTestId('residents-missing').getByText('У всех жильцов указан e-mail или телефон.').waitFor();
    expect((await c.h.call('GET', `/residents/${silent}`, t)).body).toMatchObject({ phone: '+7 900 000-00-01', email: null, full_name: 'Петров Олег Ильич' });

    // Organisation B's engineer: the building's residents page says only "not found", and the API refuses reads and writes alike.
    await c.signIn('office-b');
    await c.open(`/registry/buildings/${created}/residents`, 'registry-not-found');
    const text = await c.page.locator('main').innerText();
    expect(text).toContain('Не найдено или нет доступа');
    for (const secret of ['Иванова', 'anna@example.ru', 'ул. Новая']) expect(text).not.toContain(secret);
    expect((await c.h.call('GET', `/residents/${anna!.id}`, tokenB)).status).toBe(404);
    expect((await c.h.call('PATCH', `/residents/${anna!.id}`, tokenB, { email: 'stolen@example.ru' })).status).toBe(404);
    expect((await c.h.call<unknown[]>('GET', `/residents?building_id=${created}`, tokenB)).body).toEqual([]);
    expect((await c.h.call('GET', `/residents/${anna!.id}`, t)).body).toMatchObject({ email: 'anna@example.ru' });
    await c.signIn('office-a');
    expect(c.browser.pageErrors).toEqual([]);
  }, 45_000);

  it('the lists and detail pages (building card, accounts, residents, one meter, one gateway) pass the check in both languages and viewports', async () => {
    // The gateway's card with a current binding to show (the one made through the screen was ended).
    expect((await c.h.call('POST', '/gateways/gw-novaya-5/bindings', c.h.adminToken, { bus: 'mbus0', address: '7', meter_id: meterId })).status).toBe(201);
    const problems: string[] = [];
    problems.push(...(await checkScreen(c, 'registry-building', `/registry/buildings/${created}`, 'registry-building')).problems);
    problems.push(...(await checkScreen(c, 'registry-accounts', `/registry/buildings/${created}/accounts`, 'accounts-list')).problems);
    problems.push(...(await checkScreen(c, 'registry-residents', `/registry/buildings/${created}/residents`, 'residents-list')).problems);
    // The meter's card lists its (undone) replacement.
    problems.push(...(await checkScreen(c, 'registry-meter', `/registry/meters/${meterId}`, 'replacements-list')).problems);
    problems.push(...(await checkScreen(c, 'registry-gateway', '/registry/gateways/gw-novaya-5', 'binding-mbus0-7')).problems);
    problems.push(...(await checkScreen(c, 'registry-buildings', '/registry', 'buildings-list')).problems);
    problems.push(...(await checkScreen(c, 'registry-premises', `/registry/buildings/${created}/premises`, 'premises-list')).problems);
    problems.push(...(await checkScreen(c, 'registry-meters', `/registry/buildings/${created}/meters`, 'meters-list')).problems);
    problems.push(...(await checkScreen(c, 'registry-gateways', '/registry/gateways', 'gateways-list')).problems);
    expect(problems).toEqual([]);
  }, 150_000);

  it('an operator (meter inspector) reads the registry; a change is refused in their language', async () => {
    await c.signIn('inspector-a');
    await c.setLanguage('ru');
    await c.open(`/registry/buildings/${bA0}/premises`, 'premises-list');
    await c.byTestId('premise-add').click();
    await c.byTestId('field-number').fill('3');
    await c.byTestId('premise-save').click();
    expect(await c.byTestId('form-error').textContent()).toContain('Недостаточно прав');
    expect((await c.h.call<Row[]>('GET', `/premises?building_id=${bA0}`, c.h.adminToken)).body).toEqual([]);
  }, 30_000);
});
