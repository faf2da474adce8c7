/**
 * Replica leases on a real database (both engines): one holder at a time, renewal keeps the original
 * taking time, an expired lease passes to the next asker, release hands it over at once, and many
 * replicas asking at the same moment get exactly one winner. Expiry is forced by moving the row's
 * expires_at into the past (the database's clock decides), never by waiting.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenedDb } from '../../src/db/index.js';
import { leaseHolder, newInstanceId, releaseLease, takeLease } from '../../src/leases/index.js';
import { POLICY_WATCH_LEASE, policyWatchRound } from '../../src/policy-jobs/index.js';
import { openTestDb } from '../engine.js';

const HOUR = 3_600_000;

describe('replica leases', () => {
  let opened: OpenedDb;
  beforeAll(async () => { opened = await openTestDb({ poolMax: 8 }); });
  afterAll(async () => { await opened?.close(); });
  const expire = (name: string) => opened.db.query(`UPDATE replica_leases SET expires_at = now() - interval '1 second' WHERE name = $1`, [name]);

  it('one holder at a time; renewing keeps taken_at; an expired lease passes on; release hands over at once', async () => {
    const db = opened.db;
    expect(await takeLease(db, 'job-x', 'replica-a', HOUR)).toBe(true);
    const first = await leaseHolder(db, 'job-x');
    expect(first?.holder).toBe('replica-a');
    expect(await takeLease(db, 'job-x', 'replica-b', HOUR)).toBe(false);
    expect(await takeLease(db, 'job-x', 'replica-a', 2 * HOUR)).toBe(true);
    const renewed = await leaseHolder(db, 'job-x');
    expect(renewed?.takenAt.getTime()).toBe(first?.takenAt.getTime());
    expect(renewed!.expiresAt.getTime()).toBeGreaterThan(first!.expiresAt.getTime());
    // Another kind of work is another lease.
    expect(await takeLease(db, 'job-y', 'replica-b', HOUR)).toBe(true);

    await expire('job-x');
    expect(await leaseHolder(db, 'job-x')).toBeNull();
    expect(await takeLease(db, 'job-x', 'replica-b', HOUR)).toBe(true);
    expect((await leaseHolder(db, 'job-x'))?.holder).toBe('replica-b');
    expect(await takeLease(db, 'job-x', 'replica-a', HOUR)).toBe(false);

    expect(await releaseLease(db, 'job-x', 'replica-a')).toBe(false); // not a's to give back
    expect((await leaseHolder(db, 'job-x'))?.holder).toBe('replica-b');
    expect(await releaseLease(db, 'job-x', 'replica-b')).toBe(true);
    expect(await leaseHolder(db, 'job-x')).toBeNull();
    expect(await takeLease(db, 'job-x', 'replica-a', HOUR)).toBe(true);
  });

  it('twelve replicas asking at once: exactly one wins', async () => {
    const holders = Array.from({ length: 12 }, (_, i) => `replica-${i}`);
    const won = await Promise.all(holders.map((h) => takeLease(opened.db, 'race', h, HOUR)));
    expect(won.filter(Boolean)).toHaveLength(1);
    expect((await leaseHolder(opened.db, 'race'))?.holder).toBe(holders[won.indexOf(true)]);
  });

  it('refuses a lease with no duration, naming it', async () => {
    await expect(takeLease(opened.db, 'job-z', 'replica-a', 0)).rejects.toThrow(/positive duration, got 0 ms/);
  });

  it('the policy watcher round: only the lease holder watches; the other replica stands by until it expires', async () => {
    const a = newInstanceId();
    const b = newInstanceId();
    expect(a).not.toBe(b);
    const ra = await policyWatchRound(opened.db, a, HOUR, { channels: [] });
    expect(ra).not.toBeNull();
    expect(await policyWatchRound(opened.db, b, HOUR, { channels: [] })).toBeNull();
    expect(await policyWatchRound(opened.db, a, HOUR, { channels: [] })).not.toBeNull();
    await expire(POLICY_WATCH_LEASE);
    expect(await policyWatchRound(opened.db, b, HOUR, { channels: [] })).not.toBeNull();
    expect(await policyWatchRound(opened.db, a, HOUR, { channels: [] })).toBeNull();
  });
});
