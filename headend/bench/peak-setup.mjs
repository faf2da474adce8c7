/**
 * What the 25th-evening benchmarks share (peak.bench.mjs, and soak-headend.mjs for soak.bench.mjs):
 * the building of residents and the gateway seeded straight into a started head-end, the gateway's
 * readings message, a resident's HTTP call and a p95. Runs from dist/ (`tsc -b` first).
 */
import { hashSecret } from '../dist/index.js';
import { randomSecret } from '../dist/auth/password.js';
import { issueBuildingCodes } from '../dist/collection/access-store.js';
import { codeKeyOf } from '../dist/collection/access.js';
import { SYSTEM_ACTOR } from '../dist/audit/index.js';

/** The head-end's key, given rather than generated, so the codes issued here are hashed as the API checks them. */
export const PEAK_SECRETS_KEY = Buffer.alloc(32, 25).toString('base64');
/** The evening itself, 19:00 in Moscow. */
export const PEAK_EVENING = '2026-12-25T19:00:00+03:00';
export const PEAK_GATEWAY = 'gw-peak';

/**
 * The building: `accounts` flats, an account and a cold-water meter each, collection open days 1–31;
 * the gateway gw-peak with an issued secret (one SHA-256 to check) and `meters` bound heat meters.
 * @returns {Promise<{ org: number, building: number, meterOf: Map<string, number>, heatMeters: number[], secret: string }>}
 */
export async function seedPeakBuilding(db, { accounts, meters }) {
  const one = async (sql, params = []) => (await db.query(sql, params)).rows[0];
  const org = Number((await one(`INSERT INTO organisations (name) VALUES ('УК Пик') RETURNING id`)).id);
  const building = Number((await one(`INSERT INTO buildings (org_id, address, timezone) VALUES ($1, 'ул. Пиковая, 25', 'Europe/Moscow') RETURNING id`, [org])).id);
  await db.query(`INSERT INTO collection_settings (building_id, resource, enabled, window_start_day, window_end_day, integer_only, accept_expired_verification, reminder_days, warn_factor)
    VALUES ($1, NULL, true, 1, 31, false, false, '{1}', 3)`, [building]);
  const nums = Array.from({ length: accounts }, (_, i) => String(i + 1));
  await db.query(`INSERT INTO premises (building_id, number) SELECT $1, unnest($2::text[])`, [building, nums]);
  await db.query(`INSERT INTO personal_accounts (org_id, number, premise_id) SELECT $1, 'PEAK-' || p.number, p.id FROM premises p WHERE p.building_id = $2`, [org, building]);
  await db.query(`INSERT INTO meters (placement, building_id, premise_id, resource, make, serial_number)
    SELECT 'apartment', $1, p.id, 'cold_water', 'BENCH', 'PEAK-CW-' || p.number FROM premises p WHERE p.building_id = $1`, [building]);
  const meterOf = new Map((await db.query(`SELECT a.number, m.id FROM personal_accounts a JOIN meters m ON m.premise_id = a.premise_id WHERE a.org_id = $1`, [org])).rows.map((r) => [r.number, Number(r.id)]));

  const secret = randomSecret();
  await db.query(`INSERT INTO gateways (id, name, building_id, credential_hash) VALUES ($1, $1, $2, $3)`, [PEAK_GATEWAY, building, await hashSecret(secret)]);
  const heatMeters = [];
  for (let i = 1; i <= meters; i++) {
    const m = await one(`INSERT INTO meters (placement, building_id, resource, make, serial_number) VALUES ('building', $1, 'heat', 'BENCH', $2) RETURNING id`, [building, `PEAK-HEAT-${i}`]);
    await db.query(`INSERT INTO bindings (gateway_id, bus, address, meter_id) VALUES ($1, 'm1', $2, $3)`, [PEAK_GATEWAY, String(i), m.id]);
    heatMeters.push(Number(m.id));
  }
  return { org, building, meterOf, heatMeters, secret };
}

/** New codes for every account of the building (the invite letters' path): [{ number, code }]. */
export async function issuePeakCodes(db, building, requestId) {
  const { letters } = await issueBuildingCodes(db, codeKeyOf(PEAK_SECRETS_KEY), building, 'all', null, 14, SYSTEM_ACTOR, requestId);
  return letters.map((l) => ({ number: l.accountNumber, code: l.code }));
}

/** The gateway's readings message number `s`: one energy reading per bound meter, a minute apart from message to message. */
export function peakGatewayMessage(s, meters) {
  const at = new Date(Date.UTC(2026, 11, 1) + s * 60_000).toISOString();
  return JSON.stringify({ v: 1, gatewayId: PEAK_GATEWAY, sentAt: new Date().toISOString(), readings: Array.from({ length: meters }, (_, a) => ({
    seq: s * meters + a, meter: { meterKey: `k${a + 1}`, bus: 'm1', protocol: 'mbus', address: String(a + 1) }, gatewayTime: at, quality: [],
    values: [{ quantity: 'energy_kwh', value: s, unit: 'kWh', quality: [] }],
  })) });
}
export const peakReadingsTopic = `amr/v1/${PEAK_GATEWAY}/readings`; // topics.readings(PEAK_GATEWAY)

/** One JSON call to the API: status, body and its time in ms. */
export async function apiCall(baseUrl, method, path, body, token) {
  const t = performance.now();
  const res = await fetch(`${baseUrl}${path}`, { method, headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: body ? JSON.stringify(body) : undefined });
  const text = await res.text();
  let parsed = null;
  try { parsed = JSON.parse(text); } catch { /* not JSON: left null */ }
  return { status: res.status, body: parsed, ms: performance.now() - t };
}

/** A resident signing in with a code and submitting one reading of their meter: the two calls. */
export async function residentSubmits(baseUrl, account, meterId, value) {
  const signIn = await apiCall(baseUrl, 'POST', '/resident/sign-in', { account_number: account.number, code: account.code });
  if (signIn.status !== 200) return { signIn, submit: null };
  const submit = await apiCall(baseUrl, 'POST', '/resident/readings', { readings: [{ meter_id: meterId, value }] }, signIn.body.token);
  return { signIn, submit };
}

export const p95 = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.floor(s.length * 0.95))] : NaN; };
