// What `amr-sim` keeps across restarts. `--state FILE`: the simulated time and every meter's fault
// state (registers are pure functions of seed, clock and that state), written atomically — on exit
// and periodically, so a SIGKILL loses at most one period. `--link-dir DIR`: stable names for the
// ptys (`DIR/mbus`, `DIR/modbus`, `DIR/pulse`), which change on every start, so a gateway config
// can name `DIR/modbus` and survive a simulator restart the way `/dev/serial/by-id/…` survives a replug.
import { existsSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Building } from '../building/building.js';
import type { MeterState } from '../building/meters.js';

export interface SimState {
  v: 1;
  /** Which building the state belongs to: a state of another seed or size would be nonsense. */
  building: { seed: number; start: string; meters: number };
  savedAt: string;
  /** Simulated time when saved (ms since epoch). */
  simTime: number;
  meters: Record<string, MeterState>;
  /** --fault specs already applied (not applied again after a restart). */
  appliedFaults: string[];
}

export function buildingKey(b: Building): SimState['building'] {
  return { seed: b.config.seed, start: b.config.start.toISOString(), meters: b.meters.length };
}

/** The state in FILE, or null when there is none yet; throws naming the file when it is unusable. */
export function readState(file: string, b: Building): SimState | null {
  if (!existsSync(file)) return null;
  let s: SimState;
  try {
    s = JSON.parse(readFileSync(file, 'utf8')) as SimState;
  } catch (e) {
    throw new Error(`--state ${file}: not a state file (${(e as Error).message}); delete it to start afresh`);
  }
  if (s.v !== 1 || typeof s.simTime !== 'number' || typeof s.meters !== 'object') throw new Error(`--state ${file}: not an amr-sim state (v1); delete it to start afresh`);
  const want = buildingKey(b);
  if (s.building.seed !== want.seed || s.building.start !== want.start || s.building.meters !== want.meters)
    throw new Error(
      `--state ${file} belongs to another building (seed ${s.building.seed}, start ${s.building.start}, ${s.building.meters} meters; this config: seed ${want.seed}, start ${want.start}, ${want.meters} meters); delete it or name another --state file`,
    );
  return s;
}

/** Writes the state atomically: a temporary file, fsync, rename — a reader never sees half a file. */
export async function writeState(file: string, b: Building, appliedFaults: readonly string[]): Promise<void> {
  const s: SimState = { v: 1, building: buildingKey(b), savedAt: new Date().toISOString(), simTime: b.clock.nowMs(), meters: b.snapshot(), appliedFaults: [...appliedFaults] };
  const tmp = `${file}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(JSON.stringify(s));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
}

/** Links DIR/<bus> → the pty of each bus served on a pty; replaced atomically if left from a previous run. */
export function makeLinks(dir: string, b: Building): Record<string, string> {
  const links: Record<string, string> = {};
  for (const [name, bus] of Object.entries(b.endpoints.buses)) {
    if (!bus || bus.endpoint.kind !== 'pty') continue;
    const link = join(dir, name);
    const tmp = join(dir, `.${name}.tmp`);
    rmSync(tmp, { force: true });
    symlinkSync(bus.endpoint.path, tmp);
    renameSync(tmp, link);
    links[name] = link;
  }
  return links;
}

/** Removes the links that still point at this run's ptys (a pts number is reused by others later). */
export function removeLinks(links: Record<string, string>, b: Building): void {
  for (const [name, link] of Object.entries(links)) {
    const ep = b.endpoints.buses[name as 'mbus' | 'modbus' | 'pulse']?.endpoint;
    try {
      if (ep?.kind === 'pty' && readlinkSync(link) === ep.path) rmSync(link, { force: true });
    } catch {
      /* already gone */
    }
  }
}
