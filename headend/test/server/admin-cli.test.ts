/**
 * First admin and password recovery from the command line: a real head-end (a temporary DATA_DIR
 * for its admin socket, this run's database engine: embedded in DATA_DIR or a server database of its
 * own; API on a free port, no jobs) and the real built CLI (headend/bin/amr-headend.js)
 * run as a child process, talking to it through the owner-only admin socket; logins over real HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase, dbEnv, type TestDatabase } from '../engine.js';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/index.js';
import { startHeadend, type Headend } from '../../src/server/index.js';
import { adminSocketPath } from '../../src/admin/channel.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const bin = join(repo, 'headend/bin/amr-headend.js');

let dir: string;
let dataDir: string;
let he: Headend | undefined;
let database: TestDatabase | undefined;

/** Runs the CLI with DATA_DIR set and `input` on stdin; never throws, returns the exit code and output. */
function cli(args: string[], input: string | null, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const child = execFile(process.execPath, [bin, ...args], { timeout: 60_000, env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...env } }, (err, stdout, stderr) => {
      res({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    if (input !== null) child.stdin!.end(input);
    else child.stdin!.end();
  });
}
async function login(username: string, password: string): Promise<number> {
  const r = await fetch(`${he!.httpUrl}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  return r.status;
}

beforeAll(async () => {
  if (!existsSync(join(repo, 'headend/dist/cli/amr-headend.js'))) throw new Error('headend/dist missing: run `npx tsc -b` (npm run build) first');
  dir = mkdtempSync(join(tmpdir(), 'amr-admin-'));
  dataDir = join(dir, 'data');
}, 30_000);
afterAll(async () => {
  await he?.close();
  await database?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('amr-headend user (no head-end running)', () => {
  it('says no head-end runs and how to start it; exit 3', async () => {
    const r = await cli(['user', 'create', 'chief', '--role', 'admin'], 'Correct-Horse-7\n');
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`no running head-end found: ${adminSocketPath(dataDir)} does not exist. Start the head-end first (amr-headend serve, with the same DATA_DIR)`);
  });

  it('--help lists the user commands', async () => {
    const r = await cli(['--help'], null);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('amr-headend user create <login> --role admin [--org N] [--password-file F]');
    expect(r.stdout).toContain('amr-headend user passwd <login> [--password-file F]');
  });

  it('refuses a password on the command line and a missing role before connecting', async () => {
    const argv = await cli(['user', 'create', 'chief', 'Secret-123', '--role', 'admin'], '');
    expect(argv.code).toBe(2);
    expect(argv.stderr).toContain('a password is never given on the command line');
    const role = await cli(['user', 'create', 'chief'], 'Correct-Horse-7\n');
    expect(role.code).toBe(2);
    expect(role.stderr).toContain('--role is required: one of admin, engineer, operator, billing, resident');
  });
});

describe('amr-headend user against a running head-end', () => {
  beforeAll(async () => {
    database = await testDatabase();
    const config = loadConfig({
      DATA_DIR: dataDir, ...dbEnv(database), MQTT_PORT: '0', MQTT_HOST: '127.0.0.1', HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', LOG_LEVEL: 'silent',
    });
    he = await startHeadend({ config, logger: pino({ level: 'silent' }), jobs: false });
  }, 180_000);

  it('the socket is owner-only (0600) in an owner-only directory (0700)', () => {
    const sock = adminSocketPath(dataDir);
    expect(statSync(sock).isSocket()).toBe(true);
    expect(statSync(sock).mode & 0o777).toBe(0o600);
    expect(statSync(join(sock, '..')).mode & 0o777).toBe(0o700);
  });

  it('creates the first admin, who logs in over HTTP; the action is audited by "cli"', async () => {
    const r = await cli(['user', 'create', 'chief', '--role', 'admin'], 'Correct-Horse-7\n');
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^user "chief" \(id \d+, role admin\) created\n$/);
    expect(r.code).toBe(0);
    expect(await login('chief', 'Correct-Horse-7')).toBe(200);
    const a = (await he!.db.query(`SELECT actor_kind, actor_name FROM audit_log WHERE entity = 'user' AND action = 'create' AND after->>'username' = 'chief'`)).rows;
    expect(a).toEqual([{ actor_kind: 'system', actor_name: 'cli' }]);
    // The stored form is the scrypt hash, not the password.
    const h = (await he!.db.query(`SELECT password_hash FROM users WHERE username = 'chief'`)).rows[0].password_hash;
    expect(h).toMatch(/^scrypt\$/);
    expect(h).not.toContain('Correct-Horse-7');
  });

  it('a second user with the same login is refused, naming the passwd command', async () => {
    const r = await cli(['user', 'create', 'CHIEF', '--role', 'engineer'], 'Other-Pass-99\n');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/user "CHIEF" already exists \(id \d+\); to set its password run: amr-headend user passwd CHIEF/);
  });

  it('passwd from a file: the old password is refused, the new one accepted, the open session ended', async () => {
    const r0 = await fetch(`${he!.httpUrl}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'chief', password: 'Correct-Horse-7' }) });
    const session = ((await r0.json()) as { token: string }).token;
    const me = () => fetch(`${he!.httpUrl}/auth/me`, { headers: { authorization: `Bearer ${session}` } }).then((x) => x.status);
    expect(await me()).toBe(200);
    const f = join(dir, 'pw.txt');
    writeFileSync(f, 'Battery-Staple-42\n', { mode: 0o600 });
    const r = await cli(['user', 'passwd', 'chief', '--password-file', f], null);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('password of "chief" changed; its sessions were ended\n');
    expect(await me()).toBe(401); // whoever held the session (the reason for a recovery, often) is out
    expect(await login('chief', 'Correct-Horse-7')).toBe(401);
    expect(await login('chief', 'Battery-Staple-42')).toBe(200);
    const a = (await he!.db.query(`SELECT actor_name FROM audit_log WHERE entity = 'user' AND action = 'set-password'`)).rows;
    expect(a).toEqual([{ actor_name: 'cli' }]);
  });

  it.each([
    ['empty', '\n', 'the password is empty: give one on stdin, at the prompt, or with --password-file'],
    ['short', 'abc12\n', 'the password is too weak: at least 10 characters (and at most 256) are needed, got 5'],
    ['repeated', 'aaaaaaaaaa\n', 'the password is too weak: it repeats one or two characters; use a longer mix'],
  ])('a weak password (%s) is refused with the reason and changes nothing', async (_k, input, msg) => {
    const r = await cli(['user', 'passwd', 'chief'], input);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`amr-headend user passwd: ${msg}\n`);
    expect(await login('chief', 'Battery-Staple-42')).toBe(200);
  });

  it('a password equal to the login is refused; passwd of an unknown user names the create command', async () => {
    const same = await cli(['user', 'create', 'operator-one', '--role', 'operator'], 'operator-one\n');
    expect(same.code).toBe(1);
    expect(same.stderr).toContain('it must not be the login');
    const unknown = await cli(['user', 'passwd', 'ghost'], 'Battery-Staple-42\n');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no user "ghost"; create it with: amr-headend user create ghost --role admin');
  });

  it('--org grants an engineer the buildings of that organisation; refused for an admin and for an unknown one', async () => {
    const org = Number((await he!.db.query(`INSERT INTO organisations (name) VALUES ('УК Север') RETURNING id`)).rows[0].id);
    const b1 = Number((await he!.db.query(`INSERT INTO buildings (org_id, address) VALUES ($1, 'ул. Ленина, 1') RETURNING id`, [org])).rows[0].id);
    const r = await cli(['user', 'create', 'eng', '--role', 'engineer', '--org', String(org)], 'Eng-Password-1\n');
    expect(r.code).toBe(0);
    const grants = (await he!.db.query(`SELECT g.building_id FROM user_building_grants g JOIN users u ON u.id = g.user_id WHERE u.username = 'eng'`)).rows.map((x) => Number(x.building_id));
    expect(grants).toEqual([b1]);
    const adm = await cli(['user', 'create', 'adm2', '--role', 'admin', '--org', String(org)], 'Adm-Password-2\n');
    expect(adm.code).toBe(1);
    expect(adm.stderr).toContain('an admin sees every organisation');
    const none = await cli(['user', 'create', 'eng2', '--role', 'engineer', '--org', '999999'], 'Eng-Password-2\n');
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('organisation 999999 does not exist');
  });
});
