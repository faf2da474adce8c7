/**
 * Exchange partners' passwords sealed at rest (SECRETS_KEY): the pure seal/open with fixed cases, then
 * through the API on the embedded DB — the stored column holds no password, a run with the key logs in
 * to a real FTP server (ftp-srv), and a run without the key (or with another one) fails with a message
 * that says why instead of sending garbage as a password.
 */
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSealed, openSecret, parseSecretsKey, sealSecret, SecretKeyError } from '../../src/util/secret-box.js';
import { runExchange } from '../../src/exchange/index.js';
import { loadConfig } from '../../src/config/index.js';
import { startHarness, type Harness } from '../api/harness.js';
import { seedRegistry, type Fixture } from './fixtures.js';
import { startFtp, type TestFtp } from './servers.js';

const KEY = randomBytes(32).toString('base64');
const OTHER = randomBytes(32).toString('base64');

describe('secret box', () => {
  it('seals with a fresh nonce each time and opens with the same key', () => {
    const a = sealSecret('pa$$word', KEY)!;
    const b = sealSecret('pa$$word', KEY)!;
    expect(isSealed(a)).toBe(true);
    expect(a).not.toBe(b);
    expect(a).not.toContain('pa$$word');
    expect(openSecret(a, KEY, 'x')).toBe('pa$$word');
    expect(openSecret(b, KEY, 'x')).toBe('pa$$word');
  });
  it('without a key values stay as given; null and already sealed values pass through', () => {
    expect(sealSecret('plain', undefined)).toBe('plain');
    expect(openSecret('plain', KEY, 'x')).toBe('plain');
    expect(sealSecret(null, KEY)).toBeNull();
    const s = sealSecret('k', KEY)!;
    expect(sealSecret(s, KEY)).toBe(s);
  });
  it('a sealed value without the key, with another key or damaged is an error naming whose secret', () => {
    const s = sealSecret('pw', KEY)!;
    expect(() => openSecret(s, undefined, 'exchange config 7')).toThrow(/exchange config 7: the stored secret is sealed and SECRETS_KEY is not set/);
    expect(() => openSecret(s, OTHER, 'exchange config 7')).toThrow(SecretKeyError);
    const damaged = s.slice(0, -4) + (s.endsWith('AAA=') ? 'BBB=' : 'AAA=');
    expect(() => openSecret(damaged, KEY, 'exchange config 7')).toThrow(/does not open with this SECRETS_KEY/);
  });
  it('the key must be 32 bytes in base64, in the config too', () => {
    expect(() => parseSecretsKey('c2hvcnQ=')).toThrow(/32 bytes in base64/);
    expect(() => loadConfig({ SECRETS_KEY: 'c2hvcnQ=' })).toThrow(/SECRETS_KEY/);
    expect(loadConfig({ SECRETS_KEY: KEY }).SECRETS_KEY).toBe(KEY);
    expect(loadConfig({ SECRETS_KEY: '' }).SECRETS_KEY).toBeUndefined();
  });
});

describe('exchange config secrets sealed in the database', () => {
  let h: Harness;
  let f: Fixture;
  let ftp: TestFtp;
  beforeAll(async () => {
    h = await startHarness({ SECRETS_KEY: KEY });
    f = await seedRegistry(h.opened.db);
    ftp = await startFtp();
  }, 120_000);
  afterAll(async () => {
    await h?.close();
    await ftp?.close();
  });

  it('stores no password in clear; runs with the key, fails clearly without it or with another one', async () => {
    const c = await h.call('POST', '/exchange/configs', h.adminToken, {
      org_id: f.orgId, direction: 'export', folder: '/out', cron: '0 3 * * *', enabled: false,
      transport: 'ftp', host: '127.0.0.1', port: ftp.port, username: ftp.username, password: ftp.password,
    });
    expect(c.status, JSON.stringify(c.body)).toBe(201);
    expect(c.body.has_secret).toBe(true);
    const stored = (await h.opened.db.query<{ secret: string }>('SELECT secret FROM exchange_configs WHERE id = $1', [c.body.id])).rows[0].secret;
    expect(isSealed(stored)).toBe(true);
    expect(stored).not.toContain(ftp.password);

    // A PATCH that does not touch the login keeps the sealed value as it is.
    expect((await h.call('PATCH', `/exchange/configs/${c.body.id}`, h.adminToken, { period_days: 3 })).status).toBe(200);
    expect((await h.opened.db.query<{ secret: string }>('SELECT secret FROM exchange_configs WHERE id = $1', [c.body.id])).rows[0].secret).toBe(stored);

    const ok = await runExchange({ db: h.opened.db, secretsKey: KEY }, c.body.id);
    expect(ok.status, ok.message ?? '').toBe('ok');
    expect((await readdir(`${ftp.root}/out`)).filter((n) => n.endsWith('.xml'))).toHaveLength(1);

    const noKey = await runExchange({ db: h.opened.db }, c.body.id);
    expect(noKey).toMatchObject({ status: 'failed', message: expect.stringContaining(`exchange config ${c.body.id}: the stored secret is sealed and SECRETS_KEY is not set`) });
    const wrongKey = await runExchange({ db: h.opened.db, secretsKey: OTHER }, c.body.id);
    expect(wrongKey).toMatchObject({ status: 'failed', message: expect.stringContaining('does not open with this SECRETS_KEY') });
    expect(ftp.logins).toEqual([ftp.username]); // only the run with the key reached the server's login
  }, 60_000);
});
