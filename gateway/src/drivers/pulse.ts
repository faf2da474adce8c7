/**
 * Pulse counters (protocol spec: protocols/src/pulse/README.md) via @serialport/parser-byte-length:
 * the answer length is fixed per device model (8 + 4·channels), so a byte-length parser frames it.
 * Converts raw pulses to the configured quantity: initialValue + (pulses − offsetPulses) × weight,
 * with 32-bit wraps counted and persisted (pulse-state.json) so the register never jumps back.
 */
import { ByteLengthParser } from '@serialport/parser-byte-length';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { QUANTITIES, decodePulseResponse, encodePulseRequest, pulseResponseLength, type QualityFlag } from '@amr/protocols';
import type { ResolvedBus, ResolvedMeter } from '../config/resolve.js';
import { openLine, type ByteLine } from './line.js';
import { ChecksumError, LinkLostError, ProtocolError, TimeoutError, type BusDriver, type MeterRead } from './types.js';

interface ChannelState {
  lastRaw: number;
  wraps: number;
}

/** Keeps the wrap count per device:channel across restarts. */
export class PulseState {
  private state: Record<string, ChannelState> = {};
  constructor(private readonly file: string | null) {
    if (file && existsSync(file)) this.state = JSON.parse(readFileSync(file, 'utf8')) as Record<string, ChannelState>;
  }
  /** Returns the unwrapped pulse total and whether a wrap was seen. */
  update(key: string, raw: number): { total: number; wrapped: boolean } {
    const s = this.state[key] ?? { lastRaw: raw, wraps: 0 };
    let wrapped = false;
    // A wrap is the counter passing 2³² − 1 → 0: the wrapped step is less than half the range. A counter
    // that merely went back (reset, swapped device, reverse pulses) is not one: adding 2³² pulses then
    // would bill tens of millions of m³. It is passed on as it is, and the head-end flags the decrease.
    if (raw < s.lastRaw && s.lastRaw - raw > 2 ** 31) {
      s.wraps += 1;
      wrapped = true;
    }
    s.lastRaw = raw;
    this.state[key] = s;
    if (this.file) {
      writeFileSync(`${this.file}.tmp`, JSON.stringify(this.state));
      renameSync(`${this.file}.tmp`, this.file);
    }
    return { total: s.wraps * 2 ** 32 + raw, wrapped };
  }
}

export class PulseDriver implements BusDriver {
  private line: ByteLine | null = null;
  private readonly state: PulseState;

  constructor(
    readonly bus: ResolvedBus,
    stateDir: string | null,
    /** channels per device id (fixed by the counter model). */
    private readonly channelsOf: (deviceId: number) => number,
  ) {
    this.state = new PulseState(stateDir ? join(stateDir, `pulse-state-${bus.name}.json`) : null);
  }

  async open(): Promise<void> {
    this.line = await openLine(this.bus);
  }
  async close(): Promise<void> {
    await this.line?.close();
    this.line = null;
  }

  /** One request/response exchange; returns the decoded frame. */
  async exchange(deviceId: number, timeoutMs: number) {
    if (!this.line) throw new LinkLostError(`bus ${this.bus.name} not open`, 'PORT_CLOSED');
    const line = this.line;
    const req = encodePulseRequest(deviceId);
    const n = this.channelsOf(deviceId);
    const echo = this.bus.echo ? req.length : 0;
    await line.flushInput();
    const parser = new ByteLengthParser({ length: echo + pulseResponseLength(n) });
    line.stream.pipe(parser);
    try {
      const frame = await new Promise<Buffer>((resolve, reject) => {
        const t = setTimeout(() => reject(new TimeoutError(`pulse device ${deviceId}: no answer within ${timeoutMs} ms`)), timeoutMs);
        parser.once('data', (b: Buffer) => {
          clearTimeout(t);
          resolve(b);
        });
        line.write(req).catch(reject);
      });
      const body = frame.subarray(echo);
      if (echo && !frame.subarray(0, echo).equals(req)) throw new ProtocolError('echo does not match the request');
      let resp: ReturnType<typeof decodePulseResponse>;
      try {
        resp = decodePulseResponse(body);
      } catch (e) {
        const msg = (e as Error).message;
        throw /CRC/.test(msg) ? new ChecksumError(msg) : new ProtocolError(msg);
      }
      // A late answer of another device (its request timed out on a busy host) must not be taken for
      // this one's: its counters would be booked to this device's meters.
      if (resp.deviceId !== deviceId) throw new ProtocolError(`pulse device ${deviceId}: the answer came from device ${resp.deviceId} (a late answer to an earlier request)`);
      return { frame: body, resp, req };
    } finally {
      line.stream.unpipe(parser);
      parser.destroy();
    }
  }

  async read(meter: ResolvedMeter): Promise<MeterRead> {
    const dev = meter.device ?? 1;
    const ch = meter.channel ?? 0;
    const { frame, resp, req } = await this.exchange(dev, meter.timeoutMs);
    if (ch >= resp.counters.length) throw new ProtocolError(`device ${dev} has ${resp.counters.length} channels, meter wants channel ${ch}`);
    const raw = resp.counters[ch];
    const { total, wrapped } = this.state.update(`${dev}:${ch}`, raw);
    const quality: QualityFlag[] = [];
    if (wrapped || resp.status.wrapped) quality.push('counter_wrapped');
    if (resp.status.lowBattery) quality.push('power_failure');
    if (resp.status.tamper) quality.push('meter_error');
    const quantity = meter.quantity ?? 'volume_m3';
    const unit = (QUANTITIES as Record<string, { unit: string }>)[quantity]?.unit ?? 'count';
    const value = meter.initialValue + (total - meter.offsetPulses) * (meter.weight ?? 1);
    return {
      values: [
        { quantity, value: Number(value.toFixed(9)), unit, quality: [] },
        { quantity: 'pulses', value: total, unit: 'count', quality: [] },
      ],
      quality,
      frames: [
        { dir: 'tx', hex: req.toString('hex') },
        { dir: 'rx', hex: frame.toString('hex') },
      ],
    };
  }
}
