// Modbus RTU framing (address + PDU + CRC-16/MODBUS, CRC low byte first) and the PDUs of the
// read functions a meter serves. Pure; the simulator's slave and any test master build on it.
import { crc16Modbus } from './crc.js';

export const ModbusFn = { readHolding: 0x03, readInput: 0x04, writeSingle: 0x06, writeMultiple: 0x10 } as const;

export const ModbusException = {
  illegalFunction: 0x01,
  illegalDataAddress: 0x02,
  illegalDataValue: 0x03,
  slaveDeviceFailure: 0x04,
} as const;

export function encodeRtu(unit: number, pdu: Uint8Array): Buffer {
  const out = Buffer.alloc(pdu.length + 3);
  out[0] = unit;
  out.set(pdu, 1);
  const crc = crc16Modbus(out, 0, out.length - 2);
  out.writeUInt16LE(crc, out.length - 2);
  return out;
}

export function rtuCrcOk(frame: Uint8Array): boolean {
  if (frame.length < 4) return false;
  return crc16Modbus(frame, 0, frame.length - 2) === (frame[frame.length - 2] | (frame[frame.length - 1] << 8));
}

/**
 * Length of a master REQUEST frame given its first bytes, or undefined if more bytes are needed.
 * RTU delimits frames by 3.5-character silence; on a pty/TCP bridge silence is not observable,
 * so a slave must know request lengths by function code (as most embedded slaves do).
 */
export function rtuRequestLength(buf: Uint8Array): number | undefined {
  if (buf.length < 2) return undefined;
  const fn = buf[1];
  if (fn >= 1 && fn <= 6) return 8;
  if (fn === 0x0f || fn === 0x10) return buf.length < 7 ? undefined : 9 + buf[6];
  return 4; // unknown function: address + fn + CRC, answered with "illegal function"
}

export function readRequestPdu(fn: number, start: number, count: number): Buffer {
  const b = Buffer.alloc(5);
  b[0] = fn;
  b.writeUInt16BE(start, 1);
  b.writeUInt16BE(count, 3);
  return b;
}

export function readResponsePdu(fn: number, words: readonly number[]): Buffer {
  const b = Buffer.alloc(2 + words.length * 2);
  b[0] = fn;
  b[1] = words.length * 2;
  words.forEach((w, i) => b.writeUInt16BE(w & 0xffff, 2 + i * 2));
  return b;
}

export function exceptionPdu(fn: number, code: number): Buffer {
  return Buffer.from([fn | 0x80, code]);
}

/** Words from a read response PDU; throws naming the exception if the slave refused. */
export function parseReadResponsePdu(pdu: Uint8Array): number[] {
  if (pdu[0] & 0x80) throw new Error(`modbus exception 0x${pdu[1].toString(16)} to function 0x${(pdu[0] & 0x7f).toString(16)}`);
  const n = pdu[1] / 2;
  const words: number[] = [];
  for (let i = 0; i < n; i++) words.push((pdu[2 + i * 2] << 8) | pdu[3 + i * 2]);
  return words;
}
