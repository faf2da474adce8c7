// amr-sim building: one JSON line with the endpoints, the truth file, clear config errors.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, type CliHandle } from '../src/cli/run.js';

const sample = fileURLToPath(new URL('../config/building.sample.yaml', import.meta.url));

describe('amr-sim building', () => {
  let dir: string;
  let h: CliHandle | undefined;
  afterAll(async () => { await h?.stop(); if (dir) await rm(dir, { recursive: true, force: true }); });

  it('starts the sample building, prints one JSON line of endpoints and writes the truth', async () => {
    dir = await mkdtemp(join(tmpdir(), 'amr-sim-'));
    const lines: string[] = [];
    h = await runCli(['building', '--config', sample, '--truth', join(dir, 'truth.json'), '--no-pacing'], (l) => lines.push(l));
    expect(lines).toHaveLength(1);
    const ep = JSON.parse(lines[0]);
    expect(ep.buses.modbus.endpoint.path).toMatch(/^\/dev\/pts\/\d+$/);
    expect(ep.buses.mbus.endpoint.port).toBeGreaterThan(0);
    expect(ep.meters.length).toBe(4 + 12 * 3);
    // Frozen first: a running clock would be past midnight by the time stop() writes, adding a third day.
    h.building.clock.setSpeed(0);
    h.building.clock.setTime(new Date('2026-01-03T00:00:00Z'));
    await h.stop();
    h = undefined;
    const truth = JSON.parse(await readFile(join(dir, 'truth.json'), 'utf8'));
    expect(truth.daily).toHaveLength(2);
    expect(truth.monthly[0].resources.heat.imbalance).toBeCloseTo(0.12, 9);
  });

  it('names the config key that is wrong', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'apartments: -3\nloss: { heat: 2 }\n');
    await expect(runCli(['building', '--config', bad], () => undefined)).rejects.toThrow(/apartments.*loss\.heat|loss\.heat.*apartments/s);
  });
});
