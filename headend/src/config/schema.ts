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

/** A PostgreSQL memory size as its settings take it: 512kB, 4MB, 1GB. */
const pgSize = (def: string) => z.string().trim().regex(/^[1-9]\d{0,6}(?:kB|MB|GB)$/, 'a size in PostgreSQL units, such as 512kB, 4MB or 1GB').default(def);

/**
 * The keys without the cross-key checks (for tooling that lists variables). Every key carries its
 * meaning in `.describe()`: `amr-headend --help` prints it with the default (help.ts), and a test fails
 * on a key without one, so help and code cannot drift apart.
 */
export const ConfigObject = z.object({
  DATA_DIR: z.string().min(1).default('./.data')
    .describe('Folder for the embedded database (DATA_DIR/pg), the admin socket and the generated secrets key; memory:// keeps everything in memory (tests)'),
  DATABASE_URL: optionalUrl
    .describe('PostgreSQL/TimescaleDB server, postgres://user:pass@host:5432/db; unset = the embedded PGlite-TimescaleDB in DATA_DIR'),
  DB_PORT: port(0)
    .describe('Port of the embedded database socket; 0 = any free port'),
  DB_POOL_MAX: posInt(10)
    .describe('Connections in the pool to a TimescaleDB server (the embedded database always uses 1)'),
  EMBEDDED_SHARED_BUFFERS: z.string().trim().regex(/^(?:[1-9]\d{0,2}MB|1GB)$/, 'megabytes from 16MB to 999MB, or 1GB')
    .refine((s) => s === '1GB' || Number.parseInt(s, 10) >= 16, 'at least 16MB').default('128MB')
    .describe('Embedded database only: PostgreSQL shared_buffers, the page cache inside PGlite\'s WASM heap (allocated at start, never given back); 16MB–999MB or 1GB. 128MB suits a Raspberry Pi 4 with 2–4 GB (docs/capacity.md, "Memory"); 64MB on a 2 GB board shared with other services'),
  EMBEDDED_WORK_MEM: pgSize('4MB')
    .describe('Embedded database only: PostgreSQL work_mem, memory of one sort or hash before it spills to disk (several per query); the WASM heap keeps its peak'),
  EMBEDDED_MAINTENANCE_WORK_MEM: pgSize('64MB')
    .describe('Embedded database only: PostgreSQL maintenance_work_mem, memory of index builds, VACUUM and TimescaleDB compression'),
  EMBEDDED_TEMP_BUFFERS: pgSize('8MB')
    .describe('Embedded database only: PostgreSQL temp_buffers, the cache of temporary tables'),
  MQTT_URL: optionalUrl
    .describe('External MQTT broker (EMQX, Mosquitto) to subscribe to, mqtt://host:1883; unset = the embedded aedes broker on MQTT_PORT'),
  MQTT_USERNAME: optionalString
    .describe('User name of the head-end on the external broker (MQTT_URL)'),
  MQTT_PASSWORD: optionalString
    .describe('Password of the head-end on the external broker (MQTT_URL)'),
  MQTT_BROKER_AUTH: z.enum(['none', 'mosquitto-dynsec', 'emqx-http']).default('none')
    .describe('Who makes an external broker (MQTT_URL) enforce the registry\'s gateway passwords and topic ACL: none (the broker\'s own config; nothing enforced by the head-end), mosquitto-dynsec (the head-end manages Mosquitto\'s dynamic-security plugin with MQTT_ADMIN_USERNAME/PASSWORD), emqx-http (EMQX calls the head-end\'s POST /mqtt/emqx/authn and /mqtt/emqx/authz with MQTT_HOOK_TOKEN); the embedded broker always enforces them'),
  MQTT_ADMIN_USERNAME: optionalString
    .describe('mosquitto-dynsec: the dynamic-security admin client (mosquitto_ctrl dynsec init <file> <user>), which the head-end uses to create, rotate, disable and reconcile gateway clients'),
  MQTT_ADMIN_PASSWORD: optionalString
    .describe('mosquitto-dynsec: password of MQTT_ADMIN_USERNAME'),
  MQTT_HOOK_TOKEN: optionalString.pipe(z.string().min(24, 'at least 24 characters (openssl rand -base64 32)').optional())
    .describe('emqx-http: the token EMQX sends in the X-Amr-Hook-Token header of its HTTP authentication and authorization requests (docs/emqx.md); at least 24 characters'),
  MQTT_HOST: z.string().min(1).default('0.0.0.0')
    .describe('Address the embedded broker listens on'),
  MQTT_PORT: port(1884)
    .describe('Port of the embedded broker (plain MQTT); 0 = any free port'),
  MQTT_TLS_CERT: optionalString
    .describe('PEM certificate file of the embedded broker; with MQTT_TLS_KEY it adds a TLS listener on MQTT_TLS_PORT'),
  MQTT_TLS_KEY: optionalString
    .describe('PEM private key file matching MQTT_TLS_CERT'),
  MQTT_TLS_PORT: port(8884)
    .describe('Port of the embedded broker\'s TLS listener (when MQTT_TLS_CERT and MQTT_TLS_KEY are set)'),
  MQTT_CLIENT_ID: z.string().regex(/^[A-Za-z0-9_.-]{1,40}$/, 'letters, digits, _ . - (max 40)').optional()
    .describe('Client-id prefix on the external broker: stable across restarts (persistent sessions), distinct per head-end instance (the broker disconnects a duplicate); unset = the host name'),
  COMMAND_TIMEOUT_SECONDS: z.coerce.number().positive().max(3600).default(30)
    .describe('How long a command to a gateway waits for its reply before it counts as timed out (seconds)'),
  MQTT_SHARE_GROUP: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - only').default('amr-headend')
    .describe('Shared-subscription group on the external broker: head-ends in one group split the messages between them'),
  DATABASE_READ_URL: optionalUrl
    .describe('Read-only replica (hot standby) for dashboards and overviews; unset = the primary'),
  REDIS_URL: z.url().default('redis://127.0.0.1:6379')
    .describe('Redis for background jobs (bullmq): redis://[:password@]host:port[/db]; with REDIS_SENTINELS only its db number is used'),
  REDIS_SENTINELS: z.string().trim()
    .regex(/^(?:(?:\[[0-9A-Fa-f:]+\]|[A-Za-z0-9._-]+)(?::\d{1,5})?(?:\s*,\s*(?:\[[0-9A-Fa-f:]+\]|[A-Za-z0-9._-]+)(?::\d{1,5})?)*)?$/, 'host:port,host:port')
    .transform((s) => (s === '' ? undefined : s)).optional()
    .describe('Redis behind Sentinel: host:port,host:port (port default 26379); set = the master is found through them'),
  REDIS_SENTINEL_NAME: optionalString
    .describe('Master name the sentinels monitor (sentinel monitor <name> …); required with REDIS_SENTINELS'),
  REDIS_PASSWORD: optionalString
    .describe('Password of Redis and of the sentinels, kept out of REDIS_URL so the URL can sit in a ConfigMap'),
  REDIS_PREFIX: z.string().min(1).default('amr')
    .describe('Key prefix in Redis, so several installations share one server'),
  HTTP_HOST: z.string().min(1).default('0.0.0.0')
    .describe('Address the HTTP API (and /docs, /metrics, /health) listens on'),
  HTTP_PORT: port(8080)
    .describe('Port of the HTTP API; 0 = any free port'),
  TOKEN_TTL: z.string().trim().regex(/^\d+[smhd]?$/, 'seconds or a duration like 30m, 12h, 7d').default('12h')
    .describe('API session lifetime: seconds, or a duration such as 30m, 12h, 7d'),
  EXCHANGE_ROOT: z.string().trim().regex(/^\/(?!.*(^|\/)\.\.(\/|$))/, 'an absolute path without ".."').default('/var/lib/amr/exchange')
    .describe('File exchange (XML in/out folders) is confined to folders under this absolute path'),
  // Why the default generates a key rather than storing in clear: util/secret-box.ts.
  SECRETS_KEY: optionalString.pipe(z.string().refine((s) => Buffer.from(s, 'base64').length === 32 && Buffer.from(s, 'base64').toString('base64') === s,
    '32 bytes in base64 (openssl rand -base64 32)').optional())
    .describe('Seals stored secrets (exchange partners\' FTP passwords, SFTP keys) and keys the hashes of residents\' one-time access codes: 32 random bytes in base64 (openssl rand -base64 32); unset = a key generated on first start and kept in DATA_DIR/secrets.key (mode 0600). Replicas that do not share DATA_DIR must share this key; losing it means entering the secrets again and issuing new access codes'),
  EXCHANGE_FTPS_CA_FILE: optionalString
    .describe('PEM file of a private CA trusted for FTPS exchange partners, besides the system\'s'),
  TRUST_PROXY: optionalString.pipe(z.string().regex(/^(true|false|\d{1,2}|[0-9a-fA-F.:/]+(\s*,\s*[0-9a-fA-F.:/]+)*)$/, 'true, false, a hop count, or proxy addresses/CIDRs separated by commas').optional())
    .describe('Behind a reverse proxy: which X-Forwarded-For hops to believe for the client address (the residents\' sign-in limit counts per address): true (every hop), a hop count (1 = the proxy in front), or proxy addresses/CIDRs separated by commas; unset = the socket\'s address'),
  SIGN_IN_MAX_PER_ADDRESS: posInt(200)
    .describe('Failed residents\' sign-ins from one client address within 15 minutes before that address is answered 429 (each account has its own limit of 5, which is what protects it): carrier NAT puts thousands of residents behind one address, so keep it high'),
  PUBLIC_URL: optionalUrl
    .describe('The address residents reach this head-end at (https://meters.example.org): printed invite letters and their QR codes link there; unset = the address the office used to print them (fine only when that is the public one)'),
  IMPORT_MAX_BYTES: posInt(20 * 1024 * 1024)
    .describe('Largest accepted registry/readings import file, bytes'),
  INGEST_BATCH_SIZE: posInt(500)
    .describe('Readings messages per database transaction (a message carries up to 1 000 readings)'),
  INGEST_LINGER_MS: z.coerce.number().int().min(0).default(50)
    .describe('How long the first message of a batch waits for company before the batch is written, ms'),
  INGEST_MAX_PENDING: posInt(20_000)
    .describe('Messages waiting for commit above which new ones wait before being accepted (back-pressure on the gateways)'),
  INGEST_PARALLEL_BATCHES: posInt(4)
    .describe('Readings batches committing at once on a database server, each on its own pool connection (at most DB_POOL_MAX − 2); the embedded database always writes one at a time'),
  SUBMIT_LINGER_MS: z.coerce.number().int().min(0).default(5)
    .describe('How long the first readings entry of a batch (residents\' submissions, staff entries of a flat) waits for company before the batch is judged and written in one transaction, ms'),
  SUBMIT_MAX_BATCH: posInt(200)
    .describe('Readings entries (requests) judged and written in one transaction at most'),
  SUBMIT_PARALLEL_BATCHES: posInt(2)
    .describe('Batches of readings entries written at once on a database server (at most DB_POOL_MAX − 2); the embedded database writes one at a time'),
  INGEST_CLOCK_SKEW_SECONDS: z.coerce.number().int().min(0).default(600)
    .describe('How far a reading\'s time may lie after the head-end\'s clock, seconds; later readings, and readings before 2000, go to quarantine as implausible_time'),
  RAW_RETENTION_DAYS: z.coerce.number().int().min(0).default(0)
    .describe('Raw readings older than this many days are dropped by TimescaleDB (aggregates stay); 0 = keep forever'),
  VALIDATOR_INTERVAL_MS: posInt(2000)
    .describe('How often the validator takes the readings waiting for a verdict, ms'),
  METER_SILENT_MINUTES: posInt(24 * 60)
    .describe('A remote-read meter with no telemetry for this many minutes raises a meter_silent alert'),
  GATEWAY_SILENT_MINUTES: posInt(60)
    .describe('A gateway not seen for this many minutes raises a gateway_silent alert'),
  ALERT_WEBHOOK_URL: optionalUrl
    .describe('Alert notifications: a JSON body POSTed to this URL; unset = no webhook'),
  SMTP_URL: optionalUrl
    .describe('Alert and exchange e-mails through smtp://user:pass@host:port (smtps:// for TLS); unset = no e-mail'),
  SMTP_FROM: z.string().trim().default('amr-headend@localhost')
    .describe('Sender address of the head-end\'s e-mails'),
  ALERT_EMAIL_TO: optionalString
    .describe('Recipients of alert e-mails, separated by commas'),
  SHUTDOWN_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(300).default(10)
    .describe('On SIGTERM/SIGINT: the whole shutdown (broker, ingest, jobs, HTTP, database) takes at most this long; a step still running then is named in the log and the process exits with status 1. Keep it below the orchestrator\'s grace period (Kubernetes: 30 s)'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')
    .describe('Log level: fatal, error, warn, info, debug, trace or silent'),
});

export const ConfigSchema = ConfigObject.superRefine((c, ctx) => {
  if (c.REDIS_SENTINELS && !c.REDIS_SENTINEL_NAME) ctx.addIssue({ code: 'custom', path: ['REDIS_SENTINEL_NAME'], message: 'REDIS_SENTINEL_NAME is required with REDIS_SENTINELS' });
  if (c.MQTT_BROKER_AUTH !== 'none' && !c.MQTT_URL) {
    ctx.addIssue({ code: 'custom', path: ['MQTT_BROKER_AUTH'], message: `MQTT_BROKER_AUTH=${c.MQTT_BROKER_AUTH} is for an external broker: set MQTT_URL, or leave MQTT_BROKER_AUTH unset (the embedded broker enforces the registry itself)` });
  }
  if (c.MQTT_BROKER_AUTH === 'mosquitto-dynsec') {
    for (const k of ['MQTT_ADMIN_USERNAME', 'MQTT_ADMIN_PASSWORD'] as const) {
      if (!c[k]) ctx.addIssue({ code: 'custom', path: [k], message: `${k} is required with MQTT_BROKER_AUTH=mosquitto-dynsec (the dynamic-security admin client)` });
    }
    for (const k of ['MQTT_USERNAME', 'MQTT_PASSWORD'] as const) {
      if (!c[k]) ctx.addIssue({ code: 'custom', path: [k], message: `${k} is required with MQTT_BROKER_AUTH=mosquitto-dynsec: the head-end's own user, which it creates on Mosquitto with the head-end's role` });
    }
    // Giving a user a role makes Mosquitto end that user's sessions: the admin's would be the head-end's own control connection.
    if (c.MQTT_USERNAME && c.MQTT_USERNAME === c.MQTT_ADMIN_USERNAME) {
      ctx.addIssue({ code: 'custom', path: ['MQTT_USERNAME'], message: 'MQTT_USERNAME must differ from MQTT_ADMIN_USERNAME with mosquitto-dynsec: the head-end takes readings as its own user (e.g. amr-headend), the admin only manages clients' });
    }
  }
  if (c.MQTT_BROKER_AUTH === 'emqx-http' && !c.MQTT_HOOK_TOKEN) {
    ctx.addIssue({ code: 'custom', path: ['MQTT_HOOK_TOKEN'], message: 'MQTT_HOOK_TOKEN is required with MQTT_BROKER_AUTH=emqx-http (EMQX sends it in the X-Amr-Hook-Token header)' });
  }
  if (!!c.MQTT_TLS_CERT !== !!c.MQTT_TLS_KEY) {
    ctx.addIssue({ code: 'custom', path: [c.MQTT_TLS_CERT ? 'MQTT_TLS_KEY' : 'MQTT_TLS_CERT'], message: 'MQTT_TLS_CERT and MQTT_TLS_KEY must be set together' });
  }
});

export type Config = z.infer<typeof ConfigSchema>;
export const CONFIG_KEYS = Object.keys(ConfigObject.shape) as (keyof Config)[];
