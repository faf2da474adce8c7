/**
 * `amr-headend [serve|migrate|user]` — serve (default) runs the head-end on embedded defaults unless
 * DATABASE_URL / MQTT_URL / REDIS_URL point elsewhere; migrate applies pending migrations and exits;
 * `user create|passwd` make the first admin or recover a password through the RUNNING head-end's
 * admin socket in DATA_DIR (src/admin/channel.ts explains why and who can use it).
 * Configuration comes from the environment (src/config/schema.ts); `--help` lists every variable with
 * its meaning and default, generated from that schema.
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadConfig, ConfigError, configHelp } from '../config/index.js';
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

  serve stops on SIGTERM or SIGINT within SHUTDOWN_TIMEOUT_SECONDS: MQTT first (no new message is
  taken), then what ingest holds is written, then jobs, HTTP and the database; exit status 0 when every
  step finished, 1 when one was cut off (the log names it). A second signal exits at once (status 1).

configuration (environment variables):
${configHelp()}`;

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
  const { openDb, migrate, embeddedMemoryOf } = await import('../db/index.js');
  const { startHeadend } = await import('../server/index.js');
  if (cmd === 'migrate') {
    const opened = await openDb({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR, dbPort: config.DB_PORT, poolMax: 1, embeddedMemory: embeddedMemoryOf(config), log: (m) => logger.info(m) });
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
  return new Promise<number>((resolve) => {
    let step = 'starting';
    const stop = (sig: string) => {
      if (step !== 'starting') {
        logger.error({ step }, `${sig} again: exiting now, shutdown was at step "${step}"`);
        return resolve(1);
      }
      step = 'broker';
      const deadlineMs = config.SHUTDOWN_TIMEOUT_SECONDS * 1000;
      logger.info(`${sig}: shutting down (at most ${config.SHUTDOWN_TIMEOUT_SECONDS} s): MQTT, ingest, jobs, HTTP, database`);
      // The steps are bounded by the deadline themselves; this timer is for a step that blocks the
      // event loop past it, or a bound that did not hold: exit anyway, naming where it hung.
      const hard = setTimeout(() => {
        logger.error({ step }, `shutdown did not finish within ${config.SHUTDOWN_TIMEOUT_SECONDS} s: stuck at step "${step}"; exiting`);
        resolve(1);
      }, deadlineMs + 500);
      hard.unref();
      headend.shutdown({ deadlineMs, onStep: (s) => (step = s) }).then((r) => {
        clearTimeout(hard);
        if (r.stuck) logger.error({ step: r.stuck, steps: r.steps }, `shutdown did not finish within ${config.SHUTDOWN_TIMEOUT_SECONDS} s: stuck at step "${r.stuck}"; exiting`);
        else if (!r.clean) logger.error({ steps: r.steps }, `shutdown cut off ${r.steps.filter((x) => x.outcome === 'timed_out').map((x) => x.name).join(', ')}; exiting`);
        else logger.info({ steps: r.steps }, 'shut down');
        resolve(r.clean ? 0 : 1);
      }, (e: Error) => {
        logger.error({ err: e.message, step }, `shutdown failed at step "${step}"`);
        resolve(1);
      });
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
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
