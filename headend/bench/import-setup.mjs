/**
 * The building both import benchmarks fill (bench/import.bench.mjs, bench/import-profile.mjs): one
 * organisation, one building in Moscow's zone, `flats` flats with an account `A<n>` and a cold-water
 * meter `S<n>` each — what a readings CSV of `account,serial,date,value` rows names.
 * `more(q, buildingId)` adds to it in the same transaction.
 */
export async function seedImportBuilding(db, { name, flats, more }) {
  let orgId = 0;
  let buildingId = 0;
  await db.tx(async (q) => {
    orgId = Number((await q.query(`INSERT INTO organisations (name) VALUES ($1) RETURNING id`, [name])).rows[0].id);
    buildingId = Number((await q.query(`INSERT INTO buildings (org_id, address, timezone) VALUES ($1, $2, 'Europe/Moscow') RETURNING id`, [orgId, `${name} 1`])).rows[0].id);
    await q.query(`INSERT INTO premises (building_id, number) SELECT $1, i::text FROM generate_series(1, $2::int) i`, [buildingId, flats]);
    await q.query(`INSERT INTO personal_accounts (org_id, number, premise_id) SELECT $1, 'A' || number, id FROM premises WHERE building_id = $2`, [orgId, buildingId]);
    await q.query(`INSERT INTO meters (placement, building_id, premise_id, resource, serial_number) SELECT 'apartment', $1, id, 'cold_water', 'S' || number FROM premises WHERE building_id = $1`, [buildingId]);
    if (more) await more(q, buildingId);
  });
  return { orgId, buildingId };
}
