// The built CLI as users run it: check (good and bad configs), one-shot read and scan against the
// simulators, replay of a raw telegram log written by a running gateway.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startMbusSegment, startModbusBus, waterMeterRecords, type MbusSegment, type ModbusBus } from '@amr/simulators';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(repo, 'gateway/bin/amr-gateway.js');
const sample = readFileSync(join(repo, 'gateway/config/gateway.sample.yaml'), 'utf8');

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [bin, ...args], { timeout: 20_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

describe('amr-gateway CLI', () => {
  let dir: string;
  let seg: MbusSegment;
  let mb: ModbusBus;
  beforeAll(async () => {
    if (!existsSync(join(repo, 'gateway/dist/cli/amr-gateway.js'))) throw new Error('gateway/dist missing: run `npx tsc -b gateway` (npm run build) first');
    dir = mkdtempSync(join(tmpdir(), 'amr-cli-'));
    seg = await startMbusSegment({
      transport: { kind: 'tcp', port: 0 },
      timing: { pacing: false },
      slaves: [{ primaryAddress: 3, id: '31000001', manufacturer: 'ZRI', version: 1, medium: 0x16, records: () => waterMeterRecords({ time: new Date(), volumeM3: 321.5, flowM3h: 0, errorFlags: 0, history: [] }) }],
    });
    mb = await startModbusBus({ timing: { pacing: false }, slaves: [{ unitId: 4, map: 'sdm120', read: () => ({ energy_kwh: 99.5 }) }] });
  });
  afterAll(async () => {
    await seg?.close();
    await mb?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('check accepts the sample and prints the derived timing', async () => {
    const f = join(dir, 'ok.yaml');
    // the site's devices and secrets: converters on TCP here, files in the temp dir (not the broker: --offline)
    writeFileSync(join(dir, 'pw'), 'x\n');
    writeFileSync(join(dir, 'ca.pem'), 'x\n');
    writeFileSync(
      f,
      sample
        .replace('/dev/serial/by-id/usb-FTDI_M-Bus_Master-if00-port0', 'tcp://127.0.0.1:4000')
        .replace('/dev/ttyAMA0', 'tcp://127.0.0.1:4002')
        .replace('/etc/amr-gateway/mqtt.password', join(dir, 'pw'))
        .replace('/etc/amr-gateway/ca.pem', join(dir, 'ca.pem'))
        .replace('/var/lib/amr-gateway', join(dir, 'buf'))
        .replace('/var/log/amr-gateway/telegrams', join(dir, 'raw')),
    );
    const r = await cli(['check', '--config', f, '--offline']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).buses[0]).toMatchObject({ name: 'mbus1', baud: 2400, parity: 'even', timeoutMs: 1394 + 400 - 60 }); // tcp:// turnaround
  });

  it.each([
    ['buses[1].baud', sample.replace('baud: 9600\n    parity', 'baud: 0\n    parity'), /buses\[1\]\.baud: expected a positive integer/],
    ['meters[0].interval', sample.replace('interval: 15m', 'interval: often'), /meters\[0\]\.interval: expected a duration/],
    ['mqtt.url', sample.replace(/url: .*/, 'url: 12'), /mqtt\.url/],
    ['yaml syntax', 'gateway: [\n', /YAML/],
  ])('bad config → exit 1 naming %s', async (_k, text, re) => {
    const f = join(dir, 'bad.yaml');
    writeFileSync(f, text);
    const r = await cli(['check', '--config', f]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(re);
  });

  it('run with a bad config exits non-zero naming the key', async () => {
    const f = join(dir, 'bad-run.yaml');
    writeFileSync(f, sample.replace('primary: 1', 'primary: 300'));
    const r = await cli(['run', '--config', f]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/meters\[0\]\.primary/);
  });

  it('read prints one M-Bus reading as JSON', async () => {
    const ep = seg.endpoint as { host: string; port: number };
    const r = await cli(['read', '--bus', `tcp://${ep.host}:${ep.port}`, '--protocol', 'mbus', '--address', '3']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.values.find((v: { quantity: string }) => v.quantity === 'volume_m3').value).toBe(321.5);
    expect(j.serial).toBe('31000001');
  });

  it('read prints one Modbus reading as JSON', async () => {
    const r = await cli(['read', '--bus', (mb.endpoint as { path: string }).path, '--protocol', 'modbus', '--address', '4', '--map', 'sdm120']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).values.find((v: { quantity: string }) => v.quantity === 'energy_kwh').value).toBeCloseTo(99.5, 3);
  });

  it('scan finds the M-Bus meter by primary address', async () => {
    const ep = seg.endpoint as { host: string; port: number };
    const r = await cli(['scan', '--bus', `tcp://${ep.host}:${ep.port}`, '--protocol', 'mbus', '--from', '0', '--to', '5', '--timeout', '150ms']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([expect.objectContaining({ address: '3', serial: '31000001', manufacturer: 'ZRI' })]);
    // progress on stderr from the start, the find, and a summary
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toBe('scan: address - (0 of 6), found 0, elapsed 0 s, about unknown yet left');
    expect(lines).toContainEqual(expect.stringMatching(/^address 3: ZRI 31000001/));
    expect(lines.at(-1)).toMatch(/^scan: done, 6 addresses, found 1 in \d+ s$/);
  });

  it('replay decodes a raw telegram log again', async () => {
    const f = join(dir, 'telegrams.jsonl');
    // frames as the gateway logs them: REQ_UD2 out, RSP_UD in (captured from the simulator by `read`)
    const { MbusNativeDriver, resolveBus, BusConfig, resolveMeter, MeterConfig } = await import('../src/index.js');
    const ep = seg.endpoint as { host: string; port: number };
    const bus = resolveBus(BusConfig.parse({ name: 'm', protocol: 'mbus', port: `tcp://${ep.host}:${ep.port}` }));
    const d = new MbusNativeDriver(bus, { clockToleranceMs: 1e9 });
    await d.open();
    const read = await d.read(resolveMeter(MeterConfig.parse({ id: 'w', bus: 'm', primary: 3 }), bus));
    await d.close();
    writeFileSync(f, `${JSON.stringify({ ts: new Date().toISOString(), bus: 'm', meter: 'w', protocol: 'mbus', address: '3', frames: read.frames, ok: true })}\nnot json\n`);
    const r = await cli(['replay', f]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines[0].ok).toBe(true);
    expect(lines[0].decoded.values.find((v: { quantity: string }) => v.quantity === 'volume_m3').value).toBe(321.5);
    expect(lines[1]).toMatchObject({ line: 2, ok: false });
  });
});
