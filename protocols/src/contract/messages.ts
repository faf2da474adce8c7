import { z } from 'zod';
import { GATEWAY_ID_PATTERN, COMMAND_NAMES } from './topics.js';
import { QualityFlag } from './quality.js';
import { QuantityName } from './quantities.js';

/**
 * Payloads of the MQTT contract, version 1. Both sides parse with these schemas;
 * types are inferred from them so gateway and head-end cannot drift apart.
 * Limits (array sizes, string lengths) are part of the contract: a payload outside them is
 * a dead letter, not a reason to run out of memory.
 */
export const CONTRACT_VERSION = 1 as const;
export const MAX_PAYLOAD_BYTES = 256 * 1024;

const IsoTime = z.iso.datetime({ offset: true });
const GatewayId = z.string().regex(GATEWAY_ID_PATTERN, 'gateway id: letters, digits, _ . - (max 64)');

export const Protocol = z.enum(['mbus', 'modbus', 'pulse']);
export type Protocol = z.infer<typeof Protocol>;

/**
 * How the gateway knows the meter. The head-end binds (gatewayId, bus, address) to a registered
 * meter; `meterKey` is the gateway's own configured id, `serial`/`manufacturer` what the meter said
 * about itself (M-Bus secondary address), used to detect a swapped meter behind the same address.
 */
export const MeterRef = z.object({
  meterKey: z.string().min(1).max(64),
  bus: z.string().min(1).max(64),
  protocol: Protocol,
  /** primary address "5", secondary "12345678" / "12345678.ACW.14.07", Modbus slave id "3", pulse "devId:channel". */
  address: z.string().min(1).max(64),
  serial: z.string().max(32).optional(),
  manufacturer: z.string().max(8).optional(),
});
export type MeterRef = z.infer<typeof MeterRef>;

export const ReadingValue = z.object({
  quantity: QuantityName,
  value: z.number().finite().nullable(),
  unit: z.string().min(1).max(16),
  /**
   * M-Bus storage number (0 = current). A stored value (due date, month end) comes in a reading of
   * its own, dated by its `archive.record`; a generic `mbus.*.s<n>` value is one the gateway could not date.
   */
  storage: z.number().int().min(0).optional(),
  tariff: z.number().int().min(0).optional(),
  subunit: z.number().int().min(0).optional(),
  /** Set only when this value belongs to another instant than the poll (e.g. a due-date value). */
  time: IsoTime.optional(),
  quality: z.array(QualityFlag).max(16).default([]),
});
export type ReadingValue = z.infer<typeof ReadingValue>;

/** An archive record's timestamp on the meter's own clock (no zone: the meter keeps local time). */
const MeterLocalTime = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/, 'meter clock time as YYYY-MM-DDTHH:MM:SS');

/**
 * Set when the reading is one record of the meter's own archive read back, not a live poll. Two
 * families, told apart by `kind`:
 * - `hourly` / `daily`: a heat calculator's interval record (read back after a gap): every value
 *   carries the record's instant in `time` (the interval's start or end as `stamp` says), amounts
 *   are the interval's (`*_delta_*`) and temperatures its means.
 * - `due_date` (the billing-date value, Stichtag) / `month_end`: an M-Bus meter's stored register
 *   values (a storage number with its date record): plain registers (`energy_kwh`, `volume_m3`) as
 *   they stood at one instant, not amounts of an interval, so no `seconds` is needed. `record` is
 *   that instant on the meter's clock; the meter keeps local time and the gateway does not know the
 *   building's zone, so values carry no `time`: the head-end dates them by `record` in the
 *   building's zone.
 * Optional: a reading without it is a live poll, as every gateway sent before archives existed.
 */
const IntervalArchive = z.object({
  kind: z.enum(['hourly', 'daily']),
  /** The record's timestamp exactly as the meter keeps it (its local clock). */
  record: MeterLocalTime,
  stamp: z.enum(['start', 'end']),
  /** Length of the record's interval, seconds. */
  seconds: z.number().int().positive(),
  /** НС (fault) codes the meter recorded for the interval, by the register map's names. */
  nsCodes: z.array(z.string().min(1).max(32)).max(16).default([]),
});

const RegisterArchive = z.object({
  kind: z.enum(['due_date', 'month_end']),
  /** The instant the stored registers belong to, on the meter's clock (a due date's end: the next day 00:00). */
  record: MeterLocalTime,
  /** The storage's date record as the meter sent it (type G `YYYY-MM-DD`, type F with time). */
  date: z.string().regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2})?$/, 'meter date as YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS').optional(),
  /** M-Bus storage number the values were read from (1 = the most recent due date on most meters). */
  storage: z.number().int().min(1).max(2 ** 40).optional(),
  /** Not used by these kinds (register values at an instant); accepted so one shape serves every kind. */
  seconds: z.number().int().positive().optional(),
  nsCodes: z.array(z.string().min(1).max(32)).max(16).default([]),
});

