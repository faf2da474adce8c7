/**
 * Exchange with remote folders on real servers (ftp-srv in process; Debian's OpenSSH sshd as a child
 * process), a real embedded DB and real bullmq (Redis 127.0.0.1:6379, unique prefix, removed
 * afterwards): scheduled and run-now exports land as the documented XML with no temporary file left
 * (FTP, FTPS with a certificate from a trusted CA, SFTP);
 * imports move a good file to processed/ and a bad one to failed/ with its errors file, applying
 * nothing of it; a wrong password or key, an untrusted FTPS certificate, an unpinned / wrong SFTP host
 * key or a server that never answers fails the run with a message naming the server and never the
 * secret; the API and the audit log never show the secret.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { JobRunner } from '../../src/jobs/index.js';
import { defineExchangeJobs, runExchange } from '../../src/exchange/index.js';
import { startHarness, type Harness } from '../api/harness.js';
import { fixedClock } from '../../src/util/clock.js';
import { finishedRuns as finishedRunsOf, seedExportReadings, seedRegistry, until, type ExchangeConfigOut, type ExchangeRunOut, type Fixture } from './fixtures.js';
import { startFtp, startSilent, startSshd, type TestFtp, type TestSshd } from './servers.js';
import { expectDocumentedXml } from './xml-check.js';
import { REDIS_URL, removeRedisKeys } from '../redis.js';

const prefix = `amrtest-exchange-remote-${randomUUID()}`;
const ROOT = '/srv/amr-exchange-test';
let runner: JobRunner;
let h: Harness;
let f: Fixture;
let ftp: TestFtp;
let ftps: TestFtp;
let sshd: TestSshd;

const finishedRuns = (configId: number) => finishedRunsOf(h, configId);

async function createConfig(body: Record<string, unknown>): Promise<ExchangeConfigOut> {
  const c = await h.call<ExchangeConfigOut>('POST', '/exchange/configs', h.adminToken, { org_id: f.orgId, cron: '0 3 * * *', enabled: false, ...body });
  expect(c.status, JSON.stringify(c.body)).toBe(201);
  return c.body;
}
/** "Run now" through the job runner (202), then the finished run from the operations log. */
async function runNow(configId: number): Promise<ExchangeRunOut> {
  const r = await h.call('POST', `/exchange/configs/${configId}/run`, h.adminToken);
  expect(r.status).toBe(202);
  return (await until(async () => { const runs = await finishedRuns(configId); return runs.length ? runs : null; }, `a finished run of exchange config ${configId}`))[0];
}
const ftpLogin = () => ({ transport: 'ftp', host: '127.0.0.1', port: ftp.port, username: ftp.username, password: ftp.password });
const sftpLogin = () => ({ transport: 'sftp', host: '127.0.0.1', port: sshd.port, username: sshd.username, private_key: sshd.privateKey, host_key_sha256: sshd.hostKeySha256 });

const header = (orgId: number) => `<?xml version="1.0" encoding="UTF-8"?>\n<readings format_version="1" org_id="${orgId}" from="2026-10-01T00:00:00Z" to="2026-11-01T00:00:00Z" generated_at="2026-11-01T00:00:00Z"`;
const goodFile = (orgId: number, time: Date, value: number) => `${header(orgId)} count="1">\n  <reading serial="HW-1" account="7001" time="${time.toISOString()}" value="${value}"/>\n</readings>\n`;
const badFile = (orgId: number, time: Date, value: number) => `${header(orgId)} count="2">\n  <reading serial="CW-2" account="7002" time="${time.toISOString()}" value="${value}"/>\n  <reading serial="CW-2" account="7002" time="${time.toISOString()}" value="abc"/>\n</readings>\n`;
const countReadings = async (serial: string, value: number) =>
  (await h.opened.db.query('SELECT count(*)::int AS n FROM readings WHERE meter_id = $1 AND value = $2', [f.meters[serial], value])).rows[0].n as number;

/** The runs' and the API's "now": the seeded readings and files are dated from it, never from today. */
const CLOCK = fixedClock('2026-11-15T12:00:00+03:00');

