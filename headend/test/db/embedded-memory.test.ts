/**
 * The embedded engine's memory limits (EMBEDDED_* settings): shared_buffers, which PGlite only takes at
 * start from options compiled into its binary, and the per-operation limits of its one session, seen
 * from a connection that opened after the first one was gone; what PostgreSQL or the config refuses.
 * And what the socket traffic leaves in the V8 heap: nothing.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import pg from 'pg';
import { openDb, type OpenedDb } from '../../src/db/index.js';
import { loadConfig, ConfigError } from '../../src/config/index.js';
import { TEST_ENGINE } from '../engine.js';

const MiB = 1024 * 1024;
/** The size of PGlite's WASM heap (it never shrinks, so right after start it is what start-up took). */
const wasmHeap = (o: OpenedDb) => (o.embedded!.pglite as unknown as { Module: { HEAP8: Uint8Array } }).Module.HEAP8.byteLength;
const show = async (client: { query(sql: string): Promise<{ rows: Record<string, string>[] }> }, name: string) => (await client.query(`SHOW ${name}`)).rows[0][name];

describe.skipIf(TEST_ENGINE === 'server')('embedded database memory limits', () => {
  const opened: OpenedDb[] = [];
  afterAll(async () => {
    for (const o of opened) await o.close().catch(() => undefined);
  });

  it('starts with the shared_buffers, work_mem, maintenance_work_mem and temp_buffers it is given, for every connection', async () => {
    const small = await openDb({ dataDir: 'memory://', dbPort: 0, poolMax: 1, embeddedMemory: { sharedBuffers: '32MB', workMem: '2MB', maintenanceWorkMem: '16MB', tempBuffers: '4MB' } });
    opened.push(small);
    expect(await show(small.db, 'shared_buffers')).toBe('32MB');
    const smallHeap = wasmHeap(small);
    // The pool's connection gone, a new one is the same PGlite session: the settings are still there.
    await small.db.close();
    const client = new pg.Client({ connectionString: small.url });
    await client.connect();
    try {
      expect(await show(client, 'shared_buffers')).toBe('32MB');
      expect(await show(client, 'work_mem')).toBe('2MB');
      expect(await show(client, 'maintenance_work_mem')).toBe('16MB');
      expect(await show(client, 'temp_buffers')).toBe('4MB');
    } finally {
      await client.end();
    }

    // PGlite's own 128MB, for comparison: the 96 MB of page cache not taken shows in the WASM heap.
    const usual = await openDb({ dataDir: 'memory://', dbPort: 0, poolMax: 1 });
    opened.push(usual);
    expect(await show(usual.db, 'shared_buffers')).toBe('128MB');
    expect(await show(usual.db, 'work_mem')).toBe('4MB');
    expect(wasmHeap(usual) - smallHeap).toBeGreaterThanOrEqual(90 * MiB);
  });

  it('keeps nothing of the rows read through its socket once they are answered', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const o = await openDb({ dataDir: 'memory://', dbPort: 0, poolMax: 1 });
    opened.push(o);
    await o.db.query('SELECT 1');
    gc();
    const before = process.memoryUsage().heapUsed;
    // 1 500 rows of 20 000 characters: 30 MB through the socket, which PGlite used to keep parsed.
    for (let i = 0; i < 1500; i++) await o.db.query(`SELECT repeat('x', 20000) AS t, $1::int AS i`, [i]);
    gc();
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(10 * MiB);
  });

  it('names the setting PostgreSQL refuses', async () => {
    // work_mem is at least 64kB.
    await expect(openDb({ dataDir: 'memory://', dbPort: 0, poolMax: 1, embeddedMemory: { workMem: '16kB' } }))
      .rejects.toThrow(/EMBEDDED_WORK_MEM=16kB is refused as work_mem: .*64/);
  });
});

describe('EMBEDDED_* settings in the configuration', () => {
  const env = { DATA_DIR: 'memory://' };
  it('defaults to PGlite\'s own sizes', () => {
    const c = loadConfig(env);
    expect([c.EMBEDDED_SHARED_BUFFERS, c.EMBEDDED_WORK_MEM, c.EMBEDDED_MAINTENANCE_WORK_MEM, c.EMBEDDED_TEMP_BUFFERS]).toEqual(['128MB', '4MB', '64MB', '8MB']);
  });

  it('refuses a shared_buffers PGlite cannot start with, and a size without PostgreSQL units, naming the variable', () => {
    expect(() => loadConfig({ ...env, EMBEDDED_SHARED_BUFFERS: '1500MB' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...env, EMBEDDED_SHARED_BUFFERS: '1500MB' })).toThrow(/EMBEDDED_SHARED_BUFFERS.*16MB to 999MB, or 1GB/);
    expect(() => loadConfig({ ...env, EMBEDDED_SHARED_BUFFERS: '8MB' })).toThrow(/EMBEDDED_SHARED_BUFFERS.*at least 16MB/);
    expect(() => loadConfig({ ...env, EMBEDDED_WORK_MEM: '4 MB' })).toThrow(/EMBEDDED_WORK_MEM.*PostgreSQL units/);
    expect(loadConfig({ ...env, EMBEDDED_SHARED_BUFFERS: '1GB', EMBEDDED_WORK_MEM: '512kB' })).toMatchObject({ EMBEDDED_SHARED_BUFFERS: '1GB', EMBEDDED_WORK_MEM: '512kB' });
  });
});
