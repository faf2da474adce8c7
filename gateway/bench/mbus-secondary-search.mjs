// Secondary-address search on a paced 2400-Bd segment of 20 meters: our collision-aware wildcard
// walk vs node-mbus scanSecondary, same segment, same run. Prints figures.
import { BusConfig, resolveBus, MbusNativeDriver } from '../dist/index.js';
import { call, fmt, libmbus, segment } from './common.mjs';

const N = Number(process.env.METERS ?? 20);
const seg = await segment(N);
const ep = seg.endpoint;
const bus = resolveBus(BusConfig.parse({ name: 'm', protocol: 'mbus', port: `tcp://${ep.host}:${ep.port}`, baud: 2400 }));
const d = new MbusNativeDriver(bus, { clockToleranceMs: 1e12 });
await d.open();
let probes = 0;
let t0 = performance.now();
const hits = await d.scan({ mode: 'secondary' }, (m) => { if (/: (none|ack|collision)$/.test(m)) probes++; });
const nat = performance.now() - t0;
await d.close();
console.log(`native search : found ${hits.length}/${N} in ${fmt(nat)} (${probes} selections)`);

const master = libmbus(ep, 1000);
await call((cb) => master.connect(cb));
t0 = performance.now();
const found = await call((cb) => master.scanSecondary(cb));
const lib = performance.now() - t0;
await call((cb) => master.close(cb));
console.log(`node-mbus     : found ${found.length}/${N} in ${fmt(lib)}`);
await seg.close();
