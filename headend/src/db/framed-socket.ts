/**
 * Why this exists: pglite-socket 0.0.19 passes every TCP read chunk straight to PGlite's
 * `execProtocolRaw`. A protocol message larger than one read (a 10 000-row batch insert: hundreds of
 * KB of Bind parameters) arrives in several chunks, and PGlite aborts on the partial message
 * ("RuntimeError: unreachable", the whole database process dies). This wrapper buffers the bytes of
 * a connection and emits only whole request cycles (up to a Sync, Query, …), so the pglite-socket
 * handler always sees complete messages, one cycle at a time. It presents the slice of `net.Socket`
 * the handler uses.
 *
 * Second reason, same place: PGlite reads a request through PostgreSQL's 8 192-byte receive buffer
 * and takes "the buffer is empty" for "the request is over" (`interactive_one`: `pipelining =
 * pq_buffer_remaining_data() > 0`). When a message ends exactly on a multiple of 8 192 bytes from the
 * start of what one call was given, the messages after it are dropped without a word: a judge query
 * whose Parse+Bind ended there was answered with ParseComplete, BindComplete and nothing more, and the
 * client waited for its rows until a watchdog closed the connection (headend/test/db/framed-socket.test.ts
 * shows it on the engine itself). So a batch is passed on in pieces cut right after such a message;
 * the next piece starts a new call with an empty buffer, and no answer is lost or reordered.
 *
 * Framing (PostgreSQL protocol v3): the first message(s) are untyped (int32 length, int32 code:
 * StartupMessage, SSLRequest, GSSENCRequest, CancelRequest); after the StartupMessage every message
 * is a type byte plus int32 length (which counts itself but not the type byte).
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';

const SSL_REQUEST = 80877103;

/**
 * What an answer holds, in a few words: its length, its messages' types and whether it ends with a
 * whole ReadyForQuery (what a client waits for after a Sync or Query) or is cut inside a message.
 */
export function describeAnswer(data: Uint8Array): string {
  const w = walkAnswer(data);
  const counts = [...w.counts].map(([t, n]) => `${t}×${n}`).join(' ');
  if (w.cut) return `cut: ${data.length} B, ${w.cut} (${counts})`;
  return `${w.last === 'Z' ? 'whole' : `ends with '${w.last}'`}: ${data.length} B (${counts})`;
}

/** An answer's messages, counted by type; its last whole message's type; where it is cut, if it is. */
function walkAnswer(data: Uint8Array): { counts: Map<string, number>; last: string; cut: string | null } {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let off = 0;
  let last = '';
  const counts = new Map<string, number>();
  while (off + 5 <= b.length) {
    const type = String.fromCharCode(b[off]);
    const len = b.readInt32BE(off + 1);
    if (len < 4 || off + 1 + len > b.length) return { counts, last, cut: `a '${type}' message of ${len + 1} B starts at ${off}` };
    counts.set(type, (counts.get(type) ?? 0) + 1);
    last = type;
    off += 1 + len;
  }
  return { counts, last, cut: off !== b.length ? `${b.length - off} B after the last whole message` : null };
}
/**
 * Messages that end a request cycle: Sync, simple Query, Terminate, Flush, the password / SASL answer,
 * CopyDone, CopyFail, FunctionCall. Whole cycles only are passed on: the handler runs each 'data'
 * event without waiting for the one before, and a batch insert split between Bind and Execute/Sync
 * across two events left the connection waiting forever under load (ingest stalled, CPU idle).
 */
const CYCLE_ENDS = new Set([...'SQXHpcfF'].map((c) => c.charCodeAt(0)));
const GSSENC_REQUEST = 80877104;
/** Cycle ends the server always answers: Sync, simple Query, FunctionCall, the password answer. */
const ANSWERED = new Set([...'SQFp'].map((c) => c.charCodeAt(0)));
/** PostgreSQL's receive buffer (PQ_RECV_BUFFER_SIZE): PGlite reads a call's bytes in blocks of it. */
export const ENGINE_READ_BLOCK = 8192;

/**
 * Where to cut the first piece of `bytes` (typed messages from `typedFrom` on) so that no message but
 * the piece's last ends on a multiple of ENGINE_READ_BLOCK: the offset just after the first such
 * message, or `bytes.length` when there is none. Also the type of the piece's last message (0 when it
 * is an untyped startup message).
 */
export function firstPiece(bytes: Buffer, typedFrom = 0): { length: number; lastType: number } {
  let off = typedFrom;
  let lastType = 0;
  while (off + 5 <= bytes.length) {
    lastType = bytes[off];
    off += 1 + bytes.readInt32BE(off + 1);
    if (off < bytes.length && off % ENGINE_READ_BLOCK === 0) return { length: off, lastType };
  }
  return { length: bytes.length, lastType };
}

