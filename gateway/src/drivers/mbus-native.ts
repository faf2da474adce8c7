/**
 * M-Bus master on our own codec (@amr/protocols), over serialport or a TCP converter.
 * - SND_NKE before the first read of a meter (or every poll, or never: `sndNke`), then REQ_UD2
 *   with FCB toggled after every successful exchange and kept on a repeat (so a slave that already
 *   answered resends the same telegram instead of the next one).
 * - Multi-telegram: follows up while the telegram says "more records follow", up to maxTelegrams.
 * - Secondary addressing: SND_UD selection (CI 0x52) answered by E5, then the read at address 253.
 * - Link timing as EN 13757-2 intends: an answer ends when its length field says it is complete; a
 *   pause inside it is tolerated up to the bus's inter-byte timeout; before every request the line
 *   is drained (late bytes of an earlier answer are discarded and counted, never parsed as the next
 *   meter's). Collisions only on evidence (see `exchange`); a primary scan reports a shared address
 *   only when the garbled answer comes again on a retry.
 * - Echo cancellation for level converters that echo the request.
 * - Primary scan: absent addresses cost the baud-derived probe timeout (330 bit times + 50 ms + margin).
 * - Secondary search: the collision-aware wildcard tree (nextSearchPatterns), with progress output.
 */
