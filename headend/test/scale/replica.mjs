/**
 * One head-end replica as a process of its own, for the scale-out test: the built head-end (run
 * `npx tsc -b` first), configured from its environment, taking readings from the external broker only
 * (no API, no jobs). Says "ready" on stdout once its shared subscriptions are in place, so the test
 * can kill it (SIGKILL: no shutdown at all) knowing it took part.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';

const dist = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
if (!existsSync(dist)) {
  process.stderr.write(`replica: ${dist} missing: run \`npx tsc -b\` first\n`);
  process.exit(2);
}
const { loadConfig, startHeadend } = await import(dist);
const config = loadConfig(process.env);
const he = await startHeadend({ config, logger: pino({ level: config.LOG_LEVEL }, pino.destination(2)), api: false, jobs: false });
await he.subscriber.ready;
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  he.close().then(() => process.exit(0), () => process.exit(1));
});
