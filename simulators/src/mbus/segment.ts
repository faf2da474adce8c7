// M-Bus slaves on one segment (EN 13757-2 link layer), built only from the @amr/protocols codec:
// the stream parser cuts requests, encodeRspUdSeries builds answers, matchesSecondary selects.
//
// Link behaviour a real master depends on:
//  - SND_NKE → E5 and resets the FCB state and any pending multi-telegram readout.
//  - REQ_UD2 with FCV=1 and the same FCB as last time = "the master lost my answer": repeat it
//    byte for byte (same access number). A toggled FCB = next telegram of a multi-telegram
//    readout (after a 0x1F "more records follow"), else a new readout.
//  - CI 0x52 to address 253 selects by secondary address (F nibble / FF wildcards); the selected
//    slave(s) then answer on 253. A non-matching selection deselects; SND_NKE to 253 deselects.
//  - CI 0x50 application reset → E5, the readout restarts at its first telegram. With a subcode the
//    slave has a telegram for (`selectable`: e.g. a model's month-end history, EN 13757-3 application
//    select), the next readout is that telegram (possibly several, "more records follow"); after its
//    last telegram has been sent, an SND_NKE, or an application reset without that subcode, the slave
//    answers with its normal telegram again. A master that stops half-way through the selected
//    readout leaves the slave in it: its next REQ_UD2 with FCB toggled gets the rest of that readout.
//  - Several slaves answering the same request collide: the master gets garbled bytes.
import {
  ADDRESS_BROADCAST_NO_REPLY, ADDRESS_BROADCAST_REPLY, ADDRESS_NETWORK_LAYER, CI_APPLICATION_RESET, CI_DATA_SEND,
  CI_SELECTION, FRAME_ACK, MbusStreamParser, decodeSecondaryAddress, encodeRspUdSeries, matchesSecondary,
  parseControlField, type MbusFrame, type RecordSpec,
} from '@amr/protocols';
import { answerPause, type LineFaults } from '../faults.js';
import { serveLine, type Endpoint, type Pluggable, type Reply, type TransportOptions } from '../transport/line.js';
import type { LineTimingInput } from '../transport/timing.js';

export interface MbusSlaveSpec {
  /** 1…250; 0 = unconfigured (reachable only by secondary address). */
  primaryAddress: number;
  /** 8-digit identification number (BCD), as printed on the meter. */
  id: string;
  manufacturer: string;
  version: number;
  /** Medium code (0x04 heat, 0x16 cold water, 0x06 warm water, 0x02 electricity, 0x00 other). */
  medium: number;
  /** The readout at this instant; called when a new readout starts. */
  records: () => RecordSpec[];
  /** Status byte of the fixed header (EN 13757-3 table 5). */
  status?: () => number;
  /** User-data budget per telegram (≤ 252); lower it to force multi-telegram answers. */
  maxUserData?: number;
  faults?: LineFaults;
  /**
   * Telegrams an application reset with a subcode selects (CI 0x50 + subcode → records), e.g. the
   * model's month-end history; called when the selected readout starts.
   */
  selectable?: Record<number, () => RecordSpec[]>;
}

interface SlaveState {
  spec: MbusSlaveSpec;
  selected: boolean;
  lastFcb: boolean | undefined;
  lastAnswer: Uint8Array | undefined;
  series: Uint8Array[];
  index: number;
  accessNumber: number;
  /** The subcode of the telegram selected by application reset, until its readout is over. */
  app?: number;
  /** The series under way is the selected telegram's. */
  seriesSelected: boolean;
}

export interface MbusSegmentOptions {
  transport?: TransportOptions;
  timing?: LineTimingInput;
  slaves: MbusSlaveSpec[];
  /** Seed of the collision garbling (deterministic). */
  seed?: number;
  /**
   * Called with every request a slave is about to react to (after selection is evaluated), before it
   * answers: a test switches a slave's faults at an exact point of a conversation with it.
   */
  beforeAnswer?: (slave: MbusSlaveSpec, request: MbusFrame) => void;
}

