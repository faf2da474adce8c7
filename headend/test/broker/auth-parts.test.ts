/**
 * The pure pieces of the MQTT CONNECT check, with the clock in the test's hand: who owns a client
 * id, the back-off arithmetic of one address, the order and bound of the hash pool, what the
 * credential cache answers before and after its TTL and a rotation, the two forms of a stored gateway
 * secret, and the authenticator's steps for an unknown id and for a rotation during a check.
 */
import { describe, expect, it } from 'vitest';
import { clientIdOwner, gatewayOwnsClientId } from '../../src/broker/acl.js';
import { AddressBackoff, DEFAULT_BACKOFF } from '../../src/broker/backoff.js';
import { HashPool, PoolFullError } from '../../src/broker/hash-pool.js';
import { CredentialCache, DEFAULT_CREDENTIAL_CACHE } from '../../src/broker/credential-cache.js';
import { DECOY_SECRET_HASH, hashSecret, isFastSecretHash, isIssuedSecret, upgradeSecret, verifySecret } from '../../src/broker/credentials.js';
import { createAuthenticator, type GatewayRow } from '../../src/broker/authenticate.js';
import { randomSecret } from '../../src/auth/password.js';
import { batchedRowLookup } from '../../src/broker/gateway-rows.js';

describe('client id ownership', () => {
  it.each([
    ['amr-gw-gw-1', 'gw-1'], // the gateway's default
    ['gw-1', 'gw-1'], // bare id
    ['amr-gw-gw-1:probe', 'gw-1'], // a second session
    ['gw-1:x:y', 'gw-1'],
    ['amr-gw-gw-1-x', 'gw-1-x'], // not gw-1's: ids contain '-', so no prefix rule
    ['amr-gw-amr-gw-x', 'amr-gw-x'], // gateway "amr-gw-x" in its prefixed form
    ['amr-gw-x', 'x'], // … and its bare id belongs to gateway "x"
    ['', ''],
  ])('%s belongs to %s', (clientId, owner) => {
    expect(clientIdOwner(clientId)).toBe(owner);
  });

  it('no client id is owned by two gateways', () => {
    expect(gatewayOwnsClientId('gw-1', 'amr-gw-gw-1-x')).toBe(false);
    expect(gatewayOwnsClientId('amr-gw-x', 'amr-gw-x')).toBe(false);
    expect(gatewayOwnsClientId('x', 'amr-gw-x')).toBe(true);
    expect(gatewayOwnsClientId('gw-1', 'mallory-1')).toBe(false);
  });
});

describe('address back-off', () => {
  const make = () => {
    const clock = { t: 0 };
    return { clock, b: new AddressBackoff({ ...DEFAULT_BACKOFF, now: () => clock.t }) };
  };

  it('lets 3 unverified attempts through, then waits 1 s, 2 s, 4 s … capped at 5 min', () => {
    const { clock, b } = make();
    const held = [b.admit('a'), b.admit('a'), b.admit('a')];
    expect(held.every((h) => h.ok)).toBe(true);
    expect(b.admit('a')).toEqual({ ok: false, retryInMs: 0 }); // 3 in flight: a 4th would be a 4th hash
    expect(b.admit('other').ok).toBe(true); // another address is not affected
    for (const h of held) if (h.ok) h.release('failed');
    expect(b.admit('a')).toEqual({ ok: false, retryInMs: 1_000 }); // 3 failures: 1 s · 2^(3−3)
    clock.t = 1_000;
    const probe = b.admit('a');
    expect(probe.ok).toBe(true);
    expect(b.admit('a')).toEqual({ ok: false, retryInMs: 0 }); // one probe at a time after a wait
    if (probe.ok) probe.release('failed');
    expect(b.admit('a')).toEqual({ ok: false, retryInMs: 2_000 }); // 4 failures: 1 s · 2^1
    // 8 more probes, each after its wait, each failing:
    for (let i = 0; i < 8; i++) {
      clock.t += 10 * 60_000;
      const a = b.admit('a');
      if (a.ok) a.release('failed');
    }
    // Gaps of 10 min are under the 15 min memory, so failures add up: 4 + 8 = 12, and
    // 1 s · 2^(12−3) = 512 s > 300 s → capped at 300 000 ms.
    expect(b.admit('a')).toEqual({ ok: false, retryInMs: 300_000 });
  });

  it('does not count a verified or unchecked attempt, nor refusals while waiting; forgets after 15 min', () => {
    const { b } = make();
    for (let i = 0; i < 5; i++) {
      const a = b.admit('nat');
      if (a.ok) a.release(i % 2 ? 'verified' : 'unchecked');
    }
    expect(b.admit('nat').ok).toBe(true); // 0 failures after 5 attempts
    const { b: b2 } = make();
    for (let i = 0; i < 3; i++) b2.fail('x');
    for (let i = 0; i < 100; i++) b2.fail('x'); // refused while waiting: not counted
    expect(b2.admit('x')).toEqual({ ok: false, retryInMs: 1_000 });
    const { clock: c3, b: b3 } = make();
    for (let i = 0; i < 3; i++) b3.fail('y');
    c3.t = 15 * 60_000 + 1;
    expect(b3.admit('y').ok).toBe(true);
  });
});

