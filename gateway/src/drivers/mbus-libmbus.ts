// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- the ambient typings must come along when tests compile this file alone
/// <reference path="./node-mbus.d.ts" />
/**
 * `driver: libmbus`: the same meter reads through node-mbus (the libmbus binding), for sites that
 * trust libmbus. libmbus owns the line (serial or TCP), so echo cancellation, FCB handling and
 * timeouts are libmbus's own; we translate its XML-as-JSON (old libmbus unit strings such as
 * "Energy (10 Wh)", "Volume (m m^3)") into decoded records and run the same profiles, so both
 * drivers publish the same quantities.
 */
import type MbusMasterT from 'node-mbus';
import { decodeStatus, formatSecondaryAddress, mediumLibmbusName, parseSecondaryAddress, type MbusRecord, type MbusTelegram } from '@amr/protocols';
import type { ResolvedBus, ResolvedMeter } from '../config/resolve.js';
import { applyMbusProfile } from '../profiles/apply.js';
import { LinkLostError, ProtocolError, TimeoutError, classifyIoError, type BusDriver, type MeterRead, type ScanHit, type ScanProgress } from './types.js';

const PREFIX: Record<string, number> = { '': 1, m: 1e-3, my: 1e-6, '10': 10, '100': 100, k: 1e3, '10 k': 1e4, '100 k': 1e5, M: 1e6, G: 1e9 };

/** Old-libmbus unit texts → decoder quantity and canonical unit. */
const UNITS: [RegExp, string, string][] = [
  [/^Energy \((.*)Wh\)$/, 'energy', 'Wh'],
  [/^Energy \((.*)J\)$/, 'energy', 'J'],
  [/^Mass \((.*)kg\)$/, 'mass', 'kg'],
  [/^Power \((.*)J\/h\)$/, 'power', 'J/h'],
  [/^Power \((.*)W\)$/, 'power', 'W'],
  [/^Volume \((.*) m\^3\)$/, 'volume', 'm3'],
  [/^Volume flow \((.*) m\^3\/h\)$/, 'volume_flow', 'm3/h'],
  [/^Volume flow \((.*) m\^3\/min\)$/, 'volume_flow', 'm3/min'],
  [/^Volume flow \((.*) m\^3\/s\)$/, 'volume_flow', 'm3/s'],
  [/^Mass flow \((.*) kg\/h\)$/, 'mass_flow', 'kg/h'],
  [/^Flow temperature \((.*)deg C\)$/, 'flow_temperature', '°C'],
  [/^Return temperature \((.*)deg C\)$/, 'return_temperature', '°C'],
  [/^Temperature Difference \((.*) deg C\)$/, 'temperature_difference', 'K'],
  [/^External temperature \((.*) deg C\)$/, 'external_temperature', '°C'],
  [/^Pressure \((.*) bar\)$/, 'pressure', 'bar'],
];
const DURATION: Record<string, number> = { seconds: 1, minutes: 60, hours: 3600, days: 86400 };
const FUNCTIONS: Record<string, MbusRecord['function']> = {
  'Instantaneous value': 'instantaneous',
  'Maximum value': 'maximum',
  'Minimum value': 'minimum',
  'Value during error state': 'error',
};

interface LibRecord {
  Function?: string;
  StorageNumber?: number;
  Tariff?: number;
  Device?: number;
  Unit?: string;
  Value?: unknown;
}
interface LibData {
  SlaveInformation?: { Id?: number | string; Manufacturer?: string; Version?: number; Medium?: string; AccessNumber?: number; Status?: number | string; Signature?: unknown };
  DataRecord?: LibRecord[];
}

/** Older libmbus versions print some media differently ("Heat" for 0x04). */
const MEDIUM_ALIASES: Record<string, number> = { heat: 0x04, heatinlet: 0x0c, heatoutlet: 0x04 };
// Compared without punctuation and non-ASCII: libmbus prints "°" in ISO-8859-1, which may arrive mangled.
const norm = (s: string) => s.replace(/[^A-Za-z0-9]/g, '').toLowerCase();

