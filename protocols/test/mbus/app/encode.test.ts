// Encoder → decoder round trip of a heat meter readout, as the simulators will build it.
import { describe, expect, it } from 'vitest';
import { decodeTelegram, encodeRspUd, encodeRspUdSeries, toHex, type RecordSpec } from '../../../src/mbus/app/index.js';

const header = { id: 12345678, manufacturer: 'KAM', version: 0x19, medium: 'heat_outlet', accessNumber: 7, status: 0 };

describe('encodeRspUd', () => {
  it('builds a checksummed long frame that decodes back to the records', () => {
    const records: RecordSpec[] = [
      { quantity: 'energy', unit: 'Wh', value: 12345000, coding: 'bcd8' },
      { quantity: 'volume', unit: 'm3', value: 456.789, coding: 'int32' },
      { quantity: 'flow_temperature', value: 70.5, coding: 'int16' },
      { quantity: 'power', unit: 'W', value: 1234.5, coding: 'real32' },
      { quantity: 'datetime', value: '2024-02-29T13:45', coding: 'typeF' },
      { quantity: 'date', value: '2023-12-31', coding: 'typeG', storage: 1 },
      { quantity: 'energy', unit: 'Wh', value: 1000, coding: 'int32', storage: 5, tariff: 2, subunit: 1, function: 'maximum' },
      { quantity: 'error_flags', value: 4, coding: 'int8' },
      { vif: [0x13], value: 5, coding: 'int8', errorCode: 0x16 },
    ];
    const frame = encodeRspUd({ address: 5, header, records });
    expect(frame[0]).toBe(0x68);
    expect(frame[frame.length - 1]).toBe(0x16);
    const t = decodeTelegram(frame);
    expect(t.partial).toBeUndefined();
    expect(t.header).toMatchObject({ id: '12345678', manufacturer: 'KAM', version: 0x19, medium: 'heat_outlet', accessNumber: 7 });
    expect(t.frame).toEqual({ c: 0x08, address: 5 });
    const v = t.records.map((r) => [r.quantity, r.unit, r.value]);
    expect(v).toEqual([
      ['energy', 'Wh', 12345000],
      ['volume', 'm3', 456.789],
      ['flow_temperature', '°C', 70.5],
      ['power', 'W', 1234.5],
      ['datetime', '', '2024-02-29T13:45:00'],
      ['date', '', '2023-12-31'],
      ['energy', 'Wh', 1000],
      ['error_flags', '', 4],
      ['volume', 'm3', 0.005],
    ]);
    expect(t.records[6]).toMatchObject({ storage: 5, tariff: 2, subunit: 1, function: 'maximum' });
    expect(t.records[5].storage).toBe(1);
    expect(t.records[8]).toMatchObject({ overflow: true, error: { code: 0x16, text: 'Data overflow' } });
    expect(toHex(frame.subarray(0, 4))).toBe(`68 ${toHex(Uint8Array.of(frame[1]))} ${toHex(Uint8Array.of(frame[1]))} 68`);
  });

  it('splits a long readout over several telegrams with 0x1F on all but the last', () => {
    const records: RecordSpec[] = Array.from({ length: 60 }, (_, i) => ({
      quantity: 'energy',
      unit: 'Wh',
      value: i * 1000,
      coding: 'int32' as const,
      storage: i,
    }));
    const frames = encodeRspUdSeries({ address: 1, header, records }, 100);
    expect(frames.length).toBeGreaterThan(1);
    const decoded = frames.map((f) => decodeTelegram(f));
    decoded.forEach((t, i) => {
      expect(t.moreRecordsFollow).toBe(i < frames.length - 1);
      expect(t.header.accessNumber).toBe(7 + i);
      expect(t.partial).toBeUndefined();
    });
    expect(decoded.flatMap((t) => t.records.map((r) => r.storage))).toEqual(records.map((_, i) => i));
    for (const f of frames) expect(f[1] - 3).toBeLessThanOrEqual(100);
  });
});
