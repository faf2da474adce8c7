/**
 * The embedded test databases' seed: one PGlite dump of a freshly migrated embedded database, made
 * once per set of migrations and PGlite build, and loaded by every memory:// database of the run
 * (db/embedded.ts reads AMR_EMBEDDED_SEED). Starting PGlite with TimescaleDB and migrating takes a
 * few seconds per test file; loading the dump a fraction of that — over ~150 files, minutes.
 *
 * The file is named by a hash of what it is made from (the migrations' text, the PGlite package
 * version), so a changed migration makes a new seed and a stale one is never loaded. It is written to
 * a temporary name and renamed, so parallel runs never read half a file.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { migrate, openDb } from '../src/db/index.js';
import { MIGRATIONS_DIR } from '../src/db/migrate.js';

/** The installed PGlite build (its package.json is not exported: found from the entry point upwards). */
function pgliteVersion(): string {
  for (let dir = dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite')); dir !== dirname(dir); dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (!existsSync(pkg)) continue;
    // The package is the TimescaleDB fork under PGlite's name (package.json aliases it): its own name differs.
    const { name, version } = JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string; version?: string };
    if (name && version) return `${name}@${version}`;
  }
  throw new Error('cannot find the version of @electric-sql/pglite: is it installed (npm ci)?');
}

function seedPath(): string {
  const h = createHash('sha256');
  h.update(pgliteVersion());
  for (const f of readdirSync(MIGRATIONS_DIR).filter((x) => x.endsWith('.sql')).sort()) h.update(f).update(readFileSync(join(MIGRATIONS_DIR, f)));
  return join(tmpdir(), `amr-embedded-seed-${h.digest('hex').slice(0, 16)}.tar`);
}

/** The seed's path, made first when this set of migrations has none. */
export async function ensureEmbeddedSeed(): Promise<string> {
  const file = seedPath();
  if (existsSync(file)) return file;
  const opened = await openDb({ dataDir: 'memory://', dbPort: 0, poolMax: 1, seedless: true });
  try {
    await migrate(opened.db);
    const dump = await opened.embedded!.pglite.dumpDataDir('none');
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, Buffer.from(await dump.arrayBuffer()));
    renameSync(tmp, file);
  } finally {
    await opened.close();
  }
  return file;
}
