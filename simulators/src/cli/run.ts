// The amr-sim command, as a function (the bin calls it; tests call it in-process).
import { mkdirSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import type { Logger } from 'pino';
import { startBuilding, type Building } from '../building/building.js';
import { parseBuildingConfig } from '../building/config.js';
import { SimClock } from '../clock/sim-clock.js';
import { FAULT_HELP, parseFaultSpec, type FaultSpec } from './fault-spec.js';
import { makeLinks, readState, removeLinks, writeState } from './persist.js';

export const USAGE = `usage: amr-sim building --config FILE [--truth FILE] [--truth-every SECONDS] [--speed N] [--no-pacing]
                         [--fault SPEC]… [--state FILE [--state-every SECONDS]] [--link-dir DIR]
  --config FILE        building config (YAML); unknown keys are refused, naming the known ones
  --truth FILE         write the true consumption (atomically) every --truth-every seconds and on exit
  --speed N            simulated seconds per real second (0 = frozen)
  --no-pacing          answer at once instead of at the line's baud
  ${FAULT_HELP.replace(/\n/g, '\n  ')}
  --state FILE         keep the simulated clock and every meter's fault state across restarts: read at
                       start if present, written on exit and every --state-every seconds (default 10),
                       atomically; a state of another seed/start/size is refused
  --link-dir DIR       stable names for the ptys: DIR/mbus, DIR/modbus, DIR/pulse → /dev/pts/N, made
                       again on every start (removed on exit), so a gateway config can name DIR/modbus`;

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
      fault: { type: 'string', multiple: true, default: [] },
      state: { type: 'string' },
      'state-every': { type: 'string', default: '10' },
      'link-dir': { type: 'string' },
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
  const seconds = (name: 'truth-every' | 'state-every') => {
    const ms = Number(values[name]) * 1000;
    if (!Number.isFinite(ms) || ms <= 0) throw new Error(`--${name} must be a positive number of seconds, got "${values[name]}"`);
    return ms;
  };
  const every = seconds('truth-every');
  const stateEvery = seconds('state-every');

  const cfg = parseBuildingConfig(config);
  const clock = new SimClock(cfg.start, cfg.speed);
  const b = await startBuilding(config, { clock });
  const timers: NodeJS.Timeout[] = [];
  let links: Record<string, string> = {};
  const applied: string[] = [];
  const stateFile = values.state;
  try {
    const saved = stateFile ? readState(stateFile, b) : null;
    if (saved) {
      clock.setTime(new Date(saved.simTime));
      b.restore(saved.meters);
      applied.push(...saved.appliedFaults);
      log?.info({ state: stateFile, simTime: clock.now().toISOString() }, 'state restored');
    }
    const ids = b.meters.map((m) => m.meterId);
    const specs: FaultSpec[] = values.fault.map((f) => parseFaultSpec(f, ids)).filter((f) => !applied.includes(f.text));
    const apply = (f: FaultSpec) => {
      b.setFault(f.meterId, f.fault);
      applied.push(f.text);
      log?.info({ meter: f.meterId, fault: f.fault, simTime: clock.now().toISOString() }, 'fault applied');
    };
    const due = (f: FaultSpec) => f.atDay === undefined || clock.nowMs() >= cfg.start.getTime() + f.atDay * 86_400_000;
    const pending = specs.filter((f) => {
      if (!due(f)) return true;
      apply(f);
      return false;
    });
    if (pending.length) {
      // Faults at a simulated day: the clock may run fast or be set by hand, so it is looked at often.
      timers.push(
        setInterval(() => {
          for (let i = pending.length - 1; i >= 0; i--) if (due(pending[i])) apply(pending.splice(i, 1)[0]);
        }, 100),
      );
    }
    if (values['link-dir']) {
      mkdirSync(values['link-dir'], { recursive: true });
      links = makeLinks(values['link-dir'], b);
    }
  } catch (e) {
    for (const t of timers) clearInterval(t);
    removeLinks(links, b);
    await b.close();
    throw e;
  }
  out(JSON.stringify(Object.keys(links).length ? { ...b.endpoints, links } : b.endpoints));
  log?.info({ meters: b.meters.length }, 'building started');
  const truthFile = values.truth;
  if (truthFile) {
    await writeTruth(b, truthFile);
    timers.push(setInterval(() => void writeTruth(b, truthFile).catch((e: Error) => log?.error(e, 'truth write failed')), every));
  }
  if (stateFile) {
    await writeState(stateFile, b, applied);
    timers.push(setInterval(() => void writeState(stateFile, b, applied).catch((e: Error) => log?.error(e, 'state write failed')), stateEvery));
  }
  return {
    building: b,
    stop: async () => {
      for (const t of timers) clearInterval(t);
      if (truthFile) await writeTruth(b, truthFile);
      if (stateFile) await writeState(stateFile, b, applied);
      removeLinks(links, b);
      await b.close();
    },
  };
}
