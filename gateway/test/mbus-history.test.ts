// A heat meter's month-end history that comes only in a telegram selected by application select
// (EN 13757-3: SND_UD CI 0x50 + subcode), read by the native M-Bus driver and published as archive
// readings: golden frames first (hand-built bytes, decoded by hand), then the simulator on a real pty
// through the gateway: the first poll, a restart, a month end, a gap, and readouts that fail half-way.
//
// The model is the profile `sim-heat-history` (subcode 0x30, storages 1…12 month ends dated the 1st of
// the next month, the value at its 00:00). Its normal telegram has no storages at all.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { CI_APPLICATION_RESET, ReadingsMessage, applicationReset, decodeFrameAt, decodeTelegram, encodeFrame, encodeRspUdSeries, reqUd2, sndNke, topics, type MbusFrame, type MeterReading } from '@amr/protocols';
import { heatMeterRecords, heatMonthEndRecords, startMbusSegment, type DueDateValue, type MbusSegment, type MbusSlaveSpec } from '@amr/simulators';
import { Gateway, validateConfig } from '../src/index.js';
import { chooseProfile, mbusHistoryReadings } from '../src/profiles/index.js';
import type { MbusNativeDriver } from '../src/drivers/mbus-native.js';
import { startBroker, type TestBroker } from './helpers/broker.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const hex = (f: MbusFrame) => Buffer.from(encodeFrame(f)).toString('hex');
const profile = chooseProfile('sim-heat-history', {});

describe('golden frames of the history telegram', () => {
  it('the select and the reset as bytes: SND_UD to 5 with CI 0x50 and subcode 0x30, then CI 0x50 alone', () => {
    // Long frame: 68 L L 68 C A CI data CS 16, L = 3 + 1 data byte = 4; C = 0x53 (SND_UD, FCV),
    // CS = 0x53 + 0x05 + 0x50 + 0x30 = 0xD8. The reset has no data: a control frame, L = 3,
    // CS = 0x53 + 0x05 + 0x50 = 0xA8.
    expect(hex(applicationReset(5, profile.history!.subcode))).toBe('6804046853055030d816');
    expect(hex(applicationReset(5))).toBe('680303685305' + '50a816');
  });

  // RSP_UD from address 5: C 08, CI 72, id 12345678 (BCD, LSB first: 78 56 34 12), manufacturer KAM
  // ((11 << 10) | (1 << 5) | 13 = 0x2C2D, LSB first: 2D 2C), version 01, medium 04 (heat), access 07, status 00, signature 00 00; then
  //   04 6D 1E 0A 45 33   the meter's clock, type F: 30 min, 10 h, day 5 | year bits 0-2 (26 → 010) << 5 = 0x45,
  //                       month 3 | year bits 3-6 (0011) << 4 = 0x33 → 2026-03-05T10:30
  //   42 6C 41 33         storage 1 (DIF bit 6), date type G: day 1 | 010 << 5 = 0x41, month 3 | 0011 << 4 = 0x33 → 2026-03-01
  //   4C 06 45 23 01 00   storage 1, 8-digit BCD, VIF 06 = kWh: 12345 kWh
  //   4C 14 25 00 01 00   storage 1, 8-digit BCD, VIF 14 = 0.01 m³: 10025 → 100.25 m³
  //   82 01 6C 41 32      storage 2 (DIFE 01: storage bit 1), date 2026-02-01
  //   8C 01 06 00 20 01 00  storage 2, 12000 kWh
  //   8C 01 14 00 90 00 00  storage 2, 9000 → 90.00 m³
  const userData = '78563412' + '2d2c' + '01' + '04' + '07' + '00' + '0000' +
    '046d1e0a4533' + '426c4133' + '4c0645230100' + '4c1425000100' + '82016c4132' + '8c010600200100' + '8c011400900000';
  const body = '08' + '05' + '72' + userData;
  const cs = Buffer.from(body, 'hex').reduce((a, b) => (a + b) & 0xff, 0);
  const L = body.length / 2;
  const frame = Buffer.from(`68${L.toString(16).padStart(2, '0').repeat(2)}68${body}${cs.toString(16).padStart(2, '0')}16`, 'hex');

  it('a hand-built history telegram decodes to two month ends, dated the 1st (its 00:00), with kWh and m³', () => {
    const f = decodeFrameAt(frame, 0).frame;
    if (f.kind !== 'long') throw new Error('expected a long frame');
    const tg = decodeTelegram({ ci: f.ci, data: f.data });
    expect(tg.header).toMatchObject({ id: '12345678', manufacturer: 'KAM', version: 1, mediumCode: 4 });
    expect(mbusHistoryReadings([tg], profile)).toEqual([
      { kind: 'month_end', storage: 1, date: '2026-03-01', record: '2026-03-01T00:00:00', values: [
        { quantity: 'energy_kwh', value: 12345, unit: 'kWh', storage: 1, quality: [] },
        { quantity: 'volume_m3', value: 100.25, unit: 'm3', storage: 1, quality: [] },
      ] },
      { kind: 'month_end', storage: 2, date: '2026-02-01', record: '2026-02-01T00:00:00', values: [
        { quantity: 'energy_kwh', value: 12000, unit: 'kWh', storage: 2, quality: [] },
        { quantity: 'volume_m3', value: 90, unit: 'm3', storage: 2, quality: [] },
      ] },
    ]);
    // The meter config's `quantities` restricts the stored values as the live ones.
    expect(mbusHistoryReadings([tg], profile, ['energy_kwh']).map((a) => a.values.map((v) => v.quantity))).toEqual([['energy_kwh'], ['energy_kwh']]);
    // A profile without a history telegram reads none.
    expect(mbusHistoryReadings([tg], chooseProfile('heat-meter', {}))).toEqual([]);
  });

  it('the simulator codes the same month ends as the same bytes', () => {
    const records = heatMonthEndRecords({ time: new Date('2026-03-05T10:30:00Z'), months: [{ date: '2026-03-01', value: 12345, value2: 100.25 }, { date: '2026-02-01', value: 12000, value2: 90 }] });
    const [sim] = encodeRspUdSeries({ address: 5, header: { id: '12345678', manufacturer: 'KAM', version: 1, medium: 4, accessNumber: 7, status: 0 }, records });
    expect(Buffer.from(sim).toString('hex')).toBe(frame.toString('hex'));
  });
});

