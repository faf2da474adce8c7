/**
 * `amr-headend [serve|migrate|user]` — serve (default) runs the head-end on embedded defaults unless
 * DATABASE_URL / MQTT_URL / REDIS_URL point elsewhere; migrate applies pending migrations and exits;
 * `user create|passwd` make the first admin or recover a password through the RUNNING head-end's
 * admin socket in DATA_DIR (src/admin/channel.ts explains why and who can use it).
 * Configuration comes from the environment (see src/config/schema.ts); `--help` lists the keys.
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadConfig, ConfigError, CONFIG_KEYS } from '../config/index.js';
import { adminRequest, adminSocketPath } from '../admin/channel.js';
import { Role } from '../auth/roles.js';
import { readPassword } from './password-input.js';

const USAGE = `usage: amr-headend [serve|migrate]
       amr-headend user create <login> --role admin [--org N] [--password-file F]
       amr-headend user passwd <login> [--password-file F]

  serve     run broker, ingestion, jobs and API (default)
  migrate   apply pending database migrations and exit
  user create   create a user (the first admin of an installation) in the running head-end
  user passwd   set a user's password in the running head-end (recovery); ends its sessions

  user commands talk to the head-end running on this machine with the same DATA_DIR, through its
  owner-only socket DATA_DIR/admin/headend.sock; run them as the OS user that runs the head-end.
  The password is read from --password-file, else from stdin (first line), else asked twice
  without echo; it is never taken from the command line. --org N (not for admin) grants the
  buildings of organisation N.

configuration (environment): ${CONFIG_KEYS.join(', ')}`;

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { help: { type: 'boolean', short: 'h' }, role: { type: 'string' }, org: { type: 'string' }, 'password-file': { type: 'string' } },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const cmd = positionals[0] ?? 'serve';
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      return 2;
    }
    throw e;
  }
  if (cmd === 'user') return userCommand(positionals.slice(1), values, config.DATA_DIR);
  const logger = pino({ level: config.LOG_LEVEL, base: { app: 'amr-headend' } });

  // Loaded here, not at the top: `user` commands do not need the whole server in the process.
  const { openDb, migrate } = await import('../db/index.js');
  const { startHeadend } = await import('../server/index.js');
  if (cmd === 'migrate') {
    const opened = await openDb({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR, dbPort: config.DB_PORT, poolMax: 1, log: (m) => logger.info(m) });
    try {
      const r = await migrate(opened.db, { log: (m) => logger.info(m) });
      logger.info({ applied: r.applied, changed: r.changed }, `${r.applied.length} migration(s) applied, ${r.skipped.length} already applied`);
      return r.changed.length ? 1 : 0;
    } finally {
      await opened.close();
    }
  }
  if (cmd !== 'serve') {
    console.error(`unknown command "${cmd}"\n${USAGE}`);
    return 2;
  }
  const headend = await startHeadend({ config, logger });
  logger.info({ mqttPort: headend.mqttPort, http: headend.httpUrl }, 'head-end running');
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (sig: string) => {
      if (stopping) return;
      stopping = true;
      logger.info(`${sig}: flushing batches and shutting down`);
      headend.close().then(resolve, resolve);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  return 0;
}

/** `user create|passwd`: the arguments checked here, the change made by the running head-end. */
async function userCommand(args: string[], opts: { role?: string; org?: string; 'password-file'?: string }, dataDir: string): Promise<number> {
  const [sub, login, ...extra] = args;
  const fail = (m: string) => {
    console.error(`amr-headend user: ${m}\n\n${USAGE}`);
    return 2;
  };
  if (sub !== 'create' && sub !== 'passwd') return fail(`unknown or missing subcommand "${sub ?? ''}": use create or passwd`);
  if (!login) return fail(`give the login: amr-headend user ${sub} <login>`);
  if (extra.length) return fail(`unexpected ${extra.map((e) => `"${e}"`).join(', ')} (a password is never given on the command line: use stdin, the prompt or --password-file)`);
  let role: Role | undefined;
  let org: number | undefined;
  if (sub === 'create') {
    const r = Role.safeParse(opts.role);
    if (!r.success) return fail(`--role is required: one of ${Role.options.join(', ')}`);
    role = r.data;
    if (opts.org !== undefined) {
      org = Number(opts.org);
      if (!Number.isInteger(org) || org <= 0) return fail(`--org must be an organisation id (a positive integer), got "${opts.org}"`);
    }
  } else if (opts.role !== undefined || opts.org !== undefined) return fail('passwd takes no --role or --org');
  if (dataDir.startsWith('memory://')) return fail('DATA_DIR=memory:// has no admin socket: a head-end in memory cannot be reached from another process');
  const path = adminSocketPath(dataDir);
  let password: string;
  try {
    password = await readPassword({ file: opts['password-file'], prompt: `password for ${login}: `, confirm: `again: ` });
  } catch (e) {
    console.error(`amr-headend user: ${(e as Error).message}`);
    return 2;
  }
  try {
    const r = sub === 'create'
      ? await adminRequest(path, { cmd: 'user.create', login, role: role!, ...(org !== undefined ? { org } : {}), password })
      : await adminRequest(path, { cmd: 'user.passwd', login, password });
    if (!r.ok) {
      console.error(`amr-headend user ${sub}: ${r.error}`);
      return 1;
    }
    console.log(r.message);
    return 0;
  } catch (e) {
    console.error(`amr-headend user ${sub}: ${(e as Error).message}`);
    return 3;
  }
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    console.error(`amr-headend: ${e.message}`);
    process.exit(1);
  },
);