/**
 * Whether an answer ends with a whole ReadyForQuery — what every answer to a Sync, Query or
 * FunctionCall ends with — or with CopyInResponse/CopyBothResponse (a COPY … FROM STDIN waits for its
 * data). Only the last 6 bytes are read: answers run to megabytes.
 */
function endsAnAnswer(data: Uint8Array): boolean {
  const n = data.length;
  if (n >= 6 && data[n - 6] === 0x5a && data[n - 5] === 0 && data[n - 4] === 0 && data[n - 3] === 0 && data[n - 2] === 5) return true;
  const w = walkAnswer(data);
  return w.cut === null && (w.last === 'G' || w.last === 'W');
}

export class FramedSocket extends EventEmitter {
  private buf: Buffer = Buffer.alloc(0);
  private ready: Buffer[] = [];
  private untyped = true;
  private writes = 0;
  /** Type of the last message of the last cycle cut (0 while untyped). */
  private lastEnd = 0;
  // For state(): when bytes last came in, a cycle was last passed on and an answer last went out.
  private lastInAt = 0;
  private lastCycleAt = 0;
  private lastOutAt = 0;
  private cycles = 0;
  /** The last answer written (kept whole until the next; described only when state() is asked). */
  private lastAnswer: Uint8Array | null = null;
  private lastCycleLen = 0;
  /** Since when this connection has been owed an answer it did not get (0: owed nothing). */
  private owedSince = 0;
  /** Bytes of untyped startup messages at the head of `ready` (they are not walked as typed ones). */
  private untypedAhead = 0;
  /** A batch is being passed on in pieces: the next waits for the turn of the event loop after this. */
  private piecing = false;
  /** Type of the last message of the piece passed on last (what its answer must end like). */
  private inFlightEnd = 0;

  constructor(readonly socket: Socket) {
    super();
    socket.on('data', (chunk: Buffer) => this.onChunk(chunk));
    // A socket error is NOT passed on: pglite-socket's handler answers 'error' by rejecting the promise
    // it gave PGlite's runExclusive, which nobody awaits — an unhandled rejection that kills the
    // process (seen when a connection was reset mid-transaction). A 'close' always follows an error,
    // and the handler's close path releases the lock cleanly (embedded.ts rolls back first).
    socket.on('error', () => undefined);
    socket.on('close', () => this.emit('close'));
    // The handler subscribes to 'data' only after it holds PGlite's lock: keep messages until then.
    // What it was owed while it waited is owed from now on.
    this.on('newListener', (event) => {
      if (event !== 'data') return;
      if (this.owedSince) this.owedSince = Date.now();
      setImmediate(() => this.flush());
    });
  }

  get remoteAddress() {
    return this.socket.remoteAddress;
  }
  get remotePort() {
    return this.socket.remotePort;
  }
  get writable() {
    return this.socket.writable;
  }
  write(data: Uint8Array, cb?: (err?: Error | null) => void): boolean {
    this.writes++;
    this.lastOutAt = Date.now();
    this.owedSince = 0;
    this.lastAnswer = data;
    // An answer to a Sync/Query that does not end with ReadyForQuery will never be finished (the engine
    // answers a piece in one write): the client would wait for the rest until a watchdog gave up.
    if (ANSWERED.has(this.inFlightEnd) && !endsAnAnswer(data)) {
      const why = `the database answered a request cycle ending in '${String.fromCharCode(this.inFlightEnd)}' (${this.lastCycleLen} bytes) only in part (${describeAnswer(data)})`;
      setImmediate(() => this.emit('unanswered', why));
    }
    this.inFlightEnd = 0; // one answer per piece: judged once
    return this.socket.write(data, cb);
  }
  end(): this {
    this.socket.end();
    return this;
  }
  destroy(): this {
    this.socket.destroy();
    return this;
  }

