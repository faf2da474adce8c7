/** scrypt password hashing: round trip, wrong password, stored form, upgrade detection. */
import { describe, expect, it } from 'vitest';
import { hashPassword, needsRehash, verifyPassword, newSecret, secretHash, can, ROLE_PERMISSIONS, Role } from '../../src/auth/index.js';
import { PEOPLE_HASH_CONCURRENCY, peopleHashesQueued, verifyPasswordUnpooled } from '../../src/auth/password.js';

describe('passwords', () => {
  it('verifies the right password and refuses a wrong one; salts differ', async () => {
    const a = await hashPassword('correct horse battery');
    const b = await hashPassword('correct horse battery');
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('correct horse battery', a)).toBe(true);
    expect(await verifyPassword('correct horse batterY', a)).toBe(false);
    expect(await verifyPassword('anything', 'not-a-hash')).toBe(false);
  });

  it('refuses short passwords and flags hashes made with weaker parameters', async () => {
    await expect(hashPassword('short')).rejects.toThrow(/at least 8/);
    const weak = await hashPassword('password-1', { N: 2 ** 10, r: 8, p: 1 });
    expect(await verifyPassword('password-1', weak)).toBe(true);
    expect(needsRehash(weak)).toBe(true);
    expect(needsRehash(await hashPassword('password-1'))).toBe(false);
  });

  it('people\'s hashes run PEOPLE_HASH_CONCURRENCY at a time, the rest wait; the broker\'s unpooled check does not queue', async () => {
    const cheap = { N: 2 ** 10, r: 8, p: 1 };
    const stored = await hashPassword('password-2', cheap);
    expect(PEOPLE_HASH_CONCURRENCY).toBeGreaterThanOrEqual(1);
    const n = PEOPLE_HASH_CONCURRENCY + 3;
    const all = Array.from({ length: n }, () => verifyPassword('password-2', stored));
    // Admission is synchronous: the first PEOPLE_HASH_CONCURRENCY run, 3 wait.
    expect(peopleHashesQueued()).toBe(3);
    expect(await verifyPasswordUnpooled('password-2', stored)).toBe(true);
    expect(await Promise.all(all)).toEqual(Array.from({ length: n }, () => true));
    expect(peopleHashesQueued()).toBe(0);
  });

  it('secrets are random and only their hash is comparable', () => {
    const s1 = newSecret('amrt');
    expect(s1).toMatch(/^amrt_[A-Za-z0-9_-]{43}$/);
    expect(newSecret('amrt')).not.toBe(s1);
    expect(secretHash(s1)).toHaveLength(64);
    expect(secretHash(s1)).toBe(secretHash(s1));
  });
});

describe('role permissions', () => {
  it.each([
    ['admin', 'users:manage', true], ['engineer', 'users:manage', false], ['engineer', 'readings:correct', true],
    ['operator', 'readings:enter', true], ['operator', 'registry:write', false], ['billing', 'readings:read', true],
    ['billing', 'readings:enter', false], ['resident', 'registry:read', false], ['resident', 'readings:read', true],
  ] as const)('%s may %s: %s', (role, perm, expected) => {
    expect(can(role, perm)).toBe(expected);
  });
  it('admin holds every permission', () => {
    expect(Role.options.every((r) => ROLE_PERMISSIONS[r].length > 0)).toBe(true);
    expect(ROLE_PERMISSIONS.admin.length).toBe(new Set(Object.values(ROLE_PERMISSIONS).flat()).size);
  });
});
