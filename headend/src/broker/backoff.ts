/**
 * Per-address back-off for MQTT CONNECTs with credentials the broker has not verified before.
 *
 * Why: checking an unknown password costs a slow scrypt hash, so guesses must be cheap to refuse.
 * An address may have at most `freeFailures` unverified attempts failed or in flight; beyond that it
 * waits `baseMs · 2^(failures − freeFailures)` (capped at `maxMs`) and its attempts with unverified
 * credentials are refused without hashing. Counting attempts in flight matters: 300 CONNECTs that
 * arrive together would otherwise all pass before the first one fails.
 * Only scrypt hashes take a slot: a secret stored in the fast form (credentials.ts) costs one SHA-256,
 * so it is checked even while its address waits — 300 honest gateways behind one NAT, never seen
 * since a restart, connect together, and an attacker sharing their address does not lock them out.
 * Its failures still count (`fail`), so the address's scrypt-stored guesses stay refused.
 * Attempts refused while waiting are not counted, so an honest device retrying behind the same NAT
 * is not locked out for longer; failures are forgotten after `forgetMs` without one. Known-good
 * credentials (credential-cache.ts) do not go through this at all: they cost no hash, and gateways
 * behind one carrier NAT share an address with whoever attacks from it.
 *
 * Why not the staff/residents' failure limiter (auth/failure-limit.ts): that one protects a person's
 * guessable password — N failures per account and per address in a sliding window, a success clearing
 * the account, shared between replicas through Redis. Here nothing guessable is protected (a gateway's
 * secret is random, 32 bytes): what is limited is the CPU one address can make this process spend.
 * So no per-gateway key (whoever knows a gateway id could lock it out of ingestion and readings would
 * wait), a doubling wait rather than a fixed window (a flood is throttled at once, while an honest
 * device behind the same address waits seconds, not a quarter of an hour), one probe at a time after a wait, and per process only (each
 * replica guards its own CPU; sharing the counts would add a Redis round-trip to every CONNECT).
 */
import { LRUCache } from 'lru-cache';

export interface BackoffOptions {
  freeFailures: number;
  baseMs: number;
  maxMs: number;
  forgetMs: number;
  /** Addresses remembered at once (least recently failing forgotten first). */
  maxAddresses: number;
  now: () => number;
}

export const DEFAULT_BACKOFF: Omit<BackoffOptions, 'now'> = {
  freeFailures: 3,
  baseMs: 1_000,
  maxMs: 5 * 60_000,
  forgetMs: 15 * 60_000,
  maxAddresses: 100_000,
};

interface State {
  failures: number;
  inFlight: number;
  lastFailureAt: number;
  blockedUntil: number;
}

export type Admission = { ok: true; release(outcome: 'verified' | 'failed' | 'unchecked'): void } | { ok: false; retryInMs: number };

export class AddressBackoff {
  private readonly states: LRUCache<string, State>;
  constructor(private readonly o: BackoffOptions) {
    this.states = new LRUCache({ max: o.maxAddresses });
  }

  private current(key: string, now: number): State | undefined {
    const s = this.states.get(key);
    return s && s.inFlight === 0 && now - s.lastFailureAt > this.o.forgetMs ? undefined : s;
  }

  /** null when `key` may try now; otherwise how long it must wait (0: too many attempts in flight). */
  private refusal(s: State | undefined, now: number): { retryInMs: number } | null {
    if (!s) return null;
    if (now < s.blockedUntil) return { retryInMs: s.blockedUntil - now };
    if (s.failures < this.o.freeFailures && s.failures + s.inFlight >= this.o.freeFailures) return { retryInMs: 0 };
    if (s.failures >= this.o.freeFailures && s.inFlight > 0) return { retryInMs: 0 }; // one probe at a time after a wait
    return null;
  }

  /** Asks to spend one slow (scrypt) hash on unverified credentials from `key`; call `release` with the outcome. */
  admit(key: string): Admission {
    const now = this.o.now();
    let s = this.current(key, now);
    const refused = this.refusal(s, now);
    if (refused) return { ok: false, ...refused };
    if (!s) {
      s = { failures: 0, inFlight: 0, lastFailureAt: now, blockedUntil: 0 };
      this.states.set(key, s);
    }
    s.inFlight++;
    const state = s;
    let released = false;
    return {
      ok: true,
      release: (outcome) => {
        if (released) return;
        released = true;
        state.inFlight--;
        if (outcome === 'failed') this.count(state, this.o.now());
      },
    };
  }

  /** How long `key` must still wait after its failures (0: not waiting; attempts in flight aside). */
  retryIn(key: string): number {
    const now = this.o.now();
    const s = this.current(key, now);
    return s && now < s.blockedUntil ? s.blockedUntil - now : 0;
  }

  /** A failure that took no slot (a fast check, a wrong client id). Not counted while the address
   * waits, like any refusal then. */
  fail(key: string): void {
    const now = this.o.now();
    let s = this.current(key, now);
    if (s && now < s.blockedUntil) return;
    if (!s) {
      s = { failures: 0, inFlight: 0, lastFailureAt: now, blockedUntil: 0 };
      this.states.set(key, s);
    }
    this.count(s, now);
  }

  private count(s: State, t: number): void {
    s.failures++;
    s.lastFailureAt = t;
    if (s.failures >= this.o.freeFailures) {
      s.blockedUntil = t + Math.min(this.o.maxMs, this.o.baseMs * 2 ** (s.failures - this.o.freeFailures));
    }
  }
}
