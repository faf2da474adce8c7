/**
 * M-Bus link-layer frames (EN 13757-2 / IEC 60870-5-2 FT1.2): single character E5,
 * short frame (10 C A CS 16), control frame (68 03 03 68 C A CI CS 16) and
 * long frame (68 L L 68 C A CI data CS 16).
 *
 * Hand-written: the only M-Bus library available (node-mbus) is a binding to libmbus that
 * owns the serial port; a master, a slave simulator and the head-end all need the framing
 * as pure functions over bytes, which no npm package provides.
 */

export const FRAME_ACK = 0xe5;
export const FRAME_SHORT_START = 0x10;
export const FRAME_LONG_START = 0x68;
export const FRAME_STOP = 0x16;
/** Largest L field: C + A + CI + 252 user-data bytes. */
export const MAX_LONG_DATA = 252;

export type MbusFrame =
  | { kind: 'ack' }
  | { kind: 'short'; control: number; address: number }
  | { kind: 'control'; control: number; address: number; ci: number }
  | { kind: 'long'; control: number; address: number; ci: number; data: Uint8Array };

export type MbusFrameErrorCode =
  | 'empty'
  | 'bad-start'
  | 'bad-length'
  | 'length-mismatch'
  | 'bad-second-start'
  | 'bad-checksum'
  | 'missing-stop'
  | 'truncated'
  | 'trailing-bytes'
  | 'invalid-field';

/** A frame that could not be decoded (or encoded): `offset` is the byte where the problem is. */
export class MbusFrameError extends Error {
  override readonly name = 'MbusFrameError';
  constructor(
    readonly code: MbusFrameErrorCode,
    readonly offset: number,
    /** What is wrong, without code and offset (e.g. "checksum expected 0x5C, got 0x5D"). */
    readonly detail: string,
    readonly expected?: number,
    readonly actual?: number,
  ) {
    super(`${code} at offset ${offset}: ${detail}`);
  }
}

/** Arithmetic sum of the bytes modulo 256 (the M-Bus checksum over C, A, CI and data). */
export function checksum(bytes: ArrayLike<number>, start = 0, end = bytes.length): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum = (sum + bytes[i]) & 0xff;
  return sum;
}

const hex = (b: number) => '0x' + b.toString(16).padStart(2, '0').toUpperCase();

function checkByte(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 255) {
    throw new MbusFrameError('invalid-field', 0, `${name} must be an integer 0..255, got ${v}`);
  }
}

export function encodeFrame(f: MbusFrame): Uint8Array {
  switch (f.kind) {
    case 'ack':
      return Uint8Array.of(FRAME_ACK);
    case 'short':
      checkByte('control', f.control);
      checkByte('address', f.address);
      return Uint8Array.of(FRAME_SHORT_START, f.control, f.address, (f.control + f.address) & 0xff, FRAME_STOP);
    case 'control':
    case 'long': {
      checkByte('control', f.control);
      checkByte('address', f.address);
      checkByte('ci', f.ci);
      const data = f.kind === 'long' ? f.data : new Uint8Array(0);
      if (data.length > MAX_LONG_DATA) {
        throw new MbusFrameError('invalid-field', 0, `long frame data is ${data.length} bytes, at most ${MAX_LONG_DATA} fit`);
      }
      const l = 3 + data.length;
      const out = new Uint8Array(l + 6);
      out[0] = FRAME_LONG_START;
      out[1] = l;
      out[2] = l;
      out[3] = FRAME_LONG_START;
      out[4] = f.control;
      out[5] = f.address;
      out[6] = f.ci;
      out.set(data, 7);
      out[l + 4] = checksum(out, 4, l + 4);
      out[l + 5] = FRAME_STOP;
      return out;
    }
  }
}

/**
 * Total length of the frame that starts at `bytes[offset]`, as far as the prefix tells:
 * a number once known, `undefined` while more bytes are needed (only a long frame's first
 * two bytes are needed), `null` if the prefix cannot start a frame.
 * A master uses it to size its read and timeout after the first bytes of a reply.
 */
export function expectedFrameLength(bytes: ArrayLike<number>, offset = 0): number | null | undefined {
  if (bytes.length <= offset) return undefined;
  switch (bytes[offset]) {
    case FRAME_ACK:
      return 1;
    case FRAME_SHORT_START:
      return 5;
    case FRAME_LONG_START:
      if (bytes.length <= offset + 1) return undefined;
      if (bytes[offset + 1] < 3) return null;
      return bytes[offset + 1] + 6;
    default:
      return null;
  }
}

/**
 * The first inconsistency in the header bytes of a long frame present so far (L<3, L≠L, no
 * second 0x68), or null. Checks each byte as soon as it is there and never throws, so a stream
 * parser can reject a false start without waiting for (or paying an exception for) the rest.
 */
