/**
 * M-Bus master on our own codec (@amr/protocols), over serialport or a TCP converter.
 * - SND_NKE before the first read of a meter (or every poll, or never: `sndNke`), then REQ_UD2
 *   with FCB toggled after every successful exchange and kept on a repeat (so a slave that already
 *   answered resends the same telegram instead of the next one).
 * - Multi-telegram: follows up while the telegram says "more records follow", up to maxTelegrams.
 * - Secondary addressing: SND_UD selection (CI 0x52) answered by E5, then the read at address 253.
 * - Echo cancellation for level converters that echo the request; collision detection: bytes that
 *   do not form one valid frame where one answer was expected (several slaves talking) → CollisionError.
 * - Secondary search: the collision-aware wildcard tree (nextSearchPatterns), with progress output.
 */
import {
  ADDRESS_NETWORK_LAYER,
  FRAME_ACK,
  MbusStreamParser,
  decodeTelegram,
  deselect,
  encodeFrame,
  formatSecondaryAddress,
  nextSearchPatterns,
  parseSecondaryAddress,
  reqUd2,
  selectSecondary,
  sndNke,
  SECONDARY_WILDCARD,
  type MbusFrame,
  type MbusTelegram,
  type SecondaryAddress,
} from '@amr/protocols';
import type { ResolvedBus, ResolvedMeter } from '../config/resolve.js';
import { applyMbusProfile } from '../profiles/apply.js';
import { openLine, sleep, type ByteLine } from './line.js';
import { ChecksumError, CollisionError, ProtocolError, TimeoutError, type BusDriver, type MeterRead, type ScanHit, type ScanProgress } from './types.js';

export interface MbusDriverOptions {
  clockToleranceMs: number;
  /** Gateway time source (default the wall clock) for the meter-clock check. */
  now?: () => number;
}

type Frames = { dir: 'tx' | 'rx'; hex: string }[];

export class MbusNativeDriver implements BusDriver {
  private line: ByteLine | null = null;
  private readonly fcb = new Map<number, boolean>();
  private readonly nkeDone = new Set<string>();

  constructor(
    readonly bus: ResolvedBus,
    private readonly opts: MbusDriverOptions,
  ) {}

  async open(): Promise<void> {
    this.line = await openLine(this.bus);
  }

  async close(): Promise<void> {
    await this.line?.close();
    this.line = null;
    this.nkeDone.clear();
  }

  /**
   * Sends one request and waits for one answer (`expect: 'frame'`) or for silence after a possible
   * answer (`expect: 'probe'`, used by scans: returns 'none' | 'ack' | 'collision').
   */
  private async exchange(request: MbusFrame, timeoutMs: number, frames: Frames): Promise<MbusFrame | null> {
    if (!this.line) throw new ProtocolError(`bus ${this.bus.name} not open`);
    const line = this.line;
    const req = Buffer.from(encodeFrame(request));
    await line.flushInput();
    const parser = new MbusStreamParser();
    let echoLeft = this.bus.echo ? req.length : 0;
    let garbage = 0;
    let gotBytes = false;
    let first: MbusFrame | null = null;
    let extraFrames = 0;
    let checksumBad = false;
    let idle: NodeJS.Timeout | undefined;
    frames.push({ dir: 'tx', hex: req.toString('hex') });
    return await new Promise<MbusFrame | null>((resolve, reject) => {
      let quiet: NodeJS.Timeout | undefined;
      const finish = (fn: () => void) => {
        clearTimeout(total);
        clearTimeout(quiet);
        clearTimeout(idle);
        line.stream.off('data', onData);
        fn();
      };
      const onData = (chunk: Buffer) => {
        let c = chunk;
        if (echoLeft > 0) {
          const n = Math.min(echoLeft, c.length);
          echoLeft -= n;
          c = c.subarray(n);
          if (c.length === 0) return;
        }
        gotBytes = true;
        const r = parser.push(c);
        for (const s of r.skipped) {
          garbage += s.bytes.length;
          if (/checksum/.test(s.reason)) checksumBad = true;
        }
        // Bytes came but no frame yet: if the line then goes quiet, judge what we have.
        clearTimeout(idle);
        if (first === null) idle = setTimeout(evaluate, Math.max(this.bus.interCharMs * 4, 100));
        if (r.frames.length > 0 && first === null) {
          first = r.frames[0].frame;
          frames.push({ dir: 'rx', hex: Buffer.from(r.frames[0].raw).toString('hex') });
          extraFrames += r.frames.length - 1;
          // Wait one inter-character gap: a second talker's bytes after the frame mean a collision.
          quiet = setTimeout(() => {
            const stray = garbage + parser.buffered;
            if (stray > 0 || extraFrames > 0) finish(() => reject(new CollisionError(`collision: ${stray} stray bytes / ${extraFrames} extra frames around the answer`)));
            else finish(() => resolve(first));
          }, this.bus.interCharMs);
        } else if (r.frames.length > 0) {
          extraFrames += r.frames.length;
        }
      };
      const evaluate = () => {
        if (first) return; // the quiet timer decides
        const tail = parser.flush();
        for (const s of tail.skipped) {
          garbage += s.bytes.length;
          if (/checksum/.test(s.reason)) checksumBad = true;
        }
        if (tail.frames.length === 1 && garbage === 0) return finish(() => resolve(tail.frames[0].frame));
        if (!gotBytes) return finish(() => reject(new TimeoutError(`no answer within ${timeoutMs} ms`)));
        if (checksumBad && tail.frames.length === 0) return finish(() => reject(new ChecksumError(`damaged answer (${garbage} bytes, checksum wrong)`)));
        finish(() => reject(new CollisionError(`collision: ${garbage} bytes that are not one valid frame`)));
      };
      const total = setTimeout(evaluate, timeoutMs);
      line.stream.on('data', onData);
      line.write(req).catch((e: Error) => finish(() => reject(e)));
    });
  }