import {
  ADDRESS_NETWORK_LAYER,
  FRAME_ACK,
  FRAME_LONG_START,
  MbusFrameError,
  applicationReset,
  decodeFrameAt,
  decodeTelegram,
  expectedFrameLength,
  longHeaderProblem,
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
import { mbusHistoryReadings } from '../profiles/archives.js';
import { chooseProfile } from '../profiles/mbus-profiles.js';
import { MBUS_MAX_FRAME, charTimeMs } from '../config/timing.js';
import { openLine, sleep, type ByteLine, type DrainResult } from './line.js';
import { ChecksumError, CollisionError, IncompleteAnswerError, ProtocolError, TimeoutError, type BusDriver, type HistoryRead, type MeterRead, type ScanHit, type ScanProgress } from './types.js';

export interface MbusDriverOptions {
  clockToleranceMs: number;
  /** Gateway time source (default the wall clock) for the meter-clock check. */
  now?: () => number;
  /** Late bytes were discarded before a request (the rest of an earlier answer): for a metric and a debug log. */
  onDrained?: (info: { bytes: number; waitedMs: number; stillTalking: boolean }) => void;
}

type Frames = { dir: 'tx' | 'rx'; hex: string }[];

export class MbusNativeDriver implements BusDriver {
  private line: ByteLine | null = null;
  private readonly fcb = new Map<number, boolean>();
  private readonly nkeDone = new Set<string>();
  /**
   * How the last exchange ended: 'pause' = an answer stopped half-way (its rest may come after any
   * pause: the next drain waits a whole inter-byte timeout from now); 'noise' = garbled or damaged
   * (the talkers may still be sending at line speed: wait for one end-of-frame gap after the last byte).
   */
  private dirty: 'no' | 'noise' | 'pause' = 'no';
  /** Bytes the answer that stopped half-way still owes (by its length field). */
  private owed = 0;
  /**
   * Meters that may still be in a telegram selected by application select (a history readout that
   * failed, or whose reset back failed): their next read resets them first, so a normal poll never
   * takes the history telegram's data for the meter's current values. Kept across a reopen of the line:
   * it is the meter's state, not the line's.
   */
  private readonly leftSelected = new Set<string>();
  /**
   * Meters read since this driver started. A meter whose profile has a history telegram is reset to
   * its normal one before its first read: a gateway killed (power cut) inside a history readout left it
   * selected, and nothing on disk says so; SND_NKE alone is a link reset, which not every meter takes
   * as an application reset.
   */
  private readonly readSinceStart = new Set<string>();
  /** Late bytes discarded before requests, and how many drains found any. */
  readonly linkStats = { drainedBytes: 0, drains: 0 };

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
   * Before every request: bytes still arriving (the rest of an answer the master gave up on, a late
   * answer) are discarded, so they never poison the next meter's answer. After a clean exchange the
   * line only has to have been quiet for one end-of-frame gap (normally it has, so this costs
   * nothing); after an answer that stopped half-way it must stay quiet for a whole inter-byte
   * timeout from now on, and longer while the bytes that answer still owes have not come (bounded).
   */
  private async drainLine(line: ByteLine): Promise<void> {
    const b = this.bus;
    const frameMs = MBUS_MAX_FRAME * charTimeMs(b.line);
    let r: DrainResult;
    if (this.dirty === 'pause') {
      // The broken answer's length said how many bytes are still owed: wait (bounded) until they have
      // come and gone, even if the meter stalls longer than one more inter-byte timeout.
      const deadline = performance.now() + 2 * b.interByteMs + frameMs;
      r = { discarded: 0, waitedMs: 0, stillTalking: false };
      do {
        const n = await line.drain(b.interByteMs, Math.max(0, deadline - performance.now()), true);
        r = { discarded: r.discarded + n.discarded, waitedMs: r.waitedMs + n.waitedMs, stillTalking: n.stillTalking };
      } while (r.discarded < this.owed && performance.now() < deadline);
    } else {
      r = await line.drain(b.interCharMs, b.interByteMs + frameMs, false);
    }
    this.dirty = 'no';
    this.owed = 0;
    if (r.discarded > 0 || r.stillTalking) {
      this.linkStats.drainedBytes += r.discarded;
      this.linkStats.drains++;
      this.opts.onDrained?.({ bytes: r.discarded, waitedMs: r.waitedMs, stillTalking: r.stillTalking });
    }
  }

  /**
   * Sends one request and reads one answer. The answer ends when its length says it is complete
   * (E5: 1 byte, short frame: 5, control/long frame: 6 + L), then one end-of-frame gap is kept to
   * see a second talker. Reading goes on through pauses shorter than the inter-byte timeout.
   * Errors: no byte within `timeoutMs` → TimeoutError; the answer stops half-way for longer than
   * the inter-byte timeout → IncompleteAnswerError (a TimeoutError); CollisionError only on
   * evidence — bytes that cannot start a frame, a second frame or bytes after a complete one, or a
   * wrong checksum where several devices may have answered (`manyMayAnswer`); otherwise a wrong
   * checksum is a ChecksumError.
   */
  private async exchange(request: MbusFrame, timeoutMs: number, frames: Frames, manyMayAnswer = false): Promise<MbusFrame> {
    if (!this.line) throw new ProtocolError(`bus ${this.bus.name} not open`);
    const line = this.line;
    const b = this.bus;
    const req = Buffer.from(encodeFrame(request));
    await this.drainLine(line);
    let echoLeft = b.echo ? req.length : 0;
    let rx = Buffer.alloc(0);
    let complete: { frame: MbusFrame; length: number } | null = null;
    frames.push({ dir: 'tx', hex: req.toString('hex') });
    return await new Promise<MbusFrame>((resolve, reject) => {
      let gap: NodeJS.Timeout | undefined;
      let linger: NodeJS.Timeout | undefined;
      let cap: NodeJS.Timeout | undefined;
      let first: NodeJS.Timeout | undefined;
      let done = false;
      const finish = (err: Error | null) => {
        if (done) return;
        done = true;
        clearTimeout(first);
        clearTimeout(gap);
        clearTimeout(linger);
        clearTimeout(cap);
        stop();
        // Whatever went wrong, the rest of it may still be on its way: drain it before the next request.
        this.dirty = err === null || rx.length === 0 ? 'no' : err instanceof IncompleteAnswerError ? 'pause' : 'noise';
        if (this.dirty === 'pause') this.owed = Math.max(1, (need() ?? MBUS_MAX_FRAME) - rx.length);
        if (rx.length > 0) frames.push({ dir: 'rx', hex: rx.toString('hex') });
        if (err) reject(err);
        else resolve(complete!.frame);
      };
      const need = () => expectedFrameLength(rx, 0);
      const judge = () => {
        if (complete) {
          if (rx.length > complete.length) finish(new CollisionError(`collision: ${rx.length - complete.length} bytes after a complete ${complete.frame.kind} frame (a second talker)`));
          return;
        }
        const len = need();
        if (len === null) {
          const start = `0x${rx[0].toString(16).padStart(2, '0')}${rx[0] === FRAME_LONG_START ? ` L=${rx[1]}` : ''}`;
          return finish(new CollisionError(`collision: the answer starts with ${start}, which cannot start an M-Bus frame (${rx.length} bytes)`));
        }
        const header = rx[0] === FRAME_LONG_START ? longHeaderProblem(rx, 0) : null;
        if (header) return finish(new CollisionError(`collision: the answer's header is no frame header (${header.code}: ${header.detail})`));
        if (len === undefined || rx.length < len) return;
        try {
          complete = decodeFrameAt(rx, 0);
        } catch (e) {
          if (!(e instanceof MbusFrameError)) throw e;
          return finish(manyMayAnswer ? new CollisionError(`collision: damaged answer where several devices may answer (${e.message})`) : new ChecksumError(`damaged answer (${e.message})`));
        }
        if (rx.length > complete.length) return judge();
        // One end-of-frame gap: bytes after it mean a second talker.
        linger = setTimeout(() => finish(null), b.interCharMs);
      };
      const onData = (chunk: Buffer) => {
        let c = chunk;
        if (echoLeft > 0) {
          const n = Math.min(echoLeft, c.length);
          echoLeft -= n;
          c = c.subarray(n);
          if (c.length === 0) return;
        }
        if (rx.length === 0) {
          clearTimeout(first);
          // A line that keeps trickling bytes cannot hold the master longer than the longest frame sent
          // twice as slowly as the baud, plus two inter-byte timeouts.
          cap = setTimeout(() => finish(new IncompleteAnswerError(`answer still incomplete after ${capMs} ms (${rx.length} bytes)`)), capMs);
        }
        rx = Buffer.concat([rx, c]);
        clearTimeout(gap);
        judge();
        if (!done && !complete) {
          gap = setTimeout(() => {
            const len = need();
            finish(new IncompleteAnswerError(`answer incomplete: ${rx.length} of ${len ?? '?'} bytes, then the line was silent for ${b.interByteMs} ms (interByteTimeout)`));
          }, b.interByteMs);
        }
      };
      const capMs = Math.ceil(2 * MBUS_MAX_FRAME * charTimeMs(b.line) + 2 * b.interByteMs);
      const stop = line.receive(onData);
      // The slave's reaction time counts from the end of the request (EN 13757-2), i.e. once it has left.
      line.write(req).then(
        () => {
          if (!done && rx.length === 0) first = setTimeout(() => finish(new TimeoutError(`no answer within ${timeoutMs} ms`)), timeoutMs);
        },
        (e: Error) => finish(e),
      );
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
    // Every meter matching the pattern answers a selection: a damaged E5 is a collision.
    const f = await this.exchange(selectSecondary(addr), timeoutMs, frames, true);
    if (f.kind !== 'ack') throw new ProtocolError(`selection of ${formatSecondaryAddress(addr)}: expected E5`);
    this.fcb.set(ADDRESS_NETWORK_LAYER, true);
    await sleep(this.bus.interFrameMs);
  }

  /** REQ_UD2 (+ follow-ups) at `address`; returns the telegrams. */
  async requestData(address: number, timeoutMs: number, frames: Frames): Promise<MbusTelegram[]> {
    const telegrams: MbusTelegram[] = [];
    for (let i = 0; i < this.bus.maxTelegrams; i++) {
      const fcb = this.fcb.get(address) ?? true;
      const f = await this.exchange(reqUd2(address, fcb), timeoutMs, frames);
      if (f.kind !== 'long') throw new ProtocolError(`REQ_UD2 to ${address}: expected a long frame, got a ${f.kind} frame`);
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

  private static key(meter: ResolvedMeter): string {
    return meter.secondary !== undefined ? `s:${meter.secondary}` : `p:${meter.primary ?? 0}`;
  }

  /** The address to talk to the meter at: its primary address, or 253 once selected by its secondary one. */
  private async reach(meter: ResolvedMeter, frames: Frames): Promise<number> {
    if (meter.secondary === undefined) return meter.primary ?? 0;
    await this.select(parseSecondaryAddress(meter.secondary.includes('.') ? meter.secondary : `${meter.secondary}.*.*.*`), meter.timeoutMs, frames);
    return ADDRESS_NETWORK_LAYER;
  }

  /**
   * Back to the normal telegram: an application reset without subcode (the meter must answer E5),
   * then SND_NKE (link reset; deselects a meter reached by its secondary address). Only when the
   * reset was acknowledged is the meter taken as back.
   */
  private async resetTelegram(meter: ResolvedMeter, frames: Frames): Promise<void> {
    const a = await this.reach(meter, frames);
    const f = await this.exchange(applicationReset(a), meter.timeoutMs, frames);
    if (f.kind !== 'ack') throw new ProtocolError(`application reset of ${meter.id}: expected E5, got a ${f.kind} frame`);
    await sleep(this.bus.interFrameMs);
    await this.sendNke(a, meter.timeoutMs, frames);
    this.leftSelected.delete(MbusNativeDriver.key(meter));
  }

  /**
   * The model's history telegram: SND_UD CI 0x50 with the profile's subcode (E5), REQ_UD2 following
   * "more records follow", then always the reset back to the normal telegram — also when the readout
   * failed half-way (a meter left in its history telegram would answer the next normal poll with it).
   * A reset that fails too is remembered: the meter's next read resets it before anything else.
   */
  async readHistory(meter: ResolvedMeter, profileName: string): Promise<HistoryRead> {
    const profile = chooseProfile(profileName, {});
    const spec = profile.history;
    if (!spec) throw new ProtocolError(`profile ${profile.name} has no history telegram`);
    const frames: Frames = [];
    const key = MbusNativeDriver.key(meter);
    let tg: MbusTelegram[];
    // From the select on, the meter may be in its history telegram until a reset is acknowledged.
    this.leftSelected.add(key);
    try {
      const a = await this.reach(meter, frames);
      const f = await this.exchange(applicationReset(a, spec.subcode), meter.timeoutMs, frames);
      if (f.kind !== 'ack') throw new ProtocolError(`application select 0x${spec.subcode.toString(16)} of ${meter.id}: expected E5, got a ${f.kind} frame`);
      this.fcb.set(a, true);
      await sleep(this.bus.interFrameMs);
      tg = await this.requestData(a, meter.timeoutMs, frames);
      if (tg[tg.length - 1].moreRecordsFollow) throw new ProtocolError(`history telegram of ${meter.id}: more records still follow after ${this.bus.maxTelegrams} telegrams; raise the bus's maxTelegrams`);
      if (meter.secondary !== undefined && tg[0].header.id !== undefined && !meter.secondary.includes('F') && !meter.secondary.startsWith(tg[0].header.id)) throw new ProtocolError(`history telegram: selected ${meter.secondary} but ${tg[0].header.id} answered`);
    } catch (e) {
      this.nkeDone.delete(key);
      await sleep(this.bus.interFrameMs);
      await this.resetTelegram(meter, frames).catch(() => undefined); // if this fails too, the next read resets first
      throw Object.assign(e as Error, { frames });
    }
    let resetPending: string | undefined;
    await sleep(this.bus.interFrameMs);
    try {
      await this.resetTelegram(meter, frames);
    } catch (e) {
      resetPending = (e as Error).message;
    }
    const h = tg[0].header;
    return { archives: mbusHistoryReadings(tg, profile, meter.quantities), frames, serial: h.id, manufacturer: h.manufacturer, ...(resetPending ? { resetPending } : {}) };
  }

  async read(meter: ResolvedMeter): Promise<MeterRead> {
    const frames: Frames = [];
    let tg: MbusTelegram[];
    try {
      // Left in a selected telegram: reset first, or this poll would publish the history as current values.
      const key = MbusNativeDriver.key(meter);
      const atStart = !this.readSinceStart.has(key) && meter.profile !== undefined && meter.profile !== 'auto' && chooseProfile(meter.profile, {}).history !== undefined;
      this.readSinceStart.add(key);
      if (atStart) this.leftSelected.add(key);
      if (this.leftSelected.has(key)) {
        await this.resetTelegram(meter, frames);
        // At start the reset's SND_NKE is the link reset the first read would send anyway.
        if (atStart) this.nkeDone.add(key);
        await sleep(this.bus.interFrameMs);
      }
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

  /**
   * Ping for scans: 'none' | 'ack' | 'collision'. Several devices may answer a probe, so a damaged
   * answer counts as a collision; silence or an answer that stopped half-way does not.
   */
  private async probe(request: MbusFrame, timeoutMs: number): Promise<'none' | 'ack' | 'collision'> {
    try {
      const f = await this.exchange(request, timeoutMs, [], true);
      return f.kind === 'ack' ? 'ack' : 'collision';
    } catch (e) {
      if (e instanceof TimeoutError) return 'none';
      if (e instanceof CollisionError || e instanceof ChecksumError) return 'collision';
      throw e;
    }
  }

  async scan(opts: { mode: 'primary' | 'secondary' | 'ids'; from?: number; to?: number }, progress: ScanProgress): Promise<ScanHit[]> {
    // An absent address costs one probe timeout sized from the baud (as libmbus does), not `timeout`.
    const t = Math.min(this.bus.timeoutMs, this.bus.probeTimeoutMs);
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
      let r = await this.probe(sndNke(a), t);
      if (r === 'none') continue; // the line has been silent for the whole probe timeout: no extra gap needed
      await sleep(this.bus.interFrameMs);
      if (r === 'collision') {
        // A garbled answer once is no proof (noise, the tail of an earlier answer): ask again.
        r = await this.probe(sndNke(a), t);
        await sleep(this.bus.interFrameMs);
        if (r === 'none') {
          progress(`address ${a}: a garbled answer once, then silence (noise on the line?)`);
          continue;
        }
        if (r === 'collision') {
          progress(`address ${a}: collision twice (several meters share this primary address)`);
          hits.push({ address: String(a), medium: 'collision' });
          continue;
        }
      }
      this.fcb.set(a, true);
      try {
        const tg = await this.requestData(a, this.bus.timeoutMs, []);
        const h = tg[0].header;
        hits.push({ address: String(a), serial: h.id, manufacturer: h.manufacturer, version: h.version, medium: h.medium });
        progress(`address ${a}: ${h.manufacturer ?? '?'} ${h.id ?? ''} ${h.medium ?? ''}`);
      } catch (e) {
        hits.push({ address: String(a), ...(e instanceof CollisionError ? { medium: 'collision' } : {}) });
        progress(`address ${a}: answers SND_NKE, REQ_UD2 failed (${(e as Error).message})`);
      }
      await sleep(this.bus.interFrameMs);
    }
    return hits;
  }
}

export { FRAME_ACK };
