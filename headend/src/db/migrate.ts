/**
 * Versioned SQL migrations: `headend/migrations/NNN_name.sql`, applied in lexical order, each in its
 * own transaction together with its row in `schema_migrations`, so a failed migration leaves
 * nothing half-applied and is retried on the next start. A file whose checksum changed after it was
 * applied is reported (never silently re-run). An advisory lock keeps two head-ends from migrating
 * at once against a shared server.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Db } from './types.js';

/** The package's migrations folder (works from src/ under vitest and from dist/ when built). */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

const FILE = /^(\d{3})_[a-z0-9_]+\.sql$/;
const LOCK_KEY = 7_316_001; // arbitrary, fixed: "amr migrations"

export interface Migration {
  version: string;
  name: string;
  sql: string;
  checksum: string;
}

export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();
  const seen = new Map<string, string>();
  return files.map((name) => {
    const m = FILE.exec(name);
    if (!m) throw new Error(`migration file name ${name} must look like NNN_lower_snake.sql`);
    const dup = seen.get(m[1]);
    if (dup) throw new Error(`migrations ${dup} and ${name} share version ${m[1]}`);
    seen.set(m[1], name);
    const sql = readFileSync(`${dir}/${name}`, 'utf8');
    return { version: m[1], name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
  });
}

export interface MigrateResult {
  applied: string[];
  skipped: string[];
  /** Applied earlier but the file differs now (a migration must never be edited after release). */
  changed: string[];
}

export async function migrate(
  db: Db,
  opts: { dir?: string; log?: (msg: string) => void } = {},
): Promise<MigrateResult> {
  const migrations = loadMigrations(opts.dir);
  await db.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version text PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now())`);
  const result: MigrateResult = { applied: [], skipped: [], changed: [] };
  for (const m of migrations) {
    const done = await db.tx(async (q) => {
      // Transaction-scoped advisory lock: serialises concurrent migrators per migration.
      await q.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
      const { rows } = await q.query<{ checksum: string }>('SELECT checksum FROM schema_migrations WHERE version = $1', [
        m.version,
      ]);
      if (rows.length) return rows[0].checksum === m.checksum ? 'skipped' : 'changed';
      try {
        await q.query(m.sql);
      } catch (e) {
        throw new Error(`migration ${m.name} failed: ${(e as Error).message}`, { cause: e });
      }
      await q.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
        m.version,
        m.name,
        m.checksum,
      ]);
      return 'applied';
    });
    result[done].push(m.name);
    if (done === 'applied') opts.log?.(`migration ${m.name} applied`);
    if (done === 'changed') opts.log?.(`WARNING: migration ${m.name} was edited after it was applied; not re-run`);
  }
  return result;
}
