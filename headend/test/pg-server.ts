/**
 * A PostgreSQL 15 instance of the tests' own, with TimescaleDB preloaded: `initdb` in a temporary
 * directory, started on a free port, stopped and removed afterwards. Never the machine's service on
 * 5432 (other projects' tests share it, and it has no TimescaleDB). TimescaleDB itself is installed
 * into PostgreSQL 15 by `scripts/ensure-timescaledb.sh` (run by `npm test`'s pretest).
 *
 * PostgreSQL refuses to run as root: as root (CI, dev machines) the server runs as the `postgres`
 * user, which owns the directory; otherwise as the current user.
 */
import { execFile as execFileCb, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './free-port.js';

const execFile = promisify(execFileCb);
/** The PostgreSQL major and TimescaleDB release the tests run; docker-compose.yml and deploy/k8s pin the same image. */
export const PG_MAJOR = 15;
export const TIMESCALEDB_VERSION = '2.23.1';
export const PG_BIN = `/usr/lib/postgresql/${PG_MAJOR}/bin`;
/** The TimescaleDB image of that pair, as docker-compose.yml and deploy/k8s/timescaledb.yaml name it. */
export const TIMESCALEDB_IMAGE = `timescale/timescaledb:${TIMESCALEDB_VERSION}-pg${PG_MAJOR}`;

export interface PgServer {
  port: number;
  /** `postgres://postgres@127.0.0.1:<port>/<db>` (trust authentication, loopback only). */
  url(db?: string): string;
  dir: string;
  stop(): Promise<void>;
}

function asOwner(): { uid: number; gid: number; user: string } | null {
  if (process.getuid?.() !== 0) return null;
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid, user: 'postgres' };
}

async function run(cmd: string, args: string[], owner: ReturnType<typeof asOwner>): Promise<string> {
  const [file, argv] = owner ? ['runuser', ['-u', owner.user, '--', cmd, ...args]] : [cmd, args];
  try {
    const r = await execFile(file, argv, { maxBuffer: 16 * 1024 * 1024 });
    return r.stdout;
  } catch (e) {
    const err = e as Error & { stderr?: string; stdout?: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${err.stderr || err.stdout || err.message}`);
  }
}

/** Why a server with TimescaleDB cannot start here, or null when it can. */
export function pgServerMissing(): string | null {
  if (!existsSync(join(PG_BIN, 'initdb'))) return `PostgreSQL 15 server binaries are missing (${PG_BIN}/initdb): apt-get install postgresql-15`;
  const lib = execFileSync(join(PG_BIN, 'pg_config'), ['--pkglibdir']).toString().trim();
  if (!existsSync(join(lib, `timescaledb-${TIMESCALEDB_VERSION}.so`))) {
    return `TimescaleDB ${TIMESCALEDB_VERSION} is not installed in PostgreSQL 15 (${lib}): run bash scripts/ensure-timescaledb.sh (npm test does)`;
  }
  return null;
}

export async function startPgServer(opts: { settings?: Record<string, string | number> } = {}): Promise<PgServer> {
  const missing = pgServerMissing();
  if (missing) throw new Error(missing);
  const owner = asOwner();
  const dir = await mkdtemp(join(tmpdir(), 'amr-pg-'));
  if (owner) { await chown(dir, owner.uid, owner.gid); await chmod(dir, 0o700); }
  const data = join(dir, 'data');
  await run(join(PG_BIN, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync'], owner);
  const port = await freePort();
  const settings: Record<string, string | number> = {
    port,
    listen_addresses: '127.0.0.1',
    unix_socket_directories: dir,
    shared_preload_libraries: 'timescaledb',
    'timescaledb.telemetry_level': 'off',
    // A database per test file, each with its own TimescaleDB scheduler worker.
    max_worker_processes: 64,
    'timescaledb.max_background_workers': 48,
    max_connections: 300,
    // Test data is thrown away: no need to survive a power cut.
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    ...opts.settings,
  };
  const o = Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`).join(' ');
  await run(join(PG_BIN, 'pg_ctl'), ['-D', data, '-l', join(dir, 'server.log'), '-o', o, '-w', '-t', '60', 'start'], owner);
  const url = (db = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${db}`;
  return {
    port, url, dir,
    async stop() {
      await run(join(PG_BIN, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'], owner).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Runs one statement as the superuser on `db` of the server at `url`'s host (for CREATE/DROP DATABASE). */
export async function adminQuery(url: string, sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try { await c.query(sql); } finally { await c.end(); }
}