beforeAll(async () => {
  runner = new JobRunner({ redisUrl: REDIS_URL, prefix, logger: pino({ level: 'silent' }) });
  // EXCHANGE_ROOT set on purpose: it confines local folders only, not folders on an FTP/SFTP server.
  h = await startHarness({ jobs: runner, EXCHANGE_ROOT: ROOT, clock: CLOCK });
  ftp = await startFtp();
  ftps = await startFtp({ tls: true });
  sshd = await startSshd();
  // The job's runs trust the test FTPS server's CA, as a deployment would trust a partner's private CA.
  await defineExchangeJobs(runner, { db: h.opened.db, now: CLOCK, timeouts: { connectMs: 15_000, operationMs: 30_000 }, ftpsCa: ftps.ca! });
  f = await seedRegistry(h.opened.db);
  await seedExportReadings(h.opened.db, f, CLOCK());
}, 120_000);

afterAll(async () => {
  await runner?.close();
  await h?.close();
  await ftp?.close();
  await ftps?.close();
  await sshd?.close();
  await removeRedisKeys(prefix);
});

/** The two readings of the last day, as every export in this file must carry them. */
function expectExported(xml: string): void {
  const { root, readings } = expectDocumentedXml(xml);
  expect(root).toMatchObject({ org_id: String(f.orgId), building_id: String(f.buildingId), count: '2' });
  expect(readings.map((r) => [r.serial, r.account, r.value, r.source, r.version])).toEqual([['CW-1', '7001', '12.5', 'staff', '1'], ['CW-2', '7002', '31', 'staff', '2']]);
}

describe('FTP', () => {
  it('a config scheduled every second exports the documented XML to the server; no temporary file is left', async () => {
    const c = await createConfig({ ...ftpLogin(), building_id: f.buildingId, direction: 'export', folder: '/billing/out', cron: '* * * * * *', enabled: true });
    const [run] = await until(async () => { const r = await finishedRuns(c.id); return r.length ? r : null; }, `a finished run of exchange config ${c.id}`);
    expect((await h.call('PATCH', `/exchange/configs/${c.id}`, h.adminToken, { enabled: false })).status).toBe(200);
    expect(run).toMatchObject({ status: 'ok', counts: { files: 1, readings: 2 }, message: expect.stringMatching(/^wrote readings-org\d+-b\d+-.*\.xml \(2 readings\)$/) });

    // The server's folder (created by the export, with its parent) as the FTP server stores it.
    const out = join(ftp.root, 'billing', 'out');
    const all = await readdir(out);
    expect(all.some((n) => n.endsWith('.part'))).toBe(false);
    const files = all.filter((n) => n.endsWith('.xml')).sort();
    const wrote = run.message!; // an ok run names the file it wrote
    expect(files[0]).toBe(wrote.slice('wrote '.length, wrote.indexOf(' (')));
    expectExported(await readFile(join(out, files[0]), 'utf8'));
  }, 60_000);

  it('import: a good file is applied and moved to processed/, a file with a bad row applies nothing and goes to failed/ with its errors', async () => {
    const inbox = join(ftp.root, 'inbox');
    await mkdir(inbox, { recursive: true });
    const now = CLOCK().getTime();
    await writeFile(join(inbox, 'a-good.xml'), goodFile(f.orgId, new Date(now - 48 * 3_600_000), 6.5));
    await writeFile(join(inbox, 'b-bad.xml'), badFile(f.orgId, new Date(now - 48 * 3_600_000), 30.5));
    const c = await createConfig({ ...ftpLogin(), direction: 'import', folder: '/inbox' });

    const run = await runNow(c.id);
    expect(run).toMatchObject({ status: 'failed', counts: { files: 2, files_ok: 1, files_failed: 1, inserted: 1 } });
    expect(run.message).toContain('b-bad.xml: reading 2 [value]: not a number: "abc"');
    expect(await readdir(join(inbox, 'processed'))).toEqual(['a-good.xml']);
    expect((await readdir(join(inbox, 'failed'))).sort()).toEqual(['b-bad.xml', 'b-bad.xml.errors.txt']);
    expect(await readFile(join(inbox, 'failed', 'b-bad.xml.errors.txt'), 'utf8')).toBe('reading 2 [value]: not a number: "abc"\n');
    expect((await readdir(inbox)).filter((n) => n.endsWith('.xml'))).toEqual([]);
    expect(await countReadings('CW-2', 30.5)).toBe(0);
    const stored = (await h.opened.db.query('SELECT source, created_by, reason FROM readings WHERE meter_id = $1 AND value = 6.5', [f.meters['HW-1']])).rows;
    expect(stored).toEqual([{ source: 'import', created_by: `exchange:${c.id}`, reason: 'a-good.xml' }]);
  }, 60_000);

  it('a wrong password fails the run with a message naming the server, never the password', async () => {
    const wrong = `wrong-${randomUUID()}`;
    await mkdir(join(ftp.root, 'inbox2'), { recursive: true });
    await writeFile(join(ftp.root, 'inbox2', 'c.xml'), goodFile(f.orgId, new Date(CLOCK().getTime() - 50 * 3_600_000), 6.4));
    const c = await createConfig({ ...ftpLogin(), password: wrong, direction: 'import', folder: '/inbox2' });
    const run = await runNow(c.id);
    expect(run.status).toBe('failed');
    expect(run.message).toContain(`ftp://${ftp.username}@127.0.0.1:${ftp.port}/inbox2: cannot connect and log in as ${ftp.username}`);
    // The test server repeats the password it was given in its refusal; the head-end cuts it out.
    expect(run.message).toContain('530');
    expect(run.message).not.toContain(wrong);
    expect(await readdir(join(ftp.root, 'inbox2'))).toEqual(['c.xml']);
  }, 60_000);
});

