/**
 * The local admin channel: how `amr-headend user create|passwd` reaches a RUNNING head-end to make
 * the first admin of an installation or to recover a lost password. The head-end listens on a Unix
 * domain socket DATA_DIR/admin/headend.sock; the CLI sends one JSON line and reads one JSON line back.
 * The change goes through the head-end's own database handle (the embedded engine serves one
 * connection at a time, so a second process must not open the database), with the existing user and
 * password code (auth/user-admin.ts, auth/password.ts) and an audit row by the "cli" actor.
 *
 * Why a socket and not an HTTP route with a bootstrap token: the socket is never reachable from the
 * network, needs no secret that could leak into logs, proxies or shell history, and works the same
 * for recovery (when every admin password is lost) as for the first start.
 *
 * Threat model: whoever can connect is treated as the machine's administrator of this installation.
 * Access is the file system's: the socket lives in a directory of mode 0700 and is itself 0600, both
 * owned by the OS user running the head-end, so only that user (and root) can connect; the directory
 * closes the window between listen() and chmod(). Anyone who is that user can already read DATA_DIR
 * (the database files) — the channel gives them nothing they did not have. Passwords travel only over
 * the socket (read by the CLI from stdin, a no-echo prompt or a file, never from argv, which other
 * users see in the process list) and are stored only as scrypt hashes. Not available on Windows
 * (no Unix sockets there for node's fs permissions) nor with DATA_DIR=memory://.
 */