export const ArchiveOrigin = z.discriminatedUnion('kind', [IntervalArchive, RegisterArchive]);
export type ArchiveOrigin = z.infer<typeof ArchiveOrigin>;

/** One successful read of one meter. */
export const MeterReading = z.object({
  /** Per-gateway sequence number, strictly increasing across restarts (kept in the outbox). */
  seq: z.number().int().nonnegative(),
  meter: MeterRef,
  /** When the gateway read the meter (the gateway's clock, NTP-synchronised). */
  gatewayTime: IsoTime,
  /** The meter's own clock, when it has one and reported it. */
  meterTime: IsoTime.optional(),
  quality: z.array(QualityFlag).max(16).default([]),
  values: z.array(ReadingValue).min(1).max(500),
  /** Present when this reading is a record of the meter's archive (see ArchiveOrigin). */
  archive: ArchiveOrigin.optional(),
}).superRefine((r, ctx) => {
  // One instant per register archive, chosen by the head-end from `record` and the building's zone:
  // a value with its own time would leave two answers to "when".
  if (r.archive?.kind !== 'due_date' && r.archive?.kind !== 'month_end') return;
  r.values.forEach((v, i) => {
    if (v.time !== undefined)
      ctx.addIssue({ code: 'custom', path: ['values', i, 'time'], message: `values of a ${r.archive!.kind} archive reading carry no time: the head-end dates them by archive.record in the building's zone` });
  });
});
export type MeterReading = z.infer<typeof MeterReading>;

export const ReadingsMessage = z.object({
  v: z.literal(CONTRACT_VERSION),
  gatewayId: GatewayId,
  sentAt: IsoTime,
  readings: z.array(MeterReading).min(1).max(1000),
});
export type ReadingsMessage = z.infer<typeof ReadingsMessage>;

export const GatewayStatus = z.object({
  v: z.literal(CONTRACT_VERSION),
  gatewayId: GatewayId,
  state: z.enum(['online', 'offline']),
  /** Absent in the LWT, which is fixed at connect time. */
  ts: IsoTime.optional(),
  reason: z.enum(['birth', 'shutdown', 'lwt']).optional(),
  software: z.string().max(64).optional(),
  startedAt: IsoTime.optional(),
  outboxDepth: z.number().int().nonnegative().optional(),
});
export type GatewayStatus = z.infer<typeof GatewayStatus>;

export const EVENT_KINDS = [
  'poll_failed', // one scheduled poll of a meter failed after all retries
  'meter_silent', // a meter failed N polls in a row
  'meter_back', // a silent meter answers again
  'meter_swapped', // the serial/manufacturer behind an address changed
  'outbox_near_full',
  'outbox_full', // the outbox is full: the documented policy applies (see gateway README)
  'config_applied',
  'config_rolled_back',
  'bus_error', // the serial port or TCP converter is unavailable
  'clock_far_off',
] as const;

export const GatewayEvent = z.object({
  v: z.literal(CONTRACT_VERSION),
  gatewayId: GatewayId,
  ts: IsoTime,
  kind: z.enum(EVENT_KINDS),
  severity: z.enum(['info', 'warning', 'error']),
  meterKey: z.string().max(64).optional(),
  bus: z.string().max(64).optional(),
  message: z.string().max(1000),
  data: z.record(z.string(), z.unknown()).optional(),
});
export type GatewayEvent = z.infer<typeof GatewayEvent>;

export const CommandName = z.enum(COMMAND_NAMES);
export type CommandName = z.infer<typeof CommandName>;

export const CommandRequest = z.object({
  v: z.literal(CONTRACT_VERSION),
  /** Correlates the reply; chosen by the sender. */
  id: z.string().min(1).max(64),
  args: z.record(z.string(), z.unknown()).default({}),
  /**
   * After this instant the command is not carried out (the reply says it expired). A gateway with a
   * persistent session gets QoS 1 commands queued while it was offline; without this, a `restart` the
   * head-end long gave up on would run hours later when the gateway comes back.
   */
  expiresAt: IsoTime.optional(),
});
export type CommandRequest = z.infer<typeof CommandRequest>;

