/**
 * A PostgreSQL 15 + TimescaleDB server of the benchmarks' own, as headend/test/pg-server.ts starts one
 * for the tests (that file is TypeScript under vitest; benchmarks run plain Node from dist/): initdb
 * in a temporary directory, a free loopback port, trust authentication, removed on stop. As root the
 * server runs as `postgres` (PostgreSQL refuses root). TimescaleDB comes from scripts/ensure-timescaledb.sh.
 *
 * Unlike the tests' server it keeps fsync and synchronous commit on by default: a benchmark's figures
 * are what a production server would do (pass `settings` to change that).
 */
import { execFile as execFileCb, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFile = promisify(execFileCb);
const PG_BIN = '/usr/lib/postgresql/15/bin';
const TIMESCALEDB_VERSION = '2.23.1';

async function freePort() {
  const srv = createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const port = srv.address().port;
  await new Promise((r) => srv.close(() => r()));
  return port;
}

function asOwner() {
  if (process.getuid?.() !== 0) return null;
  return {
    uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()),
    user: 'postgres',
  };
}

async function run(cmd, args, owner) {
  const [file, argv] = owner ? ['runuser', ['-u', owner.user, '--', cmd, ...args]] : [cmd, args];
  try {
    return (await execFile(file, argv, { maxBuffer: 16 * 1024 * 1024 })).stdout;
  } catch (e) {
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr || e.stdout || e.message}`);
  }
}

/** Why no server can start here (with what to do), or null. */
export function pgServerMissing() {
  if (!existsSync(join(PG_BIN, 'initdb'))) return `PostgreSQL 15 server binaries are missing (${PG_BIN}/initdb): apt-get install postgresql-15`;
  const lib = execFileSync(join(PG_BIN, 'pg_config'), ['--pkglibdir']).toString().trim();
  if (!existsSync(join(lib, `timescaledb-${TIMESCALEDB_VERSION}.so`)))
    return `TimescaleDB ${TIMESCALEDB_VERSION} is not installed in PostgreSQL 15 (${lib}): run bash scripts/ensure-timescaledb.sh`;
  return null;
}

/** @param {{ settings?: Record<string, string | number> }} [opts] */
export async function startPgServer(opts = {}) {
  const missing = pgServerMissing();
  if (missing) throw new Error(missing);
  const owner = asOwner();
  const dir = await mkdtemp(join(tmpdir(), 'amr-bench-pg-'));
  if (owner) {
    await chown(dir, owner.uid, owner.gid);
    await chmod(dir, 0o700);
  }
  const data = join(dir, 'data');
  await run(join(PG_BIN, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync'], owner);
  const port = await freePort();
  const settings = {
    port,
    listen_addresses: '127.0.0.1',
    unix_socket_directories: dir,
    shared_preload_libraries: 'timescaledb',
    'timescaledb.telemetry_level': 'off',
    max_connections: 100,
    shared_buffers: '256MB',
    ...opts.settings,
  };
  const o = Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`).join(' ');
  await run(join(PG_BIN, 'pg_ctl'), ['-D', data, '-l', join(dir, 'server.log'), '-o', o, '-w', '-t', '60', 'start'], owner);
  return {
    port,
    dir,
    url: (db = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${db}`,
    async stop() {
      await run(join(PG_BIN, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop'], owner).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A bench's database server: started, stopped on Ctrl-C or a timeout (a process of ours, never left
 * behind), with one empty database `name` created; `url` is what DATABASE_URL gets. `opts.settings`
 * as startPgServer's.
 */
export async function startBenchDatabase(name = 'amr_bench', opts = {}) {
  const server = await startPgServer(opts);
  for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => void server.stop().finally(() => process.exit(130)));
  const { default: pg } = await import('pg');
  const c = new pg.Client({ connectionString: server.url() });
  await c.connect();
  try { await c.query(`CREATE DATABASE ${name}`); } finally { await c.end(); }
  return { server, url: server.url(name) };
}
