// A ТВ7 heat calculator on the Modbus bus: current registers, hourly and daily archives computed from
// a heat circuit's truth, and НС events injected at run time that show up in the archive the way the
// calculator would record them (time moved from Тр to Тнс, heat not counted, НС bits set).
//
// How the calculator counts (the project's model, not the maker's text): it looks at the circuit
// minute by minute. Power off: nothing is counted and nothing answers on the bus. Any other НС (Δt
// below minimum, flow out of range, sensor fault): volume and mass are still counted, heat is not,
// and the minute goes to Тнс. Otherwise the minute is Тр and everything counts.
import {
  TV7, encodeArchiveRecord, parseArchiveSelect, waterDensityKgM3, ModbusException,
  type ArchiveKind, type MeterClock, type RegisterMap,
} from '@amr/protocols';
import type { LineFaults } from '../faults.js';
import type { CircuitTemps } from '../building/heat.js';
import type { ModbusSlave } from './bus.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** The circuit as it really is: what the calculator measures when it works. */
export interface HeatCircuitTruth {
  /** Heat delivered since the start, kWh (cumulative). */
  energyKwh(tMs: number): number;
  /** Volume through the return pipe since the start, m³ (cumulative; the flow sensor's pipe). */
  returnVolumeM3(tMs: number): number;
  temps(tMs: number): CircuitTemps;
}

export type Tv7NsCode = 'flow_low' | 'flow_high' | 'dt_low' | 'power_off' | 'temp_fault';

/** An НС over [from, to) (UTC). `dt_low` makes the return temperature follow the supply closely. */
export interface Tv7NsEvent {
  code: Tv7NsCode;
  from: Date;
  to: Date;
}

export interface Tv7Options {
  /** Simulated time (SimClock or anything with nowMs()). */
  clock: { nowMs(): number };
  truth: HeatCircuitTruth;
  /** The calculator was commissioned here (UTC): its registers and archives start at 0 then. */
  startMs: number;
  /** The calculator's clock is local time: minutes ahead of UTC (Moscow +180). */
  utcOffsetMinutes?: number;
  /** Minimum Δt, K: below it the calculator flags dt_low. */
  dtMinK?: number;
  /** ΔT the circuit shows during a dt_low event, K. */
  dtDuringNsK?: number;
  supplyPressureBar?: number;
  returnPressureBar?: number;
}

/** What the calculator stores for one interval: the archive record before encoding. */
export interface Tv7Record {
  time: MeterClock;
  values: Record<string, number>;
  nsCodes: Tv7NsCode[];
  workingSeconds: number;
  nsSeconds: number;
}

/** Sums over minutes; means are formed when a record is made. */
interface Acc {
  v1: number; v2: number; m1: number; m2: number; q: number;
  t1: number; t2: number; counted: number; working: number; ns: number;
  codes: Set<Tv7NsCode>;
}

const emptyAcc = (): Acc => ({ v1: 0, v2: 0, m1: 0, m2: 0, q: 0, t1: 0, t2: 0, counted: 0, working: 0, ns: 0, codes: new Set() });

function addAcc(a: Acc, b: Acc): Acc {
  return {
    v1: a.v1 + b.v1, v2: a.v2 + b.v2, m1: a.m1 + b.m1, m2: a.m2 + b.m2, q: a.q + b.q,
    t1: a.t1 + b.t1, t2: a.t2 + b.t2, counted: a.counted + b.counted, working: a.working + b.working, ns: a.ns + b.ns,
    codes: new Set([...a.codes, ...b.codes]),
  };
}

/**
 * Holding ranges [from, to) the reader shows ТВ7 answering: per-pipe and per-input totals, device
 * time and current values (the assumed НС register is a map entry of its own).
 */
const TV7_RANGES: readonly [number, number][] = [[3415, 3509], [3540, 3625]];

const CODE_ORDER: readonly Tv7NsCode[] = ['flow_low', 'flow_high', 'dt_low', 'power_off', 'temp_fault'];

export class Tv7Simulator {
  readonly map: RegisterMap = TV7;
  private readonly events: Tv7NsEvent[] = [];
  /** Completed hours by index from the start: an hour is computed once, after it has passed. */
  private readonly hours = new Map<number, Acc>();
  private selected?: { kind: ArchiveKind; startMs: number };
  private readonly offsetMs: number;
  private readonly dtMinK: number;
  private readonly dtDuringNsK: number;

  constructor(private readonly opts: Tv7Options) {
    this.offsetMs = (opts.utcOffsetMinutes ?? 180) * MINUTE;
    this.dtMinK = opts.dtMinK ?? 3;
    this.dtDuringNsK = opts.dtDuringNsK ?? 1.5;
    if (this.dtDuringNsK >= this.dtMinK) throw new Error('tv7: the ΔT of a dt_low event must be below the minimum ΔT');
  }