function mediumCodeOf(name: string | undefined): number | undefined {
  if (!name) return undefined;
  const n = norm(name);
  for (let c = 0; c < 0x40; c++) if (norm(mediumLibmbusName(c)) === n) return c;
  return MEDIUM_ALIASES[n];
}

function toRecord(r: LibRecord): MbusRecord | null {
  const fn = FUNCTIONS[r.Function ?? ''];
  if (!fn) return null; // "More records follow", "Manufacturer specific"
  const unitText = String(r.Unit ?? '');
  let quantity = unitText.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '') || 'unknown';
  let unit = '';
  // libmbus gives a number or text (dates, fabrication numbers); anything else is no value we could store.
  let value: number | string | null = typeof r.Value === 'number' ? r.Value : typeof r.Value === 'string' && r.Value !== '' ? r.Value : null;
  for (const [re, q, u] of UNITS) {
    const m = re.exec(unitText);
    if (!m) continue;
    const p = m[1].trim();
    const f = PREFIX[p] ?? (/^1e(-?\d+)$/.test(p) ? 10 ** Number(p.slice(2)) : NaN);
    quantity = q;
    unit = u;
    if (typeof value === 'number') value = Number((value * f).toPrecision(15));
    break;
  }
  const dur = /^(On time|Operating time|Averaging Duration|Actuality Duration) \((seconds|minutes|hours|days)\)$/.exec(unitText);
  if (dur) {
    quantity = { 'On time': 'on_time', 'Operating time': 'operating_time', 'Averaging Duration': 'averaging_duration', 'Actuality Duration': 'actuality_duration' }[dur[1]]!;
    unit = 's';
    if (typeof value === 'number') value *= DURATION[dur[2]];
  }
  if (unitText === 'Time Point (time & date)') quantity = 'datetime';
  if (unitText === 'Time Point (date)') quantity = 'date';
  if (unitText === 'Fabrication number') quantity = 'fabrication_number';
  return {
    function: fn,
    storage: Number(r.StorageNumber ?? 0),
    tariff: Number(r.Tariff ?? 0),
    subunit: Number(r.Device ?? 0),
    quantity,
    unit,
    value,
    raw: { dif: 0, dife: [], vif: 0, vife: [], data: '', offset: 0 },
  };
}

/** libmbus JSON (node-mbus getData) → a decoded telegram our profiles understand. */
export function libmbusToTelegram(data: unknown): MbusTelegram {
  const d = data as LibData;
  const si = d.SlaveInformation ?? {};
  const mediumCode = mediumCodeOf(si.Medium);
  const statusRaw = si.Status === undefined ? 0 : parseInt(String(si.Status), 16);
  const recs = (d.DataRecord ?? []).map(toRecord).filter((r): r is MbusRecord => r !== null);
  return {
    header: {
      ci: 0x72,
      kind: 'long',
      id: si.Id !== undefined ? String(si.Id).padStart(8, '0') : undefined,
      manufacturer: si.Manufacturer,
      version: si.Version,
      mediumCode,
      medium: si.Medium,
      accessNumber: si.AccessNumber,
      status: decodeStatus(Number.isFinite(statusRaw) ? statusRaw : 0),
    },
    records: recs,
    moreRecordsFollow: (d.DataRecord ?? []).some((r) => r.Function === 'More records follow'),
  };
}

export class MbusLibmbusDriver implements BusDriver {
  private master: MbusMasterT | null = null;

  constructor(
    readonly bus: ResolvedBus,
    private readonly opts: { clockToleranceMs: number; now?: () => number },
  ) {}

