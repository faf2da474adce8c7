/**
 * The one rule for a bus's line, whatever the driver (M-Bus native or libmbus, Modbus RTU over a
 * serial port or a TCP converter, pulse counters): when is the line lost, and when is it tried again.
 *
 * - Lost: a driver reports a LinkLostError (device gone, port closed, TCP peer ended/reset — sorted
 *   by error code in the driver layer), or every meter of the bus timed out in two polls (all
 *   attempts) in a row since the last answer — one poll is not enough: a bus with one meter would be
 *   closed for a single stall
 *   (a USB adapter that re-enumerated, a converter that accepts connections but forwards nothing:
 *   the fd still "works", only reopening cures it). One meter timing out among answering ones is
 *   that meter's trouble, not the line's; any answer, even a damaged one, proves the line.
 * - Reopen: with back-off, `retryMinMs` doubling to `retryMaxMs`; the back-off starts again only when
 *   a meter answers (an open that succeeds onto a dead line must not reset it, or a converter that
 *   accepts and forwards nothing would be hammered every `retryMinMs`).
 *
 * Pure state with an injected clock; the worker does the I/O and asks this what to do.
 */
import { ChecksumError, CollisionError, LinkLostError, ProtocolError, TimeoutError } from '../drivers/types.js';

export type LinkState = 'idle' | 'open' | 'reopening' | 'closed';

export interface LinkPolicy {
  retryMinMs: number;
  retryMaxMs: number;
}

/** Timed-out polls of every meter, since the last answer, that make the line count as lost. */
export const TIMEOUTS_FOR_LOST = 2;

export const DEFAULT_LINK_POLICY: LinkPolicy = { retryMinMs: 500, retryMaxMs: 30_000 };

export interface LinkStatus {
  state: LinkState;
  /** When the state was entered (ms since epoch). */
  since: number;
  lastError: { message: string; code: string; at: number } | null;
  /** Failed polls and failed opens in a row on this bus (0 after any answer). */
  consecutiveFailures: number;
  /** Opens tried since the line was lost. */
  reopenAttempts: number;
  /** When the next open will be tried (reopening only). */
  nextAttemptAt: number | null;
}

export class LinkSupervisor {
  private state: LinkState = 'idle';
  private since: number;
  private lastError: LinkStatus['lastError'] = null;
  private consecutiveFailures = 0;
  private reopenAttempts = 0;
  private backoffStep = 0;
  private nextAttemptAt: number | null = null;
  /** When the line was lost, until a meter answers again (for the recovery report). */
  private lostAt: number | null = null;
  /** Polls that timed out per meter since the last answer on the bus. */
  private readonly timedOut = new Map<string, number>();

  constructor(
    /** The meters configured on the bus; empty: only LinkLostErrors count (no timeout rule). */
    private readonly meterIds: readonly string[],
    private readonly policy: LinkPolicy = DEFAULT_LINK_POLICY,
    private readonly now: () => number = Date.now,
  ) {
    this.since = now();
  }

  status(): LinkStatus {
    return { state: this.state, since: this.since, lastError: this.lastError, consecutiveFailures: this.consecutiveFailures, reopenAttempts: this.reopenAttempts, nextAttemptAt: this.nextAttemptAt };
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** While reopening, an open is tried only once the back-off has passed. */
  mayOpen(): boolean {
    return this.state !== 'closed' && (this.nextAttemptAt === null || this.now() >= this.nextAttemptAt);
  }

  /** The error a poll gets while the line waits for its next open. */
  waitingError(): LinkLostError {
    const at = this.nextAttemptAt ?? this.now();
    return new LinkLostError(`line unavailable (${this.lastError?.message ?? 'not open'}); next open in ${Math.max(0, at - this.now())} ms`, (this.lastError?.code as LinkLostError['code'] | undefined) ?? 'PORT_CLOSED');
  }

  private enter(s: LinkState): void {
    if (s !== this.state) this.since = this.now();
    this.state = s;
  }

  private delay(): number {
    const d = Math.min(this.policy.retryMaxMs, this.policy.retryMinMs * 2 ** this.backoffStep);
    this.backoffStep = Math.min(this.backoffStep + 1, 30);
    return d;
  }

  /** The driver opened. `reopened`: after a loss (the caller logs it). */
  opened(): { reopened: boolean; attempts: number } {
    const reopened = this.lostAt !== null;
    const attempts = this.reopenAttempts;
    this.enter('open');
    this.nextAttemptAt = null;
    this.timedOut.clear();
    return { reopened, attempts };
  }

  /** The open failed: wait `delayMs` before the next one. */
  openFailed(err: LinkLostError): { delayMs: number; attempt: number } {
    this.reopenAttempts++;
    this.consecutiveFailures++;
    this.note(err);
    this.lostAt ??= this.now();
    this.enter('reopening');
    const delayMs = this.delay();
    this.nextAttemptAt = this.now() + delayMs;
    return { delayMs, attempt: this.reopenAttempts };
  }

  /** The line is gone: the caller closes the driver; the next open waits `delayMs`. */
  lost(err: LinkLostError): { delayMs: number } {
    this.note(err);
    this.lostAt ??= this.now();
    this.reopenAttempts = 0;
    this.enter('reopening');
    const delayMs = this.delay();
    this.nextAttemptAt = this.now() + delayMs;
    return { delayMs };
  }

  /** A meter answered. Returns how long the line was down when this is the first answer after a loss. */
  answered(): { recoveredAfterMs: number } | null {
    this.timedOut.clear();
    this.consecutiveFailures = 0;
    this.backoffStep = 0;
    this.reopenAttempts = 0;
    if (this.lostAt === null) return null;
    const recoveredAfterMs = this.now() - this.lostAt;
    this.lostAt = null;
    return { recoveredAfterMs };
  }

  /**
   * A poll of `meterId` failed after its attempts with `err`. Returns the LinkLostError to act on
   * when this means the line is lost (the caller then calls `lost`), else null.
   */
  failed(meterId: string, err: Error): LinkLostError | null {
    this.consecutiveFailures++;
    this.note(err);
    if (err instanceof LinkLostError) return err;
    if (err instanceof ChecksumError || err instanceof CollisionError || err instanceof ProtocolError) {
      // Something answered: the line works.
      this.timedOut.clear();
      return null;
    }
    if (!(err instanceof TimeoutError)) return null;
    this.timedOut.set(meterId, (this.timedOut.get(meterId) ?? 0) + 1);
    if (this.meterIds.length > 0 && this.meterIds.every((id) => (this.timedOut.get(id) ?? 0) >= TIMEOUTS_FOR_LOST)) {
      this.timedOut.clear();
      return new LinkLostError(`every meter of the bus (${this.meterIds.length}) timed out ${TIMEOUTS_FOR_LOST} polls in a row`, 'ALL_METERS_TIMED_OUT');
    }
    return null;
  }

  private note(err: Error): void {
    this.lastError = { message: err.message, code: err instanceof LinkLostError ? err.code : err.name, at: this.now() };
  }

  /** A poll refused while the line waits: counts as a failure of the bus. */
  refused(): void {
    this.consecutiveFailures++;
  }

  close(): void {
    this.enter('closed');
    this.nextAttemptAt = null;
  }
}
