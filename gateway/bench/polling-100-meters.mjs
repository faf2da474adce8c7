// RSS and CPU of one gateway process polling 100 M-Bus meters (5 paced 9600-Bd segments × 20)
// every 10 s and publishing to an embedded aedes broker, for DURATION seconds. Prints figures.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import { pino } from 'pino';
import { Gateway, validateConfig } from '../dist/index.js';
import { segment } from './common.mjs';

const DURATION = Number(process.env.DURATION ?? 30);
const aedes = await Aedes.createBroker();
let delivered = 0;
aedes.on('publish', (p, c) => { if (c && p.topic.endsWith('/readings')) delivered += JSON.parse(p.payload.toString()).readings.length; });
const server = net.createServer(aedes.handle);
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const segs = await Promise.all(Array.from({ length: 5 }, () => segment(20, 9600)));
const dir = mkdtempSync(join(tmpdir(), 'amr-bench-'));
const config = validateConfig({
  gateway: { id: 'gw-bench', bufferDir: dir },
  mqtt: { url: `mqtt://127.0.0.1:${server.address().port}` },
  buses: segs.map((s, i) => ({ name: `mbus${i}`, protocol: 'mbus', port: `tcp://${s.endpoint.host}:${s.endpoint.port}`, baud: 9600 })),
  meters: segs.flatMap((s, i) => s.slaves.map((m) => ({ id: `b${i}-m${m.primaryAddress}`, bus: `mbus${i}`, primary: m.primaryAddress, interval: '10s' }))),
});
const gw = new Gateway({ config, logger: pino({ level: 'silent' }) });
await gw.start();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
let peakRss = 0;
const iv = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss); }, 500);
await new Promise((r) => setTimeout(r, DURATION * 1000));
clearInterval(iv);
const cpu = process.cpuUsage(cpu0);
const wall = performance.now() - t0;
await gw.stop();
console.log(`100 meters, ${DURATION} s: readings delivered ${delivered}, CPU ${(((cpu.user + cpu.system) / 1000 / wall) * 100).toFixed(1)} % of one core (gateway + simulators + broker in one process), peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB`);
await Promise.all(segs.map((s) => s.close()));
await new Promise((r) => server.close(r));
aedes.close();
rmSync(dir, { recursive: true, force: true });
