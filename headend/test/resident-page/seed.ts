/**
 * A building for the residents' page tests, through the API like staff would set it up: two flats with
 * their personal accounts, flat 1 with cold and hot water meters (cold water with three months of
 * 10 m³ a month, so a big jump asks to confirm), flat 2 with its own meter the resident of flat 1 must
 * never see. The collection window is set to days 1–31, so it is open whatever the API's date (h.clock) is.
 */
import type { Harness } from '../api/harness.js';
import { localDate, localMidnight } from '../../src/collection/rules.js';

export interface SeededFlats {
  orgId: number;
  buildingId: number;
  accountA: { id: number; number: string };
  accountB: { id: number; number: string };
  cold: number; hot: number; otherFlat: number;
  /** Month keys (YYYY-MM, Moscow) of the three seeded cold-water readings, oldest first. */
  historyMonths: string[];
}

const ZONE = 'Europe/Moscow';

const ok = <T>(r: { status: number; body: T }, what: string): T => {
  if (r.status >= 300) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
};

/** The month `back` months before the API's date (h.clock, Moscow), as { y, m }: the seeded readings are dated at its 1st, local midnight. */
function monthsBack(h: Harness, back: number): { y: number; m: number } {
  const today = localDate(h.clock(), ZONE);
  const i = today.y * 12 + (today.m - 1) - back;
  return { y: Math.floor(i / 12), m: (i % 12) + 1 };
}

export async function seedFlats(h: Harness, tag = 'R'): Promise<SeededFlats> {
  const t = h.adminToken;
  const org = ok(await h.call<{ id: number }>('POST', '/organisations', t, { name: `УК ${tag}` }), 'organisation').id;
  const buildingId = ok(await h.call<{ id: number }>('POST', '/buildings', t, { org_id: org, external_id: `RES-${tag}`, address: 'ул. Жильцов, 7', timezone: ZONE }), 'building').id;
  const flat1 = ok(await h.call<{ id: number }>('POST', '/premises', t, { building_id: buildingId, number: '1' }), 'premise 1').id;
  const flat2 = ok(await h.call<{ id: number }>('POST', '/premises', t, { building_id: buildingId, number: '2' }), 'premise 2').id;
  const accountA = ok(await h.call<{ id: number; number: string }>('POST', '/accounts', t, { org_id: org, number: `${tag}-1001`, premise_id: flat1 }), 'account A');
  const accountB = ok(await h.call<{ id: number; number: string }>('POST', '/accounts', t, { org_id: org, number: `${tag}-1002`, premise_id: flat2 }), 'account B');
  const meter = async (body: object) => ok(await h.call<{ id: number }>('POST', '/meters', t, { make: 'Пульс', placement: 'apartment', ...body }), 'meter').id;
  const cold = await meter({ premise_id: flat1, resource: 'cold_water', serial_number: `${tag}-CW-1` });
  const hot = await meter({ premise_id: flat1, resource: 'hot_water', serial_number: `${tag}-HW-1` });
  const otherFlat = await meter({ premise_id: flat2, resource: 'cold_water', serial_number: `${tag}-CW-2` });

  // Three months of cold water, 10 m³ a month, dated like the window 1–31 dates resident readings (the 1st, local midnight).
  const historyMonths: string[] = [];
  for (const [k, v] of [[3, 80], [2, 90], [1, 100]] as const) {
    const ym = monthsBack(h, k);
    historyMonths.push(`${ym.y}-${String(ym.m).padStart(2, '0')}`);
    await h.opened.db.query("INSERT INTO readings (meter_id, time, quantity, value, unit, source) VALUES ($1, $2, 'volume_m3', $3, 'm3', 'resident')",
      [cold, localMidnight({ ...ym, d: 1 }, ZONE), v]);
  }
  ok(await h.call('PUT', '/collection-settings', t, {
    building_id: buildingId, resource: null, enabled: true, window_start_day: 1, window_end_day: 31, integer_only: false,
    accept_expired_verification: false, reminder_days: [1], warn_factor: 3,
  }), 'settings');
  // Cold water in whole cubic metres only: the page must offer a numeric keyboard for it.
  ok(await h.call('PUT', '/collection-settings', t, {
    building_id: buildingId, resource: 'cold_water', enabled: true, window_start_day: 1, window_end_day: 31, integer_only: true,
    accept_expired_verification: false, reminder_days: [1], warn_factor: 3,
  }), 'settings cold water');
  return { orgId: org, buildingId, accountA, accountB, cold, hot, otherFlat, historyMonths };
}

/** A one-time code for an account, issued by staff through the API. */
export async function issueCode(h: Harness, accountId: number): Promise<string> {
  const r = await h.call<{ code: string }>('POST', `/accounts/${accountId}/access-code`, h.adminToken, {});
  if (r.status !== 201) throw new Error(`access code: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.code;
}

export interface SeededZoneFlat { account: { id: number; number: string }; meter: number }

/**
 * Flat 3 of the same building, its own account, and a two-zone (day/night) electricity meter with three
 * months of each register, dated like resident readings (the 1st, local midnight):
 *   day   (energy_t1_kwh)  600, 800, 1000 → 200 kWh a month on average, previous 1000
 *   night (energy_t2_kwh)  400, 450,  500 →  50 kWh a month on average, previous  500
 * Its own flat, so the tests of flat 1 count the same meters as before.
 */
export async function seedZoneFlat(h: Harness, s: SeededFlats, tag = 'R'): Promise<SeededZoneFlat> {
  const t = h.adminToken;
  const flat3 = ok(await h.call<{ id: number }>('POST', '/premises', t, { building_id: s.buildingId, number: '3' }), 'premise 3').id;
  const account = ok(await h.call<{ id: number; number: string }>('POST', '/accounts', t, { org_id: s.orgId, number: `${tag}-1003`, premise_id: flat3 }), 'account C');
  const meter = ok(await h.call<{ id: number }>('POST', '/meters', t, {
    make: 'Меркурий', placement: 'apartment', premise_id: flat3, resource: 'electricity', serial_number: `${tag}-EL-3`, zones: 2,
  }), 'zone meter').id;
  for (const [k, day, night] of [[3, 600, 400], [2, 800, 450], [1, 1000, 500]] as const) {
    const at = localMidnight({ ...monthsBack(h, k), d: 1 }, ZONE);
    for (const [quantity, v] of [['energy_t1_kwh', day], ['energy_t2_kwh', night]] as const) {
      await h.opened.db.query("INSERT INTO readings (meter_id, time, quantity, value, unit, source) VALUES ($1, $2, $3, $4, 'kWh', 'resident')", [meter, at, quantity, v]);
    }
  }
  return { account, meter };
}
