import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  decodePulseRequest, decodePulseResponse, encodePulseRequest, encodePulseResponse, pulseDelta, pulseResponseLength,
} from '@amr/protocols';

describe('pulse counter frames', () => {
  it('request has the documented layout and CRC-16/MODBUS low byte first', () => {
    const f = encodePulseRequest(0x0102);
    expect([...f.subarray(0, 4)]).toEqual([0xa5, 0x01, 0x01, 0x02]);
    expect(f.length).toBe(6);
    expect(decodePulseRequest(f)).toEqual({ deviceId: 0x0102 });
  });

  it('CRC matches the standard check value of CRC-16/MODBUS ("123456789" → 0x4B37)', async () => {
    const { crc16Modbus } = await import('@amr/protocols');
    expect(crc16Modbus(Buffer.from('123456789'))).toBe(0x4b37);
  });

  it('round-trips any response', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 0xfffe }),
      fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 16 }),
      fc.boolean(), fc.boolean(), fc.boolean(), fc.boolean(),
      (deviceId, counters, lowBattery, tamper, wrapped, powerOn) => {
        const r = { deviceId, counters, status: { lowBattery, tamper, wrapped, powerOn } };
        const f = encodePulseResponse(r);
        expect(f.length).toBe(pulseResponseLength(counters.length));
        expect(decodePulseResponse(f)).toEqual(r);
      }));
  });

  it.each([
    ['bad CRC', (b: Buffer) => { b[b.length - 1] ^= 0xff; }, /CRC/],
    ['bad header', (b: Buffer) => { b[0] = 0; }, /header/],
    ['bad length', (b: Buffer) => { b[4] = 3; }, /must be 20 bytes/],
  ])('rejects a response with %s, naming it', (_n, mutate, msg) => {
    const f = encodePulseResponse({ deviceId: 7, counters: [1, 2], status: { lowBattery: false, tamper: false, wrapped: false, powerOn: false } });
    mutate(f);
    expect(() => decodePulseResponse(f)).toThrow(msg);
  });

  it('computes consumption across a counter wrap', () => {
    expect(pulseDelta(0xfffffff0, 0x10)).toBe(0x20);
    expect(pulseDelta(990, 5, 1000)).toBe(15);
    expect(pulseDelta(5, 9)).toBe(4);
  });
});