  /**
   * Where this connection stands, in one line, for the report of a transaction stuck on the embedded
   * engine's one connection: whether its handler holds the session, what it holds back (a partial
   * message, whole cycles not yet passed on) and when bytes last moved each way.
   */
  state(now = Date.now()): string {
    const ago = (t: number) => (t ? `${((now - t) / 1000).toFixed(1)} s ago` : 'never');
    const ready = this.ready.reduce((n, b) => n + b.length, 0);
    return `${this.listenerCount('data') > 0 ? 'holds the session' : 'waits for the session'}${this.socket.destroyed ? ', closed' : ''}; `
      + `${this.cycles} cycles passed on (last ${ago(this.lastCycleAt)}, ending '${this.lastEnd ? String.fromCharCode(this.lastEnd) : '-'}'), ${this.writes} answers (last ${ago(this.lastOutAt)}); `
      + `held back: ${ready} B of whole cycles, ${this.buf.length} B of a partial one; bytes last in ${ago(this.lastInAt)}; `
      + `last cycle ${this.lastCycleLen} B, last answer ${this.lastAnswer ? describeAnswer(this.lastAnswer) : '-'}; socket: ${this.socket.bytesWritten} B written`;
  }

  /** Whether this connection's handler holds PGlite's session (it listens for cycles only then). */
  holdsSession(): boolean {
    return this.listenerCount('data') > 0 && !this.socket.destroyed;
  }

  /** How long (ms) no byte has moved on this connection either way. */
  silentFor(now = Date.now()): number {
    return now - Math.max(this.lastInAt, this.lastOutAt);
  }

  /**
   * How long (ms) this connection, holding the session, has been owed an answer: it sent bytes (a
   * cycle the server always answers, or part of a message) and nothing went back. PGlite runs a cycle
   * synchronously and the answer is written in the same turn of the event loop, so a timer that finds
   * one owed for long finds a request that was lost, not one being worked on. 0: owed nothing.
   */
  owedFor(now = Date.now()): number {
    if (!this.owedSince || !this.holdsSession()) return 0;
    return now - this.owedSince;
  }

  private onChunk(chunk: Buffer): void {
    this.lastInAt = Date.now();
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    let off = 0;
    let cut = 0; // end of the last whole request cycle
    for (;;) {
      const head = this.untyped ? 4 : 5;
      if (this.buf.length - off < head) break;
      const len = this.untyped ? this.buf.readInt32BE(off) : this.buf.readInt32BE(off + 1) + 1;
      if (len < (this.untyped ? 8 : 5)) {
        this.socket.destroy(new Error(`malformed PostgreSQL message (length ${len})`));
        return;
      }
      if (this.buf.length - off < len) break;
      let cycleEnds = true;
      if (this.untyped) {
        const code = this.buf.readInt32BE(off + 4);
        if (code !== SSL_REQUEST && code !== GSSENC_REQUEST) this.untyped = false;
        this.untypedAhead += len;
      } else {
        cycleEnds = CYCLE_ENDS.has(this.buf[off]);
      }
      const type = this.untyped ? 0 : this.buf[off];
      off += len;
      if (cycleEnds) {
        cut = off;
        this.lastEnd = type;
      }
    }
    if (cut > 0) {
      this.ready.push(this.buf.subarray(0, cut));
      this.buf = this.buf.subarray(cut);
    }
    if (!this.owedSince && ((cut > 0 && ANSWERED.has(this.lastEnd)) || this.buf.length > 0)) this.owedSince = this.lastInAt;
    if (cut > 0) this.flush();
  }

  private flush(): void {
    if (this.piecing || !this.ready.length || this.listenerCount('data') === 0) return;
    const all = this.ready.length === 1 ? this.ready[0] : Buffer.concat(this.ready);
    const typedFrom = Math.min(this.untypedAhead, all.length);
    this.untypedAhead -= typedFrom;
    const piece = firstPiece(all, typedFrom);
    const out = piece.length === all.length ? all : all.subarray(0, piece.length);
    this.ready = piece.length === all.length ? [] : [all.subarray(piece.length)];
    const writes = this.writes;
    const end = piece.lastType;
    this.inFlightEnd = end;
    this.cycles++;
    this.lastCycleAt = Date.now();
    this.lastCycleLen = out.length;
    this.emit('data', out);
    // The handler answers within the same turn of the event loop (PGlite runs the cycle synchronously,
    // then a few promise steps). A cycle that must be answered but was not — the handler drops an empty
    // result silently — would leave the client waiting forever, and with it the head-end's only
    // connection: say so and close the connection instead (its transaction fails and is retried).
    if (ANSWERED.has(end)) {
      setImmediate(() => {
        if (this.writes !== writes || this.socket.destroyed) return;
        this.emit('unanswered', `the database gave no answer to a request cycle ending in '${String.fromCharCode(end)}' (${out.length} bytes)`);
      });
    }
    // The rest of a batch cut into pieces goes on once this piece's answer is written (same turn).
    if (this.ready.length && piece.length !== all.length) {
      this.piecing = true;
      setImmediate(() => {
        this.piecing = false;
        this.flush();
      });
    }
  }
}
