/**
 * Exchange secrets sealed by default: without SECRETS_KEY the head-end generates a key once and keeps it
 * in DATA_DIR/secrets.key (mode 0600), memory:// data dirs get a key for the process's lifetime; through
 * the real API with that key, a partner's password is stored sealed, and a password stored in clear by
 * an older version is still read and is sealed on its next write.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSealed, openSecret, parseSecretsKey, secretsKeyFor, SECRETS_KEY_FILE } from '../../src/util/secret-box.js';
import { startHarness, type Harness } from '../api/harness.js';
import { seedRegistry, type Fixture } from './fixtures.js';

describe('secretsKeyFor', () => {
  const dirs: string[] = [];
  const tmp = () => { const d = mkdtempSync(join(tmpdir(), 'amr-secrets-')); dirs.push(d); return d; };
  afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

  it('generates a 32-byte key once in DATA_DIR/secrets.key with mode 0600, and reads the same one after', () => {
    const dir = join(tmp(), 'data'); // not created yet: the first start creates it
    const said: string[] = [];
    const k1 = secretsKeyFor(undefined, dir, (m) => said.push(m));
    expect(parseSecretsKey(k1)).toHaveLength(32);
    const file = join(dir, SECRETS_KEY_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8').trim()).toBe(k1);
    expect(said).toHaveLength(1);
    expect(said[0]).toContain(file);
    // A restart reads it back and says nothing.
    expect(secretsKeyFor(undefined, dir, (m) => said.push(m))).toBe(k1);
    expect(said).toHaveLength(1);
  });

  it('a given SECRETS_KEY wins; a loosened file mode is tightened; a damaged file is named', () => {
    const given = Buffer.alloc(32, 7).toString('base64');
    const dir = tmp();
    expect(secretsKeyFor(given, dir)).toBe(given);
    expect(() => statSync(join(dir, SECRETS_KEY_FILE))).toThrow(); // nothing written when the key is given
    const k = secretsKeyFor(undefined, dir);
    chmodSync(join(dir, SECRETS_KEY_FILE), 0o644);
    expect(secretsKeyFor(undefined, dir)).toBe(k);
    expect(statSync(join(dir, SECRETS_KEY_FILE)).mode & 0o777).toBe(0o600);
    writeFileSync(join(dir, SECRETS_KEY_FILE), 'not a key\n');
    expect(() => secretsKeyFor(undefined, dir)).toThrow(/secrets\.key does not hold a key \(32 bytes in base64\); restore it from a backup, or set SECRETS_KEY/);
  });

  it('memory:// data dirs: one key for the process lifetime', () => {
    const a = secretsKeyFor(undefined, 'memory://');
    expect(parseSecretsKey(a)).toHaveLength(32);
    expect(secretsKeyFor(undefined, 'memory://other')).toBe(a);
  });
});

describe('through the API with the default key', () => {
  const KEY = secretsKeyFor(undefined, 'memory://');
  let h: Harness;
  let f: Fixture;
  beforeAll(async () => {
    h = await startHarness({ SECRETS_KEY: KEY });
    f = await seedRegistry(h.opened.db);
  }, 120_000);
  afterAll(async () => { await h?.close(); });

  it('a partner password is stored sealed; one stored in clear earlier is read as is and sealed on the next write', async () => {
    const c = await h.call('POST', '/exchange/configs', h.adminToken, {
      org_id: f.orgId, direction: 'export', folder: '/out', cron: '0 3 * * *', enabled: false,
      transport: 'ftp', host: '127.0.0.1', port: 2121, username: 'partner', password: 'Partner-Pass-1',
    });
    expect(c.status, JSON.stringify(c.body)).toBe(201);
    const secretOf = async () => (await h.opened.db.query<{ secret: string }>('SELECT secret FROM exchange_configs WHERE id = $1', [c.body.id])).rows[0].secret;
    expect(isSealed(await secretOf())).toBe(true);
    expect(openSecret(await secretOf(), KEY, 'x')).toBe('Partner-Pass-1');

    // As an older version left it: in clear. Still opens (the run logs in with it).
    await h.opened.db.query('UPDATE exchange_configs SET secret = $2 WHERE id = $1', [c.body.id, 'Old-Clear-Pass-2']);
    expect(openSecret(await secretOf(), KEY, 'x')).toBe('Old-Clear-Pass-2');
    // The next write of the config seals it, value unchanged.
    expect((await h.call('PATCH', `/exchange/configs/${c.body.id}`, h.adminToken, { period_days: 3 })).status).toBe(200);
    expect(isSealed(await secretOf())).toBe(true);
    expect(openSecret(await secretOf(), KEY, 'x')).toBe('Old-Clear-Pass-2');
  });
});
