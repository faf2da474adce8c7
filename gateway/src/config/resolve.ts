/**
 * Turns a validated config into what the runtime uses: line parameters with every default
 * filled in from the baud (timeouts, inter-frame delay), and each meter's effective timeout,
 * retries and contract address. Pure, so `amr-gateway check` can print exactly what will run.
 */
import type { BusConfig, GatewayConfig, MeterConfig } from './schema.js';
import {
  defaultMbusInterByteMs,
  defaultMbusInterFrameMs,
  defaultMbusTimeoutMs,
  defaultModbusInterFrameMs,
  defaultModbusTimeoutMs,
  interCharTimeoutMs,
  mbusProbeTimeoutMs,
  type LineParams,
} from './timing.js';

export interface ResolvedBus {
  name: string;
  protocol: BusConfig['protocol'];
  port: string;
  tcp: { host: string; port: number } | null;
  line: LineParams;
  timeoutMs: number;
  interFrameMs: number;
  interCharMs: number;
  /** M-Bus: longest silence inside one answer before it is given up as incomplete. */
  interByteMs: number;
  /** M-Bus: first-byte timeout of a scan probe (an absent address costs this). */
  probeTimeoutMs: number;
  retries: number;
  echo: boolean;
  driver: 'native' | 'libmbus' | 'modbus-serial' | 'pulse';
  sndNke: 'once' | 'always' | 'never';
  maxTelegrams: number;
}

export interface ResolvedMeter extends MeterConfig {
  address: string;
  timeoutMs: number;
  retriesEff: number;
}

export function parseTcp(port: string): { host: string; port: number } | null {
  const m = /^tcp:\/\/([^:/]+):(\d{1,5})$/.exec(port);
  return m ? { host: m[1], port: Number(m[2]) } : null;
}

export function resolveBus(b: BusConfig): ResolvedBus {
  const tcp = parseTcp(b.port);
  const line: LineParams = {
    baud: b.baud ?? (b.protocol === 'mbus' ? 2400 : 9600),
    dataBits: b.dataBits,
    parity: b.parity ?? (b.protocol === 'mbus' ? 'even' : 'none'),
    stopBits: b.stopBits,
    tcp: tcp !== null,
  };
  const isMbus = b.protocol === 'mbus';
  return {
    name: b.name,
    protocol: b.protocol,
    port: b.port,
    tcp,
    line,
    timeoutMs: b.timeout ?? (isMbus ? defaultMbusTimeoutMs(line) : defaultModbusTimeoutMs(line)),
    interFrameMs: b.interFrameDelay ?? (isMbus ? defaultMbusInterFrameMs(line) : defaultModbusInterFrameMs(line)),
    interCharMs: interCharTimeoutMs(line),
    interByteMs: (b.protocol === 'mbus' ? b.interByteTimeout : undefined) ?? defaultMbusInterByteMs(line),
    probeTimeoutMs: mbusProbeTimeoutMs(line),
    retries: b.retries,
    echo: b.echo,
    driver: b.protocol === 'mbus' ? b.driver : b.protocol === 'modbus' ? 'modbus-serial' : 'pulse',
    sndNke: b.protocol === 'mbus' ? b.sndNke : 'never',
    maxTelegrams: b.protocol === 'mbus' ? b.maxTelegrams : 1,
  };
}

export function meterAddress(m: MeterConfig): string {
  if (m.secondary !== undefined) return m.secondary;
  if (m.primary !== undefined) return String(m.primary);
  if (m.slave !== undefined) return String(m.slave);
  return `${m.device ?? 1}:${m.channel ?? 0}`;
}

export function resolveMeter(m: MeterConfig, bus: ResolvedBus): ResolvedMeter {
  return { ...m, address: meterAddress(m), timeoutMs: m.timeout ?? bus.timeoutMs, retriesEff: m.retries ?? bus.retries };
}

export interface ResolvedConfig {
  raw: GatewayConfig;
  buses: ResolvedBus[];
  meters: ResolvedMeter[];
}

export function resolveConfig(cfg: GatewayConfig): ResolvedConfig {
  const buses = cfg.buses.map(resolveBus);
  const byName = new Map(buses.map((b) => [b.name, b]));
  return { raw: cfg, buses, meters: cfg.meters.map((m) => resolveMeter(m, byName.get(m.bus)!)) };
}