  private async sendNke(address: number, timeoutMs: number, frames: Frames): Promise<void> {
    const f = await this.exchange(sndNke(address), timeoutMs, frames).catch((e: Error) => {
      if (e instanceof TimeoutError) return null; // many meters do not ACK a SND_NKE; not fatal
      throw e;
    });
    if (f && f.kind !== 'ack') throw new ProtocolError(`SND_NKE to ${address}: expected E5, got a ${f.kind} frame`);
    this.fcb.set(address, true);
    await sleep(this.bus.interFrameMs);
  }

  private async select(addr: SecondaryAddress, timeoutMs: number, frames: Frames): Promise<void> {
    const f = await this.exchange(selectSecondary(addr), timeoutMs, frames);
    if (!f || f.kind !== 'ack') throw new ProtocolError(`selection of ${formatSecondaryAddress(addr)}: expected E5`);
    this.fcb.set(ADDRESS_NETWORK_LAYER, true);
    await sleep(this.bus.interFrameMs);
  }

  /** REQ_UD2 (+ follow-ups) at `address`; returns the telegrams. */
  async requestData(address: number, timeoutMs: number, frames: Frames): Promise<MbusTelegram[]> {
    const telegrams: MbusTelegram[] = [];
    for (let i = 0; i < this.bus.maxTelegrams; i++) {
      const fcb = this.fcb.get(address) ?? true;
      const f = await this.exchange(reqUd2(address, fcb), timeoutMs, frames);
      if (!f || f.kind !== 'long') throw new ProtocolError(`REQ_UD2 to ${address}: expected a long frame, got ${f ? f.kind : 'nothing'}`);
      this.fcb.set(address, !fcb);
      telegrams.push(decodeTelegram({ ci: f.ci, data: f.data }));
      if (!telegrams[telegrams.length - 1].moreRecordsFollow) break;
      await sleep(this.bus.interFrameMs);
    }
    return telegrams;
  }

  async readTelegrams(meter: ResolvedMeter, frames: Frames): Promise<MbusTelegram[]> {
    const t = meter.timeoutMs;
    if (meter.secondary !== undefined) {
      const addr = parseSecondaryAddress(meter.secondary.includes('.') ? meter.secondary : `${meter.secondary}.*.*.*`);
      const key = `s:${meter.secondary}`;
      if (this.bus.sndNke === 'always' || (this.bus.sndNke === 'once' && !this.nkeDone.has(key))) {
        await this.sendNke(ADDRESS_NETWORK_LAYER, t, frames); // deselects whoever was selected
        this.nkeDone.add(key);
      }
      await this.select(addr, t, frames);
      const tg = await this.requestData(ADDRESS_NETWORK_LAYER, t, frames);
      const id = tg[0].header.id;
      if (id !== undefined && id !== addr.id && !addr.id.includes('F')) throw new ProtocolError(`selected ${addr.id} but ${id} answered`);
      return tg;
    }
    const a = meter.primary ?? 0;
    const key = `p:${a}`;
    if (this.bus.sndNke === 'always' || (this.bus.sndNke === 'once' && !this.nkeDone.has(key))) {
      await this.sendNke(a, t, frames);
      this.nkeDone.add(key);
    }
    return this.requestData(a, t, frames);
  }

