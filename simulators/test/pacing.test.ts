// Line pacing: the simulator's bytes leave at the bus speed (baud / 11 characters per second for
// M-Bus 8E1). Measured on the client end of a real pty as a ratio, not a deadline.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame, reqUd2 } from '@amr/protocols';
import { heatMeterRecords, startMbusSegment, type MbusSegment } from '@amr/simulators';
import { SerialClient } from './serial-client.js';

const history = Array.from({ length: 12 }, (_, i) => ({ date: `2025-${String(12 - i).padStart(2, '0')}-01`, value: 40000 - i * 1000, value2: 900 - i * 20 }));

describe('line pacing', () => {
  let seg: MbusSegment;
  let client: SerialClient;
  beforeAll(async () => {
    seg = await startMbusSegment({
      transport: { kind: 'pty' },
      timing: { baud: 2400, bitsPerChar: 11, turnaroundMs: 20, pacing: true },
      slaves: [{
        primaryAddress: 1, id: '12345678', manufacturer: 'KAM', version: 1, medium: 4,
        records: () => heatMeterRecords({ time: new Date('2026-01-01T00:00:00Z'), energyKwh: 1, volumeM3: 1, powerW: 1, flowM3h: 1, flowTempC: 70, returnTempC: 40, operatingHours: 1, errorFlags: 0, history }),
      }],
    });
    if (seg.endpoint.kind !== 'pty') throw new Error('pty expected');
    client = await SerialClient.open(seg.endpoint.path, 2400);
  });
  afterAll(async () => { await client?.close(); await seg?.close(); });

  it('sends a ~250-byte RSP_UD at 2400/11 bytes per second (within 5 %)', async () => {
    client.reset();
    client.write(encodeFrame(reqUd2(1, true)));
    const first = await client.waitFor(5);
    const total = first[1] + 6;
    expect(total).toBeGreaterThan(150);
    await client.waitFor(total, 5000);
    expect(client.buf.length).toBe(total);
    // Rate = slope of the least-squares line through (arrival time, bytes so far): one late chunk
    // (a busy CI machine) shifts the line little, unlike a first-to-last-byte quotient.
    let cum = 0;
    const pts = client.arrivals.map((x) => ({ t: x.t / 1000, n: (cum += x.n) }));
    const mt = pts.reduce((s, p) => s + p.t, 0) / pts.length;
    const mn = pts.reduce((s, p) => s + p.n, 0) / pts.length;
    const rate = pts.reduce((s, p) => s + (p.t - mt) * (p.n - mn), 0) / pts.reduce((s, p) => s + (p.t - mt) ** 2, 0);
    expect(pts.length).toBeGreaterThan(20); // really paced, not one burst
    const expected = 2400 / 11;
    console.log(`pacing: ${total} bytes, ${rate.toFixed(1)} B/s measured, ${expected.toFixed(1)} B/s nominal`);
    expect(Math.abs(rate / expected - 1)).toBeLessThan(0.05);
  });
});
