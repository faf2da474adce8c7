/**
 * The gateway's one configuration file, as a zod schema. Every key a user can get wrong is
 * checked here, at start (and before a remote `set_config` is applied), so a typo fails
 * loudly with the key named (`buses[1].baud: expected a positive integer`) instead of
 * surfacing as a silent meter at 3 a.m. Objects are strict: an unknown key is an error too.
 * Line timing defaults are derived from the baud afterwards (see resolve.ts / timing.ts).
 */
import { z } from 'zod';
import { GATEWAY_ID_PATTERN, QuantityName, REGISTER_MAPS } from '@amr/protocols';
import { parseDuration, parseSize } from './duration.js';
import { baudProblem, profileNames, registerMapNames, unknownNameMessage } from './knowledge.js';

const Name = z
  .string({ error: 'expected a name (letters, digits, _ . -)' })
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, { error: 'expected a name of letters, digits, _ . - (max 64)' });

const PosInt = z
  .number({ error: 'expected a positive integer' })
  .int({ error: 'expected a positive integer' })
  .positive({ error: 'expected a positive integer' });

const NonNegInt = z
  .number({ error: 'expected a non-negative integer' })
  .int({ error: 'expected a non-negative integer' })
  .min(0, { error: 'expected a non-negative integer' });

/** "15m", "30s", "250ms", or a number of milliseconds. */
export const Duration = z.union([z.number(), z.string()], { error: 'expected a duration like "15m", "30s" or "250ms"' }).transform((v, ctx) => {
  const ms = typeof v === 'number' ? v : parseDuration(v);
  if (ms === null || !Number.isFinite(ms) || ms < 0) {
    ctx.addIssue({ code: 'custom', message: `expected a duration like "15m", "30s" or "250ms", got ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return ms;
});

const Size = z.union([z.number(), z.string()], { error: 'expected a size like "64MiB"' }).transform((v, ctx) => {
  const n = typeof v === 'number' ? v : parseSize(v);
  if (n === null || n <= 0) {
    ctx.addIssue({ code: 'custom', message: `expected a size like "64MiB" or "500KB", got ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return n;
});

/** "/dev/ttyUSB0", "/dev/serial/by-id/…" or "tcp://host:port" (transparent serial-over-TCP converter). */
const Port = z.string({ error: 'expected a serial device path or tcp://host:port' }).refine((s) => s.startsWith('/') || /^tcp:\/\/[^:/]+:\d{1,5}$/.test(s), {
  error: 'expected a serial device path (/dev/…) or tcp://host:port',
});

const lineKeys = {
  name: Name,
  port: Port,
  baud: PosInt.optional(),
  dataBits: z.union([z.literal(7), z.literal(8)], { error: 'expected 7 or 8' }).default(8),
  parity: z.enum(['none', 'even', 'odd'], { error: 'expected none, even or odd' }).optional(),
  stopBits: z.union([z.literal(1), z.literal(2)], { error: 'expected 1 or 2' }).default(1),
  /** Whole-transaction response timeout; default derived from baud and frame length. */
  timeout: Duration.optional(),
  retries: NonNegInt.max(10, { error: 'expected at most 10 retries' }).default(2),
  /** Silence kept between frames; default derived from baud. */
  interFrameDelay: Duration.optional(),
  /** Level converters that echo the master's own request back: strip it before parsing. */
  echo: z.boolean({ error: 'expected true or false' }).default(false),
};

export const MbusBusConfig = z.strictObject({
  ...lineKeys,
  protocol: z.literal('mbus'),
  driver: z.enum(['native', 'libmbus'], { error: 'expected native or libmbus' }).default('native'),
  /** SND_NKE before the first REQ_UD2 of a meter ('once'), before every poll ('always') or never. */
  sndNke: z.enum(['once', 'always', 'never']).default('once'),
  /** Upper bound of follow-up telegrams read while the meter says "more records follow". */
  maxTelegrams: PosInt.max(64).default(8),
  /**
   * Longest silence tolerated inside one answer (the answer ends when its length field says so, not
   * at a gap); default 500 ms, or 40 character times on slow lines, + 400 ms on tcp://.
   */
  interByteTimeout: Duration.refine((ms) => ms >= 1, { error: 'expected an inter-byte timeout of at least 1ms' }).optional(),
});

export const ModbusBusConfig = z.strictObject({ ...lineKeys, protocol: z.literal('modbus') });
export const PulseBusConfig = z.strictObject({ ...lineKeys, protocol: z.literal('pulse') });

export const BusConfig = z.discriminatedUnion('protocol', [MbusBusConfig, ModbusBusConfig, PulseBusConfig], {
  error: 'expected protocol: mbus, modbus or pulse',
});
export type BusConfig = z.infer<typeof BusConfig>;

/** 8-digit identification number, optionally with manufacturer, version and medium (wildcards F / ? allowed). */
export const SECONDARY_PATTERN = /^[0-9F?]{8}(\.[A-Z@?]{3}(\.[0-9A-Fa-f?]{1,2}(\.[0-9A-Fa-f?]{1,2})?)?)?$/;

export const MeterConfig = z.strictObject({
  id: Name,
  bus: Name,
  /** M-Bus primary address 0…250. */
  primary: NonNegInt.max(250, { error: 'expected an M-Bus primary address 0…250' }).optional(),
  /** M-Bus secondary address "12345678" or "12345678.ACW.14.07". */
  secondary: z.string().regex(SECONDARY_PATTERN, { error: 'expected 8 digits, optionally .MAN.version.medium (e.g. 12345678.ACW.14.07)' }).optional(),
  /** Modbus slave id 1…247. */
  slave: z.number({ error: 'expected a Modbus slave id 1…247' }).int().min(1, { error: 'expected a Modbus slave id 1…247' }).max(247, { error: 'expected a Modbus slave id 1…247' }).optional(),
  /** Modbus register map name (from @amr/protocols). */
  registerMap: z.string().min(1).optional(),
  /** Pulse counter device address and channel. */
  device: z.number({ error: 'expected a pulse counter id 1…65534' }).int().min(1, { error: 'expected a pulse counter id 1…65534' }).max(65534, { error: 'expected a pulse counter id 1…65534' }).optional(),
  channel: NonNegInt.max(15, { error: 'expected a channel 0…15' }).optional(),
  /** Channels of the pulse counter model (fixes its answer length, 8 + 4·channels bytes). */
  channels: PosInt.max(16, { error: 'expected 1…16 channels' }).optional(),
  /** Pulse weight: quantity units per pulse (e.g. 0.01 m3/pulse). */
  weight: z.number({ error: 'expected a positive number' }).positive({ error: 'expected a positive number' }).optional(),
  /** Pulse meters: the named quantity the weighted count is (volume_m3, energy_kwh). */
  quantity: QuantityName.optional(),
  /** Pulse meters: register value at the moment the counter read `offsetPulses` (commissioning). */
  initialValue: z.number().finite().default(0),
  offsetPulses: NonNegInt.default(0),
  /** Meter profile name; 'auto' = chosen by manufacturer/version/medium, 'generic' = every record. */
  profile: z.string().min(1).default('auto'),
  interval: Duration.default(15 * 60_000).refine((ms) => ms >= 1000, { error: 'expected an interval of at least 1s' }),
  /** Shift of the aligned schedule, to spread many meters over a minute. */
  offset: Duration.default(0),
  /** Publish only these quantities (default: all the profile yields). */
  quantities: z.array(QuantityName).min(1).optional(),
  timeout: Duration.optional(),
  retries: NonNegInt.max(10).optional(),
  /** 'low' polls are refused first when the outbox is near full (see README, outbox policy). */
  priority: z.enum(['normal', 'low']).default('normal'),
  /**
   * Modbus meters whose register map has archives (heat calculators): after a gap in the polls
   * (gateway off, line down) the missed hours are read back from the meter's hourly archive and the
   * missed days from its daily archive (runtime/backfill.ts); the archives in `routine` (the daily
   * one by default) are also read without a gap, each finished record once.
   */
  backfill: z.strictObject({
    /** The meter's clock, minutes ahead of UTC: it keeps local time and knows no zone (Moscow: 180). */
    utcOffsetMinutes: z.number().int().min(-720).max(840),
    /** Never further back than this (a meter's hourly archive holds weeks; the outbox should not). */
    maxAge: Duration.default(7 * 86_400_000),
    /** A gap is a last successful poll older than one interval plus this. */
    slack: Duration.default(60_000),
    /** Which of the map's archives to read back (default: every one it has, e.g. hourly and daily). Checked against the map. */
    archives: z.array(z.string().min(1)).min(1)
      .refine((a) => new Set(a).size === a.length, { error: 'an archive is named twice; name each once (e.g. ["hourly", "daily"])' }).optional(),
    /**
     * Which of those archives are also read without a gap: each finished record once, after its end
     * (default ["daily"]: the day's record after each meter-local midnight; [] for none). Live polls
     * already cover the hours, so the hourly archive is read routinely only when named here.
     */
    routine: z.array(z.string().min(1))
      .refine((a) => new Set(a).size === a.length, { error: 'an archive is named twice; name each once (e.g. ["daily"])' }).optional(),
  }).optional(),
});
export type MeterConfig = z.infer<typeof MeterConfig>;

export const MqttConfig = z.strictObject({
  url: z.string({ error: 'expected an MQTT URL like mqtt://host:1883 or mqtts://host:8883' }).regex(/^(mqtts?|wss?|tcp|ssl):\/\/[^\s]+$/, { error: 'expected an MQTT URL like mqtt://host:1883 or mqtts://host:8883' }),
  clientId: z.string().min(1).max(64).optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  /** Read the password from a file (keeps secrets out of the config that `get_config` returns). */
  passwordFile: z.string().optional(),
  tls: z
    .strictObject({
      ca: z.string().optional(),
      cert: z.string().optional(),
      key: z.string().optional(),
      rejectUnauthorized: z.boolean().default(true),
    })
    .optional(),
  keepalive: PosInt.default(30),
  /** Readings per ReadingsMessage. */
  batchSize: PosInt.max(1000).default(100),
  reconnectMin: Duration.default(1000),
  reconnectMax: Duration.default(60_000),
});

export const GatewayConfig = z
  .strictObject({
    gateway: z.strictObject({
      id: z.string({ error: 'expected a gateway id' }).regex(GATEWAY_ID_PATTERN, { error: 'expected letters, digits, _ . - (max 64), no / + #' }),
      bufferDir: z.string({ error: 'expected a directory path' }).min(1),
      outboxMaxBytes: Size.default(64 * 1024 * 1024),
      /** Fraction of outboxMaxBytes at which the near-full alarm fires and low-priority polls stop. */
      outboxNearFull: z.number().gt(0).lt(1).default(0.8),
      /** Readings kept in memory while the outbox's disk refuses writes (full, failing); beyond, polls are refused. */
      outboxMemoryReadings: PosInt.default(10_000),
      /** How often a refusing outbox disk is tried again (appends try it on every poll too). */
      outboxRetry: Duration.default(5000),
      /** Meter clock further off than this → clock_far_off flag. */
      clockTolerance: Duration.default(5 * 60_000),
      /** Consecutive failed polls after which a meter is reported silent. */
      silentAfter: PosInt.default(3),
      /** A lost bus line (device gone, converter restarted) is reopened after reopenMin, doubling up to reopenMax. */
      reopenMin: Duration.default(500).refine((ms) => ms >= 10, { error: 'expected at least 10ms' }),
      reopenMax: Duration.default(30_000),
    }),
    mqtt: MqttConfig,
    health: z
      .strictObject({
        host: z.string().default('0.0.0.0'),
        port: NonNegInt.max(65535),
        /** How long the broker may be disconnected, or a bus be reopening, before /health says not ok (503). */
        grace: Duration.default(2 * 60_000),
      })
      .optional(),
    rawLog: z
      .strictObject({ dir: z.string().min(1), maxBytes: Size.default(10 * 1024 * 1024), files: PosInt.default(5) })
      .optional(),
    buses: z.array(BusConfig).min(1, { error: 'expected at least one bus' }),
    meters: z.array(MeterConfig).default([]),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.gateway.reopenMax < cfg.gateway.reopenMin) ctx.addIssue({ code: 'custom', path: ['gateway', 'reopenMax'], message: `must be at least reopenMin (${cfg.gateway.reopenMin} ms)` });
    if ((cfg.mqtt.password !== undefined || cfg.mqtt.passwordFile !== undefined) && cfg.mqtt.username === undefined)
      ctx.addIssue({ code: 'custom', path: ['mqtt', 'username'], message: 'a password needs a username (MQTT 3.1.1)' });
    const buses = new Map<string, BusConfig>();
    const ports = new Map<string, number>();
    cfg.buses.forEach((b, i) => {
      if (buses.has(b.name)) ctx.addIssue({ code: 'custom', path: ['buses', i, 'name'], message: `duplicate bus name "${b.name}"` });
      buses.set(b.name, b);
      const other = ports.get(b.port);
      if (other !== undefined)
        ctx.addIssue({ code: 'custom', path: ['buses', i, 'port'], message: `${b.port} is already the port of buses[${other}] (${cfg.buses[other].name}); one bus per line: put both buses' meters on one bus` });
      else ports.set(b.port, i);
      const bad = b.baud === undefined ? null : baudProblem(b.protocol, b.baud);
      if (bad) ctx.addIssue({ code: 'custom', path: ['buses', i, 'baud'], message: bad });
    });
    const ids = new Map<string, number>();
    const addrs = new Map<string, number>();
    const maps = registerMapNames();
    const profiles = profileNames();
    cfg.meters.forEach((m, i) => {
      const at = (key: string) => ['meters', i, key];
      const firstWithId = ids.get(m.id);
      if (firstWithId !== undefined) ctx.addIssue({ code: 'custom', path: at('id'), message: `duplicate meter id "${m.id}" (also meters[${firstWithId}]); every meter needs its own id: rename one` });
      else ids.set(m.id, i);
      if (!profiles.includes(m.profile)) ctx.addIssue({ code: 'custom', path: at('profile'), message: unknownNameMessage('meter profile', m.profile, profiles) });
      const bus = buses.get(m.bus);
      if (!bus) {
        ctx.addIssue({ code: 'custom', path: at('bus'), message: `no bus named "${m.bus}" (buses: ${[...buses.keys()].join(', ')})` });
        return;
      }
      const has = (k: keyof MeterConfig) => m[k] !== undefined;
      const foreign = (keys: (keyof MeterConfig)[]) =>
        keys.filter(has).forEach((k) => ctx.addIssue({ code: 'custom', path: at(k), message: `not allowed for a ${bus.protocol} meter` }));
      let addr = '';
      let addrKey = 'bus';
      if (bus.protocol === 'mbus') {
        if (has('primary') === has('secondary')) ctx.addIssue({ code: 'custom', path: at('primary'), message: 'an M-Bus meter needs exactly one of primary or secondary' });
        foreign(['slave', 'registerMap', 'device', 'channel', 'channels', 'weight', 'quantity', 'backfill']);
        addr = m.secondary ?? String(m.primary);
        addrKey = m.secondary !== undefined ? 'secondary' : 'primary';
      } else if (bus.protocol === 'modbus') {
        if (!has('slave')) ctx.addIssue({ code: 'custom', path: at('slave'), message: 'a Modbus meter needs a slave id 1…247' });
        if (!has('registerMap')) ctx.addIssue({ code: 'custom', path: at('registerMap'), message: `a Modbus meter needs a registerMap (known: ${maps.join(', ')})` });
        else if (!maps.includes(m.registerMap!)) ctx.addIssue({ code: 'custom', path: at('registerMap'), message: unknownNameMessage('register map', m.registerMap!, maps) });
        foreign(['primary', 'secondary', 'device', 'channel', 'channels', 'weight', 'quantity']);
        if (has('backfill') && maps.includes(m.registerMap ?? '') && !REGISTER_MAPS[m.registerMap!].archives)
          ctx.addIssue({ code: 'custom', path: at('backfill'), message: `register map ${m.registerMap} has no archives to back-fill from` });
        else if (m.backfill && maps.includes(m.registerMap ?? '')) {
          const kinds = Object.keys(REGISTER_MAPS[m.registerMap!].archives!.kinds);
          const unknown = (m.backfill.archives ?? []).filter((k) => !kinds.includes(k));
          if (unknown.length > 0)
            ctx.addIssue({ code: 'custom', path: [...at('backfill'), 'archives'], message: `register map ${m.registerMap} has no ${unknown.join(', ')} archive (it has: ${kinds.join(', ')}); list some of those in backfill.archives or leave it out for all` });
          // Read routinely but never read at all would be a silent no-op: named, with the fix.
          const read = m.backfill.archives ?? kinds;
          const notRead = (m.backfill.routine ?? []).filter((k) => !read.includes(k));
          if (notRead.length > 0)
            ctx.addIssue({ code: 'custom', path: [...at('backfill'), 'routine'], message: `backfill.routine names ${notRead.join(', ')}, which ${m.backfill.archives ? 'backfill.archives leaves out' : `register map ${m.registerMap} has not`} (read: ${read.join(', ')}); name only archives that are read, or [] for none` });
        }
        addr = String(m.slave);
        addrKey = 'slave';
      } else {
        for (const k of ['channel', 'weight', 'quantity'] as const)
          if (!has(k)) ctx.addIssue({ code: 'custom', path: at(k), message: `a pulse meter needs ${k}` });
        foreign(['primary', 'secondary', 'slave', 'registerMap', 'backfill']);
        addr = `${m.device ?? 1}:${m.channel}`;
        addrKey = 'channel';
      }
      const key = `${m.bus}/${addr}`;
      const first = addrs.get(key);
      if (first !== undefined)
        ctx.addIssue({ code: 'custom', path: at(addrKey), message: `address ${addr} on bus ${m.bus} is already used by meters[${first}] (${cfg.meters[first].id}); two meters cannot answer at one address: give each its own` });
      else addrs.set(key, i);
    });
  });

export type GatewayConfigInput = z.input<typeof GatewayConfig>;
export type GatewayConfig = z.infer<typeof GatewayConfig>;