  async read(meter: ResolvedMeter): Promise<MeterRead> {
    const frames: Frames = [];
    let tg: MbusTelegram[];
    try {
      tg = await this.readTelegrams(meter, frames);
    } catch (e) {
      // A readout that failed half-way leaves the meter inside its multi-telegram series, holding the
      // snapshot it took then: the next REQ_UD2 would get the rest of that old readout (old values, an
      // old clock). SND_NKE first on the next read resets it to a fresh readout.
      this.nkeDone.delete(meter.secondary !== undefined ? `s:${meter.secondary}` : `p:${meter.primary ?? 0}`);
      throw e;
    }
    const r = applyMbusProfile(tg, { profile: meter.profile, gatewayNow: (this.opts.now ?? Date.now)(), clockToleranceMs: this.opts.clockToleranceMs, quantities: meter.quantities });
    return { ...r, frames };
  }

  /** Ping for scans: 'none' | 'ack' | 'collision'. */
  private async probe(request: MbusFrame, timeoutMs: number): Promise<'none' | 'ack' | 'collision'> {
    try {
      const f = await this.exchange(request, timeoutMs, []);
      return f && f.kind === 'ack' ? 'ack' : 'collision';
    } catch (e) {
      if (e instanceof TimeoutError) return 'none';
      if (e instanceof CollisionError || e instanceof ChecksumError) return 'collision';
      throw e;
    }
  }

  async scan(opts: { mode: 'primary' | 'secondary' | 'ids'; from?: number; to?: number }, progress: ScanProgress): Promise<ScanHit[]> {
    const t = Math.min(this.bus.timeoutMs, Math.ceil((330 * 1000) / this.bus.line.baud) + 11 * 3 + (this.bus.tcp ? 400 : 120));
    const hits: ScanHit[] = [];
    if (opts.mode === 'secondary') {
      await this.exchange(deselect(), t, []).catch(() => null);
      const walk = async (pattern: SecondaryAddress): Promise<void> => {
        for (const p of nextSearchPatterns(pattern)) {
          const text = formatSecondaryAddress(p);
          const r = await this.probe(selectSecondary(p), t);
          await sleep(this.bus.interFrameMs);
          progress(`${text}: ${r}`);
          if (r === 'ack') {
            this.fcb.set(ADDRESS_NETWORK_LAYER, true);
            try {
              const tg = await this.requestData(ADDRESS_NETWORK_LAYER, this.bus.timeoutMs, []);
              const h = tg[0].header;
              const addr = { id: h.id ?? p.id, manufacturer: h.manufacturer ?? null, version: h.version ?? null, medium: h.mediumCode ?? null };
              hits.push({ address: formatSecondaryAddress(addr), serial: h.id, manufacturer: h.manufacturer, version: h.version, medium: h.medium });
              progress(`found ${formatSecondaryAddress(addr)}`);
            } catch (e) {
              progress(`${text}: selected but no data (${(e as Error).message})`);
            }
          } else if (r === 'collision') {
            await walk(p);
          }
        }
      };
      await walk(SECONDARY_WILDCARD);
      return hits;
    }
    for (let a = opts.from ?? 0; a <= (opts.to ?? 250); a++) {
      const r = await this.probe(sndNke(a), t);
      await sleep(this.bus.interFrameMs);
      if (r === 'none') continue;
      if (r === 'collision') {
        progress(`address ${a}: collision (several meters share this primary address)`);
        hits.push({ address: String(a), medium: 'collision' });
        continue;
      }
      this.fcb.set(a, true);
      try {
        const tg = await this.requestData(a, this.bus.timeoutMs, []);
        const h = tg[0].header;
        hits.push({ address: String(a), serial: h.id, manufacturer: h.manufacturer, version: h.version, medium: h.medium });
        progress(`address ${a}: ${h.manufacturer ?? '?'} ${h.id ?? ''} ${h.medium ?? ''}`);
      } catch (e) {
        hits.push({ address: String(a) });
        progress(`address ${a}: answers SND_NKE, REQ_UD2 failed (${(e as Error).message})`);
      }
    }
    return hits;
  }
}

export { FRAME_ACK };
