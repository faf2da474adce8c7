// Footprint of the gateway as it runs on a Pi: `amr-gateway run` as its own process (the CLI, as
// systemd starts it) polling 100 M-Bus meters (5 paced 9600-Bd segments × 20, simulated over TCP in
// this process) every 10 s and publishing to an embedded aedes broker (also in this process), for
// DURATION seconds. The child's CPU (utime + stime from /proc) and RSS (VmRSS sampled, VmHWM at the
// end) are the gateway's alone; the baseline is a Node process that only waits, measured in the same
// run, so the ratio shows what the gateway adds. Node runs with the flags the Pi's systemd unit gives it
// (deploy/pi/amr-gateway.service), so the figure is the deployed one. Prints figures; asserts nothing.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Aedes } from 'aedes';
import { segment } from './common.mjs';

const DURATION = Number(process.env.DURATION ?? 30);
const bin = fileURLToPath(new URL('../bin/amr-gateway.js', import.meta.url));
const TICK = 100; // USER_HZ on Linux
const unit = readFileSync(fileURLToPath(new URL('../../deploy/pi/amr-gateway.service', import.meta.url)), 'utf8');
const nodeFlags = (/^ExecStart=@NODE@\s+(.*?)\s*\S*amr-gateway\.js run/m.exec(unit)?.[1] ?? '').split(/\s+/).filter(Boolean);

/** utime + stime (s) and VmRSS / VmHWM (bytes) of a process, from /proc. */
function sample(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { cpuS: (Number(f[11]) + Number(f[12])) / TICK, rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** Runs `args` for `seconds` after it is up; CPU share of one core and peak RSS over that span. */
async function footprint(args, seconds, ready) {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise((r) => child.once('exit', r));
  await ready(() => out);
  const s0 = sample(child.pid);
  const t0 = performance.now();
  let peak = s0.rss;
  const iv = setInterval(() => { try { peak = Math.max(peak, sample(child.pid).rss); } catch { /* exited */ } }, 250);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  clearInterval(iv);
  const s1 = sample(child.pid);
  const wall = (performance.now() - t0) / 1000;
  child.kill('SIGTERM');
  await exited;
  return { cpu: ((s1.cpuS - s0.cpuS) / wall) * 100, peak: Math.max(peak, s1.rss), hwm: s1.hwm, out };
}

const aedes = await Aedes.createBroker();
let delivered = 0;
aedes.on('publish', (p, c) => { if (c && p.topic.endsWith('/readings')) delivered += JSON.parse(p.payload.toString()).readings.length; });
const server = net.createServer(aedes.handle);
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const segs = await Promise.all(Array.from({ length: 5 }, () => segment(20, 9600)));
const dir = mkdtempSync(join(tmpdir(), 'amr-bench-'));
const configFile = join(dir, 'gateway.json');
writeFileSync(configFile, JSON.stringify({
  gateway: { id: 'gw-bench', bufferDir: join(dir, 'buffer') },
  mqtt: { url: `mqtt://127.0.0.1:${server.address().port}` },
  buses: segs.map((s, i) => ({ name: `mbus${i}`, protocol: 'mbus', port: `tcp://${s.endpoint.host}:${s.endpoint.port}`, baud: 9600 })),
  meters: segs.flatMap((s, i) => s.slaves.map((m) => ({ id: `b${i}-m${m.primaryAddress}`, bus: `mbus${i}`, primary: m.primaryAddress, interval: '10s' }))),
}));

const MB = 2 ** 20;
const base = await footprint(['-e', 'setInterval(() => {}, 1000)'], Math.min(DURATION, 5), () => new Promise((r) => setTimeout(r, 1000)));
// Measured once the first readings are published (start-up is not the steady state).
const gw = await footprint([...nodeFlags, bin, 'run', '--config', configFile], DURATION, async (out) => {
  const end = Date.now() + 60_000;
  while (delivered === 0) {
    if (Date.now() > end) throw new Error(`the gateway published nothing within 60 s:\n${out().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});
console.log(`baseline (an idle Node ${process.version} process): CPU ${base.cpu.toFixed(1)} % of one core, peak RSS ${(base.peak / MB).toFixed(0)} MiB`);
console.log(`gateway process alone (node ${nodeFlags.join(' ') || 'without flags'}), 100 meters every 10 s, ${DURATION} s: readings delivered ${delivered}, CPU ${gw.cpu.toFixed(1)} % of one core, peak RSS ${(gw.peak / MB).toFixed(0)} MiB (high-water ${(gw.hwm / MB).toFixed(0)} MiB); over the baseline +${((gw.peak - base.peak) / MB).toFixed(0)} MiB, ×${(gw.peak / base.peak).toFixed(1)} RSS`);
await Promise.all(segs.map((s) => s.close()));
await new Promise((r) => server.close(r));
aedes.close();
rmSync(dir, { recursive: true, force: true });
