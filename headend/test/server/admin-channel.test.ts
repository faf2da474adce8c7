/**
 * The admin socket's life beside other head-ends on one DATA_DIR: a socket file left by a head-end
 * that was killed (a real process, SIGKILLed while listening), a second head-end finding the socket
 * served, and two head-ends starting at the same instant. Real sockets, real embedded databases (one
 * per "head-end"), requests sent with the CLI's own client (adminRequest).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminRequest, adminSocketPath, startAdminChannel, type AdminChannel } from '../../src/admin/channel.js';
import { createUser } from '../../src/auth/index.js';
import type { OpenedDb } from '../../src/db/index.js';
import { openTestDb } from '../engine.js';

let dir: string;
const dbs: OpenedDb[] = [];
const channels: AdminChannel[] = [];

/** A head-end's database with one user of that name (who answers a passwd tells which head-end served it). */
async function database(user: string): Promise<OpenedDb> {
  const opened = await openTestDb();
  dbs.push(opened);
  await createUser(opened.db, { username: user, password: 'Correct-Horse-7', role: 'admin' });
  return opened;
}
async function channel(db: OpenedDb, dataDir: string, logs: string[] = []): Promise<AdminChannel> {
  const c = await startAdminChannel({ db: db.db, dataDir, log: (m) => logs.push(m) });
  channels.push(c);
  return c;
}
const passwd = (dataDir: string, login: string) => adminRequest(adminSocketPath(dataDir), { cmd: 'user.passwd', login, password: 'Battery-Staple-42' });

/** What a head-end killed with SIGKILL leaves: the socket file, with nothing listening on it. */
function killedWhileListening(path: string): Promise<void> {
  const script = `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`;
  return new Promise((res) => execFile(process.execPath, ['-e', script], () => res()));
}

let first: OpenedDb;
let second: OpenedDb;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'amr-admin-channel-'));
  first = await database('first-admin');
  second = await database('second-admin');
}, 120_000);
afterAll(async () => {
  for (const c of channels) await c.close();
  for (const d of dbs) await d.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a socket file left by a killed head-end', () => {
  it('the CLI says nothing listens there; the next head-end takes the path over and answers', async () => {
    const dataDir = join(dir, 'crashed');
    const path = adminSocketPath(dataDir);
    mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
    await killedWhileListening(path);
    expect(statSync(path).isSocket()).toBe(true);
    await expect(passwd(dataDir, 'first-admin')).rejects.toThrow(`no running head-end found: ${path} is left over, nothing listens on it`);

    const logs: string[] = [];
    await channel(first, dataDir, logs);
    expect(logs).toEqual([`admin channel on ${path} (owner only): amr-headend user create|passwd`]);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(await passwd(dataDir, 'first-admin')).toMatchObject({ ok: true, message: 'password of "first-admin" changed; its sessions were ended' });
  });
});

describe('two head-ends on one DATA_DIR', () => {
  it('the second finds the socket served and leaves it to the first; the CLI keeps reaching the first', async () => {
    const dataDir = join(dir, 'shared');
    const path = adminSocketPath(dataDir);
    await channel(first, dataDir);
    const logs: string[] = [];
    const other = await channel(second, dataDir, logs);
    expect(logs).toEqual([`admin channel not started: ${path} already answers (another head-end on this DATA_DIR serves it)`]);
    // The first head-end's database has "first-admin", the second's does not: the first answered.
    expect(await passwd(dataDir, 'first-admin')).toMatchObject({ ok: true });
    expect(await passwd(dataDir, 'second-admin')).toMatchObject({ ok: false, error: expect.stringContaining('no user "second-admin"') });
    // Closing the one that did not start the channel leaves the first's socket alone.
    await other.close();
    expect(existsSync(path)).toBe(true);
    expect(await passwd(dataDir, 'first-admin')).toMatchObject({ ok: true });
  });

  it('started at the same instant: both start, exactly one serves, and requests reach it', async () => {
    const dataDir = join(dir, 'race');
    const logsA: string[] = [];
    const logsB: string[] = [];
    await Promise.all([channel(first, dataDir, logsA), channel(second, dataDir, logsB)]);
    const served = [logsA, logsB].map((l) => l.some((m) => m.startsWith('admin channel on ')));
    const leftAlone = [logsA, logsB].map((l) => l.some((m) => m.startsWith('admin channel not started: ')));
    expect(served.filter(Boolean)).toHaveLength(1);
    expect(leftAlone.filter(Boolean)).toHaveLength(1);
    const login = served[0] ? 'first-admin' : 'second-admin';
    expect(await passwd(dataDir, login)).toMatchObject({ ok: true, message: `password of "${login}" changed; its sessions were ended` });
  });
});
