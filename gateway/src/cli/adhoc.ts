/**
 * Builds a bus and a meter from command-line options (scan/read need no config file), through the
 * same zod schemas as the config file so the same defaults and the same error messages apply.
 */
import { BusConfig, MeterConfig } from '../config/schema.js';
import { resolveBus, resolveMeter, type ResolvedBus, type ResolvedMeter } from '../config/resolve.js';
import { formatIssues, ConfigError } from '../config/load.js';
import { baudProblem } from '../config/knowledge.js';

export interface AdhocOptions {
  bus: string;
  protocol: string;
  baud?: string;
  parity?: string;
  driver?: string;
  timeout?: string;
  retries?: string;
  echo?: boolean;
  address?: string;
  map?: string;
  channels?: string;
  weight?: string;
  quantity?: string;
  profile?: string;
}

const num = (s: string | undefined) => (s === undefined ? undefined : Number(s));

export function adhocBus(o: AdhocOptions): ResolvedBus {
  const raw: Record<string, unknown> = { name: 'cli', protocol: o.protocol, port: o.bus };
  if (o.baud) raw.baud = num(o.baud);
  if (o.parity) raw.parity = o.parity;
  if (o.timeout) raw.timeout = o.timeout;
  if (o.retries) raw.retries = num(o.retries);
  if (o.echo) raw.echo = true;
  if (o.driver && o.protocol === 'mbus') raw.driver = o.driver;
  const r = BusConfig.safeParse(raw);
  if (!r.success) throw new ConfigError(formatIssues(r.error).map((i) => i.replace(/^[a-z]+/, (k) => `--${k}`)), 'command line');
  const bad = r.data.baud === undefined ? null : baudProblem(r.data.protocol, r.data.baud);
  if (bad) throw new ConfigError([`--baud: ${bad}`], 'command line');
  return resolveBus(r.data);
}

export function adhocMeter(o: AdhocOptions, bus: ResolvedBus): ResolvedMeter {
  const a = o.address ?? '';
  const raw: Record<string, unknown> = { id: 'cli-meter', bus: 'cli', profile: o.profile ?? 'auto' };
  if (bus.protocol === 'mbus') {
    if (/^\d{1,3}$/.test(a)) raw.primary = Number(a);
    else raw.secondary = a;
  } else if (bus.protocol === 'modbus') {
    raw.slave = num(a);
    raw.registerMap = o.map;
  } else {
    const [dev, ch] = a.includes(':') ? a.split(':') : ['1', a];
    raw.device = num(dev);
    raw.channel = num(ch);
    raw.channels = num(o.channels ?? '4');
    raw.weight = num(o.weight ?? '1');
    raw.quantity = o.quantity ?? 'volume_m3';
  }
  const r = MeterConfig.safeParse(raw);
  if (!r.success) throw new ConfigError(formatIssues(r.error), 'command line');
  return resolveMeter(r.data, bus);
}
