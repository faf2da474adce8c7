// A simulated device that vanishes and returns where it was: a pty behind a fixed link (the link goes
// with it and comes back pointing at the new pty), a TCP converter on the same port.
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodePulseResponse, encodePulseRequest, pulseResponseLength } from '@amr/protocols';
import { startPulseBus } from '@amr/simulators';
import { SerialClient } from './serial-client.js';

const devices = [{ deviceId: 7, read: () => [70] }];

describe('unplug and replug', () => {
  it('a pty device: gone from its path, then answering on the same path again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'amr-sim-unplug-'));
    const link = join(dir, 'ttyTEST');
    const bus = await startPulseBus({ transport: { kind: 'pty', link }, timing: { pacing: false }, devices });
    try {
      expect(bus.endpoint).toEqual({ kind: 'pty', path: link });
      await bus.unplug();
      expect(existsSync(link)).toBe(false);
      await bus.unplug(); // twice is harmless
      await bus.replug();
      const c = await SerialClient.open(link, 9600);
      try {
        c.write(encodePulseRequest(7));
        const b = await c.waitFor(pulseResponseLength(1), 1000);
        expect(decodePulseResponse(b.subarray(0, pulseResponseLength(1))).counters).toEqual([70]);
      } finally {
        await c.close();
      }
    } finally {
      await bus.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a pty without a fixed link cannot come back on the same path, and says so', async () => {
    const bus = await startPulseBus({ timing: { pacing: false }, devices });
    await bus.unplug();
    await expect(bus.replug()).rejects.toThrow(/needs transport.link/);
    await bus.close();
  });

  it('a TCP converter: connections dropped and refused, then accepted on the same port', async () => {
    const bus = await startPulseBus({ transport: { kind: 'tcp', port: 0 }, timing: { pacing: false }, devices });
    if (bus.endpoint.kind !== 'tcp') throw new Error('tcp expected');
    const { host, port } = bus.endpoint;
    const dial = () =>
      new Promise<net.Socket>((res, rej) => {
        const s = net.connect({ host, port }, () => res(s));
        s.once('error', rej);
      });
    try {
      const s = await dial();
      const ended = new Promise<void>((r) => s.once('close', () => r()));
      await bus.unplug();
      await ended; // the open connection was dropped
      await expect(dial()).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      await bus.replug();
      const s2 = await dial();
      const answer = new Promise<Buffer>((r) => s2.once('data', (d: Buffer) => r(d)));
      s2.write(encodePulseRequest(7));
      expect(decodePulseResponse((await answer).subarray(0, pulseResponseLength(1))).counters).toEqual([70]);
      s2.destroy();
    } finally {
      await bus.close();
    }
  });
});
