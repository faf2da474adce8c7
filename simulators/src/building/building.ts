// One building on real buses: ОДПУ heat/cold/hot water on M-Bus, ОДПУ electricity on Modbus
// (SDM630), apartments' electricity on Modbus (SDM120), water on pulse counters or M-Bus, optional
// apartment heat meters on M-Bus. All registers derive from the seeded consumption model and the
// simulated clock; truth(period) reports what really flowed.
import { formatSecondaryAddress, heatCoefficientKwhM3K } from '@amr/protocols';
import { SimClock } from '../clock/sim-clock.js';
import { startMbusSegment, type MbusSlaveSpec } from '../mbus/segment.js';
import { hcaRecords, heatMeterRecords, waterMeterRecords, type DueDateValue } from '../mbus/records.js';
import { startModbusBus, type ModbusSlave } from '../modbus/bus.js';
import { Tv7Simulator } from '../modbus/tv7.js';
import { startPulseBus, type PulseDevice } from '../pulse/bus.js';
import type { Endpoint } from '../transport/line.js';
import { RESOURCES, parseBuildingConfig, type BuildingConfig, type Resource } from './config.js';
import { ConsumerSeries, hash01 } from './consumption.js';
import { HeatVolumeSeries, circuitTemps, heatMeterErrorShare } from './heat.js';
import { SimMeter, type MeterFault, type MeterState } from './meters.js';
import { periodTruth, periods, type PeriodTruth } from './truth.js';

export interface MeterEndpoint {
  meterId: string;
  role: 'building' | 'apartment';
  apartment?: number;
  resource: Resource;
  serial: string;
  bus: 'mbus' | 'modbus' | 'pulse';
  mbus?: { primaryAddress: number; secondary: string; manufacturer: string; medium: number };
  modbus?: { unitId: number; map: string };
  pulse?: { deviceId: number; channel: number; weightL: number; wrap: number };
}

export interface BuildingEndpoints {
  building: string;
  seed: number;
  start: string;
  speed: number;
  buses: Record<'mbus' | 'modbus' | 'pulse', { endpoint: Endpoint; baud: number; bitsPerChar: number; framing?: 'rtu' | 'mbap' } | undefined>;
  meters: MeterEndpoint[];
}

export interface Building {
  endpoints: BuildingEndpoints;
  clock: SimClock;
  config: BuildingConfig;
  meters: SimMeter[];
  /** The ОДПУ heat's ТВ7 on Modbus (config `odpuHeatCalculator: tv7`): inject НС events here. */
  heatCalculator?: Tv7Simulator;
  truth(period: { from: Date; to: Date }): PeriodTruth;
  truthSeries(granularity: 'day' | 'month', from?: Date, to?: Date): PeriodTruth[];
  setFault(meterId: string, fault: MeterFault): void;
  /** Every meter's fault state (registers follow from it, the seed and the clock). */
  snapshot(): Record<string, MeterState>;
  /** Puts meters back into a snapshot's state (serials follow into the endpoints). */
  restore(states: Readonly<Record<string, MeterState>>): void;
  close(): Promise<void>;
}

const HEAT_KWH_PER_M3K = 1.163;

