/**
 * Facts the head-end keeps about itself between starts (table headend_settings, migration 040), one
 * text value per name: e.g. the fingerprint of the access-code key it last started with.
 */
import type { Queryable } from './types.js';

export async function readSetting(q: Queryable, name: string): Promise<string | null> {
  const { rows } = await q.query<{ value: string }>('SELECT value FROM headend_settings WHERE name = $1', [name]);
  return rows[0]?.value ?? null;
}

export async function writeSetting(q: Queryable, name: string, value: string): Promise<void> {
  await q.query(`INSERT INTO headend_settings (name, value) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`, [name, value]);
}
