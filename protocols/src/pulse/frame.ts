// Codec of the AMR pulse-counter protocol; the normative description is README.md next to this file.
import { crc16Modbus } from '../modbus/crc.js';

export const PULSE_REQUEST_HEADER = 0xa5;
export const PULSE_RESPONSE_HEADER = 0x5a;
export const PULSE_CMD_READ = 0x01;
export const PULSE_REQUEST_LENGTH = 6;
export const PULSE_MAX_CHANNELS = 16;

export interface PulseStatus {
  lowBattery: boolean;
  tamper: boolean;
  wrapped: boolean;
  powerOn: boolean;
}

export interface PulseResponse {
  deviceId: number;
  counters: number[];
  status: PulseStatus;
}

export const pulseResponseLength = (channels: number): number => 8 + 4 * channels;

function checkId(id: number): void {
  if (!Number.isInteger(id) || id < 1 || id > 0xfffe) throw new Error(`pulse device id must be 1…65534, got ${id}`);
}

function withCrc(b: Buffer): Buffer {
  b.writeUInt16LE(crc16Modbus(b, 0, b.length - 2), b.length - 2);
  return b;
}

function crcOk(b: Uint8Array): boolean {
  return crc16Modbus(b, 0, b.length - 2) === (b[b.length - 2] | (b[b.length - 1] << 8));
}

export function encodePulseRequest(deviceId: number): Buffer {
  checkId(deviceId);
  const b = Buffer.alloc(PULSE_REQUEST_LENGTH);
  b[0] = PULSE_REQUEST_HEADER;
  b[1] = PULSE_CMD_READ;
  b.writeUInt16BE(deviceId, 2);
  return withCrc(b);
}

/** Returns the polled device id; throws naming the first thing that is wrong. */
export function decodePulseRequest(frame: Uint8Array): { deviceId: number } {
  if (frame.length !== PULSE_REQUEST_LENGTH) throw new Error(`pulse request must be 6 bytes, got ${frame.length}`);
  if (frame[0] !== PULSE_REQUEST_HEADER) throw new Error(`pulse request header must be 0xA5, got 0x${frame[0].toString(16)}`);
  if (frame[1] !== PULSE_CMD_READ) throw new Error(`unknown pulse command 0x${frame[1].toString(16)}`);
  if (!crcOk(frame)) throw new Error('pulse request CRC mismatch');
  return { deviceId: (frame[2] << 8) | frame[3] };
}

export function encodePulseResponse(r: PulseResponse): Buffer {
  checkId(r.deviceId);
  const n = r.counters.length;
  if (n < 1 || n > PULSE_MAX_CHANNELS) throw new Error(`pulse channel count must be 1…16, got ${n}`);
  const b = Buffer.alloc(pulseResponseLength(n));
  b[0] = PULSE_RESPONSE_HEADER;
  b[1] = PULSE_CMD_READ | 0x80;
  b.writeUInt16BE(r.deviceId, 2);
  b[4] = n;
  r.counters.forEach((c, i) => {
    if (!Number.isInteger(c) || c < 0 || c > 0xffffffff) throw new Error(`pulse counter ${i} must be uint32, got ${c}`);
    b.writeUInt32BE(c, 5 + 4 * i);
  });
  const s = r.status;
  b[5 + 4 * n] = (s.lowBattery ? 1 : 0) | (s.tamper ? 2 : 0) | (s.wrapped ? 4 : 0) | (s.powerOn ? 8 : 0);
  return withCrc(b);
}

export function decodePulseResponse(frame: Uint8Array): PulseResponse {
  if (frame.length < 12) throw new Error(`pulse response too short: ${frame.length} bytes`);
  if (frame[0] !== PULSE_RESPONSE_HEADER) throw new Error(`pulse response header must be 0x5A, got 0x${frame[0].toString(16)}`);
  if (frame[1] !== (PULSE_CMD_READ | 0x80)) throw new Error(`unexpected pulse response command 0x${frame[1].toString(16)}`);
  const n = frame[4];
  if (n < 1 || n > PULSE_MAX_CHANNELS) throw new Error(`pulse channel count must be 1…16, got ${n}`);
  if (frame.length !== pulseResponseLength(n)) throw new Error(`pulse response with ${n} channels must be ${pulseResponseLength(n)} bytes, got ${frame.length}`);
  if (!crcOk(frame)) throw new Error('pulse response CRC mismatch');
  const b = Buffer.from(frame.buffer, frame.byteOffset, frame.length);
  const counters = Array.from({ length: n }, (_, i) => b.readUInt32BE(5 + 4 * i));
  const st = b[5 + 4 * n];
  return {
    deviceId: b.readUInt16BE(2),
    counters,
    status: { lowBattery: !!(st & 1), tamper: !!(st & 2), wrapped: !!(st & 4), powerOn: !!(st & 8) },
  };
}

/** Pulses between two readings of a counter that wraps at `modulus` (2³² on the wire). */
export function pulseDelta(previous: number, current: number, modulus = 2 ** 32): number {
  return current >= previous ? current - previous : modulus - previous + current;
}