describe('FTPS (explicit TLS)', () => {
  it('exports to a server whose certificate the head-end trusts', async () => {
    const c = await createConfig({ ...ftpLogin(), transport: 'ftps', port: ftps.port, username: ftps.username, password: ftps.password, building_id: f.buildingId, direction: 'export', folder: '/out' });
    const run = await runNow(c.id);
    expect(run).toMatchObject({ status: 'ok', counts: { files: 1, readings: 2 } });
    const all = await readdir(join(ftps.root, 'out'));
    expect(all).toHaveLength(1);
    expectExported(await readFile(join(ftps.root, 'out', all[0]), 'utf8'));
  }, 60_000);

  it('refuses a certificate nobody trusts before sending the login', async () => {
    const c = await createConfig({ ...ftpLogin(), transport: 'ftps', port: ftps.port, username: ftps.username, password: ftps.password, direction: 'export', folder: '/untrusted' });
    const logins = ftps.logins.length;
    // Run here, without the CA the job runner was given.
    const run = await runExchange({ db: h.opened.db }, c.id);
    expect(run.status).toBe('failed');
    expect(run.message).toContain(`ftps://${ftps.username}@127.0.0.1:${ftps.port}/untrusted: cannot connect and log in as ${ftps.username}: self-signed certificate`);
    expect(ftps.logins.length).toBe(logins);
    expect(existsSync(join(ftps.root, 'untrusted'))).toBe(false);
  }, 60_000);
});

