// EN 13757-2 link timing of the native M-Bus master on a real pty: an answer ends when its length
// field says so, a pause inside it shorter than the inter-byte timeout is tolerated, a longer one
// fails that meter with a typed timeout and its late rest is drained so the next meter is read
// clean; collisions are reported only on evidence (two meters on one address), never on a pause.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MbusStreamParser, parseControlField } from '@amr/protocols';
import { serveLine, startMbusSegment, waterMeterRecords, type MbusSegment, type MbusSlaveSpec, type ServedLine } from '@amr/simulators';
import {
  BusConfig, BusWorker, CollisionError, IncompleteAnswerError, MbusNativeDriver, MeterConfig, TimeoutError, resolveBus, resolveMeter,
  type MeterRead, type PollOutcome,
} from '../src/index.js';

const time = new Date('2026-03-15T10:30:00Z');
const water = (volumeM3: number) => () => waterMeterRecords({ time, volumeM3, flowM3h: 0, errorFlags: 0, history: [] });
const vals = (r: MeterRead) => Object.fromEntries(r.values.map((v) => [v.quantity, v.value]));

describe('M-Bus link timing (native master, pty)', () => {
  const faultsA: { pauseMidAnswerMs?: number } = {};
  let seg: MbusSegment;
  let path: string;
  beforeAll(async () => {
    const slaves: MbusSlaveSpec[] = [
      { primaryAddress: 1, id: '10000001', manufacturer: 'ZRI', version: 1, medium: 0x16, records: water(111.111), faults: faultsA },
      { primaryAddress: 2, id: '20000002', manufacturer: 'ZRI', version: 1, medium: 0x16, records: water(222.222) },
      // Two meters left on the factory address 5 by a careless installer: they really collide.
      { primaryAddress: 5, id: '50000001', manufacturer: 'ZRI', version: 1, medium: 0x16, records: water(5.1) },
      { primaryAddress: 5, id: '50000002', manufacturer: 'ZRI', version: 1, medium: 0x16, records: water(5.2) },
    ];
    seg = await startMbusSegment({ transport: { kind: 'pty' }, timing: { pacing: false }, slaves });
    path = (seg.endpoint as { path: string }).path;
  });
  afterAll(async () => {
    await seg?.close();
  });

  const open = async (extra: Record<string, unknown>, openLine = true) => {
    const bus = resolveBus(BusConfig.parse({ name: 'm', protocol: 'mbus', port: path, timeout: '300ms', retries: 0, ...extra }));
    const drained: number[] = [];
    const d = new MbusNativeDriver(bus, { clockToleranceMs: 1e12, onDrained: (i) => drained.push(i.bytes) });
    if (openLine) await d.open();
    const meter = (primary: number) => resolveMeter(MeterConfig.parse({ id: `m${primary}`, bus: 'm', primary }), bus);
    return { bus, d, drained, meter };
  };

  it('a 250 ms pause inside an answer is tolerated at the default inter-byte timeout (500 ms): A and B read right, no collision, nothing drained', async () => {
    const { bus, d, drained, meter } = await open({});
    expect(bus.interByteMs).toBe(500);
    faultsA.pauseMidAnswerMs = 250;
    try {
      const a = await d.read(meter(1));
      expect(vals(a).volume_m3).toBe(111.111);
      expect(a.serial).toBe('10000001');
      const b = await d.read(meter(2));
      expect(vals(b).volume_m3).toBe(222.222);
      expect(b.serial).toBe('20000002');
      // The scan reads A through its pause too, and finds no shared address.
      const progress: string[] = [];
      const hits = await d.scan({ mode: 'primary', from: 0, to: 3 }, (m) => progress.push(m));
      expect(hits).toEqual([
        expect.objectContaining({ address: '1', serial: '10000001' }),
        expect.objectContaining({ address: '2', serial: '20000002' }),
      ]);
      expect(progress.join('\n')).not.toMatch(/collision|share/);
      expect(drained).toEqual([]);
    } finally {
      faultsA.pauseMidAnswerMs = undefined;
      await d.close();
    }
  });

  it('a pause longer than the inter-byte timeout fails A with a typed timeout; its late rest is drained and B right after reads right', async () => {
    const { d, drained, meter, bus } = await open({ interByteTimeout: '150ms' }, false);
    const worker = new BusWorker(bus, d, 3); // opens the line itself
    try {
      // Length of A's answer, from a clean read: the drain must discard exactly its second half.
      const clean = await worker.poll(meter(1));
      if (!clean.ok) throw new Error(`clean read of A failed: ${'error' in clean ? clean.error.message : clean.skipped}`);
      const len = clean.read.frames!.filter((f) => f.dir === 'rx').at(-1)!.hex.length / 2;
      expect(len).toBeGreaterThan(20);
      faultsA.pauseMidAnswerMs = 250; // 250 ms > 150 ms: the rest comes 100 ms after the master gave up
      const outA: PollOutcome = await worker.poll(meter(1));
      expect(outA.ok).toBe(false);
      const err = (outA as { error: Error }).error;
      expect(err).toBeInstanceOf(IncompleteAnswerError);
      expect(err).toBeInstanceOf(TimeoutError); // the poller's quality flag: timeout
      expect(err.message).toMatch(new RegExp(`answer incomplete: ${Math.floor(len / 2)} of ${len} bytes.*150 ms \\(interByteTimeout\\)`));
      const outB = await worker.poll(meter(2));
      expect(outB.ok && vals(outB.read).volume_m3).toBe(222.222);
      expect(drained).toEqual([len - Math.floor(len / 2)]);
      expect(d.linkStats).toEqual({ drainedBytes: len - Math.floor(len / 2), drains: 1 });
    } finally {
      faultsA.pauseMidAnswerMs = undefined;
      await worker.close();
    }
  });

  it('two meters on one primary address are still a collision: on a read, and in a scan after a confirming retry', async () => {
    const { d, meter } = await open({ interByteTimeout: '100ms' });
    try {
      await expect(d.read(meter(5))).rejects.toBeInstanceOf(CollisionError);
      const progress: string[] = [];
      const hits = await d.scan({ mode: 'primary', from: 4, to: 6 }, (m) => progress.push(m));
      expect(hits).toEqual([{ address: '5', medium: 'collision' }]);
      expect(progress).toContain('address 5: collision twice (several meters share this primary address)');
    } finally {
      await d.close();
    }
  });
});