describe('hash pool', () => {
  it('serves known credentials before unknown ones and refuses beyond the unknown queue', async () => {
    const pool = new HashPool({ concurrency: 1, maxUnknownQueued: 2, maxKnownQueued: 10 });
    const order: string[] = [];
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const first = pool.run('unknown', async () => { await gate; order.push('u0'); });
    const u1 = pool.run('unknown', async () => { order.push('u1'); });
    const u2 = pool.run('unknown', async () => { order.push('u2'); });
    await expect(pool.run('unknown', async () => { order.push('u3'); })).rejects.toBeInstanceOf(PoolFullError);
    const k1 = pool.run('known', async () => { order.push('k1'); });
    expect([pool.depth('unknown'), pool.depth('known')]).toEqual([2, 1]);
    open();
    await Promise.all([first, u1, u2, k1]);
    expect(order).toEqual(['u0', 'k1', 'u1', 'u2']);
    expect([pool.depth('unknown'), pool.depth('known')]).toEqual([0, 0]);
  });
});

describe('credential cache', () => {
  it('fresh for 10 min, then stale (hash again, known lane), bound to the stored hash', () => {
    const clock = { t: 0 };
    const c = new CredentialCache({ ...DEFAULT_CREDENTIAL_CACHE, now: () => clock.t });
    c.remember('gw-1', 'secret-1', 'scrypt$stored-1');
    expect(c.check('gw-1', 'secret-1', 'scrypt$stored-1')).toBe('fresh');
    expect(c.check('gw-1', 'secret-2', 'scrypt$stored-1')).toBe('miss'); // another password
    expect(c.check('gw-2', 'secret-1', 'scrypt$stored-1')).toBe('miss'); // another gateway
    expect(c.check('gw-1', 'secret-1', 'scrypt$rotated')).toBe('miss'); // the secret was rotated
    clock.t = 10 * 60_000;
    expect(c.check('gw-1', 'secret-1', 'scrypt$stored-1')).toBe('fresh');
    clock.t = 10 * 60_000 + 1;
    expect(c.check('gw-1', 'secret-1', 'scrypt$stored-1')).toBe('stale');
    expect(c.knows('gw-1', 'secret-1')).toBe(true);
    clock.t = 7 * 24 * 3_600_000 + 1; // beyond the 7 days it is remembered
    expect(c.check('gw-1', 'secret-1', 'scrypt$stored-1')).toBe('miss');
    expect(c.knows('gw-1', 'secret-1')).toBe(false);
  });
});

describe('gateway secret hashes', () => {
  it('an issued secret is stored in the fast form, a chosen one with scrypt; either verifies only its own secret', async () => {
    const issued = randomSecret();
    const fast = await hashSecret(issued);
    expect(fast).toMatch(/^sha256\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]{44}$/); // 32-byte digest = 44 base64 characters
    expect(isFastSecretHash(fast)).toBe(true);
    expect(await verifySecret(issued, fast)).toBe(true);
    expect(await verifySecret(`${issued.slice(0, -1)}${issued.endsWith('A') ? 'B' : 'A'}`, fast)).toBe(false); // one character off
    expect(await hashSecret(issued)).not.toBe(fast); // salted: the same secret twice gives two hashes
    const chosen = await hashSecret('a chosen password');
    expect(chosen).toMatch(/^scrypt\$/);
    expect(isIssuedSecret('a-chosen-password')).toBe(false);
    expect(isIssuedSecret('A'.repeat(42))).toBe(false); // 42 characters: fewer than 32 bytes
    expect(upgradeSecret('a chosen password', chosen)).toBeNull(); // stays scrypt
    expect(upgradeSecret(issued, fast)).toBeNull(); // already fast
    expect(await verifySecret('x', 'sha256$broken')).toBe(false);
    expect(await verifySecret(randomSecret(), DECOY_SECRET_HASH)).toBe(false);
  });
});

