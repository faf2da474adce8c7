// Primary scan of a paced 2400-Bd M-Bus segment of 10 meters on a pty (addresses 1, 4, …, 28; scanned
// 0…SCAN_TO, default 40): our native master on the pty vs the libmbus driver (node-mbus) on the same
// pty through a socat TCP bridge — libmbus cannot open a pty as its serial port (it asks for even
// parity, which a pty refuses) — same segment, same run. Prints both times, what each found and the
// ratio; asserts nothing. libmbus's figure uses a 300 ms timeout, its own serial read timeout at
// 2400 Bd; node-mbus has no ping, so its scan is a REQ_UD2 per address (libmbus retries a silent
// address 3 times).
import { spawn } from 'node:child_process';
import net from 'node:net';
import { BusConfig, resolveBus, createDriver } from '../dist/index.js';
import { startMbusSegment } from '../../simulators/dist/index.js';
import { fmt, meters } from './common.mjs';

const N = Number(process.env.METERS ?? 10);
const TO = Number(process.env.SCAN_TO ?? 40);
const slaves = meters(N).map((s, i) => ({ ...s, primaryAddress: 1 + 3 * i }));
const want = slaves.map((s) => String(s.primaryAddress)).filter((a) => Number(a) <= TO);
const seg = await startMbusSegment({ transport: { kind: 'pty' }, timing: { baud: 2400, bitsPerChar: 11, turnaroundMs: 20, pacing: true }, slaves });
const path = seg.endpoint.path;

async function scan(bus) {
  const d = createDriver(bus, null, []);
  await d.open();
  const t0 = performance.now();
  const hits = await d.scan({ mode: 'primary', from: 0, to: TO }, () => undefined);
  const ms = performance.now() - t0;
  await d.close();
  const found = hits.filter((h) => h.serial !== undefined).map((h) => h.address);
  const lost = want.filter((a) => !found.includes(a));
  return { ms, found, lost, extra: hits.filter((h) => !want.includes(h.address)).map((h) => `${h.address}${h.medium === 'collision' ? ' (collision)' : ''}`) };
}
const line = (name, r) => `${name}: found ${r.found.length}/${want.length} at 0…${TO} in ${fmt(r.ms)} (${(r.ms / (TO + 1)).toFixed(0)} ms per address)${r.lost.length ? `, LOST ${r.lost.join(' ')}` : ''}${r.extra.length ? `, unexpected ${r.extra.join(' ')}` : ''}`;

const nat = await scan(resolveBus(BusConfig.parse({ name: 'm', protocol: 'mbus', port: path, baud: 2400 })));
console.log(line('native primary scan ', nat));

// socat: one TCP connection onto the pty, for libmbus.
const port = await new Promise((res) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); }); });
const socat = spawn('socat', ['-d', '-d', `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr`, `FILE:${path},raw,echo=0`], { stdio: ['ignore', 'ignore', 'pipe'] });
await new Promise((res, rej) => {
  const t = setTimeout(() => rej(new Error('socat did not start listening within 5 s')), 5000);
  socat.stderr.on('data', (b) => { if (/listening on/.test(String(b))) { clearTimeout(t); res(); } });
});
const lib = await scan(resolveBus(BusConfig.parse({ name: 'm', protocol: 'mbus', port: `tcp://127.0.0.1:${port}`, baud: 2400, driver: 'libmbus', timeout: '300ms', sndNke: 'never' })));
console.log(line('libmbus primary scan', lib));
console.log(`ratio native / libmbus: ${(nat.ms / lib.ms).toFixed(2)}`);
socat.kill('SIGTERM');
await seg.close();
