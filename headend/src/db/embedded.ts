/**
 * The embedded database: PGlite (a WASM Postgres) with the real TimescaleDB extension, served on a
 * local TCP port by pglite-socket so the head-end can use plain `pg` in both modes.
 *
 * pglite-socket 0.0.19 serves ONE connection at a time (its handler holds PGlite's exclusive lock while
 * a connection is attached). So the pool in front of it must have max = 1 and short transactions.
 * We use pglite-socket's `PGLiteSocketHandler` behind our own TCP listener rather than its
 * `PGLiteSocketServer`, only to put `FramedSocket` in between (see framed-socket.ts: large messages
 * otherwise crash PGlite). Connections beyond the first wait for the lock (no 60 s drop).
 */
import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import { timescaledb } from '@electric-sql/pglite/timescaledb';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { PGLiteSocketHandler } from '@electric-sql/pglite-socket';
import { FramedSocket } from './framed-socket.js';

export interface EmbeddedDb {
  /** `postgres://…` URL for `pg` (one connection at a time). */
  url: string;
  port: number;
  pglite: PGlite;
  /** Each connection's state (FramedSocket.state), for the report of a stuck transaction. */
  describe(): string;
  /**
   * For a client whose statement has gone unanswered: closes the connection holding the session if
   * no byte has moved on it either way for `silentMs` (the answer, or the request, was lost), so that
   * client's transaction fails and is retried. Says whether it closed one.
   */
  closeSilentHolder(silentMs: number): boolean;
  stop(): Promise<void>;
}

/**
 * @param dataDir a directory on disk, or `memory://` for a throw-away database (tests).
 * @param port 0 picks a free port; a taken port fails with a message naming it.
 */
/**
 * What a throw-away (memory://) database starts from instead of an empty cluster: a PGlite dump
 * (`dumpDataDir`) of an already migrated database, named by `seed` or AMR_EMBEDDED_SEED. The test
 * run makes one per set of migrations (headend/test/embedded-seed.ts), so each test file's database
 * skips initdb and the migrations (seconds each). Never for a directory on disk: that is real data.
 */
async function seedOf(dataDir: string, seed: string | undefined): Promise<Blob | undefined> {
  const file = seed ?? process.env.AMR_EMBEDDED_SEED;
  if (!file || !dataDir.startsWith('memory://')) return undefined;
  // Read once per process: a seed is ~30 MB and a test file may open several databases from it.
  if (!seeds.has(file)) {
    seeds.set(file, readFile(file).then((b) => new Blob([b]), (e: Error) => {
      seeds.delete(file);
      throw new Error(`the embedded database's seed ${file} (AMR_EMBEDDED_SEED) cannot be read: ${e.message}; unset it to start from an empty database`);
    }));
  }
  return seeds.get(file);
}
const seeds = new Map<string, Promise<Blob>>();

/**
 * What bounds the embedded engine's memory (all of it in PGlite's WASM heap, which grows to its peak
 * and never shrinks): the page cache, allocated at start, and what one sort/hash, maintenance and
 * temporary tables may take. PostgreSQL sizes (4MB, 512kB); unset = PGlite's own (128MB, 4MB, 64MB, 8MB).
 */
export interface EmbeddedMemory {
  sharedBuffers?: string;
  workMem?: string;
  maintenanceWorkMem?: string;
  tempBuffers?: string;
}

/**
 * PGlite reads no postgresql.conf (nor postgresql.auto.conf: ALTER SYSTEM is written and ignored);
 * its backend starts with `-c` options compiled into the WASM binary, shared_buffers=128MB among them,
 * and shared_buffers can only be set at start. So a different size is written over that option in
 * the binary's data before it is compiled: the same bytes, the value padded with NULs (a C string).
 */
const PGLITE_SHARED_BUFFERS = 'shared_buffers=128MB';
type WasmModule = NonNullable<PGliteOptions['wasmModule']>;
// Node's global, which the project's type libraries (no DOM) do not declare.
const wasm = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<WasmModule> } }).WebAssembly;
const patchedModules = new Map<string, Promise<WasmModule>>();

