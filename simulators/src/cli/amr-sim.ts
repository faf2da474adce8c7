// amr-sim: start simulated meters from the command line.
//   amr-sim building --config FILE [--truth FILE] [--truth-every SECONDS] [--speed N] [--no-pacing]
// Prints ONE JSON line with every endpoint opened (pty paths, TCP ports, addresses, serials), then
// runs until SIGINT/SIGTERM; with --truth it rewrites the truth file (monthly + daily) periodically
// and on exit.
import { readFile, writeFile, rename } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { pino } from 'pino';
import { startBuilding, type Building } from '../building/building.js';

const log = pino({ name: 'amr-sim' }, pino.destination(2));

const USAGE = 'usage: amr-sim building --config FILE [--truth FILE] [--truth-every SECONDS] [--speed N] [--no-pacing]';

async function writeTruth(b: Building, file: string): Promise<void> {
  const now = b.clock.now();
  const body = {
    generatedAt: now.toISOString(),
    building: b.endpoints.building,
    seed: b.config.seed,
    monthly: b.truthSeries('month', b.config.start, now),
    daily: b.truthSeries('day', b.config.start, now),
  };
  await writeFile(`${file}.tmp`, JSON.stringify(body, null, 1));
  await rename(`${file}.tmp`, file); // readers never see a half-written file
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      truth: { type: 'string' },
      'truth-every': { type: 'string', default: '10' },
      speed: { type: 'string' },
      'no-pacing': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || positionals[0] !== 'building') {
    process.stderr.write(`${USAGE}\n`);
    process.exit(values.help ? 0 : 2);
  }
  let config: Record<string, unknown> = {};
  if (values.config) {
    const text = await readFile(values.config, 'utf8').catch((e: Error) => {
      throw new Error(`cannot read --config ${values.config}: ${e.message}`);
    });
    config = (parseYaml(text) as Record<string, unknown>) ?? {};
  }
  if (values.speed !== undefined) config.speed = Number(values.speed);
  if (values['no-pacing']) config.pacing = false;
  const b = await startBuilding(config);
  process.stdout.write(`${JSON.stringify(b.endpoints)}\n`);
  log.info({ meters: b.meters.length }, 'building started');

  let timer: NodeJS.Timeout | undefined;
  if (values.truth) {
    const every = Number(values['truth-every']) * 1000;
    await writeTruth(b, values.truth);
    timer = setInterval(() => void writeTruth(b, values.truth!).catch((e) => log.error(e, 'truth write failed')), every);
  }
  const stop = async (sig: string) => {
    log.info({ sig }, 'stopping');
    if (timer) clearInterval(timer);
    if (values.truth) await writeTruth(b, values.truth);
    await b.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((e: Error) => {
  process.stderr.write(`amr-sim: ${e.message}\n`);
  process.exit(1);
});
