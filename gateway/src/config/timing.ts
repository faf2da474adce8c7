/**
 * Line timing derived from the baud rate, so nobody has to hard-wire a timeout
 * (the most common complaint about existing M-Bus libraries: fixed 1–4 s timeouts that are
 * too long at 9600 Bd and too short at 300 Bd, or on a TCP converter with latency).
 *
 * - bits per character = start + data + parity + stop (M-Bus 8E1 = 11 bits).
 * - M-Bus (EN 13757-2): a slave starts answering 11…330 bit times after the request;
 *   the longest frame is 261 characters. Timeout = 330 bit times + 261 chars + turnaround.
 * - Modbus RTU: frames are separated by ≥ 3.5 character times (fixed 1.75 ms above 19200 Bd);
 *   the longest ADU is 256 bytes. Timeout = request + 256 chars + slave processing.
 * - turnaround: host/USB latency (serial) or network round trip (tcp://) margin.
 */
export type Parity = 'none' | 'even' | 'odd';

export interface LineParams {
  baud: number;
  dataBits: number;
  parity: Parity;
  stopBits: number;
  tcp: boolean;
}

export function bitsPerChar(p: Pick<LineParams, 'dataBits' | 'parity' | 'stopBits'>): number {
  return 1 + p.dataBits + (p.parity === 'none' ? 0 : 1) + p.stopBits;
}

export function charTimeMs(p: LineParams): number {
  return (bitsPerChar(p) * 1000) / p.baud;
}

export function turnaroundMs(p: LineParams): number {
  return p.tcp ? 400 : 60;
}

export const MBUS_MAX_FRAME = 261;
export const MODBUS_MAX_ADU = 256;

export function defaultMbusTimeoutMs(p: LineParams): number {
  return Math.ceil((330 * 1000) / p.baud + MBUS_MAX_FRAME * charTimeMs(p) + turnaroundMs(p));
}

/** Silence the master keeps between frames: M-Bus asks for ≥ 11 bit times; we give 33 (3 chars) + 5 ms. */
export function defaultMbusInterFrameMs(p: LineParams): number {
  return Math.ceil(3 * charTimeMs(p) + 5);
}

export function defaultModbusTimeoutMs(p: LineParams): number {
  return Math.ceil((8 + MODBUS_MAX_ADU) * charTimeMs(p) + 3.5 * charTimeMs(p) + turnaroundMs(p) + 50);
}

export function defaultModbusInterFrameMs(p: LineParams): number {
  return p.baud > 19200 ? 2 : Math.ceil(3.5 * charTimeMs(p));
}

/**
 * M-Bus inter-byte timeout: how long the line may fall silent inside an answer before the master
 * gives up on it. EN 13757-2 ends an answer by its length field, not by a gap, and real meters
 * pause mid-telegram (firmware fetching archive data, a converter flushing its buffer): a field
 * meter paused 250 ms, libmbus tolerates 3 × 300 ms at 2400 Bd. 500 ms, or 40 characters on slow
 * lines, plus the network margin on a `tcp://` converter (it may hold back part of an answer).
 */
export function defaultMbusInterByteMs(p: LineParams): number {
  return Math.ceil(Math.max(500, 40 * charTimeMs(p)) + (p.tcp ? turnaroundMs(p) : 0));
}

/**
 * First-byte timeout of a scan probe (SND_NKE or a selection), as libmbus sizes it: a slave answers
 * within 330 bit times + 50 ms (EN 13757-2), its first character takes 11 bits more, plus the host's
 * margin: 50 ms + 60 ms on a serial line (USB adapter latency); on a tcp:// converter its 400 ms
 * network margin covers the 50 ms as well. An absent address costs only this, never `timeout`.
 */
export function mbusProbeTimeoutMs(p: LineParams): number {
  return Math.ceil(((330 + bitsPerChar(p)) * 1000) / p.baud + (p.tcp ? turnaroundMs(p) : 50 + turnaroundMs(p)));
}

/** How long a line stays quiet before a frame is considered complete (end-of-frame gap). */
export function interCharTimeoutMs(p: LineParams): number {
  return Math.ceil(Math.max(3.5 * charTimeMs(p), 2) + (p.tcp ? 50 : 20));
}