  /** Injects an НС. Hours already archived are not rewritten: an event must not start in the past. */
  inject(ev: Tv7NsEvent): void {
    if (ev.to <= ev.from) throw new Error('tv7: an НС event must end after it starts');
    if (ev.from.getTime() < this.opts.clock.nowMs() - (this.opts.clock.nowMs() % HOUR)) {
      throw new Error('tv7: an НС event cannot start before the current hour (the archive is already written)');
    }
    // Only finished hours are cached, and the event starts in an unfinished one: no cache to drop.
    this.events.push({ ...ev });
  }

  /** НС codes active at `tMs`. */
  activeCodes(tMs: number): Tv7NsCode[] {
    const set = new Set(this.events.filter((e) => e.from.getTime() <= tMs && tMs < e.to.getTime()).map((e) => e.code));
    return CODE_ORDER.filter((c) => set.has(c));
  }

  /** The meter's wall clock at UTC `tMs`. */
  meterClock(tMs: number): MeterClock {
    const d = new Date(tMs + this.offsetMs);
    return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds() };
  }

  /** UTC instant of a meter wall-clock time. */
  utcOf(t: MeterClock): number {
    return Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute ?? 0, t.second ?? 0) - this.offsetMs;
  }

  /** The temperatures the calculator sees at `tMs` (the circuit's, or the НС's). */
  temps(tMs: number): CircuitTemps {
    const t = this.opts.truth.temps(tMs);
    return this.activeCodes(tMs).includes('dt_low') ? { flowC: t.flowC, returnC: t.flowC - this.dtDuringNsK } : t;
  }

  /** One minute [t, t + 1 min) as the calculator counts it (its state is the one at mid-minute). */
  private minute(t: number): Acc {
    const a = emptyAcc();
    const codes = this.activeCodes(t + MINUTE / 2);
    codes.forEach((c) => a.codes.add(c));
    if (codes.includes('power_off')) {
      a.ns = 60;
      return a;
    }
    const { flowC, returnC } = this.temps(t + MINUTE / 2);
    const v2 = this.opts.truth.returnVolumeM3(t + MINUTE) - this.opts.truth.returnVolumeM3(t);
    // A closed circuit: the same mass passes both pipes; each pipe's volume follows its density.
    const m = (v2 * waterDensityKgM3(returnC)) / 1000;
    Object.assign(a, { v2, m2: m, m1: m, v1: (m * 1000) / waterDensityKgM3(flowC), t1: flowC, t2: returnC, counted: 1 });
    if (codes.length > 0) a.ns = 60;
    else {
      a.working = 60;
      a.q = this.opts.truth.energyKwh(t + MINUTE) - this.opts.truth.energyKwh(t);
    }
    return a;
  }

  private span(from: number, to: number): Acc {
    let a = emptyAcc();
    for (let t = from; t < to; t += MINUTE) a = addAcc(a, this.minute(t));
    return a;
  }

  private hourStart(h: number): number {
    return this.opts.startMs + h * HOUR;
  }

  /** Hour h after the start (cached once it is over: the archive does not change afterwards). */
  private hour(h: number): Acc {
    const cached = this.hours.get(h);
    if (cached) return cached;
    const a = this.span(this.hourStart(h), this.hourStart(h) + HOUR);
    if (this.hourStart(h) + HOUR <= this.opts.clock.nowMs()) this.hours.set(h, a);
    return a;
  }

  /** Everything counted from the start up to `tMs`. */
  private totals(tMs: number): Acc {
    const full = Math.max(0, Math.floor((tMs - this.opts.startMs) / HOUR));
    let a = emptyAcc();
    for (let h = 0; h < full; h++) a = addAcc(a, this.hour(h));
    const from = this.hourStart(full);
    return tMs > from ? addAcc(a, this.span(from, from + Math.floor((tMs - from) / MINUTE) * MINUTE)) : a;
  }

  private interval(kind: ArchiveKind, startMs: number): Acc {
    const len = kind === 'hourly' ? HOUR : DAY;
    const aligned = (startMs - this.opts.startMs) % HOUR === 0;
    if (!aligned) return this.span(startMs, startMs + len);
    let a = emptyAcc();
    const h0 = (startMs - this.opts.startMs) / HOUR;
    for (let h = h0; h < h0 + len / HOUR; h++) a = addAcc(a, this.hour(h));
    return a;
  }

  /** Start (UTC) of the record the meter labels `t`: the hour, or the meter-local day (reporting hour 0). */
  recordStart(kind: ArchiveKind, t: MeterClock): number {
    return kind === 'hourly' ? this.utcOf({ ...t, minute: 0, second: 0 }) : this.utcOf({ ...t, hour: 0, minute: 0, second: 0 });
  }

  /** Whether the record starting at UTC `startMs` is in the archive (its interval is over). */
  hasRecord(kind: ArchiveKind, startMs: number): boolean {
    return startMs >= this.opts.startMs && startMs + (kind === 'hourly' ? HOUR : DAY) <= this.opts.clock.nowMs();
  }

  /** The archive record of the interval starting at UTC `startMs`. */
  record(kind: ArchiveKind, startMs: number): Tv7Record {
    const a = this.interval(kind, startMs);
    const mean = (x: number) => (a.counted > 0 ? x / a.counted : 0);
    return {
      time: this.meterClock(startMs),
      values: {
        flow_temp_mean_c: mean(a.t1),
        return_temp_mean_c: mean(a.t2),
        temp_diff_mean_k: mean(a.t1 - a.t2),
        pressure_mean_bar: a.counted > 0 ? this.opts.supplyPressureBar ?? 6 : 0,
        return_pressure_mean_bar: a.counted > 0 ? this.opts.returnPressureBar ?? 4 : 0,
        volume_delta_m3: a.v1,
        mass_delta_t: a.m1,
        return_volume_delta_m3: a.v2,
        return_mass_delta_t: a.m2,
        energy_delta_kwh: a.q,
      },
      nsCodes: CODE_ORDER.filter((c) => a.codes.has(c)),
      workingSeconds: a.working,
      nsSeconds: a.ns,
    };
  }

  /** Current register values by quantity name, at the clock's now. */
  current(): Record<string, number> {
    const now = this.opts.clock.nowMs();
    const tot = this.totals(now);
    const codes = this.activeCodes(now);
    const { flowC, returnC } = this.temps(now);
    const m = this.minute(now - (now % MINUTE));
    const perHour = 60; // one minute's amount × 60 = the hourly rate
    return {
      flow_temp_c: flowC,
      return_temp_c: returnC,
      pressure_bar: this.opts.supplyPressureBar ?? 6,
      return_pressure_bar: this.opts.returnPressureBar ?? 4,
      volume_flow_m3h: m.v1 * perHour,
      return_volume_flow_m3h: m.v2 * perHour,
      mass_flow_th: m.m1 * perHour,
      return_mass_flow_th: m.m2 * perHour,
      power_w: m.q * perHour * 1000,
      volume_m3: tot.v1,
      mass_t: tot.m1,
      return_volume_m3: tot.v2,
      return_mass_t: tot.m2,
      energy_kwh: tot.q,
      // The counters tick in whole steps of their register (hours), as a meter's counter does.
      operating_time_s: this.whole('operating_time_s', tot.working),
      error_time_s: this.whole('error_time_s', tot.ns),
      error_flags: codes.reduce((f, c) => f | (1 << this.map.nsCodes!.find((n) => n.code === c)!.bit), 0),
    };
  }

  private whole(name: string, seconds: number): number {
    const step = this.map.entries.find((e) => e.name === name)?.scale ?? 1;
    return Math.floor(seconds / step) * step;
  }

  /** The select write (FC 16 at the map's select address); a record not (yet) in the archive is refused. */
  private write(address: number, words: number[]): number | undefined {
    const spec = this.map.archives!;
    if (address !== spec.select.address || words.length !== spec.select.words.length) return ModbusException.illegalDataAddress;
    let sel: ReturnType<typeof parseArchiveSelect>;
    try {
      sel = parseArchiveSelect(this.map, words);
    } catch {
      return ModbusException.illegalDataValue;
    }
    const startMs = this.recordStart(sel.kind, sel.time);
    if (!this.hasRecord(sel.kind, startMs)) return ModbusException.illegalDataValue;
    this.selected = { kind: sel.kind, startMs };
    return undefined;
  }

  /**
   * Registers beyond the map's entries: the selected record's words at the record address, and 0 in
   * the rest of the ranges ТВ7 answers (other pipes, ТВ2, enthalpies…), so that a master's read
   * bridging a gap between two entries is answered as the real calculator answers it.
   */
  private window(): ReadonlyMap<number, number> {
    const out = new Map<number, number>();
    for (const [from, to] of TV7_RANGES) for (let a = from; a < to; a++) out.set(a, 0);
    if (!this.selected) return out;
    const r = this.record(this.selected.kind, this.selected.startMs);
    const words = encodeArchiveRecord(this.map, r);
    const base = this.map.archives!.record.address;
    words.forEach((w, i) => out.set(base + i, w));
    return out;
  }

  /** This calculator as a slave of a Modbus bus; it falls silent while its power is off. */
  slave(unitId: number, line: LineFaults = {}): ModbusSlave {
    const powerOff = () => this.activeCodes(this.opts.clock.nowMs()).includes('power_off');
    const faults: LineFaults = {
      get silent() { return !!line.silent || powerOff(); },
      get badChecksum() { return line.badChecksum; },
      get pauseMidAnswerMs() { return line.pauseMidAnswerMs; },
    };
    return {
      unitId,
      map: this.map,
      read: () => this.current(),
      faults,
      extraHolding: () => this.window(),
      write: (address, words) => this.write(address, words),
    };
  }
}
