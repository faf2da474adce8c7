// Pulse counters on a real pty: polls with the documented frame, counters, weights and wrap.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePulseResponse, encodePulseRequest, pulseDelta, pulseResponseLength } from '@amr/protocols';
import { startPulseBus, type PulseBus } from '@amr/simulators';
import { SerialClient } from './serial-client.js';

describe('pulse counter bus', () => {
  let bus: PulseBus;
  let client: SerialClient;
  let liters = [12_340, 5_670];
  const faults = { silent: false };
  beforeAll(async () => {
    bus = await startPulseBus({
      transport: { kind: 'pty' },
      timing: { pacing: false },
      devices: [
        { deviceId: 101, read: () => liters.map((l) => Math.floor(l / 10)), wrapAt: 1000 }, // 10 L/pulse, low wrap for the test
        { deviceId: 102, read: () => [1, 2, 3, 4], faults },
      ],
    });
    if (bus.endpoint.kind !== 'pty') throw new Error('pty expected');
    client = await SerialClient.open(bus.endpoint.path, 9600);
  });
  afterAll(async () => { await client?.close(); await bus?.close(); });

  const poll = async (id: number, channels: number) => {
    client.reset();
    client.write(encodePulseRequest(id));
    const b = await client.waitFor(pulseResponseLength(channels), 500);
    return b.length ? decodePulseResponse(b.subarray(0, pulseResponseLength(channels))) : undefined;
  };

  it('answers a poll with the counters (raw pulses) of its id', async () => {
    const r = await poll(101, 2);
    expect(r).toMatchObject({ deviceId: 101, counters: [234, 567] });
    expect(r!.status.powerOn).toBe(true);
    const r2 = await poll(102, 4);
    expect(r2!.counters).toEqual([1, 2, 3, 4]);
  });

  it('wraps the counter and flags it; consumption across the wrap is recovered with the weight', async () => {
    const before = (await poll(101, 2))!;
    liters = [12_340 + 8_000, 5_670]; // +800 pulses: 1234 → 2034 → wraps at 1000 → 34
    const after = (await poll(101, 2))!;
    expect(after.counters[0]).toBe(34);
    expect(after.status.wrapped).toBe(true);
    expect(pulseDelta(before.counters[0], after.counters[0], 1000) * 10).toBe(8_000);
  });

  it('a silent counter does not answer; the next device still does', async () => {
    faults.silent = true;
    expect(await poll(102, 4)).toBeUndefined();
    faults.silent = false;
    expect((await poll(102, 4))?.deviceId).toBe(102);
  });

  it('survives the master closing and reopening the port (a gateway restart)', async () => {
    if (bus.endpoint.kind !== 'pty') throw new Error('pty expected');
    await client.close();
    client = await SerialClient.open(bus.endpoint.path, 9600);
    expect((await poll(102, 4))?.counters).toEqual([1, 2, 3, 4]);
  });
});
