// The amr-sim command, as a function (the bin calls it; tests call it in-process).
import { readFile, rename, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import type { Logger } from 'pino';
import { startBuilding, type Building } from '../building/building.js';

export const USAGE = 'usage: amr-sim building --config FILE [--truth FILE] [--truth-every SECONDS] [--speed N] [--no-pacing]';

export async function writeTruth(b: Building, file: string): Promise<void> {
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

export interface CliHandle {
  building: Building;
  /** Writes the truth one last time (with --truth) and closes every line. */
  stop(): Promise<void>;
}

export async function runCli(argv: string[], out: (line: string) => void, log?: Logger): Promise<CliHandle> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      truth: { type: 'string' },
      'truth-every': { type: 'string', default: '10' },
      speed: { type: 'string' },
      'no-pacing': { type: 'boolean', default: false },
    },
  });
  if (positionals[0] !== 'building') throw new Error(`unknown command "${positionals[0] ?? ''}"\n${USAGE}`);
  let config: Record<string, unknown> = {};
  if (values.config) {
    const text = await readFile(values.config, 'utf8').catch((e: Error) => {
      throw new Error(`cannot read --config ${values.config}: ${e.message}`);
    });
    config = (parseYaml(text) as Record<string, unknown>) ?? {};
  }
  if (values.speed !== undefined) {
    const speed = Number(values.speed);
    if (!Number.isFinite(speed) || speed < 0) throw new Error(`--speed must be a number ≥ 0, got "${values.speed}"`);
    config.speed = speed;
  }
  if (values['no-pacing']) config.pacing = false;
  const every = Number(values['truth-every']) * 1000;
  if (!Number.isFinite(every) || every <= 0) throw new Error(`--truth-every must be a positive number of seconds, got "${values['truth-every']}"`);

  const b = await startBuilding(config);
  out(JSON.stringify(b.endpoints));
  log?.info({ meters: b.meters.length }, 'building started');
  let timer: NodeJS.Timeout | undefined;
  const truthFile = values.truth;
  if (truthFile) {
    await writeTruth(b, truthFile);
    timer = setInterval(() => void writeTruth(b, truthFile).catch((e: Error) => log?.error(e, 'truth write failed')), every);
  }
  return {
    building: b,
    stop: async () => {
      if (timer) clearInterval(timer);
      if (truthFile) await writeTruth(b, truthFile);
      await b.close();
    },
  };
}
