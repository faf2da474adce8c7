/**
 * What the registry console lists beside the CRUD: the counts of each building (premises, active
 * accounts, meters in service, gateways) and a building's personal accounts in one call — each only
 * within the caller's buildings.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.js';

interface Counts { building_id: number; premises: number; accounts: number; meters: number; gateways: number }

let h: Harness;
let bA: number, bB: number, flatA1: number, flatA2: number, flatB1: number;

beforeAll(async () => {
  h = await startHarness();
  const t = h.adminToken;
  const orgA = (await h.call('POST', '/organisations', t, { name: 'УК Восход' })).body.id;
  const orgB = (await h.call('POST', '/organisations', t, { name: 'УК Закат' })).body.id;
  bA = (await h.call('POST', '/buildings', t, { org_id: orgA, address: 'ул. Мира, 1' })).body.id;
  bB = (await h.call('POST', '/buildings', t, { org_id: orgB, address: 'ул. Заречная, 7' })).body.id;
  flatA1 = (await h.call('POST', '/premises', t, { building_id: bA, number: '1' })).body.id;
  flatA2 = (await h.call('POST', '/premises', t, { building_id: bA, number: '2' })).body.id;
  flatB1 = (await h.call('POST', '/premises', t, { building_id: bB, number: '1' })).body.id;
  await h.call('POST', '/accounts', t, { org_id: orgA, number: 'A-1', premise_id: flatA1 });
  await h.call('POST', '/accounts', t, { org_id: orgA, number: 'A-2', premise_id: flatA2, active: false });
  await h.call('POST', '/accounts', t, { org_id: orgB, number: 'B-1', premise_id: flatB1 });
  await h.call('POST', '/meters', t, { placement: 'apartment', premise_id: flatA1, resource: 'cold_water', serial_number: 'L-1' });
  await h.call('POST', '/meters', t, { placement: 'building', building_id: bA, resource: 'heat', serial_number: 'L-2', status: 'removed' });
  await h.call('POST', '/gateways', t, { id: 'gw-lists-a', building_id: bA });
});
afterAll(async () => { await h?.close(); });

describe('registry lists for the console', () => {
  it('counts what each building holds; an engineer gets only the buildings granted', async () => {
    const all = await h.call<Counts[]>('GET', '/buildings/counts', h.adminToken);
    expect(all.status).toBe(200);
    expect(all.body).toEqual([
      { building_id: bA, premises: 2, accounts: 1, meters: 1, gateways: 1 },
      { building_id: bB, premises: 1, accounts: 1, meters: 0, gateways: 0 },
    ]);
    const eng = await h.userToken('engineer', { buildingIds: [bB] });
    expect((await h.call<Counts[]>('GET', '/buildings/counts', eng)).body).toEqual([{ building_id: bB, premises: 1, accounts: 1, meters: 0, gateways: 0 }]);
    expect((await h.call('GET', '/buildings/counts', null)).status).toBe(401);
  });

  it('lists a building\'s accounts by building_id, never another building\'s', async () => {
    const a = await h.call<{ number: string }[]>('GET', `/accounts?building_id=${bA}`, h.adminToken);
    expect(a.body.map((x) => x.number)).toEqual(['A-1', 'A-2']);
    const eng = await h.userToken('engineer', { buildingIds: [bB] });
    expect((await h.call<unknown[]>('GET', `/accounts?building_id=${bA}`, eng)).body).toEqual([]);
  });
});