  async open(): Promise<void> {
    const b = this.bus;
    // Loaded only when a bus uses it: a site without the native binding still runs the native driver.
    const { default: MbusMaster } = await import('node-mbus');
    this.master = new MbusMaster(
      b.tcp ? { host: b.tcp.host, port: b.tcp.port, timeout: b.timeoutMs, autoConnect: true } : { serialPort: b.port, serialBaudRate: b.line.baud, autoConnect: true },
    );
    const m = this.master;
    // libmbus reports no error codes, only texts: any failure to connect is the line being unavailable.
    await new Promise<void>((res, rej) =>
      m.connect((e) => {
        if (!e) return res();
        const c = classifyIoError(e, `cannot open ${b.name} (${b.port})`);
        rej(c instanceof LinkLostError ? c : new LinkLostError(`cannot open ${b.name} (${b.port}): ${e.message}`, 'OPEN_FAILED'));
      }),
    );
  }

  async close(): Promise<void> {
    const m = this.master;
    this.master = null;
    if (m) await new Promise<void>((res) => m.close(() => res()));
  }

  private address(meter: ResolvedMeter): number | string {
    if (meter.secondary === undefined) return meter.primary ?? 0;
    const a = parseSecondaryAddress(meter.secondary.includes('.') ? meter.secondary : `${meter.secondary}.*.*.*`);
    return formatSecondaryAddress(a, { style: 'libmbus' });
  }

  /** One libmbus read (REQ_UD2 with libmbus's own retries and multi-telegram follow-up) as libmbus JSON. */
  private get(address: number | string, pingFirst: boolean): Promise<unknown> {
    if (!this.master) throw new LinkLostError(`bus ${this.bus.name} not open`, 'PORT_CLOSED');
    const m = this.master;
    return new Promise<unknown>((res, rej) =>
      m.getData(address, { pingFirst }, (e, d) => {
        if (e) rej(/timeout|no response|receive/i.test(e.message) ? new TimeoutError(`libmbus: ${e.message}`) : new ProtocolError(`libmbus: ${e.message}`));
        else res(d);
      }),
    );
  }

  async read(meter: ResolvedMeter): Promise<MeterRead> {
    const data = await this.get(this.address(meter), this.bus.sndNke !== 'never');
    const tg = libmbusToTelegram(data);
    return applyMbusProfile([tg], { profile: meter.profile, gatewayNow: (this.opts.now ?? Date.now)(), clockToleranceMs: this.opts.clockToleranceMs, quantities: meter.quantities });
  }

  async scan(opts: { mode: 'primary' | 'secondary' | 'ids'; from?: number; to?: number }, progress: ScanProgress): Promise<ScanHit[]> {
    if (!this.master) throw new ProtocolError(`bus ${this.bus.name} not open`);
    if (opts.mode === 'primary') {
      // node-mbus has no ping of its own: a REQ_UD2 per address (libmbus retries a silent one
      // 3 times, each after its whole timeout). libmbus tells a garbled answer from silence only in
      // its error text, which node-mbus flattens: both count as nobody there.
      const hits: ScanHit[] = [];
      for (let a = opts.from ?? 0; a <= (opts.to ?? 250); a++) {
        let data: unknown;
        try {
          data = await this.get(a, false);
        } catch {
          continue;
        }
        const h = libmbusToTelegram(data).header;
        hits.push({ address: String(a), serial: h.id, manufacturer: h.manufacturer, version: h.version, medium: h.medium });
        progress(`address ${a}: ${h.manufacturer ?? '?'} ${h.id ?? ''} ${h.medium ?? ''}`);
      }
      return hits;
    }
    if (opts.mode !== 'secondary') throw new Error('driver libmbus: no id scan (libmbus has scanSecondary and, here, a primary scan by REQ_UD2); use driver native');
    const m = this.master;
    progress('libmbus scanSecondary running (no progress output from libmbus)');
    const list = await new Promise<unknown>((res, rej) => m.scanSecondary((e, d) => (e ? rej(e) : res(d))));
    return (Array.isArray(list) ? list : []).map((s) => ({ address: String(s) }));
  }
}
