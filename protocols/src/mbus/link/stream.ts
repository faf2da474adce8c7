/**
 * Incremental M-Bus frame parser for a byte stream (serial port, TCP gateway): feed chunks
 * as they arrive, get whole frames out. After garbage or a frame that fails its checks it
 * drops one byte and rescans for the next start character (E5, 10, 68), reporting every
 * dropped run with the reason, so a trace shows exactly what was lost and why.
 */
import { decodeFrameAt, expectedFrameLength, longHeaderProblem, MbusFrameError, type MbusFrame } from './frame.js';

export interface ParsedFrame {
  frame: MbusFrame;
  /** The frame's bytes as received. */
  raw: Uint8Array;
}

export interface SkippedBytes {
  bytes: Uint8Array;
  reason: string;
}

export interface StreamParseResult {
  frames: ParsedFrame[];
  skipped: SkippedBytes[];
}

const isStart = (b: number) => b === 0xe5 || b === 0x10 || b === 0x68;

export class MbusStreamParser {
  private buf = new Uint8Array(0);
  /** Skipped bytes not yet reported: consecutive drops with one reason are merged. */
  private pendingSkip: number[] = [];
  private pendingReason = '';

  /** Bytes held back waiting for the rest of a frame. */
  get buffered(): number {
    return this.buf.length;
  }

  push(chunk: Uint8Array): StreamParseResult {
    return this.parse(chunk, false);
  }

  /**
   * Ends the stream (e.g. the master's reply timeout passed): a frame still incomplete can no
   * longer complete, so its first byte is dropped as truncated and the rest is rescanned;
   * frames hidden behind a false start (noise that looked like a long-frame header) come out.
   */
  flush(): StreamParseResult {
    return this.parse(new Uint8Array(0), true);
  }

  private parse(chunk: Uint8Array, final: boolean): StreamParseResult {
    let joined = chunk;
    if (this.buf.length > 0) {
      joined = new Uint8Array(this.buf.length + chunk.length);
      joined.set(this.buf, 0);
      joined.set(chunk, this.buf.length);
    }
    const frames: ParsedFrame[] = [];
    const skipped: SkippedBytes[] = [];
    let pos = 0;
    while (pos < joined.length) {
      const b = joined[pos];
      if (!isStart(b)) {
        let end = pos + 1;
        while (end < joined.length && !isStart(joined[end])) end++;
        this.skip(skipped, joined.subarray(pos, end), 'no frame start (expected 0xE5, 0x10 or 0x68)');
        pos = end;
        continue;
      }
      const len = expectedFrameLength(joined, pos);
      if (len === undefined || (len !== null && joined.length - pos < len)) {
        // Incomplete. A header that is already inconsistent (L<3, L≠L, no second 0x68) can never
        // complete: skip it now rather than stall up to 261 bytes on a false start. At the end of
        // the stream nothing more will come, so an incomplete frame is dropped as truncated.
        const early = this.headerProblem(joined, pos);
        if (early || final) {
          this.skip(skipped, joined.subarray(pos, pos + 1), early ?? `truncated: stream ended after ${joined.length - pos} of ${len ?? 'unknown'} bytes of a frame`);
          pos++;
          continue;
        }
        break;
      }
      try {
        const { frame, length } = decodeFrameAt(joined, pos);
        this.flushSkip(skipped);
        frames.push({ frame, raw: joined.slice(pos, pos + length) });
        pos += length;
      } catch (e) {
        if (!(e instanceof MbusFrameError)) throw e;
        this.skip(skipped, joined.subarray(pos, pos + 1), `${e.code}: ${e.detail}`);
        pos++;
      }
    }
    this.buf = joined.slice(pos);
    this.flushSkip(skipped);
    return { frames, skipped };
  }

  /** Drops buffered bytes (e.g. after the master gives up on a reply); nothing is reported. */
  reset(): void {
    this.buf = new Uint8Array(0);
    this.pendingSkip = [];
    this.pendingReason = '';
  }

  /** The first problem visible in a partial frame, or null when it may still complete. */
  private headerProblem(b: Uint8Array, pos: number): string | null {
    if (b[pos] !== 0x68) return null;
    const p = longHeaderProblem(b, pos);
    return p ? `${p.code}: ${p.detail}` : null;
  }

  private skip(out: SkippedBytes[], bytes: Uint8Array, reason: string): void {
    if (this.pendingSkip.length > 0 && reason !== this.pendingReason) this.flushSkip(out);
    this.pendingReason = reason;
    for (const b of bytes) this.pendingSkip.push(b);
  }

  private flushSkip(out: SkippedBytes[]): void {
    if (this.pendingSkip.length === 0) return;
    out.push({ bytes: Uint8Array.from(this.pendingSkip), reason: this.pendingReason });
    this.pendingSkip = [];
    this.pendingReason = '';
  }
}
