/**
 * Password hashing with node's scrypt (memory-hard KDF, no native add-on to build).
 * Stored form: `scrypt$N$r$p$saltB64$hashB64`, so parameters can be raised later and old hashes
 * still verify (and `needsRehash` tells the caller to upgrade on the next login).
 *
 * Where the work runs, and how much of it at once. node:crypto's async scrypt already runs off the main
 * thread, on libuv's thread pool (UV_THREADPOOL_SIZE, 4 by default), so no worker_threads are needed:
 * a hash never blocks the event loop that answers MQTT PUBACKs and HTTP. What it can do is fill that
 * pool and the machine's cores: a wave of residents signing in would queue hundreds of 32 MiB hashes
 * in front of the gateways' own (broker/hash-pool.ts, 2 at a time) and of file and DNS work sharing
 * the pool. So the hashes of people's passwords and access codes (`hashPassword`, `verifyPassword`:
 * resident sign-in, code issuing, staff login, password changes) run `PEOPLE_HASH_CONCURRENCY` at a
 * time — one on a default pool: with the broker's two that leaves a pool thread free for files and
 * DNS, and on a 2-core head-end a core for the event loop; more only where the operator raised
 * UV_THREADPOOL_SIZE and the cores are there. Callers wait in order (FIFO); the wait is memory only.
 * The broker bounds its scrypt checks with its own pool and calls `verifyPasswordUnpooled`.
 *
 * Callers hash outside database transactions (read the stored hash, verify, then a short transaction):
 * a hash inside one would hold the connection (the embedded engine has one) for the whole wait.
 */
import { availableParallelism } from 'node:os';
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const scrypt = (pw: string | Buffer, salt: Buffer, len: number, opts: ScryptOptions): Promise<Buffer> =>
  new Promise((resolve, reject) => scryptCb(pw, salt, len, opts, (err, key) => (err ? reject(err) : resolve(key))));

/** N=2^15, r=8, p=1: ~32 MiB and ~50–100 ms per hash (OWASP minimum is N=2^17 with r=8 for p=1 at ~128 MiB; we
 * stay at 2^15 on purpose because the head-end also runs on small machines — raise via `params`). */
export const DEFAULT_SCRYPT = { N: 2 ** 15, r: 8, p: 1 } as const;
const KEY_LEN = 32;

export interface ScryptParams { N: number; r: number; p: number }

/** libuv's pool minus the broker's 2 and one for files/DNS, at most the cores but one; at least 1. */
export const PEOPLE_HASH_CONCURRENCY = Math.max(1, Math.min(availableParallelism() - 1, (Number(process.env.UV_THREADPOOL_SIZE) || 4) - 3));

/** A counting semaphore: at most `limit` jobs run, the rest wait in arrival order. */
class Slots {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next(); // the slot passes on: `running` stays the same
      else this.running--;
    }
  }
  /** Hashes waiting for a slot (for the bench and diagnostics). */
  get queued(): number { return this.waiting.length; }
}

const people = new Slots(PEOPLE_HASH_CONCURRENCY);

/** How many people's hashes wait for a slot now. */
export const peopleHashesQueued = (): number => people.queued;

export function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  return people.run(() => hashUnpooled(password, params));
}

export function verifyPassword(password: string, stored: string): Promise<boolean> {
  return people.run(() => verifyPasswordUnpooled(password, stored));
}

async function hashUnpooled(password: string, params: ScryptParams): Promise<string> {
  if (password.length < 8) throw new Error('password: at least 8 characters');
  const salt = randomBytes(16);
  const key = await scrypt(password.normalize('NFKC'), salt, KEY_LEN, { ...params, maxmem: 256 * params.N * params.r + 1024 * 1024 });
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64'), key.toString('base64')].join('$');
}

/** For a caller that bounds its hashes itself (the broker's hash pool). */
export async function verifyPasswordUnpooled(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  const salt = Buffer.from(parts[4], 'base64');
  const expected = Buffer.from(parts[5], 'base64');
  const key = await scrypt(password.normalize('NFKC'), salt, expected.length, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 });
  return timingSafeEqual(key, expected);
}

export function needsRehash(stored: string, params: ScryptParams = DEFAULT_SCRYPT): boolean {
  const [kind, N, r, p] = stored.split('$');
  return kind !== 'scrypt' || Number(N) < params.N || Number(r) < params.r || Number(p) < params.p;
}

/** A random secret for machines (gateway MQTT passwords, API keys): URL-safe, 32 bytes of entropy. */
export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