function wasmModuleWith(sharedBuffers: string): Promise<WasmModule> | undefined {
  if (sharedBuffers === '128MB') return undefined;
  const option = `shared_buffers=${sharedBuffers}`;
  if (option.length > PGLITE_SHARED_BUFFERS.length) {
    throw new Error(`embedded database: shared_buffers ${sharedBuffers} does not fit PGlite's start option (at most 5 characters: 16MB to 999MB, or 1GB)`);
  }
  if (!patchedModules.has(sharedBuffers)) {
    const file = join(dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite')), 'pglite.wasm');
    patchedModules.set(sharedBuffers, readFile(file).then((bytes) => {
      const at = bytes.indexOf(PGLITE_SHARED_BUFFERS);
      if (at < 0 || bytes.indexOf(PGLITE_SHARED_BUFFERS, at + 1) >= 0) {
        throw new Error(`embedded database: this PGlite build (${file}) does not start with exactly one "${PGLITE_SHARED_BUFFERS}" option, so EMBEDDED_SHARED_BUFFERS cannot be applied; unset it (128MB)`);
      }
      const value = Buffer.alloc(PGLITE_SHARED_BUFFERS.length);
      value.write(option);
      value.copy(bytes, at);
      return wasm.compile(bytes);
    }));
    patchedModules.get(sharedBuffers)!.catch(() => patchedModules.delete(sharedBuffers));
  }
  return patchedModules.get(sharedBuffers);
}

/**
 * The per-operation limits: settings of the one session PGlite has, which every connection through
 * the socket shares (a SET outside a transaction stays for the life of the database).
 */
async function applySessionMemory(pglite: PGlite, memory: EmbeddedMemory): Promise<void> {
  const settings: [string, string | undefined, string][] = [
    ['work_mem', memory.workMem, 'EMBEDDED_WORK_MEM'],
    ['maintenance_work_mem', memory.maintenanceWorkMem, 'EMBEDDED_MAINTENANCE_WORK_MEM'],
    ['temp_buffers', memory.tempBuffers, 'EMBEDDED_TEMP_BUFFERS'],
  ];
  for (const [name, value, variable] of settings) {
    if (value === undefined) continue;
    try {
      await pglite.query('SELECT set_config($1, $2, false)', [name, value]);
    } catch (e) {
      throw new Error(`embedded database: ${variable}=${value} is refused as ${name}: ${(e as Error).message}`);
    }
  }
}

export async function startEmbeddedDb(opts: {
  dataDir: string; port: number; host?: string; seed?: string; memory?: EmbeddedMemory; onProblem?: (message: string) => void;
  /** How long a connection holding the session may be owed an answer before it counts as lost (default 20 s). */
  lostRequestMs?: number;
}): Promise<EmbeddedDb> {
  const host = opts.host ?? '127.0.0.1';
  // Check the port before spending seconds on PGlite start-up (the listen below still reports races).
  if (opts.port !== 0) await assertPortFree(host, opts.port);
  if (!opts.dataDir.startsWith('memory://')) mkdirSync(opts.dataDir, { recursive: true });
  const memory = opts.memory ?? {};
  const wasmModule = memory.sharedBuffers ? await wasmModuleWith(memory.sharedBuffers) : undefined;
  const pglite = await PGlite.create({ dataDir: opts.dataDir, extensions: { timescaledb }, loadDataDir: await seedOf(opts.dataDir, opts.seed), wasmModule });
  try {
    await applySessionMemory(pglite, memory);
  } catch (e) {
    await pglite.close();
    throw e;
  }
  // LOAD first: when an existing data directory is reopened, letting the first TimescaleDB call load
  // the library leaves its TSL module unloadable in PGlite (policies, continuous-aggregate triggers
  // and so every insert into `readings` then fail with "not supported under the current license").
  await pglite.exec(`LOAD 'timescaledb'`);
  await pglite.exec('CREATE EXTENSION IF NOT EXISTS timescaledb');
  const socketSide = forgettingRawCalls(pglite);
  const sockets = new Set<Socket>();
  const framedOf = new Map<Socket, { n: number; framed: FramedSocket }>();
  let accepted = 0;
  const server: Server = createTcpServer((socket) => {
    sockets.add(socket);
    const framed = new FramedSocket(socket);
    framedOf.set(socket, { n: ++accepted, framed });
    // PGlite is ONE database session shared by every connection in turn: a client that goes away
    // inside a transaction (connection cut between BEGIN and COMMIT) would leave it open, and the
    // next connection would run in it and COMMIT the half-written work. So when the connection that
    // holds the session (its handler listens for data only while it holds PGlite's lock) errors or
    // closes, roll back, synchronously: these listeners run before the handler's own, which release
    // the lock to the next connection.
    const abandon = () => {
      if (framed.listenerCount('data') > 0) rollbackAbandoned(pglite);
    };
    socket.prependListener('error', abandon);
    socket.prependListener('close', () => {
      sockets.delete(socket);
      framedOf.delete(socket);
      abandon();
    });
    // A request cycle left unanswered would hold the only connection forever (ingest, API and jobs all
    // wait behind it): close it; the client's transaction fails, is rolled back here and retried.
    framed.on('unanswered', (why: string) => {
      opts.onProblem?.(`${why}; closing that connection so its client does not wait forever`);
      socket.destroy();
    });
    const handler = new PGLiteSocketHandler({ db: socketSide, closeOnDetach: true });
    handler.attach(framed as unknown as Socket).catch(() => socket.destroy());
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, host, () => resolve());
    });
  } catch (e) {
    await pglite.close();
    throw listenError(host, opts.port, e as NodeJS.ErrnoException);
  }
  const port = (server.address() as { port: number }).port;
  // A request lost between the client and PGlite would hold the one connection, and with it ingest,
  // the API and every job, for good (seen in loaded test runs: a statement in flight for minutes, CPU
  // idle; the cause found was PGlite dropping the rest of a request after a message ending on its read
  // block, which FramedSocket now cuts around — this watch stays for a cause not yet seen).
  // FramedSocket.owedFor says when the connection holding the session
  // has waited for an answer across many turns of the event loop, which a working request never does:
  // log where it stood and close it; its client's transaction fails, is rolled back here and retried.
  // A late tick (the event loop was held by something) proves nothing and is skipped.
  const lostMs = opts.lostRequestMs ?? LOST_REQUEST_MS;
  const checkMs = Math.min(LOST_CHECK_MS, Math.max(100, Math.floor(lostMs / 4)));
  let lastTick = Date.now();
  const lostWatch = setInterval(() => {
    const now = Date.now();
    const late = now - lastTick > checkMs + 1_000;
    lastTick = now;
    if (late) return;
    for (const [socket, { n, framed }] of framedOf) {
      if (framed.owedFor(now) < lostMs) continue;
      opts.onProblem?.(`connection #${n} was owed an answer for ${Math.round(framed.owedFor(now) / 1000)} s with the engine idle (${framed.state(now)}); closing it so its client's transaction fails and is retried`);
      socket.destroy();
    }
  }, checkMs);
  lostWatch.unref();
  return {
    url: `postgres://postgres:postgres@${host}:${port}/postgres?sslmode=disable`,
    port,
    pglite,
    describe() {
      const now = Date.now();
      const lines = [...framedOf.values()].map(({ n, framed }) => `connection #${n}: ${framed.state(now)}`);
      return `embedded engine: ${lines.length} connection(s)${lines.length ? `; ${lines.join('; ')}` : ''}`;
    },
    closeSilentHolder(silentMs) {
      const now = Date.now();
      for (const [socket, { n, framed }] of framedOf) {
        if (!framed.holdsSession() || framed.silentFor(now) < silentMs) continue;
        opts.onProblem?.(`connection #${n} holds the session with a statement unanswered and nothing moved for ${Math.round(framed.silentFor(now) / 1000)} s (${framed.state(now)}); closing it so its client's transaction fails and is retried`);
        socket.destroy();
        return true;
      }
      return false;
    },
    async stop() {
      clearInterval(lostWatch);
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const s of sockets) s.destroy();
      await closed;
      await pglite.close();
    },
  };
}