export function longHeaderProblem(
  bytes: ArrayLike<number>,
  offset = 0,
): { code: MbusFrameErrorCode; offset: number; detail: string; expected?: number; actual?: number } | null {
  const avail = bytes.length - offset;
  if (avail < 2) return null;
  const l1 = bytes[offset + 1];
  if (l1 < 3) return { code: 'bad-length', offset: offset + 1, detail: `L=${l1} is below 3 (C, A and CI are mandatory)`, expected: 3, actual: l1 };
  if (avail < 3) return null;
  const l2 = bytes[offset + 2];
  if (l1 !== l2) return { code: 'length-mismatch', offset: offset + 2, detail: `length fields differ: L=${l1} then L=${l2}`, expected: l1, actual: l2 };
  if (avail < 4) return null;
  const s2 = bytes[offset + 3];
  if (s2 !== FRAME_LONG_START) {
    return { code: 'bad-second-start', offset: offset + 3, detail: `second start byte 0x68 expected, got ${hex(s2)}`, expected: FRAME_LONG_START, actual: s2 };
  }
  return null;
}

/**
 * Decodes the frame at `offset` and reports how many bytes it used; bytes after it are
 * left alone (the stream parser relies on that). Throws MbusFrameError naming the first problem.
 */
export function decodeFrameAt(bytes: Uint8Array, offset = 0): { frame: MbusFrame; length: number } {
  const avail = bytes.length - offset;
  if (avail <= 0) throw new MbusFrameError('empty', offset, 'no bytes');
  const start = bytes[offset];
  const need = (n: number, what: string) => {
    if (avail < n) throw new MbusFrameError('truncated', bytes.length, `${what} needs ${n} bytes, only ${avail} present`, n, avail);
  };
  if (start === FRAME_ACK) return { frame: { kind: 'ack' }, length: 1 };
  if (start === FRAME_SHORT_START) {
    need(5, 'short frame');
    const control = bytes[offset + 1];
    const address = bytes[offset + 2];
    const expected = (control + address) & 0xff;
    const actual = bytes[offset + 3];
    if (expected !== actual) {
      throw new MbusFrameError('bad-checksum', offset + 3, `checksum expected ${hex(expected)}, got ${hex(actual)}`, expected, actual);
    }
    if (bytes[offset + 4] !== FRAME_STOP) {
      throw new MbusFrameError('missing-stop', offset + 4, `stop byte 0x16 expected, got ${hex(bytes[offset + 4])}`, FRAME_STOP, bytes[offset + 4]);
    }
    return { frame: { kind: 'short', control, address }, length: 5 };
  }
  if (start !== FRAME_LONG_START) {
    throw new MbusFrameError('bad-start', offset, `frame must start with 0xE5, 0x10 or 0x68, got ${hex(start)}`, undefined, start);
  }
  need(2, 'long frame header');
  const bad = longHeaderProblem(bytes, offset);
  if (bad) throw new MbusFrameError(bad.code, bad.offset, bad.detail, bad.expected, bad.actual);
  need(4, 'long frame header');
  const l1 = bytes[offset + 1];
  const total = l1 + 6;
  need(total, `frame with L=${l1}`);
  const csAt = offset + 4 + l1;
  const expected = checksum(bytes, offset + 4, csAt);
  const actual = bytes[csAt];
  if (expected !== actual) {
    throw new MbusFrameError('bad-checksum', csAt, `checksum expected ${hex(expected)}, got ${hex(actual)}`, expected, actual);
  }
  if (bytes[csAt + 1] !== FRAME_STOP) {
    throw new MbusFrameError('missing-stop', csAt + 1, `stop byte 0x16 expected, got ${hex(bytes[csAt + 1])}`, FRAME_STOP, bytes[csAt + 1]);
  }
  const control = bytes[offset + 4];
  const address = bytes[offset + 5];
  const ci = bytes[offset + 6];
  const frame: MbusFrame =
    l1 === 3
      ? { kind: 'control', control, address, ci }
      : { kind: 'long', control, address, ci, data: bytes.slice(offset + 7, csAt) };
  return { frame, length: total };
}

/**
 * Decodes exactly one frame. A long frame with no user data is the control frame, so
 * `{kind:'long', data: []}` round-trips as `{kind:'control'}`.
 */
export function decodeFrame(bytes: Uint8Array): MbusFrame {
  const { frame, length } = decodeFrameAt(bytes, 0);
  if (length !== bytes.length) {
    throw new MbusFrameError('trailing-bytes', length, `${bytes.length - length} bytes after the end of the frame`, length, bytes.length);
  }
  return frame;
}
