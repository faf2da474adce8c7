// `amr-sim --fault METER=KIND[:ARG][@DAY]`: a meter fault from the command line, now or at a
// simulated day counted from the config's start (the demo's syntax, so one spelling works in both).
// Pure: parsing only; the CLI applies them.
import type { MeterFault } from '../building/meters.js';

export const FAULT_KINDS = ['silent', 'crc', 'stuck', 'rollover', 'clockDrift', 'reverseFlow', 'replaced', 'clear'] as const;

export const FAULT_HELP = `--fault METER=KIND[:ARG][@DAY]   (repeatable) switch a meter into a fault, at start or when the
                                   simulated clock reaches DAY days after the config's start (fractional)
      kinds: silent (no answer), crc (bad checksum), stuck (register frozen), reverseFlow,
             rollover[:MARGIN] (register wraps MARGIN units later, default 0.5),
             clockDrift:SECONDS (meter clock off by SECONDS), replaced[:NEWSERIAL], clear
      e.g. --fault odpu-heat=silent  --fault apt-3-cold_water=stuck@1.5  --fault odpu-cold_water=clockDrift:3600
      meters: the meterId values of the JSON line (odpu-heat, odpu-electricity, apt-1-cold_water, …)`;

export interface FaultSpec {
  /** The text as given (a restart with --state skips specs it already applied). */
  text: string;
  meterId: string;
  fault: MeterFault;
  /** Simulated days after the start; undefined = at once. */
  atDay?: number;
}

export function parseFaultSpec(text: string, meterIds: readonly string[]): FaultSpec {
  const m = /^([^=\s]+)=([A-Za-z]+)(?::([^@\s]+))?(?:@(\d+(?:\.\d+)?))?$/.exec(text);
  if (!m) throw new Error(`--fault "${text}": expected METER=KIND[:ARG][@DAY], e.g. odpu-heat=silent or apt-3-cold_water=stuck@1.5`);
  const [, meterId, kind, arg, day] = m;
  if (!meterIds.includes(meterId)) {
    const near = meterIds.filter((id) => id.startsWith(meterId.split('-').slice(0, 2).join('-'))).slice(0, 6);
    throw new Error(`--fault "${text}": no meter "${meterId}"; meters are ${(near.length ? near : meterIds.slice(0, 8)).join(', ')}, … (meterId in the JSON line)`);
  }
  const num = (what: string): number => {
    const n = Number(arg);
    if (arg === undefined || !Number.isFinite(n)) throw new Error(`--fault "${text}": ${kind} needs a number ${what} after ":", e.g. ${meterId}=${kind}:3600`);
    return n;
  };
  let fault: MeterFault;
  switch (kind) {
    case 'silent':
    case 'crc':
    case 'stuck':
    case 'reverseFlow':
    case 'clear':
      if (arg !== undefined) throw new Error(`--fault "${text}": ${kind} takes no ":${arg}"`);
      fault = { kind };
      break;
    case 'rollover':
      fault = arg === undefined ? { kind } : { kind, marginUnits: num('of units') };
      break;
    case 'clockDrift':
      fault = { kind, driftSeconds: num('of seconds') };
      break;
    case 'replaced':
      if (arg !== undefined && !/^\d{8}$/.test(arg)) throw new Error(`--fault "${text}": a new serial is 8 digits`);
      fault = arg === undefined ? { kind } : { kind, newSerial: arg };
      break;
    default:
      throw new Error(`--fault "${text}": unknown fault kind "${kind}"; known: ${FAULT_KINDS.join(', ')}`);
  }
  return { text, meterId, fault, atDay: day === undefined ? undefined : Number(day) };
}
