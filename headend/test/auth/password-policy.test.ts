/**
 * The one password policy: the rules alone (each refusal names its rule), then through the real API
 * (POST /users, PATCH /users/:id) and createUser — `password` and `12345678` are refused everywhere.
 * The admin CLI's use of the same module is tested in test/server/admin-cli.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { passwordProblem, PASSWORD_MIN } from '../../src/auth/password-policy.js';
import { passwordProblem as cliPasswordProblem } from '../../src/admin/channel.js';
import { createUser } from '../../src/auth/index.js';
import { startHarness, type Harness } from '../api/harness.js';

describe('passwordProblem', () => {
  it.each([
    ['password', 'at least 10 characters (and at most 256) are needed, got 8'],
    ['12345678', 'at least 10 characters (and at most 256) are needed, got 8'],
    ['123456789', 'at least 10 characters (and at most 256) are needed, got 9'],
    // 10 characters, but among the most common passwords (case does not help).
    ['1234567890', 'it is in the list of common passwords, the ones tried first by anyone guessing; choose another'],
    ['QWERTYUIOP', 'it is in the list of common passwords, the ones tried first by anyone guessing; choose another'],
    ['password1234', 'it is in the list of common passwords, the ones tried first by anyone guessing; choose another'],
    ['aaaaaaaaaaaa', 'it repeats one or two characters; use a longer mix'],
    ['ivanov.petr', 'it must not be the login'],
    ['x'.repeat(257), 'at least 10 characters (and at most 256) are needed, got 257'],
  ])('%s is refused: %s', (pw, rule) => {
    expect(passwordProblem('Ivanov.Petr', pw)).toBe(`the password is too weak: ${rule}`);
  });

  it('accepts a long mixed password, and the CLI gives the same answers plus its empty-input hint', () => {
    expect(PASSWORD_MIN).toBe(10);
    expect(passwordProblem('chief', 'Correct-Horse-7')).toBeNull();
    expect(passwordProblem(null, 'Correct-Horse-7')).toBeNull();
    expect(cliPasswordProblem('chief', 'password')).toBe(passwordProblem('chief', 'password'));
    expect(cliPasswordProblem('chief', '')).toMatch(/^the password is empty/);
  });
});

describe('through the API and createUser', () => {
  let h: Harness;
  beforeAll(async () => { h = await startHarness(); }, 120_000);
  afterAll(async () => { await h?.close(); });

  it('POST /users refuses "password" and "12345678" with 400 naming the rule and the field; nothing is created', async () => {
    for (const pw of ['password', '12345678', '1234567890']) {
      const r = await h.call('POST', '/users', h.adminToken, { username: 'weakling', password: pw, role: 'operator' });
      expect(r.status).toBe(400);
      expect(JSON.stringify(r.body)).toContain('the password is too weak');
      expect(JSON.stringify(r.body)).toContain('password');
    }
    const n = (await h.opened.db.query("SELECT count(*)::int AS n FROM users WHERE username = 'weakling'")).rows[0].n;
    expect(n).toBe(0);
    expect((await h.call('POST', '/users', h.adminToken, { username: 'weakling', password: 'weakling', role: 'operator' })).status).toBe(400);
    expect((await h.call('POST', '/users', h.adminToken, { username: 'weakling', password: 'Correct-Horse-7', role: 'operator' })).status).toBe(201);
  });

  it('PATCH /users/:id refuses a common password and the login itself, and keeps the old password', async () => {
    const u = await h.call<{ id: number }>('POST', '/users', h.adminToken, { username: 'clerk-1', password: 'Battery-Staple-42', role: 'operator' });
    const common = await h.call('PATCH', `/users/${u.body.id}`, h.adminToken, { password: 'qwertyuiop' });
    expect(common.status).toBe(400);
    expect(common.body.message).toBe('the password is too weak: it is in the list of common passwords, the ones tried first by anyone guessing; choose another');
    expect(common.body.details).toEqual([{ path: 'body.password', message: common.body.message }]);
    const same = await h.call('PATCH', `/users/${u.body.id}`, h.adminToken, { password: 'Clerk-1' });
    expect(same.status).toBe(400);
    expect(same.body.message).toContain('at least 10 characters');
    const login = await h.call('POST', '/auth/login', null, { username: 'clerk-1', password: 'Battery-Staple-42' });
    expect(login.status).toBe(200);
    expect((await h.call('PATCH', `/users/${u.body.id}`, h.adminToken, { password: 'Another-Good-One-5' })).status).toBe(200);
  });

  it('createUser (the path the CLI and first-admin setup use) refuses a common password too', async () => {
    await expect(createUser(h.opened.db, { username: 'boss', password: 'password', role: 'admin' })).rejects.toThrow(/the password is too weak/);
  });
});