/** The month ends the meter holds at meter-clock `now`: storage 1 = the 1st of `now`'s month, back 12 months. */
function monthEnds(now: string): DueDateValue[] {
  const [y, m] = [Number(now.slice(0, 4)), Number(now.slice(5, 7))];
  return Array.from({ length: 12 }, (_, i) => {
    const d = new Date(Date.UTC(y, m - 1 - i, 1));
    // By hand: 1 000 kWh and 10 m³ a month from 20 000 kWh / 200 m³ on 2025-01-01: k months later, 20 000 + 1 000 k.
    const k = (d.getUTCFullYear() - 2025) * 12 + d.getUTCMonth();
    return { date: d.toISOString().slice(0, 10), value: 20_000 + 1000 * k, value2: 200 + 10 * k };
  });
}

describe('the history telegram through the gateway (simulator on a pty)', () => {
  let seg: MbusSegment;
  let broker: TestBroker;
  let dir: string;
  /** The meter's clock (local time, no zone) and the gateway's clock: the same instant here. */
  let now = '2026-03-05T10:30';
  /** Requests after the last application select, and when the meter falls silent among them (a fault plan). */
  let afterSelect = -1;
  let fault: { from: number; count: number } | null = null;
  const log: string[] = [];
  const slave: MbusSlaveSpec = {
    primaryAddress: 5, id: '12345678', manufacturer: 'KAM', version: 0x01, medium: 0x04,
    // The history's 12 month ends (12 × 16 bytes + the clock's 6) in three telegrams of at most 100
    // bytes (12 of header, 1 for "more records follow": the clock and 5 months, 5 months, 2 months).
    maxUserData: 100,
    records: () => heatMeterRecords({ time: new Date(`${now}:00Z`), energyKwh: 33_000, volumeM3: 330.5, powerW: 12_000, flowM3h: 0.5, flowTempC: 70, returnTempC: 45, operatingHours: 9000, errorFlags: 0, history: [] }),
    selectable: { 0x30: () => heatMonthEndRecords({ time: new Date(`${now}:00Z`), months: monthEnds(now) }) },
  };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'amr-mbhist-'));
    broker = await startBroker();
    seg = await startMbusSegment({
      timing: { pacing: false },
      slaves: [slave],
      beforeAnswer: (s, f) => {
        const sel = f.kind === 'long' && f.ci === CI_APPLICATION_RESET && f.data[0] === 0x30;
        log.push(f.kind === 'ack' ? 'ack' : hex(f));
        afterSelect = sel ? 0 : afterSelect >= 0 ? afterSelect + 1 : -1;
        s.faults!.silent = fault !== null && afterSelect >= fault.from && afterSelect < fault.from + fault.count;
      },
    });
  });
  afterAll(async () => {
    await seg?.close();
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const gateway = (sndNke: 'once' | 'never' = 'once') =>
    new Gateway({
      config: validateConfig({
        gateway: { id: 'gw-mbhist', bufferDir: dir, clockTolerance: '5m' },
        mqtt: { url: broker.url },
        buses: [{ name: 'mbus1', protocol: 'mbus', port: (seg.endpoint as { path: string }).path, timeout: '300ms', retries: 0, sndNke }],
        meters: [{ id: 'heat-1', bus: 'mbus1', primary: 5, interval: '1h', profile: 'sim-heat-history' }],
      }),
      logger: pino({ level: 'silent' }),
      scheduler: false,
      now: () => Date.parse(`${now}:00Z`),
    });
  const published = (): MeterReading[] =>
    broker.published.filter((p) => p.topic === topics.readings('gw-mbhist')).flatMap((p) => ReadingsMessage.parse(JSON.parse(p.payload.toString())).readings);
  const monthEndsPublished = () => published().filter((r) => r.archive?.kind === 'month_end');
  const live = () => published().filter((r) => !r.archive);
  const value = (r: MeterReading, q: string) => r.values.find((v) => v.quantity === q)?.value;

  async function pollAt(gw: Gateway, at: string): Promise<void> {
    now = at;
    const [o] = (await gw.pollNow('heat-1')) as { ok: boolean; error?: string }[];
    expect(o.ok, `poll at ${at}: ${o.error}`).toBe(true);
    await gw.backfillIdle('heat-1');
    for (let i = 0; i < 100 && gw.outbox.depth > 0; i++) await sleep(50);
    expect(gw.outbox.depth).toBe(0);
  }

  const SELECT = hex(applicationReset(5, 0x30));
  const RESET = hex(applicationReset(5));
  const NKE = hex(sndNke(5));
  const REQ = (fcb: boolean) => hex(reqUd2(5, fcb));

  it('first poll: the live telegram, then select, three telegrams, reset, SND_NKE; the 12 month ends once, with their values', async () => {
    const gw = gateway();
    await gw.start();
    try {
      await pollAt(gw, '2026-03-05T10:30');
      // A gateway that starts cannot know where a kill left a meter with a history telegram: the reset
      // back first (its SND_NKE is the link reset). Then the live poll (one REQ_UD2) and the history:
      // select, REQ_UD2 with FCB 1, 0, 1 (three telegrams: "more records follow" twice), the reset back, SND_NKE.
      expect(log).toEqual([RESET, NKE, REQ(true), SELECT, REQ(true), REQ(false), REQ(true), RESET, NKE]);
      const ends = monthEndsPublished();
      // 2026-03-01 back to 2025-04-01: k (months since January 2025) = 14 … 3.
      expect(ends.map((r) => r.archive!.record)).toEqual(monthEnds('2026-03-05').map((d) => `${d.date}T00:00:00`));
      expect(ends.map((r) => r.archive)).toEqual(monthEnds('2026-03-05').map((d, i) => ({ kind: 'month_end', record: `${d.date}T00:00:00`, date: d.date, storage: i + 1, nsCodes: [] })));
      expect(value(ends[0], 'energy_kwh')).toBe(34_000); // 20 000 + 14 × 1 000
      expect(value(ends[0], 'volume_m3')).toBe(340); // 200 + 14 × 10
      expect(value(ends[11], 'energy_kwh')).toBe(23_000); // 2025-04-01: k = 3
      expect(ends.every((r) => r.quality.includes('archive'))).toBe(true);
      // The live reading is the normal telegram's: the current register, not a month end.
      expect(value(live()[0], 'energy_kwh')).toBe(33_000);
      expect(value(live()[0], 'flow_temp_c')).toBe(70);
      // The next poll, same month, no gap: the live telegram only (FCB 1 again after the SND_NKE).
      log.length = 0;
      await pollAt(gw, '2026-03-05T11:30');
      expect(log).toEqual([REQ(true)]);
    } finally {
      await gw.stop();
    }
  });

  it('after a restart within the month nothing is read again; after the month end the history once, only the new month published', async () => {
    let gw = gateway();
    await gw.start();
    try {
      log.length = 0;
      await pollAt(gw, '2026-03-05T12:30');
      expect(log).toEqual([RESET, NKE, REQ(true)]); // the reset of a start; the month is done (bufferDir/meter-state.json)
      log.length = 0;
      await pollAt(gw, '2026-03-31T23:30'); // a gap of 26 days: the history read again, nothing new in it
      expect(log.filter((l) => l === SELECT)).toHaveLength(1);
      expect(monthEndsPublished()).toHaveLength(12);
      await gw.stop();
      gw = gateway();
      await gw.start();
      log.length = 0;
      await pollAt(gw, '2026-04-01T00:30'); // an hour later, on the meter's clock a new month
      expect(log.filter((l) => l === SELECT)).toHaveLength(1);
      const ends = monthEndsPublished();
      expect(ends.map((r) => r.archive!.record).slice(12)).toEqual(['2026-04-01T00:00:00']);
      expect(value(ends[12], 'energy_kwh')).toBe(35_000); // 2026-04-01: k = 15
      log.length = 0;
      await pollAt(gw, '2026-04-01T01:30');
      expect(log).toEqual([REQ(true)]);
    } finally {
      await gw.stop();
    }
  });

  it('a readout that fails half-way is reset at once, publishes nothing, and is done whole at the next poll', async () => {
    const gw = gateway();
    await gw.start();
    try {
      // Next month; the meter does not answer the second REQ_UD2 of the history (request 2 after the select).
      fault = { from: 2, count: 1 };
      log.length = 0;
      await pollAt(gw, '2026-05-01T00:30');
      fault = null;
      // The reset of a start, the live poll; select, telegram 1, telegram 2 unanswered (300 ms), then at once the reset and SND_NKE.
      expect(log).toEqual([RESET, NKE, REQ(true), SELECT, REQ(true), REQ(false), RESET, NKE]);
      expect(monthEndsPublished()).toHaveLength(13); // nothing of the broken readout
      // The next poll (SND_NKE first: the last exchange with the meter failed): its live values are the
      // normal telegram's, then the whole history, May's month end once.
      log.length = 0;
      await pollAt(gw, '2026-05-01T01:30');
      expect(log).toEqual([NKE, REQ(true), SELECT, REQ(true), REQ(false), REQ(true), RESET, NKE]);
      expect(value(live().at(-1)!, 'energy_kwh')).toBe(33_000);
      expect(monthEndsPublished().map((r) => r.archive!.record).slice(13)).toEqual(['2026-05-01T00:00:00']);
    } finally {
      await gw.stop();
    }
  });

  it('a meter left in its history telegram (the reset unanswered too) would answer the next poll with it; the next poll resets it first', async () => {
    // sndNke never: nothing else would bring the meter back before the next REQ_UD2.
    const gw = gateway('never');
    await gw.start();
    try {
      // June: telegram 2 and the reset after it unanswered (requests 2 and 3 after the select).
      fault = { from: 2, count: 2 };
      log.length = 0;
      await pollAt(gw, '2026-06-01T00:30');
      fault = null;
      // The reset of a start (with its SND_NKE, whatever sndNke says), the live poll, then the broken history.
      expect(log).toEqual([RESET, NKE, REQ(true), SELECT, REQ(true), REQ(false), RESET]);
      expect(monthEndsPublished()).toHaveLength(14);
      // What a naive next REQ_UD2 gets: the rest of the history readout (month ends, no live register).
      // (Reading it to its end brings the meter back; the fault is made again below.)
      const worker = gw.workers.get('mbus1')!;
      const [stale] = await worker.exclusive((d) => (d as MbusNativeDriver).requestData(5, 300, []));
      expect(stale.records.every((r) => r.storage > 0 || r.quantity === 'datetime')).toBe(true);
      expect(stale.records.some((r) => r.storage > 0 && r.quantity === 'energy')).toBe(true);
      // The next poll resets first; the history, still owed, fails the same way again.
      fault = { from: 2, count: 2 };
      log.length = 0;
      await pollAt(gw, '2026-06-01T01:30');
      fault = null;
      expect(log).toEqual([RESET, NKE, REQ(true), SELECT, REQ(true), REQ(false), RESET]);
      expect(monthEndsPublished()).toHaveLength(14);
      // Now the meter is inside its history readout, after telegram 1. The gateway's next poll resets it
      // first (application reset, SND_NKE) and reads the normal telegram: the live values are current.
      log.length = 0;
      await pollAt(gw, '2026-06-01T02:30');
      expect(value(live().at(-1)!, 'energy_kwh')).toBe(33_000);
      expect(value(live().at(-1)!, 'flow_temp_c')).toBe(70);
      expect(log.slice(0, 3)).toEqual([RESET, NKE, REQ(true)]);
      // And the history, owed since the month end, is read whole and June's month end published once.
      expect(log.slice(3)).toEqual([SELECT, REQ(true), REQ(false), REQ(true), RESET, NKE]);
      expect(monthEndsPublished().map((r) => r.archive!.record).slice(14)).toEqual(['2026-06-01T00:00:00']);
    } finally {
      await gw.stop();
    }
  });

  it('a gateway killed inside a history readout: the next one\'s first poll resets the meter before reading it', async () => {
    // sndNke never, and the first gateway's memory gone with it: only the reset of a start brings the meter back.
    let gw = gateway('never');
    await gw.start();
    try {
      // July: telegram 2 and the reset after it unanswered — the meter stays inside its history readout.
      fault = { from: 2, count: 2 };
      await pollAt(gw, '2026-07-01T00:30');
      fault = null;
      await gw.stop(); // as a power cut would leave it: nothing on disk says the meter is selected
      gw = gateway('never');
      await gw.start();
      log.length = 0;
      await pollAt(gw, '2026-07-01T01:30');
      // Reset first, then the normal telegram: the live values are the current registers, not a month end.
      expect(log.slice(0, 3)).toEqual([RESET, NKE, REQ(true)]);
      expect(value(live().at(-1)!, 'energy_kwh')).toBe(33_000);
      expect(value(live().at(-1)!, 'flow_temp_c')).toBe(70);
      // And July's month end, owed, read whole once.
      expect(log.slice(3)).toEqual([SELECT, REQ(true), REQ(false), REQ(true), RESET, NKE]);
      expect(monthEndsPublished().map((r) => r.archive!.record).slice(15)).toEqual(['2026-07-01T00:00:00']);
    } finally {
      await gw.stop();
    }
  });
});