import { chmodSync, mkdirSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import type { Database } from '../db/types.js';
import type { Actor } from '../audit/index.js';
import { setPasswordHash, NewUser } from '../auth/users.js';
import { createUserWithOrganisation } from '../auth/user-admin.js';
import { userByLogin } from '../auth/user-store.js';
import { hashPassword } from '../auth/password.js';
import { passwordProblem as policyProblem } from '../auth/password-policy.js';
import { Role } from '../auth/roles.js';

export const CLI_ACTOR: Actor = { kind: 'system', id: null, name: 'cli' };

/** Where the socket of a head-end with this DATA_DIR lives. */
export function adminSocketPath(dataDir: string): string {
  return join(resolve(dataDir), 'admin', 'headend.sock');
}

export const AdminRequest = z.discriminatedUnion('cmd', [
  z.object({ cmd: z.literal('user.create'), login: z.string(), role: Role, org: z.number().int().positive().optional(), password: z.string() }),
  z.object({ cmd: z.literal('user.passwd'), login: z.string(), password: z.string() }),
]);
export type AdminRequest = z.infer<typeof AdminRequest>;
export type AdminResponse = { ok: true; message: string; user: { id: number; username: string; role: string } } | { ok: false; error: string };

/** Why a password is refused, or null: the head-end's one policy (auth/password-policy.ts), plus the CLI's own hint for an empty one. */
export function passwordProblem(login: string, password: string): string | null {
  if (password.length === 0) return 'the password is empty: give one on stdin, at the prompt, or with --password-file';
  return policyProblem(login, password);
}

async function handle(db: Database, req: AdminRequest): Promise<AdminResponse> {
  const problem = passwordProblem(req.login, req.password);
  if (problem) return { ok: false, error: problem };
  if (req.cmd === 'user.create') {
    const login = NewUser.shape.username.safeParse(req.login);
    if (!login.success) return { ok: false, error: `login "${req.login}" is not valid: 3–64 characters of letters, digits, . _ @ -` };
    // The user and its grants in one transaction: a failed grant leaves no user behind.
    const made = await createUserWithOrganisation(db, CLI_ACTOR, { login: req.login, password: req.password, role: req.role, org: req.org });
    if (!made.ok) return made;
    const { user } = made;
    return { ok: true, message: `user "${user.username}" (id ${user.id}, role ${user.role}) created`, user: { id: Number(user.id), username: user.username, role: user.role } };
  }
  const user = await userByLogin(db, req.login);
  if (!user) return { ok: false, error: `no user "${req.login}"; create it with: amr-headend user create ${req.login} --role admin` };
  const hash = await hashPassword(req.password);
  await db.tx((q) => setPasswordHash(q, user.id, hash, CLI_ACTOR));
  return { ok: true, message: `password of "${user.username}" changed; its sessions were ended`, user: { id: Number(user.id), username: user.username, role: user.role } };
}

export interface AdminChannel { path: string; close(): Promise<void> }

/** Is something listening on that socket? (A file left by a crashed head-end is not.) */
function alive(path: string): Promise<boolean> {
  return new Promise((res) => {
    const s = connect(path);
    s.once('connect', () => { s.destroy(); res(true); });
    s.once('error', () => res(false));
  });
}

/** Starts the channel for a head-end whose data lives in dataDir. */
export async function startAdminChannel(opts: { db: Database; dataDir: string; log: (m: string) => void }): Promise<AdminChannel> {
  const path = adminSocketPath(opts.dataDir);
  const dir = join(path, '..');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700); // also when it existed with a looser mode
  const server: Server = createServer((sock: Socket) => {
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('error', () => undefined);
    sock.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > 64 * 1024) return sock.destroy();
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const line = buf.slice(0, nl);
      buf = '';
      let reply: Promise<AdminResponse>;
      try {
        const req = AdminRequest.safeParse(JSON.parse(line));
        reply = req.success ? handle(opts.db, req.data) : Promise.resolve({ ok: false, error: `bad request: ${req.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` });
      } catch {
        reply = Promise.resolve({ ok: false, error: 'bad request: one JSON object per line expected' });
      }
      // An event handler cannot await: the reply goes out when it is ready, and the catch turns every
      // failure of the command into an error reply, so nothing is left to reject.
      void reply
        .catch((e: Error): AdminResponse => ({ ok: false, error: e.message }))
        .then((r) => {
          if (r.ok) opts.log(`admin channel: ${r.message}`);
          sock.end(`${JSON.stringify(r)}\n`);
        });
    });
  });
  // The socket file may be there already: listen() tells (EADDRINUSE), also when two head-ends start
  // at the same instant, which a look before listening would miss.
  for (let retried = false; ; retried = true) {
    try {
      await new Promise<void>((res, rej) => {
        server.once('error', rej);
        server.listen(path, () => { server.off('error', rej); res(); });
      });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || retried) throw e;
      if (await alive(path)) {
        // Another head-end on this DATA_DIR (e.g. a second replica on a shared folder) already serves it.
        opts.log(`admin channel not started: ${path} already answers (another head-end on this DATA_DIR serves it)`);
        return { path, close: async () => undefined };
      }
      unlinkSync(path); // left by a head-end that did not shut down (killed, crashed)
    }
  }
  chmodSync(path, 0o600);
  opts.log(`admin channel on ${path} (owner only): amr-headend user create|passwd`);
  return {
    path,
    close: () => new Promise<void>((res) => server.close(() => res())),
  };
}

/** The CLI side: sends one request, returns the answer; a missing or dead socket is a clear error. */
export function adminRequest(path: string, req: AdminRequest, timeoutMs = 60_000): Promise<AdminResponse> {
  return new Promise((res, rej) => {
    const s = connect(path);
    let buf = '';
    const timer = setTimeout(() => { s.destroy(); rej(new Error(`the head-end did not answer on ${path} within ${timeoutMs / 1000} s`)); }, timeoutMs);
    s.setEncoding('utf8');
    s.once('connect', () => s.write(`${JSON.stringify(req)}\n`));
    s.on('data', (c: string) => { buf += c; });
    s.once('end', () => {
      clearTimeout(timer);
      try {
        res(JSON.parse(buf) as AdminResponse);
      } catch {
        rej(new Error(`the head-end answered something unexpected on ${path}`));
      }
    });
    s.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') {
        rej(new Error(`no running head-end found: ${path} ${e.code === 'ENOENT' ? 'does not exist' : 'is left over, nothing listens on it'}. `
          + 'Start the head-end first (amr-headend serve, with the same DATA_DIR), then run this command again on the same machine as the same OS user.'));
      } else if (e.code === 'EACCES') {
        rej(new Error(`permission denied on ${path}: run this command as the OS user that runs the head-end (or root)`));
      } else rej(e);
    });
  });
}
