// amr-sim from the command line: unknown config keys refused naming the known ones, faults from
// --fault seen in a meter's answer (at once and at a simulated day), --state keeping the simulated
// clock and registers across a restart, --link-dir giving the ptys names that survive it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeTelegram, encodeRtu, readRequestPdu } from '@amr/protocols';
import { runCli, type CliHandle } from '../src/cli/run.js';
import { parseFaultSpec } from '../src/cli/fault-spec.js';
import { SerialClient } from './serial-client.js';
import { readMbus } from './mbus-master.js';


const recordOf = (t: ReturnType<typeof decodeTelegram>, quantity: string) => t.records.find((r) => r.quantity === quantity && r.storage === 0);

describe('amr-sim command line', () => {
  let dir: string;
  const handles: CliHandle[] = [];
  const start = async (args: string[]) => {
    const lines: string[] = [];
    const h = await runCli(['building', ...args], (l) => lines.push(l));
    handles.push(h);
    return { h, ep: JSON.parse(lines[0]) as { buses: { mbus: { endpoint: { port: number } }; modbus: { endpoint: { path: string } } }; links?: Record<string, string> } };
  };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'amr-sim-cli-'));
    // one apartment, frozen clock: M-Bus on TCP (the test reads it), Modbus and pulse on ptys
    writeFileSync(join(dir, 'b.yaml'), 'seed: 5\nspeed: 0\napartments: 1\npacing: false\nbuses: { mbus: { transport: tcp, baud: 2400 }, modbus: { transport: pty, baud: 9600 }, pulse: { transport: pty, baud: 9600 } }\n');
  });
  afterAll(async () => {
    for (const h of handles) await h.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses unknown config keys, naming them and the known ones', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'apartmens: 3\nbuses: { mbus: { transport: tcp, baud: 2400, sped: 1 } }\n');
    const e = await runCli(['building', '--config', bad], () => undefined).catch((x: Error) => x);
    expect(e).toBeInstanceOf(Error);
    expect((e as Error).message).toContain('(root): unknown key "apartmens"; known keys: name, seed, start, speed, apartments, apartmentWater,');
    expect((e as Error).message).toContain('buses.mbus: unknown key "sped"; known keys: transport, port, baud, bitsPerChar, framing');
  });

  it('parses --fault specs and names what is wrong', () => {
    const ids = ['odpu-heat', 'apt-1-cold_water'];
    expect(parseFaultSpec('odpu-heat=clockDrift:3600@1.5', ids)).toEqual({ text: 'odpu-heat=clockDrift:3600@1.5', meterId: 'odpu-heat', fault: { kind: 'clockDrift', driftSeconds: 3600 }, atDay: 1.5 });
    expect(() => parseFaultSpec('odpu-heat=melted', ids)).toThrow('--fault "odpu-heat=melted": unknown fault kind "melted"; known: silent, crc, stuck, rollover, clockDrift, reverseFlow, replaced, clear');
    expect(() => parseFaultSpec('meter3=silent', ids)).toThrow(/no meter "meter3"; meters are odpu-heat, apt-1-cold_water/);
    expect(() => parseFaultSpec('odpu-heat=clockDrift', ids)).toThrow(/clockDrift needs a number of seconds/);
    expect(() => parseFaultSpec('odpu-heat silent', ids)).toThrow(/expected METER=KIND\[:ARG\]\[@DAY\]/);
  });

  it('--fault: seen in the meters\' answers, at once and at a simulated day', async () => {
    const { h, ep } = await start(['--config', join(dir, 'b.yaml'), '--fault', 'odpu-cold_water=clockDrift:3600', '--fault', 'odpu-heat=silent', '--fault', 'odpu-hot_water=reverseFlow@0.5']);
    const port = ep.buses.mbus.endpoint.port;
    const cold = await readMbus(port, 2);
    expect(recordOf(cold!, 'datetime')?.value).toBe('2026-01-01T01:00:00'); // clock 00:00 + 1 h drift
    expect(await readMbus(port, 1)).toBeUndefined(); // silent
    expect(recordOf((await readMbus(port, 3))!, 'error_flags')?.value).toBe(0);
    h.building.clock.setTime(new Date('2026-01-01T12:00:00Z')); // day 0.5: the reverse flow starts
    let flags: unknown;
    for (let i = 0; i < 30 && flags !== 4; i++) {
      await new Promise((r) => setTimeout(r, 100));
      flags = recordOf((await readMbus(port, 3))!, 'error_flags')?.value;
    }
    expect(flags, 'hot water meter reports reverse flow (0x04) once the clock reached day 0.5').toBe(4);
    await h.stop();
    handles.splice(handles.indexOf(h), 1);
  });

  it('--state keeps clock and registers across a restart; --link-dir names stay', async () => {
    const state = join(dir, 'state.json');
    const links = join(dir, 'dev');
    const args = ['--config', join(dir, 'b.yaml'), '--state', state, '--state-every', '0.1', '--link-dir', links, '--fault', 'odpu-electricity=stuck'];
    const one = await start(args);
    expect(one.ep.links).toEqual({ modbus: join(links, 'modbus'), pulse: join(links, 'pulse') }); // M-Bus is on TCP here
    expect(readlinkSync(join(links, 'modbus'))).toBe(one.ep.buses.modbus.endpoint.path);
    const b1 = one.h.building;
    b1.clock.setTime(new Date('2026-01-05T06:00:00Z'));
    const at = b1.clock.nowMs();
    const elec = b1.meters.find((m) => m.meterId === 'odpu-electricity')!;
    const heat = b1.meters.find((m) => m.meterId === 'odpu-heat')!;
    const before = { elec: elec.register(at), heat: heat.register(at) };
    expect(before.elec).toBe(elec.register(Date.parse('2026-01-01T00:00:00Z'))); // stuck since the start
    // written periodically, not only on exit (a SIGKILL loses at most one period)
    let saved: { simTime?: number } = {};
    for (let i = 0; i < 50 && saved.simTime !== at; i++) {
      await new Promise((r) => setTimeout(r, 50));
      saved = existsSync(state) ? (JSON.parse(readFileSync(state, 'utf8')) as { simTime: number }) : {};
    }
    expect(saved.simTime, 'state file follows the clock while running').toBe(at);
    await one.h.stop();
    handles.splice(handles.indexOf(one.h), 1);
    expect(existsSync(join(links, 'modbus')), 'links removed with the ptys').toBe(false);

    const two = await start(args);
    const b2 = two.h.building;
    expect(b2.clock.now().toISOString()).toBe('2026-01-05T06:00:00.000Z');
    const now = b2.clock.nowMs();
    expect(b2.meters.find((m) => m.meterId === 'odpu-electricity')!.register(now)).toBe(before.elec); // still stuck, not stuck again now
    expect(b2.meters.find((m) => m.meterId === 'odpu-heat')!.register(now)).toBe(before.heat);
    // the same link name, now to the new pty: a Modbus request through it is answered
    const link = join(links, 'modbus');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(two.ep.buses.modbus.endpoint.path);
    const c = await SerialClient.open(link, 9600);
    try {
      c.write(encodeRtu(1, readRequestPdu(0x04, 0x48, 2)));
      const reply = await c.waitFor(9);
      expect([...reply.subarray(0, 3)]).toEqual([1, 4, 4]);
    } finally {
      await c.close();
    }
  });

  it('--state refuses a file that is not a state, or the state of another building', async () => {
    const junk = join(dir, 'junk.json');
    writeFileSync(junk, '{"v":1,"simTime":');
    await expect(runCli(['building', '--config', join(dir, 'b.yaml'), '--state', junk], () => undefined)).rejects.toThrow(`--state ${junk}: not a state file`);
    const other = join(dir, 'other.json');
    writeFileSync(other, JSON.stringify({ v: 1, building: { seed: 6, start: '2026-01-01T00:00:00.000Z', meters: 7 }, savedAt: '', simTime: 0, meters: {}, appliedFaults: [] }));
    await expect(runCli(['building', '--config', join(dir, 'b.yaml'), '--state', other], () => undefined)).rejects.toThrow(
      `--state ${other} belongs to another building (seed 6, start 2026-01-01T00:00:00.000Z, 7 meters; this config: seed 5, start 2026-01-01T00:00:00.000Z, 7 meters); delete it or name another --state file`,
    );
  });
});
