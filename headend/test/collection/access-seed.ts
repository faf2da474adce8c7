/**
 * The residents'-access tests' two organisations, as an office registers them through the API:
 * «Северная» with building A (ул. Ленина, 5) and three flats with an account each, and «Южная» with
 * building B (ул. Мира, 9) and one account ЛС-900 — the other organisation a probe must not reach.
 */
import type { Harness } from '../api/harness.js';

export interface AccessSeed {
  orgA: number; orgB: number; bA: number; bB: number;
  /** Account ids of building A's flats, in the order of `flats`. */
  accs: number[];
  /** POST as the admin, the new row's id (fails loudly on anything but 201). */
  post(url: string, body: object): Promise<number>;
}

/** `flats`: building A's flat numbers; `perFlat` adds a flat's residents or meters (premise and account ids given). */
export async function seedAccessOrganisations(h: Harness, flats: string[], perFlat?: (s: Pick<AccessSeed, 'post'>, n: string, premise: number, account: number) => Promise<void>): Promise<AccessSeed> {
  const post = async (url: string, body: object) => {
    const r = await h.call('POST', url, h.adminToken, body);
    if (r.status !== 201) throw new Error(`${url}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.id as number;
  };
  const orgA = await post('/organisations', { name: 'УК «Северная»' });
  const orgB = await post('/organisations', { name: 'УК «Южная»' });
  const bA = await post('/buildings', { org_id: orgA, external_id: 'A1', address: 'ул. Ленина, 5', city: 'Тверь' });
  const bB = await post('/buildings', { org_id: orgB, external_id: 'B1', address: 'ул. Мира, 9', city: 'Тверь' });
  const accs: number[] = [];
  for (const n of flats) {
    const premise = await post('/premises', { building_id: bA, number: n });
    const acc = await post('/accounts', { org_id: orgA, number: `ЛС-${n}00`, premise_id: premise });
    await perFlat?.({ post }, n, premise, acc);
    accs.push(acc);
  }
  await post('/accounts', { org_id: orgB, number: 'ЛС-900', premise_id: await post('/premises', { building_id: bB, number: '1' }) });
  return { orgA, orgB, bA, bB, accs, post };
}