describe('SFTP (OpenSSH sshd)', () => {
  it('run now exports the documented XML to the server with the pinned host key; no temporary file is left', async () => {
    const out = join(sshd.root, 'out');
    const c = await createConfig({ ...sftpLogin(), building_id: f.buildingId, direction: 'export', folder: out });
    const run = await runNow(c.id);
    expect(run).toMatchObject({ status: 'ok', counts: { files: 1, readings: 2 } });
    const all = await readdir(out);
    expect(all.some((n) => n.endsWith('.part'))).toBe(false);
    expect(all).toHaveLength(1);
    expect(run.message).toBe(`wrote ${all[0]} (2 readings)`);
    expectExported(await readFile(join(out, all[0]), 'utf8'));
  }, 60_000);

  it('import: a good file is applied and moved to processed/, a file with a bad row applies nothing and goes to failed/ with its errors', async () => {
    const inbox = join(sshd.root, 'inbox');
    await mkdir(inbox, { recursive: true });
    const t = new Date(CLOCK().getTime() - 36 * 3_600_000);
    await writeFile(join(inbox, '2026-11-01-good.XML'), goodFile(f.orgId, t, 6.8));
    await writeFile(join(inbox, '2026-11-02-bad.xml'), badFile(f.orgId, t, 30.7));
    await writeFile(join(inbox, 'notes.txt'), 'not an exchange file');
    const c = await createConfig({ ...sftpLogin(), direction: 'import', folder: inbox });

    const run = await runNow(c.id);
    expect(run).toMatchObject({ status: 'failed', counts: { files: 2, files_ok: 1, files_failed: 1, inserted: 1 } });
    expect(run.message).toContain('2026-11-02-bad.xml: reading 2 [value]: not a number: "abc"');
    expect(await readdir(join(inbox, 'processed'))).toEqual(['2026-11-01-good.XML']);
    expect((await readdir(join(inbox, 'failed'))).sort()).toEqual(['2026-11-02-bad.xml', '2026-11-02-bad.xml.errors.txt']);
    expect(await readFile(join(inbox, 'failed', '2026-11-02-bad.xml.errors.txt'), 'utf8')).toBe('reading 2 [value]: not a number: "abc"\n');
    expect((await readdir(inbox)).sort()).toEqual(['failed', 'notes.txt', 'processed']);
    expect(await countReadings('CW-2', 30.7)).toBe(0);
    expect(await countReadings('HW-1', 6.8)).toBe(1);
  }, 60_000);

  it('refuses a server whose host key is not pinned, or is not the pinned one, before logging in; the message shows the key presented', async () => {
    const out = join(sshd.root, 'refused');
    const unpinned = await createConfig({ ...sftpLogin(), host_key_sha256: null, direction: 'export', folder: out });
    const r1 = await runNow(unpinned.id);
    expect(r1.status).toBe('failed');
    // The fingerprint in the message is the one OpenSSH's ssh-keygen prints for the server's key.
    expect(r1.message).toContain(`sftp://${sshd.username}@127.0.0.1:${sshd.port}${out}: refused: no host key is pinned`);
    expect(r1.message).toContain(`the server presented ${sshd.hostKeySha256}`);

    const wrong = await createConfig({ ...sftpLogin(), host_key_sha256: sshd.otherHostKeySha256, direction: 'export', folder: out });
    const r2 = await runNow(wrong.id);
    expect(r2.status).toBe('failed');
    expect(r2.message).toContain(`refused: the server presented host key ${sshd.hostKeySha256}, not the pinned ${sshd.otherHostKeySha256}`);
    expect(existsSync(out)).toBe(false);
    for (const m of [r1.message, r2.message]) expect(m).not.toContain(sshd.privateKey.split('\n')[1]);
  }, 60_000);
});

describe('failures naming the server', () => {
  it('SFTP: a key the server does not authorize fails the run', async () => {
    const c = await createConfig({ ...sftpLogin(), private_key: sshd.unknownPrivateKey, direction: 'export', folder: join(sshd.root, 'nokey') });
    const run = await runNow(c.id);
    expect(run.status).toBe('failed');
    expect(run.message).toContain(`sftp://${sshd.username}@127.0.0.1:${sshd.port}${join(sshd.root, 'nokey')}: cannot connect and log in as ${sshd.username}: `);
    expect(run.message).toMatch(/authentication methods failed/);
    expect(existsSync(join(sshd.root, 'nokey'))).toBe(false);
  }, 60_000);

  it('a server that never answers fails the run at the connect deadline (FTP and SFTP)', async () => {
    const silent = await startSilent();
    try {
      for (const login of [ftpLogin(), sftpLogin()]) {
        const c = await createConfig({ ...login, port: silent.port, direction: 'export', folder: '/out' });
        const run = await runExchange({ db: h.opened.db, timeouts: { connectMs: 500 } }, c.id);
        expect(run.status).toBe('failed');
        expect(run.message).toContain(`${login.transport}://${login.username}@127.0.0.1:${silent.port}/out: cannot connect and log in as ${login.username}: `);
        expect(run.message).toMatch(/timed out/i);
      }
    } finally {
      await silent.close();
    }
  }, 60_000);
});

