/**
 * The head-end's configuration, from environment variables. One zod schema is the single source:
 * defaults, types and the error messages (which name the variable). Exported so deployment files
 * (docker-compose env) can be checked against it.
 */
import { z } from 'zod';

const port = (def: number) => z.coerce.number().int().min(0).max(65535).default(def);
const posInt = (def: number) => z.coerce.number().int().positive().default(def);
const optionalUrl = z
  .string()
  .trim()
  .transform((s) => (s === '' ? undefined : s))
  .pipe(z.url().optional())
  .optional();
const optionalString = z
  .string()
  .trim()
  .transform((s) => (s === '' ? undefined : s))
  .optional();

/** The keys without the cross-key checks (for tooling that lists variables). */
export const ConfigObject = z.object({
  DATA_DIR: z.string().min(1).default('./.data'),
  /** Unset = embedded PGlite-TimescaleDB in DATA_DIR. */
  DATABASE_URL: optionalUrl,
  /** Port of the embedded database socket; 0 = any free port. */
  DB_PORT: port(0),
  /** Pool size against a TimescaleDB server (embedded mode always uses 1). */
  DB_POOL_MAX: posInt(10),
  /** Unset = embedded aedes broker on MQTT_PORT. */
  MQTT_URL: optionalUrl,
  MQTT_USERNAME: optionalString,
  MQTT_PASSWORD: optionalString,
  MQTT_HOST: z.string().min(1).default('0.0.0.0'),
  MQTT_PORT: port(1884),
  /** TLS for the embedded broker: both set = TLS listener on MQTT_TLS_PORT. */
  MQTT_TLS_CERT: optionalString,
  MQTT_TLS_KEY: optionalString,
  MQTT_TLS_PORT: port(8884),
  /** Client-id prefix on the external broker: stable across restarts (persistent sessions), distinct
   *  per head-end instance (the same id twice makes the broker disconnect one). Default: host name. */
  MQTT_CLIENT_ID: z.string().regex(/^[A-Za-z0-9_.-]{1,40}$/, 'letters, digits, _ . - (max 40)').optional(),
  /** How long a command to a gateway waits for its reply before it counts as timed out (seconds; src/commands/). */
  COMMAND_TIMEOUT_SECONDS: z.coerce.number().positive().max(3600).default(30),
  /** Shared-subscription group for several head-ends on one external broker. */
  MQTT_SHARE_GROUP: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - only').default('amr-headend'),
  /** Read-only replica (hot standby) for dashboard queries (src/db/read-replica.ts). Unset = the primary. */
  DATABASE_READ_URL: optionalUrl,
  REDIS_URL: z.url().default('redis://127.0.0.1:6379'),
  /** Redis behind Sentinel: "host:port,host:port" (port default 26379). Set = the master is found through them; REDIS_URL lends only its db number. */
  REDIS_SENTINELS: z.string().trim()
    .regex(/^(?:(?:\[[0-9A-Fa-f:]+\]|[A-Za-z0-9._-]+)(?::\d{1,5})?(?:\s*,\s*(?:\[[0-9A-Fa-f:]+\]|[A-Za-z0-9._-]+)(?::\d{1,5})?)*)?$/, 'host:port,host:port')
    .transform((s) => (s === '' ? undefined : s)).optional(),
  /** Master name the sentinels monitor (`sentinel monitor <name> …`); required with REDIS_SENTINELS. */
  REDIS_SENTINEL_NAME: optionalString,
  /** Password of Redis and of the sentinels; kept out of REDIS_URL so the URL can sit in a ConfigMap. */
  REDIS_PASSWORD: optionalString,
  REDIS_PREFIX: z.string().min(1).default('amr'),
  HTTP_HOST: z.string().min(1).default('0.0.0.0'),
  HTTP_PORT: port(8080),
  /** API token lifetime: seconds, or a duration such as 30m, 12h, 7d. */
  TOKEN_TTL: z.string().trim().regex(/^\d+[smhd]?$/, 'seconds or a duration like 30m, 12h, 7d').default('12h'),
  /** File exchange (XML in/out folders) is confined to folders under this absolute path. */
  EXCHANGE_ROOT: z.string().trim().regex(/^\/(?!.*(^|\/)\.\.(\/|$))/, 'an absolute path without ".."').default('/var/lib/amr/exchange'),
  /**
   * Seals stored secrets (exchange partners' FTP passwords, SFTP keys) in the database: 32 random bytes
   * in base64 (`openssl rand -base64 32`). Unset = the head-end generates a key on first start and keeps
   * it in DATA_DIR/secrets.key (mode 0600; memory:// data dirs: a key for the process's lifetime), so
   * secrets are never stored in clear; secrets stored in clear by older versions still work and are
   * sealed on their next write. Several replicas that do not share DATA_DIR must all be given the same
   * SECRETS_KEY. Losing the key means entering the secrets again.
   */
  SECRETS_KEY: optionalString.pipe(z.string().refine((s) => Buffer.from(s, 'base64').length === 32 && Buffer.from(s, 'base64').toString('base64') === s,
    '32 bytes in base64 (openssl rand -base64 32)').optional()),
  /** PEM file of a private CA trusted for FTPS exchange partners, besides the system's. */
  EXCHANGE_FTPS_CA_FILE: optionalString,
  /**
   * Behind a reverse proxy or ingress: which X-Forwarded-For hops to believe for the client address
   * (the residents' sign-in limit counts per address). "true" (every hop), a hop count ("1": the
   * proxy in front), or a comma-separated list of proxy addresses/CIDRs. Unset = the socket's address.
   */
  TRUST_PROXY: optionalString.pipe(z.string().regex(/^(true|false|\d{1,2}|[0-9a-fA-F.:/]+(\s*,\s*[0-9a-fA-F.:/]+)*)$/, 'true, false, a hop count, or proxy addresses/CIDRs separated by commas').optional()),
  /** Largest accepted registry/readings import file, bytes. */
  IMPORT_MAX_BYTES: posInt(20 * 1024 * 1024),
  /** Readings MESSAGES per database transaction (a message carries up to 1 000 readings). */
  INGEST_BATCH_SIZE: posInt(500),
  /** How long the first message of a batch waits for company before the batch is written. */
  INGEST_LINGER_MS: z.coerce.number().int().min(0).default(50),
  /** Messages waiting for commit above which new ones wait before being accepted (back-pressure). */
  INGEST_MAX_PENDING: posInt(20_000),
  /**
   * How far, in seconds, a reading's time may lie after the head-end's clock (gateway clocks run a little
   * ahead); later readings, and readings before 2000, go to quarantine as 'implausible_time', never into readings.
   */
  INGEST_CLOCK_SKEW_SECONDS: z.coerce.number().int().min(0).default(600),
  /** Raw readings older than this are dropped by TimescaleDB; 0 = keep forever (aggregates stay). */
  RAW_RETENTION_DAYS: z.coerce.number().int().min(0).default(0),
  /** How often the validator drains its queue (readings waiting for a verdict), ms. */
  VALIDATOR_INTERVAL_MS: posInt(2000),
  /** A meter with no telemetry for this long raises a meter_silent alert (remote-read meters only). */
  METER_SILENT_MINUTES: posInt(24 * 60),
  /** A gateway not seen for this long raises a gateway_silent alert. */
  GATEWAY_SILENT_MINUTES: posInt(60),
  /** Alert notifications: POST of a JSON body to this URL. Unset = no webhook. */
  ALERT_WEBHOOK_URL: optionalUrl,
  /** Alert notifications by e-mail: smtp://user:pass@host:port (smtps:// for TLS). Unset = no e-mail. */
  SMTP_URL: optionalUrl,
  SMTP_FROM: z.string().trim().default('amr-headend@localhost'),
  /** Comma-separated recipients of alert e-mails. */
  ALERT_EMAIL_TO: optionalString,
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export const ConfigSchema = ConfigObject.superRefine((c, ctx) => {
  if (c.REDIS_SENTINELS && !c.REDIS_SENTINEL_NAME) ctx.addIssue({ code: 'custom', path: ['REDIS_SENTINEL_NAME'], message: 'REDIS_SENTINEL_NAME is required with REDIS_SENTINELS' });
  if (!!c.MQTT_TLS_CERT !== !!c.MQTT_TLS_KEY) {
    ctx.addIssue({ code: 'custom', path: [c.MQTT_TLS_CERT ? 'MQTT_TLS_KEY' : 'MQTT_TLS_CERT'], message: 'MQTT_TLS_CERT and MQTT_TLS_KEY must be set together' });
  }
});

export type Config = z.infer<typeof ConfigSchema>;
export const CONFIG_KEYS = Object.keys(ConfigObject.shape) as (keyof Config)[];