// A real telegram (Sensus PolluTherm heat meter, from libmbus's test data) answered by a scripted
// slave that stalls at a chosen byte: where the pause falls must not matter, only the L field.
describe('a real telegram paused at the awkward places', () => {
  const golden = Buffer.from(readFileSync(fileURLToPath(new URL('../../../shared/testdata/mbus/libmbus/frames/SEN_Sensus-PolluTherm.hex', import.meta.url)), 'utf8').replace(/\s+/g, ''), 'hex');
  let answer: Buffer = golden;
  let pause: { afterBytes: number; ms: number } | undefined;
  let served: ServedLine;
  let d: MbusNativeDriver;
  let meter: ReturnType<typeof resolveMeter>;
  beforeAll(async () => {
    served = await serveLine({ kind: 'pty' }, { pacing: false }, () => {
      const parser = new MbusStreamParser();
      return {
        onData(chunk, reply) {
          for (const { frame } of parser.push(chunk).frames) {
            if (frame.kind !== 'short') continue;
            const fn = parseControlField(frame.control).function;
            if (fn === 'SND_NKE') void reply(Buffer.of(0xe5));
            if (fn === 'REQ_UD2') void reply(answer, pause);
          }
        },
      };
    });
    const bus = resolveBus(BusConfig.parse({ name: 'g', protocol: 'mbus', port: (served.endpoint as { path: string }).path, timeout: '300ms', interByteTimeout: '300ms', retries: 0 }));
    d = new MbusNativeDriver(bus, { clockToleranceMs: 1e12 });
    meter = resolveMeter(MeterConfig.parse({ id: 'sen', bus: 'g', primary: 0 }), bus);
    await d.open();
  });
  afterAll(async () => {
    await d?.close();
    await served?.close();
  });

  it('a 200 ms stall after the start byte, after the header, and before the stop byte: the same reading as unpaused', async () => {
    expect(golden.length).toBe(0x41 + 6); // 68 41 41 68 …: the length the master waits for
    pause = undefined;
    const clean = await d.read(meter);
    expect(clean.serial).toBe('24351689');
    expect(clean.values.length).toBeGreaterThan(3);
    for (const afterBytes of [1, 4, golden.length - 1]) {
      pause = { afterBytes, ms: 200 };
      const r = await d.read(meter);
      expect(r.values, `pause after ${afterBytes} bytes`).toEqual(clean.values);
    }
  });

  it('an answer whose header announces more than ever comes (L = 0xFF, 20 bytes sent) fails as incomplete, not as a collision', async () => {
    pause = undefined;
    answer = Buffer.concat([Buffer.of(0x68, 0xff, 0xff, 0x68), golden.subarray(4, 20)]);
    try {
      const err = await d.read(meter).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(IncompleteAnswerError);
      expect((err as Error).message).toMatch(/answer incomplete: 20 of 261 bytes/);
    } finally {
      answer = golden;
    }
    pause = undefined;
    expect((await d.read(meter)).serial).toBe('24351689');
  });

  it('bytes that cannot start a frame are evidence of a collision', async () => {
    answer = Buffer.concat([Buffer.of(0x00, 0xff), golden]);
    try {
      await expect(d.read(meter)).rejects.toBeInstanceOf(CollisionError);
    } finally {
      answer = golden;
    }
  });
});

describe('interByteTimeout in the bus config', () => {
  const bus = (extra: Record<string, unknown>) => resolveBus(BusConfig.parse({ name: 'm', protocol: 'mbus', port: '/dev/ttyUSB0', ...extra }));
  it('defaults to 500 ms, 40 character times on slow lines, +400 ms on a tcp:// converter; a set value wins', () => {
    expect(bus({}).interByteMs).toBe(500);
    expect(bus({ baud: 9600 }).interByteMs).toBe(500);
    expect(bus({ baud: 300 }).interByteMs).toBe(1467); // 40 × 11 bits / 300 Bd = 1466.7 ms
    expect(bus({ port: 'tcp://10.0.0.5:10001' }).interByteMs).toBe(900);
    expect(bus({ interByteTimeout: '250ms' }).interByteMs).toBe(250);
    // probe: (330 + 11) bit times at 2400 Bd = 142.1 ms, + 50 ms, + 60 ms serial turnaround
    expect(bus({}).probeTimeoutMs).toBe(253);
    expect(bus({ port: 'tcp://10.0.0.5:10001' }).probeTimeoutMs).toBe(543); // 142.1 ms + 400 ms network margin
  });
  it('refuses a zero or unreadable value, naming the key', () => {
    for (const v of ['0ms', 'soon', -5]) {
      const r = BusConfig.safeParse({ name: 'm', protocol: 'mbus', port: '/dev/ttyUSB0', interByteTimeout: v });
      expect(r.success).toBe(false);
      expect(r.error?.issues[0].path).toEqual(['interByteTimeout']);
    }
    // not an M-Bus key: a Modbus bus refuses it as unknown
    expect(BusConfig.safeParse({ name: 'r', protocol: 'modbus', port: '/dev/ttyUSB0', interByteTimeout: '1s' }).success).toBe(false);
  });
});