describe('remote configs in the API', () => {
  it('checks the fields each transport needs, naming them; EXCHANGE_ROOT confines only local folders', async () => {
    // Mostly refused: the body is the error (its message and the fields it names) unless the caller says otherwise.
    const post = <T = { message: string; details: { path: string }[] }>(body: Record<string, unknown>) => h.call<T>('POST', '/exchange/configs', h.adminToken, { org_id: f.orgId, direction: 'export', folder: '/out', cron: '0 2 * * *', enabled: false, ...body });
    const noLogin = await post({ transport: 'ftp' });
    expect(noLogin.status).toBe(400);
    expect(noLogin.body.message).toBe('ftp needs host; ftp needs username');
    expect(noLogin.body.details.map((d) => d.path)).toEqual(['body.host', 'body.username']);
    expect((await post({ transport: 'sftp', host: 'files.example.org', username: 'u' })).body.message).toBe('sftp needs password or private_key');
    expect((await post({ transport: 'ftps', host: 'files.example.org', username: 'u', private_key: sshd.privateKey })).body.message)
      .toBe('ftps logs in with a password; a private key is for sftp');
    expect((await post({ transport: 'folder', folder: `${ROOT}/x`, host: 'files.example.org' })).body.message)
      .toBe('host is only for transport ftp, ftps or sftp (this config\'s transport is folder)');
    const badKey = await post({ ...sftpLogin(), host_key_sha256: 'MD5:aa:bb' });
    expect(badKey.status).toBe(400);
    expect(JSON.stringify(badKey.body)).toContain('host_key_sha256');
    const injected = await post({ ...ftpLogin(), folder: '/out\r\nDELE /x' });
    expect(injected.status).toBe(400);

    // A folder on the server is not a folder of the head-end's: no EXCHANGE_ROOT there. A local one still is.
    expect((await post({ ...ftpLogin(), folder: '/anywhere/out' })).status).toBe(201);
    const local = await post({ transport: 'folder', folder: '/tmp/out' });
    expect(local.status).toBe(400);
    expect(local.body.message).toContain(`EXCHANGE_ROOT (${ROOT})`);
    // The fingerprint may be given without "SHA256:" and with base64 padding, as some tools print it.
    const bare = await post<ExchangeConfigOut>({ ...sftpLogin(), host_key_sha256: `${sshd.hostKeySha256.slice('SHA256:'.length)}=` });
    expect(bare.status).toBe(201);
    expect(bare.body.host_key_sha256).toBe(sshd.hostKeySha256);
  });

  it('never returns the password or private key, nor writes them to the audit log', async () => {
    const keyLine = sshd.privateKey.split('\n')[1];
    const c = await createConfig({ ...sftpLogin(), direction: 'export', folder: '/out' });
    expect(c).toMatchObject({ transport: 'sftp', host: '127.0.0.1', port: sshd.port, username: sshd.username, has_secret: true, secret_kind: 'private_key', location: `sftp://${sshd.username}@127.0.0.1:${sshd.port}/out` });
    expect(c).not.toHaveProperty('secret');
    expect(c).not.toHaveProperty('private_key');
    const newPassword = `new-${randomUUID()}`;
    const patched = await h.call('PATCH', `/exchange/configs/${c.id}`, h.adminToken, { password: newPassword });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ has_secret: true, secret_kind: 'password' });
    // Switching to a local folder drops the server's login.
    // (A local folder lies in the organisation's own folder under the root.)
    const local = await h.call('PATCH', `/exchange/configs/${c.id}`, h.adminToken, { transport: 'folder', folder: `${ROOT}/org-${f.orgId}/out` });
    expect(local.body).toMatchObject({ transport: 'folder', host: null, username: null, has_secret: false, secret_kind: null, host_key_sha256: null, location: `${ROOT}/org-${f.orgId}/out` });

    const list = await h.call<ExchangeConfigOut[]>('GET', '/exchange/configs', h.adminToken);
    expect(list.body.some((x) => x.has_secret === true)).toBe(true);
    const audit = (await h.opened.db.query(`SELECT before, after FROM audit_log WHERE entity = 'exchange_config'`)).rows;
    expect(audit.some((r) => r.after?.secret_changed === true)).toBe(true);
    for (const text of [JSON.stringify(c), JSON.stringify(patched.body), JSON.stringify(list.body), JSON.stringify(audit), JSON.stringify((await h.call('GET', '/exchange/runs', h.adminToken)).body)]) {
      expect(text).not.toContain(ftp.password);
      expect(text).not.toContain(newPassword);
      expect(text).not.toContain(keyLine);
      expect(text).not.toContain('"secret"');
    }
  });
});
