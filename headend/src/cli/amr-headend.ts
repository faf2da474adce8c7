/**
 * `amr-headend [serve|migrate]` — serve (default) runs the head-end on embedded defaults unless
 * DATABASE_URL / MQTT_URL / REDIS_URL point elsewhere; migrate applies pending migrations and exits.
 * Configuration comes from the environment (see src/config/schema.ts); `--help` lists the keys.
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadConfig, ConfigError, CONFIG_KEYS } from '../config/index.js';
import { openDb, migrate } from '../db/index.js';
import { startHeadend } from '../server/index.js';

const USAGE = `usage: amr-headend [serve|migrate]

  serve     run broker, ingestion, jobs and API (default)
  migrate   apply pending database migrations and exit

configuration (environment): ${CONFIG_KEYS.join(', ')}`;

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({ allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } });
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
  const logger = pino({ level: config.LOG_LEVEL, base: { app: 'amr-headend' } });

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

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    console.error(`amr-headend: ${e.message}`);
    process.exit(1);
  },
);
