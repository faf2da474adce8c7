/**
 * Modbus RTU through modbus-serial: several slaves on one line, register maps as data from
 * @amr/protocols (planReads + decodeRegisters), so gateway and simulator read the same map.
 * `tcp://host:port` means RTU framing through a transparent serial-over-TCP converter.
 * modbus-serial owns the framing; with its debug mode on it hands back each transaction's request
 * and the frames it received, which go into the raw telegram log like the M-Bus driver's frames.
 */
import { createRequire } from 'node:module';
import type ModbusSerial from 'modbus-serial';
import {
  GENERIC_QUANTITY, QUANTITIES, REGISTER_MAPS, archiveSelectWords, decodeArchiveRecord, decodeRegisters, meterClockIso, planReads,
  type ArchiveKind, type ArchiveRecord, type MeterClock, type ReadingValue, type RegisterMap,
} from '@amr/protocols';
import type { ResolvedBus, ResolvedMeter } from '../config/resolve.js';
import { ChecksumError, LinkLostError, ProtocolError, TimeoutError, classifyIoError, type BusDriver, type MeterRead, type RawFrame, type ScanHit, type ScanProgress } from './types.js';
import { sleep } from './line.js';

// Loaded when a Modbus bus is opened, not with the gateway: it pulls in serialport and more (about
// 18 MiB resident), which a gateway with only M-Bus meters should not carry on a Pi. It is CommonJS
// with `export default` in its typings: under NodeNext the class is `.default`, plain require gives it.
type ModbusRTUClass = typeof ModbusSerial.default;
let modbusRtu: ModbusRTUClass | undefined;
const ModbusRTU = (): ModbusRTUClass => (modbusRtu ??= createRequire(import.meta.url)('modbus-serial') as ModbusRTUClass);

export function registerMap(id: string): RegisterMap {
  const m = REGISTER_MAPS[id];
  if (!m) throw new Error(`unknown register map "${id}" (known: ${Object.keys(REGISTER_MAPS).join(', ')})`);
  return m;
}

/** Register names that are not contract quantities are published as `modbus.<name>`. */
export function modbusQuantity(name: string): string {
  return name in QUANTITIES || GENERIC_QUANTITY.test(name) ? name : `modbus.${name.toLowerCase().replace(/[^a-z0-9_.-]/g, '_')}`;
}

/** modbus-serial's errors by their class name (its own error types), the OS's by code. */
function classify(e: unknown, frames: RawFrame[], where: string): Error {
  const err = e as Error & { name?: string; modbusCode?: number };
  const msg = String(err?.message ?? e);
  const io = classifyIoError(e, where);
  const out =
    err?.name === 'TransactionTimedOutError'
      ? new TimeoutError(msg)
      : err?.name === 'PortNotOpenError'
        ? new LinkLostError(`${where}: port not open`, 'PORT_CLOSED')
        : io instanceof LinkLostError
          ? io
          : /CRC/i.test(msg)
            ? new ChecksumError(msg)
            : new ProtocolError(msg);
  // The frames of a failed read go to the raw log too: the ones that fail are the ones to look at.
  return Object.assign(out, { frames });
}

/** What modbus-serial's debug mode adds to a reply or an error. */
interface Exchanged {
  request?: Uint8Array;
  responses?: Uint8Array[];
  modbusRequest?: Uint8Array;
  modbusResponses?: Uint8Array[];
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function framesOf(x: Exchanged | undefined): RawFrame[] {
  const req = x?.request ?? x?.modbusRequest;
  const res = x?.responses ?? x?.modbusResponses ?? [];
  return [...(req ? [{ dir: 'tx' as const, hex: hex(req) }] : []), ...res.map((r) => ({ dir: 'rx' as const, hex: hex(r) }))];
}

/** A float register that says NaN is the meter saying "no value" (an error); ±Inf is out of range. */
export function registerValue(name: string, v: number, unit: string): ReadingValue {
  const quality: ReadingValue['quality'] = Number.isNaN(v) ? ['meter_error'] : Number.isFinite(v) ? [] : ['value_overflow'];
  return { quantity: modbusQuantity(name), value: Number.isFinite(v) ? v : null, unit, quality };
}

export class ModbusDriver implements BusDriver {
  private client = this.newClient();
  /** Set when the port or connection went away under us (its 'close' or 'error' event). */
  private lost: LinkLostError | null = null;
  private closing = false;

  constructor(readonly bus: ResolvedBus) {}

  private newClient(): InstanceType<ModbusRTUClass> {
    const c = new (ModbusRTU())();
    (c as unknown as { isDebugEnabled: boolean }).isDebugEnabled = true;
    return c;
  }

  private get where(): string {
    return `${this.bus.name} (${this.bus.port})`;
  }

  async open(): Promise<void> {
    const b = this.bus;
    // A fresh client per open: a dead one keeps the old port's listeners and transactions.
    this.client = this.newClient();
    this.lost = null;
    this.closing = false;
    const client = this.client;
    client.on('error', (e: unknown) => {
      const c = classify(e, [], this.where);
      if (client === this.client && !this.closing && c instanceof LinkLostError) this.lost ??= c;
    });
    client.on('close', () => {
      if (client === this.client && !this.closing) this.lost ??= new LinkLostError(`${this.where}: ${b.tcp ? 'the converter closed the connection' : 'port closed'}`, b.tcp ? 'PEER_ENDED' : 'PORT_CLOSED');
    });
    try {
      if (b.tcp) {
        // Transparent converter: raw RTU bytes over TCP (modbus-serial calls it "telnet").
        await client.connectTelnet(b.tcp.host, { port: b.tcp.port });
      } else {
        await client.connectRTUBuffered(b.port, {
          baudRate: b.line.baud,
          parity: b.line.parity,
          dataBits: b.line.dataBits,
          stopBits: b.line.stopBits,
        });
      }
    } catch (e) {
      const c = classify(e, [], `cannot open ${this.where}`);
      throw c instanceof LinkLostError ? c : new LinkLostError(`cannot open ${this.where}: ${c.message}`, 'OPEN_FAILED');
    }
    client.setTimeout(b.timeoutMs);
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.client.isOpen) await new Promise<void>((r) => this.client.close(() => r()));
  }