/**
 * PGlite as pglite-socket's handler sees it (it calls waitReady, runExclusive and execProtocolRaw), but
 * answering through execProtocol. PGlite parses every message its backend sends and keeps it in a
 * list that only execProtocol empties (it returns them); execProtocolRaw, which the handler calls for
 * all socket traffic, never does, so every row the head-end ever read stayed in the V8 heap (the soak:
 * +35 MB a minute under the 25th evening's load). execProtocol with throwOnError off answers the same
 * bytes — errors included, for the client to read — and empties the list each time.
 */
function forgettingRawCalls(pglite: PGlite): PGlite {
  const side = {
    get waitReady() { return pglite.waitReady; },
    runExclusive: <T>(fn: () => Promise<T>) => pglite.runExclusive(fn),
    execProtocolRaw: async (message: Uint8Array, opts: { syncToFs?: boolean } = {}) =>
      (await pglite.execProtocol(message, { syncToFs: opts.syncToFs, throwOnError: false })).data,
  };
  return side as unknown as PGlite;
}

/** How often the connections are checked for a lost request, and how long one must be owed to be lost. */
const LOST_CHECK_MS = 5_000;
const LOST_REQUEST_MS = 20_000;

/** A simple-protocol `ROLLBACK` (Query message), answered and discarded; a no-op outside a transaction. */
const ROLLBACK_MESSAGE = (() => {
  const sql = Buffer.from('ROLLBACK\0');
  const m = Buffer.alloc(5 + sql.length);
  m.write('Q', 0);
  m.writeInt32BE(4 + sql.length, 1);
  sql.copy(m, 5);
  return new Uint8Array(m);
})();

function rollbackAbandoned(pglite: PGlite): void {
  try {
    pglite.execProtocolRawSync(ROLLBACK_MESSAGE);
  } catch {
    /* the database is closing: nothing left to roll back */
  }
}

function listenError(host: string, port: number, e: NodeJS.ErrnoException): Error {
  return new Error(
    e.code === 'EADDRINUSE'
      ? `embedded database: port ${host}:${port} is already in use (set DB_PORT to a free port, or 0 for any)`
      : `embedded database: cannot listen on ${host}:${port}: ${e.message}`,
  );
}

function assertPortFree(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createTcpServer();
    probe.once('error', (e) => reject(listenError(host, port, e)));
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}