describe('authenticator', () => {
  const make = (rows: Record<string, GatewayRow>, opts: { gate?: Promise<void> } = {}) => {
    const verified: string[] = [];
    const auth = createAuthenticator({
      lookup: async (id) => {
        await opts.gate;
        return rows[id] ?? null;
      },
      verify: async (password, stored) => {
        verified.push(stored === DECOY_SECRET_HASH ? 'decoy' : stored.split('$')[0]);
        return verifySecret(password, stored);
      },
      isFast: isFastSecretHash,
      decoy: DECOY_SECRET_HASH,
      now: () => 0,
    });
    return { auth, verified };
  };
  const attempt = (username: string, password: string) => ({ username, password, clientId: `amr-gw-${username}`, limiterKey: 'nat' });

  it('checks an unknown id against the decoy exactly like a wrong secret against a real hash, and answers the same', async () => {
    const secret = randomSecret();
    const { auth, verified } = make({ 'gw-1': { credential_hash: await hashSecret(secret), status: 'active' } });
    const wrong = await auth.authenticate(attempt('gw-1', randomSecret()));
    const unknown = await auth.authenticate(attempt('gw-nobody', randomSecret()));
    expect(verified).toEqual(['sha256', 'decoy']); // one SHA-256 each
    expect([wrong.ok, unknown.ok]).toEqual([false, false]);
    if (wrong.ok || unknown.ok) return;
    expect([wrong.returnCode, unknown.returnCode]).toEqual([4, 4]);
    // Told apart in the metrics and the log only: a CONNACK carries the code, never `why`.
    expect([wrong.outcome, unknown.outcome]).toEqual(['bad_password', 'unknown_gateway']);
    expect((await auth.authenticate(attempt('gw-1', secret))).ok).toBe(true);
  });

  it('refuses a CONNECT that was being checked against the old hash when the secret was rotated', async () => {
    const secret = randomSecret();
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const { auth } = make({ 'gw-2': { credential_hash: await hashSecret(secret), status: 'active' } }, { gate });
    const pending = auth.authenticate(attempt('gw-2', secret)); // waits in the lookup
    auth.rotated('gw-2');
    open();
    expect(await pending).toMatchObject({ ok: false, returnCode: 4, why: 'secret rotated meanwhile' });
    expect(auth.rotation('gw-2')).toBe(1);
    // Started after the rotation (the row here still holds the same hash): judged on the hash alone.
    expect(await auth.authenticate(attempt('gw-2', secret))).toMatchObject({ ok: true, outcome: 'verified', rotation: 1 });
  });
});

describe('batched gateway rows', () => {
  it('reads a lone id at once, and the ids asked for during a read together in the next one, never from an older read', async () => {
    const reads: string[][] = [];
    let version = 1;
    const gates: (() => void)[] = [];
    const lookup = batchedRowLookup(async (ids) => {
      reads.push(ids);
      const seen = version; // what the database holds when this read starts
      await new Promise<void>((r) => gates.push(r));
      return new Map(ids.filter((id) => id !== 'gw-none').map((id) => [id, { credential_hash: `v${seen}`, status: 'active' }]));
    });
    const first = lookup('gw-a');
    expect(reads).toEqual([['gw-a']]); // no waiting for company
    version = 2; // committed while the first read runs: the ones asked for now must see it
    const later = [lookup('gw-b'), lookup('gw-a'), lookup('gw-none'), lookup('gw-b')];
    expect(reads).toHaveLength(1);
    gates.shift()!();
    expect(await first).toEqual({ credential_hash: 'v1', status: 'active' });
    await new Promise((r) => setImmediate(r));
    expect(reads).toEqual([['gw-a'], ['gw-b', 'gw-a', 'gw-none']]); // one read for the four, each id once
    gates.shift()!();
    expect(await Promise.all(later)).toEqual([{ credential_hash: 'v2', status: 'active' }, { credential_hash: 'v2', status: 'active' }, null, { credential_hash: 'v2', status: 'active' }]);
  });

  it('a failed read fails its batch only', async () => {
    let fail = true;
    const lookup = batchedRowLookup(async (ids) => {
      if (fail) throw new Error('database unavailable');
      return new Map(ids.map((id) => [id, { credential_hash: 'h', status: 'active' }]));
    });
    await expect(lookup('gw-a')).rejects.toThrow('database unavailable');
    fail = false;
    expect(await lookup('gw-a')).toEqual({ credential_hash: 'h', status: 'active' });
  });
});