export async function startBuilding(input: unknown, opts: { clock?: SimClock } = {}): Promise<Building> {
  const cfg = parseBuildingConfig(input);
  const startMs = cfg.start.getTime();
  const clock = opts.clock ?? new SimClock(cfg.start, cfg.speed);
  const K = cfg.apartments;

  // Consumers: apartment k, resource r.
  const consumers = new Map<string, ConsumerSeries>();
  for (let k = 1; k <= K; k++) {
    const scale = 0.5 + hash01(cfg.seed, k, 555);
    for (const r of RESOURCES) consumers.set(`${k}:${r}`, new ConsumerSeries(r, startMs, cfg.seed, k, r === 'heat' ? 0.8 + 0.4 * hash01(cfg.seed, k, 556) : scale));
  }
  const aptCum = (r: Resource, t: number) => {
    let s = 0;
    for (let k = 1; k <= K; k++) s += consumers.get(`${k}:${r}`)!.cumulative(t);
    return s;
  };
  const aptRate = (r: Resource, t: number) => {
    let s = 0;
    for (let k = 1; k <= K; k++) s += consumers.get(`${k}:${r}`)!.ratePerHour(t);
    return s;
  };
  const buildingFactor = (r: Resource) => (1 + cfg.common[r]) / (1 - cfg.loss[r]);

  const usedSerials = new Set<string>();
  const serial = (n: number) => {
    let v = 10_000_000 + Math.floor(hash01(cfg.seed, n, 777) * 89_999_999);
    while (usedSerials.has(String(v))) v++;
    usedSerials.add(String(v));
    return String(v);
  };
  const initial = (n: number, max: number) => Math.round(hash01(cfg.seed, n, 888) * max * 1000) / 1000;

  const meters: SimMeter[] = [];
  const endpointsOf: MeterEndpoint[] = [];
  const mbusSlaves: MbusSlaveSpec[] = [];
  const modbusSlaves: ModbusSlave[] = [];
  const pulseDevices: PulseDevice[] = [];
  let n = 0;
  const add = (m: SimMeter) => (meters.push(m), m);

  const history = (m: SimMeter, t: number): DueDateValue[] => {
    const out: DueDateValue[] = [];
    const d = new Date(t);
    for (let i = 0; i < cfg.historyMonths; i++) {
      const due = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - i, 1);
      out.push({ date: new Date(due).toISOString().slice(0, 10), value: m.register(due), value2: m.volumeRegister(due) });
    }
    return out;
  };

  // Energy and volume are two registers of one meter, related by the circuit's temperatures (heat.ts).
  const heatReadout = (m: SimMeter, rate: () => number) => () => {
    const t = clock.nowMs();
    const { flowC: flowTempC, returnC: returnTempC } = circuitTemps(t);
    const powerW = rate() * 1000;
    return heatMeterRecords({
      time: m.clock(t),
      energyKwh: m.register(t),
      volumeM3: m.volumeRegister(t),
      powerW,
      flowM3h: powerW / 1000 / (heatCoefficientKwhM3K(flowTempC, returnTempC, returnTempC) * (flowTempC - returnTempC)),
      flowTempC,
      returnTempC,
      operatingHours: 20_000 + (t - startMs) / 3_600_000,
      errorFlags: m.reverse ? 0x04 : 0,
      history: history(m, t),
    });
  };
  /** The volume register of a heat meter with energy cumulative `energy` and seed number `k`. */
  const heatVolume = (energy: (t: number) => number, initialKwh: number, k: number) => {
    const series = new HeatVolumeSeries(energy, startMs, heatMeterErrorShare(cfg.seed, k));
    // The starting volume as if the meter had always run at a ΔT of 20 K (any plausible value would do).
    return { trueCumulative: (t: number) => series.cumulative(t), initialReading: Math.round((initialKwh / (HEAT_KWH_PER_M3K * 20)) * 100) / 100, modulus: 1_000_000 };
  };
  const waterReadout = (m: SimMeter, rate: () => number) => () => {
    const t = clock.nowMs();
    return waterMeterRecords({ time: m.clock(t), volumeM3: m.register(t), flowM3h: m.reverse ? -rate() : rate(), errorFlags: m.reverse ? 0x04 : 0, history: history(m, t) });
  };
  const mbusMeter = (m: SimMeter, primaryAddress: number, manufacturer: string, medium: number, records: () => MbusSlaveSpec['records'] extends () => infer R ? R : never) => {
    const spec: MbusSlaveSpec = { primaryAddress, id: m.serial, manufacturer, version: 1, medium, records, faults: m.line };
    // A replaced meter has a new serial: the secondary address follows it.
    Object.defineProperty(spec, 'id', { get: () => m.serial, enumerable: true });
    mbusSlaves.push(spec);
    endpointsOf.push({
      meterId: m.meterId, role: m.role, apartment: m.apartment, resource: m.resource, serial: m.serial, bus: 'mbus',
      mbus: { primaryAddress, secondary: formatSecondaryAddress({ id: m.serial, manufacturer, version: 1, medium }), manufacturer, medium },
    });
  };

  // --- ОДПУ (building meters)
  const odpu = {} as Record<Resource, SimMeter>;
  for (const r of RESOURCES) {
    const f = buildingFactor(r);
    const modulus = r === 'cold_water' || r === 'hot_water' ? 100_000 : r === 'heat' ? 100_000_000 : 1_000_000;
    const cum = (t: number) => aptCum(r, t) * f;
    const init = initial(++n, r === 'heat' ? 500_000 : r === 'electricity' ? 200_000 : 20_000);
    odpu[r] = add(new SimMeter(`odpu-${r}`, r, 'building', serial(n), cum, init, modulus, undefined, r === 'heat' ? heatVolume(cum, init, n) : undefined));
  }
  mbusMeter(odpu.heat, 1, 'KAM', 0x04, heatReadout(odpu.heat, () => aptRate('heat', clock.nowMs()) * buildingFactor('heat')));
  mbusMeter(odpu.cold_water, 2, 'ZRI', 0x16, waterReadout(odpu.cold_water, () => aptRate('cold_water', clock.nowMs()) * buildingFactor('cold_water')));
  mbusMeter(odpu.hot_water, 3, 'ZRI', 0x06, waterReadout(odpu.hot_water, () => aptRate('hot_water', clock.nowMs()) * buildingFactor('hot_water')));
  const elecValues = (m: SimMeter, rateKw: () => number, phases: 1 | 3) => () => {
    const t = clock.nowMs();
    const p = rateKw() * 1000;
    const v = (i: number) => 228 + 6 * hash01(cfg.seed, n, i, Math.floor(t / 60_000));
    const vals: Record<string, number> = { energy_kwh: m.register(t), energy_export_kwh: 0, frequency_hz: 49.98 + 0.04 * hash01(cfg.seed, Math.floor(t / 10_000)), power_w: p };
    for (let i = 1; i <= phases; i++) {
      vals[`voltage_l${i}_v`] = v(i);
      vals[`current_l${i}_a`] = p / phases / v(i);
      if (phases === 3) vals[`power_l${i}_w`] = p / 3;
    }
    return vals;
  };
  modbusSlaves.push({ unitId: 1, map: 'sdm630', read: elecValues(odpu.electricity, () => aptRate('electricity', clock.nowMs()) * buildingFactor('electricity'), 3), faults: odpu.electricity.line });
  endpointsOf.push({ meterId: odpu.electricity.meterId, role: 'building', resource: 'electricity', serial: odpu.electricity.serial, bus: 'modbus', modbus: { unitId: 1, map: 'sdm630' } });

  // The same heating circuit as the ОДПУ heat meter, seen by a ТВ7 calculator with hourly/daily archives.
  let heatCalculator: Tv7Simulator | undefined;
  if (cfg.odpuHeatCalculator === 'tv7') {
    const h = odpu.heat;
    const volume = h.volume!;
    heatCalculator = new Tv7Simulator({ clock, startMs, truth: { energyKwh: (t) => h.trueCumulative(t), returnVolumeM3: (t) => volume.trueCumulative(t), temps: circuitTemps } });
    modbusSlaves.push(heatCalculator.slave(2));
    endpointsOf.push({ meterId: 'odpu-heat-tv7', role: 'building', resource: 'heat', serial: serial(++n), bus: 'modbus', modbus: { unitId: 2, map: 'tv7' } });
  }

  // --- ИПУ (apartment meters)
  const primaryFor = (base: number) => (base <= 250 ? base : 0); // beyond 250: secondary addressing only
  for (let k = 1; k <= K; k++) {
    const c = (r: Resource) => consumers.get(`${k}:${r}`)!;
    const mk = (r: Resource, modulus: number, maxInit: number) => {
      const id = serial(++n);
      const init = initial(n, maxInit);
      const cum = (t: number) => c(r).cumulative(t);
      return add(new SimMeter(`apt-${k}-${r}`, r, 'apartment', id, cum, init, modulus, k, r === 'heat' ? heatVolume(cum, init, n) : undefined));
    };

    const elec = mk('electricity', 1_000_000, 30_000);
    const unitId = 10 + k;
    modbusSlaves.push({ unitId, map: 'sdm120', read: elecValues(elec, () => c('electricity').ratePerHour(clock.nowMs()), 1), faults: elec.line });
    endpointsOf.push({ meterId: elec.meterId, role: 'apartment', apartment: k, resource: 'electricity', serial: elec.serial, bus: 'modbus', modbus: { unitId, map: 'sdm120' } });

    const cold = mk('cold_water', 100_000, 900);
    const hot = mk('hot_water', 100_000, 500);
    if (cfg.apartmentWater === 'pulse') {
      const deviceId = 100 + k;
      const w = cfg.pulseWeightL;
      // Pulse counters count forward only (a reed contact cannot tell the direction).
      const pulses = (m: SimMeter) => Math.max(0, Math.floor((m.register(clock.nowMs()) * 1000) / w + 1e-9));
      // One device, two meters: a line fault set on either meter is the device's.
      const faults = {
        get silent() { return !!(cold.line.silent || hot.line.silent); },
        get badChecksum() { return !!(cold.line.badChecksum || hot.line.badChecksum); },
      };
      pulseDevices.push({ deviceId, read: () => [pulses(cold), pulses(hot)], wrapAt: cfg.pulseWrap, faults });
      for (const [ch, m] of [[0, cold], [1, hot]] as const)
        endpointsOf.push({ meterId: m.meterId, role: 'apartment', apartment: k, resource: m.resource, serial: m.serial, bus: 'pulse', pulse: { deviceId, channel: ch, weightL: w, wrap: cfg.pulseWrap } });
    } else {
      mbusMeter(cold, primaryFor(10 + k), 'ZRI', 0x16, waterReadout(cold, () => c('cold_water').ratePerHour(clock.nowMs())));
      mbusMeter(hot, primaryFor(10 + K + k), 'ZRI', 0x06, waterReadout(hot, () => c('hot_water').ratePerHour(clock.nowMs())));
    }
    const heatPrimary = primaryFor(10 + (cfg.apartmentWater === 'mbus' ? 2 * K : 0) + k);
    if (cfg.apartmentHeat === true || cfg.apartmentHeat === 'meter') {
      const heat = mk('heat', 100_000_000, 20_000);
      mbusMeter(heat, heatPrimary, 'KAM', 0x04, heatReadout(heat, () => c('heat').ratePerHour(clock.nowMs())));
    } else if (cfg.apartmentHeat === 'hca') {
      // The allocator's register is in HCA units, not kWh; its truth stays in kWh (consumption of
      // the apartment), and units = kWh × hcaUnitsPerKwh — the head-end distributes by units.
      const f = cfg.hcaUnitsPerKwh;
      const hca = add(new SimMeter(`apt-${k}-heat`, 'heat', 'apartment', serial(++n), (t) => c('heat').cumulative(t) * f, 0, 100_000_000, k));
      hca.unit = 'hca';
      mbusMeter(hca, heatPrimary, 'QDS', 0x08, () => {
        const t = clock.nowMs();
        return hcaRecords({ time: hca.clock(t), units: hca.register(t), history: history(hca, t) });
      });
    }
  }
  // Apartment M-Bus meters keep 12 months of history too: the segment answers in several telegrams.

  const timing = (b: BuildingConfig['buses']['mbus'], bitsPerChar: number) => ({ baud: b.baud, bitsPerChar: b.bitsPerChar ?? bitsPerChar, turnaroundMs: cfg.turnaroundMs, pacing: cfg.pacing });
  const tr = (b: BuildingConfig['buses']['mbus']) => (b.transport === 'tcp' ? { kind: 'tcp' as const, port: b.port } : { kind: 'pty' as const });
  const opened: { close(): Promise<void> }[] = [];
  try {
    const mb = await startMbusSegment({ transport: tr(cfg.buses.mbus), timing: timing(cfg.buses.mbus, 11), slaves: mbusSlaves, seed: cfg.seed });
    opened.push(mb);
    const mo = await startModbusBus({ transport: tr(cfg.buses.modbus), framing: cfg.buses.modbus.framing, timing: timing(cfg.buses.modbus, 10), slaves: modbusSlaves });
    opened.push(mo);
    const pu = pulseDevices.length ? await startPulseBus({ transport: tr(cfg.buses.pulse), timing: timing(cfg.buses.pulse, 10), devices: pulseDevices }) : undefined;
    if (pu) opened.push(pu);

    const byId = new Map(meters.map((m) => [m.meterId, m]));
    const sources = { meters, apartmentsCumulative: aptCum, config: cfg };
    const endpoints: BuildingEndpoints = {
      building: cfg.name, seed: cfg.seed, start: cfg.start.toISOString(), speed: cfg.speed,
      buses: {
        mbus: { endpoint: mb.endpoint, baud: cfg.buses.mbus.baud, bitsPerChar: 11 },
        modbus: { endpoint: mo.endpoint, baud: cfg.buses.modbus.baud, bitsPerChar: cfg.buses.modbus.bitsPerChar ?? 10, framing: mo.framing },
        pulse: pu && { endpoint: pu.endpoint, baud: cfg.buses.pulse.baud, bitsPerChar: cfg.buses.pulse.bitsPerChar ?? 10 },
      },
      meters: endpointsOf,
    };
    return {
      endpoints, clock, config: cfg, meters, heatCalculator,
      truth: ({ from, to }) => periodTruth(sources, from, to),
      truthSeries: (g, from = cfg.start, to = clock.now()) => periods(g, from, to).map(([a, b]) => periodTruth(sources, a, b)),
      setFault(meterId, fault) {
        const m = byId.get(meterId);
        if (!m) throw new Error(`unknown meter "${meterId}" (known: ${[...byId.keys()].slice(0, 8).join(', ')}, …)`);
        m.apply(fault, clock.nowMs());
        const ep = endpointsOf.find((e) => e.meterId === meterId);
        if (ep) ep.serial = m.serial;
      },
      snapshot: () => Object.fromEntries(meters.map((m) => [m.meterId, m.snapshot()])),
      restore(states) {
        for (const [id, st] of Object.entries(states)) {
          const m = byId.get(id);
          if (!m) throw new Error(`state names meter "${id}", which this building does not have`);
          m.restore(st);
          const ep = endpointsOf.find((e) => e.meterId === id);
          if (ep) ep.serial = m.serial;
        }
      },
      close: async () => { for (const o of opened.reverse()) await o.close(); },
    };
  } catch (e) {
    for (const o of opened) await o.close();
    throw e;
  }
}