  /** Slaves that refused a read bridging gaps between map entries: read them gap-free. */
  private readonly strict = new Set<number>();

  async readMap(slave: number, map: RegisterMap, timeoutMs: number, frames: RawFrame[] = []): Promise<Record<string, number>> {
    if (this.lost) throw this.lost;
    this.client.setID(slave);
    this.client.setTimeout(timeoutMs);
    const out: Record<string, number> = {};
    for (const block of planReads(map, this.strict.has(slave) ? 0 : 8)) {
      let data: number[];
      try {
        const r = block.fn === 'input' ? await this.client.readInputRegisters(block.start, block.count) : await this.client.readHoldingRegisters(block.start, block.count);
        frames.push(...framesOf(r as Exchanged));
        data = r.data;
      } catch (e) {
        frames.push(...framesOf(e as Exchanged));
        // Exception 2 (illegal data address) on a block that bridges a gap: this device does not
        // serve the undocumented registers in between; retry it entry by entry.
        if ((e as { modbusCode?: number }).modbusCode === 2 && !this.strict.has(slave)) {
          this.strict.add(slave);
          return this.readMap(slave, map, timeoutMs, frames);
        }
        throw this.lost ?? classify(e, frames, this.where);
      }
      Object.assign(out, decodeRegisters(map, { fn: block.fn, start: block.start, words: data }));
      await sleep(this.bus.interFrameMs);
    }
    return out;
  }

  async read(meter: ResolvedMeter): Promise<MeterRead> {
    const map = registerMap(meter.registerMap ?? '');
    const frames: RawFrame[] = [];
    const decoded = await this.readMap(meter.slave ?? 1, map, meter.timeoutMs, frames);
    const values = map.entries.filter((e) => e.name in decoded).map((e) => registerValue(e.name, decoded[e.name], e.unit));
    return { values, quality: [], frames };
  }

  /**
   * One archive record, the way the meter's map says to get it: the select words (FC 16 at the map's
   * select address) name the record's timestamp on the meter's clock, then the record block is read
   * (FC 03) and decoded. A record stamped otherwise than asked is refused (the meter served another
   * record: publishing it under the asked hour would put a value at the wrong instant).
   */
  async readArchive(meter: ResolvedMeter, kind: ArchiveKind, at: MeterClock): Promise<{ record: ArchiveRecord; frames: RawFrame[] }> {
    if (this.lost) throw this.lost;
    const map = registerMap(meter.registerMap ?? '');
    const spec = map.archives;
    if (!spec) throw new ProtocolError(`register map ${map.id} has no archives`);
    this.client.setID(meter.slave ?? 1);
    this.client.setTimeout(meter.timeoutMs);
    const frames: RawFrame[] = [];
    let words: number[];
    try {
      const w = await this.client.writeRegisters(spec.select.address, archiveSelectWords(map, kind, at));
      frames.push(...framesOf(w as Exchanged));
      await sleep(this.bus.interFrameMs);
      const r = await this.client.readHoldingRegisters(spec.record.address, spec.record.count);
      frames.push(...framesOf(r as Exchanged));
      words = r.data;
    } catch (e) {
      frames.push(...framesOf(e as Exchanged));
      // An exception answer (the meter has no such record) keeps its code: the caller tells it from a line fault.
      const code = (e as { modbusCode?: number }).modbusCode;
      throw this.lost ?? Object.assign(classify(e, frames, this.where), code === undefined ? {} : { modbusCode: code });
    }
    let record: ArchiveRecord;
    try {
      record = decodeArchiveRecord(map, kind, words);
    } catch (e) {
      throw Object.assign(new ProtocolError(`${kind} record ${meterClockIso(at)}: ${(e as Error).message}`), { frames });
    }
    if (record.time !== meterClockIso({ ...at, minute: at.minute ?? 0, second: at.second ?? 0 }))
      throw Object.assign(new ProtocolError(`asked for the ${kind} record of ${meterClockIso(at)}, the meter served ${record.time}`), { frames });
    return { record, frames };
  }

  /** Modbus id scan: asks each id for its map's first block (or register 0), reports who answers. */
  async scan(opts: { from?: number; to?: number; timeoutMs?: number }, progress: ScanProgress): Promise<ScanHit[]> {
    const hits: ScanHit[] = [];
    const from = opts.from ?? 1;
    const to = opts.to ?? 247;
    for (let id = from; id <= to; id++) {
      this.client.setID(id);
      this.client.setTimeout(opts.timeoutMs ?? Math.min(this.bus.timeoutMs, 300));
      for (const fn of ['input', 'holding'] as const) {
        try {
          if (fn === 'input') await this.client.readInputRegisters(0, 1);
          else await this.client.readHoldingRegisters(0, 1);
          hits.push({ address: String(id) });
          progress(`id ${id}: answers (${fn} register 0)`);
          break;
        } catch (e: unknown) {
          // An exception reply also proves a slave is there.
          if ((e as { modbusCode?: number }).modbusCode !== undefined) {
            hits.push({ address: String(id) });
            progress(`id ${id}: answers (exception ${(e as { modbusCode: number }).modbusCode})`);
            break;
          }
        }
      }
      await sleep(this.bus.interFrameMs);
    }
    return hits;
  }
}