export const CommandReply = z.object({
  v: z.literal(CONTRACT_VERSION),
  /** The request's id; absent only when the request was so malformed that it had no usable id. */
  id: z.string().min(1).max(64).optional(),
  ok: z.boolean(),
  result: z.unknown().optional(),
  error: z.string().max(2000).optional(),
  ts: IsoTime,
});
export type CommandReply = z.infer<typeof CommandReply>;

const BusName = z.string().min(1).max(64);
const MeterKey = z.string().min(1).max(64);
const PrimaryAddress = z.number().int().min(0).max(250);

/**
 * Arguments of each command. The head-end checks them before publishing and the gateway again on
 * receipt (a request may come from `mosquitto_pub`); unknown keys are refused so a typo
 * (`meter_id` for `meter`) is an error instead of "poll every meter".
 */
export const CommandArgs = {
  /** Every meter, or the ones named (`meter`: one, `meters`: several). */
  poll_now: z.strictObject({ meter: MeterKey.optional(), meters: z.array(MeterKey).min(1).max(1000).optional() })
    .refine((a) => !(a.meter && a.meters), { message: 'give meter or meters, not both' }),
  get_config: z.strictObject({}),
  /** The whole gateway config (as in its YAML file), checked like `amr-gateway check`. */
  set_config: z.strictObject({ config: z.record(z.string(), z.unknown()) }),
  /** M-Bus primary addresses from..to (0–250) by default; `secondary` search, or Modbus unit ids (`ids`). */
  scan: z.strictObject({ bus: BusName, mode: z.enum(['primary', 'secondary', 'ids']).optional(), from: PrimaryAddress.optional(), to: PrimaryAddress.optional() })
    .refine((a) => a.from === undefined || a.to === undefined || a.from <= a.to, { message: 'from must not be above to', path: ['from'] }),
  scan_bus: z.strictObject({ bus: BusName, mode: z.enum(['primary', 'secondary', 'ids']).optional(), from: PrimaryAddress.optional(), to: PrimaryAddress.optional() })
    .refine((a) => a.from === undefined || a.to === undefined || a.from <= a.to, { message: 'from must not be above to', path: ['from'] }),
  restart: z.strictObject({}),
} satisfies Record<CommandName, z.ZodType>;
export type CommandArgs = { [K in CommandName]: z.infer<(typeof CommandArgs)[K]> };

/** Result of `set_config`: applied, or rolled back to the previous config (then the reply is ok:false too). */
export const SetConfigResult = z.object({
  applied: z.boolean(),
  rolledBack: z.boolean(),
  /** Why it was rolled back (e.g. "no broker connection within 20000 ms: Connection refused: Not authorized"). */
  reason: z.string().optional(),
  /** Parts that take effect only when the service restarts (it asks for that itself). */
  restarting: z.boolean().optional(),
  meters: z.number().int().optional(),
  buses: z.number().int().optional(),
});
export type SetConfigResult = z.infer<typeof SetConfigResult>;

export function isCommandName(name: string): name is CommandName {
  return (COMMAND_NAMES as readonly string[]).includes(name);
}

/** Checks a command's arguments; the reason names each wrong key (`args.bus: …`). Never throws. */
export function parseCommandArgs<N extends CommandName>(name: N, args: unknown): { ok: true; data: CommandArgs[N] } | { ok: false; reason: string } {
  const r = (CommandArgs[name] as z.ZodType).safeParse(args ?? {});
  if (r.success) return { ok: true, data: r.data as CommandArgs[N] };
  const issues = r.error.issues.slice(0, 5).map((i) => {
    const at = ['args', ...i.path.map(String)].join('.');
    return i.code === 'unrecognized_keys' ? `${at}: unknown key(s) ${i.keys.join(', ')}` : `${at}: ${i.message}`;
  });
  return { ok: false, reason: `invalid arguments of ${name}: ${issues.join('; ')}` };
}

/**
 * Parses a raw MQTT payload with a contract schema. Never throws: returns a reason
 * naming what was wrong (for the head-end's dead-letter table).
 */
export function parsePayload<S extends z.ZodType>(
  schema: S,
  payload: Uint8Array | string,
): { ok: true; data: z.infer<S> } | { ok: false; reason: string } {
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength;
  if (size > MAX_PAYLOAD_BYTES) return { ok: false, reason: `payload too large: ${size} bytes > ${MAX_PAYLOAD_BYTES}` };
  let json: unknown;
  try {
    json = JSON.parse(typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8'));
  } catch (e) {
    return { ok: false, reason: `not JSON: ${(e as Error).message}` };
  }
  const r = schema.safeParse(json);
  if (r.success) return { ok: true, data: r.data };
  const first = r.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  return { ok: false, reason: `invalid ${first.join('; ')}` };
}
