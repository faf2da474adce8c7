// The meters of the building model: identity, what they truly measured, and what their register
// shows under a fault. Faults here are the metrological ones (stuck register, rollover, reverse
// flow, replacement, clock drift); line faults (silent, bad checksum) are switched on the bus.
import type { LineFaults } from '../faults.js';
import type { Resource } from './config.js';

export type MeterFault =
  | { kind: 'silent' }
  | { kind: 'crc' }
  | { kind: 'stuck' }
  | { kind: 'rollover'; marginUnits?: number }
  | { kind: 'clockDrift'; driftSeconds: number }
  | { kind: 'reverseFlow' }
  | { kind: 'replaced'; newSerial?: string }
  | { kind: 'clear' };

export interface Replacement {
  meterId: string;
  at: string;
  oldSerial: string;
  newSerial: string;
  removalReading: number;
  installReading: number;
}

/** What a meter's register depends on besides the clock and the seed (kept by `amr-sim --state`). */
export interface MeterState {
  serial: string;
  line: LineFaults;
  stuckAt?: number;
  reverseFrom?: number;
  offset: number;
  replacedAt?: number;
  volumeOffset: number;
  driftMs: number;
  replacements: Replacement[];
}

export class SimMeter {
  readonly line: LineFaults = {};
  private stuckAt?: number;
  private reverseFrom?: number;
  private offset = 0;
  private replacedAt?: number;
  /** Heat meters: offset of the volume register (kept continuous by `clear`, like `offset`). */
  private volumeOffset = 0;
  driftMs = 0;
  /** Unit of the register and of its truth: kWh (heat, electricity), m3 (water), 'hca' units. */
  unit: 'kWh' | 'm3' | 'hca';
  readonly replacements: Replacement[] = [];

  constructor(
    readonly meterId: string,
    readonly resource: Resource,
    readonly role: 'building' | 'apartment',
    public serial: string,
    /** True cumulative consumption since the simulation start. */
    readonly trueCumulative: (tMs: number) => number,
    /** Register value at the simulation start. */
    readonly initialReading: number,
    /** The register rolls over to 0 at this value (register digits). */
    readonly modulus: number,
    readonly apartment?: number,
    /**
     * Heat meters: the volume register's own true cumulative (m³ that passed the flow sensor) and its
     * value at the start; it follows the same stuck / reverse / replacement faults as the energy register.
     */
    readonly volume?: { trueCumulative: (tMs: number) => number; initialReading: number; modulus: number },
  ) {
    this.unit = resource === 'cold_water' || resource === 'hot_water' ? 'm3' : 'kWh';
  }

  /** What the meter's register shows at `tMs`. */
  register(tMs: number): number {
    return this.faulted(tMs, this.trueCumulative, this.initialReading, this.offset, this.modulus);
  }

  /** Heat meters: what the volume register shows at `tMs` (m³); 0 for other meters. */
  volumeRegister(tMs: number): number {
    const v = this.volume;
    return v ? this.faulted(tMs, v.trueCumulative, v.initialReading, this.volumeOffset, v.modulus) : 0;
  }

  private faulted(tMs: number, cum: (t: number) => number, initial: number, offset: number, modulus: number): number {
    let t = tMs;
    if (this.stuckAt !== undefined) t = Math.min(t, this.stuckAt);
    let v: number;
    if (this.replacedAt !== undefined && t >= this.replacedAt) {
      v = cum(t) - cum(this.replacedAt); // new meter from 0
    } else {
      v = initial + cum(t);
    }
    if (this.reverseFrom !== undefined && t >= this.reverseFrom) {
      const at = cum(this.reverseFrom);
      v -= 2 * (cum(t) - at); // counts backwards from the fault on
    }
    v += offset;
    return ((v % modulus) + modulus) % modulus;
  }

  snapshot(): MeterState {
    return {
      serial: this.serial,
      line: { ...this.line },
      stuckAt: this.stuckAt,
      reverseFrom: this.reverseFrom,
      offset: this.offset,
      replacedAt: this.replacedAt,
      volumeOffset: this.volumeOffset,
      driftMs: this.driftMs,
      replacements: this.replacements.map((r) => ({ ...r })),
    };
  }

  restore(s: MeterState): void {
    this.serial = s.serial;
    this.line.silent = s.line.silent;
    this.line.badChecksum = s.line.badChecksum;
    this.stuckAt = s.stuckAt;
    this.reverseFrom = s.reverseFrom;
    this.offset = s.offset;
    this.replacedAt = s.replacedAt;
    this.volumeOffset = s.volumeOffset;
    this.driftMs = s.driftMs;
    this.replacements.splice(0, this.replacements.length, ...s.replacements);
  }

  /** Meter clock (drifts when the clockDrift fault is on). */
  clock(tMs: number): Date {
    return new Date(tMs + this.driftMs);
  }

  get reverse(): boolean {
    return this.reverseFrom !== undefined;
  }

  apply(f: MeterFault, nowMs: number): void {
    switch (f.kind) {
      case 'silent': this.line.silent = true; break;
      case 'crc': this.line.badChecksum = true; break;
      case 'stuck': this.stuckAt = nowMs; break;
      case 'rollover': {
        // Move the register to just below its last value so it wraps within `margin` units.
        const margin = f.marginUnits ?? 0.5;
        this.offset += this.modulus - margin - this.register(nowMs);
        break;
      }
      case 'clockDrift': this.driftMs = f.driftSeconds * 1000; break;
      case 'reverseFlow': this.reverseFrom = nowMs; break;
      case 'replaced': {
        const removal = this.register(nowMs);
        const newSerial = f.newSerial ?? String((Number(this.serial) + 50_000_000) % 100_000_000).padStart(8, '0');
        this.replacements.push({ meterId: this.meterId, at: new Date(nowMs).toISOString(), oldSerial: this.serial, newSerial, removalReading: removal, installReading: 0 });
        this.serial = newSerial;
        this.replacedAt = nowMs;
        this.offset = 0;
        this.volumeOffset = 0;
        this.stuckAt = undefined;
        this.reverseFrom = undefined;
        break;
      }
      case 'clear': {
        // The register continues from where it is: what the stuck/reverse period did stays done.
        const before = this.register(nowMs);
        const volumeBefore = this.volumeRegister(nowMs);
        this.line.silent = false;
        this.line.badChecksum = false;
        this.stuckAt = undefined;
        this.reverseFrom = undefined;
        this.driftMs = 0;
        this.offset += before - this.register(nowMs);
        this.volumeOffset += volumeBefore - this.volumeRegister(nowMs);
        break;
      }
    }
  }
}