export interface MbusSegment extends Pluggable {
  endpoint: Endpoint;
  slaves: MbusSlaveSpec[];
  stats: { requests: number; collisions: number; repeats: number };
  close(): Promise<void>;
}

/** What a wire shows when several slaves talk at once: their bit streams AND-ed (a slave sending
 * a 0 draws current) and misaligned by a few bit times, so the bytes are no valid frame. */
export function collide(answers: Uint8Array[], rnd: () => number): Buffer {
  const len = Math.max(...answers.map((a) => a.length));
  const out = Buffer.alloc(len, 0xff);
  answers.forEach((a, k) => {
    const shift = k === 0 ? 0 : 1 + Math.floor(rnd() * 7);
    for (let i = 0; i < len; i++) {
      const b = a[i] ?? 0xff;
      out[i] &= ((b << shift) | (b >> (8 - shift))) & 0xff;
    }
  });
  // Identical bytes AND-ed with a shifted copy could in theory still be a valid frame start: avoid it.
  if (answers.some((a) => Buffer.compare(Buffer.from(a), out) === 0)) out[0] ^= 0x01;
  return out;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Builds the telegrams of a new readout, addressed as the master addressed us (253 after selection). */
function newReadout(s: SlaveState, address: number): void {
  s.accessNumber = (s.accessNumber + 1) & 0xff;
  const selected = s.app !== undefined ? s.spec.selectable?.[s.app] : undefined;
  s.seriesSelected = selected !== undefined;
  s.series = encodeRspUdSeries(
    {
      address,
      header: {
        id: s.spec.id,
        manufacturer: s.spec.manufacturer,
        version: s.spec.version,
        medium: s.spec.medium,
        accessNumber: s.accessNumber,
        status: s.spec.status?.() ?? 0,
      },
      records: (selected ?? s.spec.records)(),
    },
    s.spec.maxUserData,
  );
  // encodeRspUdSeries numbers the telegrams itself; keep our counter in step.
  s.accessNumber = (s.accessNumber + s.series.length - 1) & 0xff;
  s.index = 0;
}

export async function startMbusSegment(opts: MbusSegmentOptions): Promise<MbusSegment> {
  const states: SlaveState[] = opts.slaves.map((spec) => {
    if (!Number.isInteger(spec.primaryAddress) || spec.primaryAddress < 0 || spec.primaryAddress > 250)
      throw new Error(`M-Bus primary address must be 0…250, got ${spec.primaryAddress} (meter ${spec.id})`);
    if (!/^\d{8}$/.test(spec.id)) throw new Error(`M-Bus id must be 8 decimal digits, got "${spec.id}"`);
    spec.faults ??= {};
    return {
      spec,
      selected: false,
      lastFcb: undefined,
      lastAnswer: undefined,
      series: [],
      index: 0,
      accessNumber: 0,
      seriesSelected: false,
    };
  });
  const stats = { requests: 0, collisions: 0, repeats: 0 };
  const rnd = mulberry32(opts.seed ?? 1);

  const addressed = (address: number): SlaveState[] => {
    if (address === ADDRESS_NETWORK_LAYER) return states.filter((s) => s.selected);
    if (address === ADDRESS_BROADCAST_REPLY || address === ADDRESS_BROADCAST_NO_REPLY) return states;
    return states.filter((s) => s.spec.primaryAddress === address);
  };

  /** One slave's reaction to a frame addressed to it: bytes to send, or undefined. */
  const react = (s: SlaveState, f: Exclude<MbusFrame, { kind: 'ack' }>): Uint8Array | undefined => {
    const c = parseControlField(f.control);
    if (c.direction !== 'master-to-slave') return undefined;
    if (c.function === 'SND_NKE') {
      s.lastFcb = undefined;
      s.lastAnswer = undefined;
      s.series = [];
      s.app = undefined;
      if (f.address === ADDRESS_NETWORK_LAYER) s.selected = false;
      return Uint8Array.of(FRAME_ACK);
    }
    if (c.function === 'SND_UD' && f.kind !== 'short') {
      if (f.ci === CI_APPLICATION_RESET) {
        s.series = [];
        s.lastFcb = undefined;
        const subcode = f.kind === 'long' ? f.data[0] : undefined;
        // A subcode the model has a telegram for selects it; any other reset returns to the normal telegram.
        s.app = subcode !== undefined && s.spec.selectable?.[subcode] ? subcode : undefined;
        return Uint8Array.of(FRAME_ACK);
      }
      if (f.ci === CI_DATA_SEND && f.kind === 'long' && f.data[0] === 0x01 && f.data[1] === 0x7a) {
        s.spec.primaryAddress = f.data[2]; // set primary address (DIF 01, VIF 7A)
        return Uint8Array.of(FRAME_ACK);
      }
      return Uint8Array.of(FRAME_ACK);
    }
    if (c.function === 'REQ_UD2') {
      if (c.fcv && s.lastFcb !== undefined && c.fcb === s.lastFcb && s.lastAnswer) {
        stats.repeats++;
        return s.lastAnswer;
      }
      const more = s.series.length > 0 && s.index < s.series.length - 1;
      if (more && c.fcv) s.index++;
      else newReadout(s, f.address === ADDRESS_NETWORK_LAYER ? ADDRESS_NETWORK_LAYER : s.spec.primaryAddress);
      s.lastFcb = c.fcv ? c.fcb : undefined;
      s.lastAnswer = s.series[s.index];
      // The selected telegram's last part is out: the next readout is the normal one again.
      if (s.seriesSelected && s.index === s.series.length - 1) s.app = undefined;
      return s.lastAnswer;
    }
    return undefined; // REQ_UD1 and others: no class-1 data, stay silent as most meters do
  };

  const handle = (f: MbusFrame, reply: Reply) => {
    if (f.kind === 'ack') return;
    stats.requests++;
    // Selection is evaluated by every slave on the bus.
    if (f.kind === 'long' && f.ci === CI_SELECTION && f.address === ADDRESS_NETWORK_LAYER) {
      const pattern = decodeSecondaryAddress(f.data, 0);
      const hits: Uint8Array[] = [];
      for (const s of states) {
        // Read the address now: a replaced meter answers with its new identity.
        s.selected = matchesSecondary(pattern, { id: s.spec.id, manufacturer: s.spec.manufacturer, version: s.spec.version, medium: s.spec.medium });
        if (s.selected) {
          s.lastFcb = undefined;
          s.series = [];
          if (!s.spec.faults?.silent) hits.push(Uint8Array.of(FRAME_ACK));
        }
      }
      send(hits, reply);
      return;
    }
    const targets = addressed(f.address);
    const answers: Uint8Array[] = [];
    let faults: LineFaults | undefined;
    for (const s of targets) {
      opts.beforeAnswer?.(s.spec, f);
      if (s.spec.faults?.silent) continue; // a dead meter does not even hear the request
      const a = react(s, f);
      if (!a) continue;
      faults = s.spec.faults;
      if (s.spec.faults?.badChecksum && a.length > 5) {
        const bad = Uint8Array.from(a);
        bad[bad.length - 2] ^= 0x5a;
        answers.push(bad);
      } else answers.push(a);
    }
    if (f.address === ADDRESS_BROADCAST_NO_REPLY) return;
    send(answers, reply, faults);
  };

  const send = (answers: Uint8Array[], reply: Reply, faults?: LineFaults) => {
    if (answers.length === 0) return;
    if (answers.length === 1) return void reply(Buffer.from(answers[0]), answerPause(faults, answers[0].length));
    stats.collisions++;
    void reply(collide(answers, rnd));
  };

  const session = () => {
    const parser = new MbusStreamParser();
    return {
      onData(chunk: Buffer, reply: Reply) {
        for (const p of parser.push(chunk).frames) handle(p.frame, reply);
      },
    };
  };
  const line = await serveLine(opts.transport ?? { kind: 'pty' }, { baud: 2400, bitsPerChar: 11, ...opts.timing }, session);
  return { endpoint: line.endpoint, slaves: opts.slaves, stats, close: () => line.close(), unplug: () => line.unplug(), replug: () => line.replug() };
}
