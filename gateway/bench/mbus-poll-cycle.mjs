// Poll-cycle efficiency on a paced 2400-Bd M-Bus segment of 20 meters: wire time (bytes on the
// line × 11 bits ÷ 2400) ÷ cycle time, for our native driver and for node-mbus (libmbus) polling
// the same segment in the same run. Prints figures; asserts nothing.
import { BusConfig, MeterConfig, resolveBus, resolveMeter, BusWorker, createDriver } from '../dist/index.js';
import { call, fmt, libmbus, segment } from './common.mjs';

const N = Number(process.env.METERS ?? 20);
const seg = await segment(N);
const ep = seg.endpoint;
const bus = resolveBus(BusConfig.parse({ name: 'm', protocol: 'mbus', port: `tcp://${ep.host}:${ep.port}`, baud: 2400, sndNke: 'once' }));
const ms = seg.slaves.map((s) => resolveMeter(MeterConfig.parse({ id: `m${s.primaryAddress}`, bus: 'm', primary: s.primaryAddress }), bus));
const worker = new BusWorker(bus, createDriver(bus, null, ms), 3);

const cycle = async () => {
  const t0 = performance.now();
  let bytes = 0;
  let ok = 0;
  for (const m of ms) {
    const o = await worker.poll(m);
    if (o.ok) {
      ok++;
      for (const f of o.read.frames ?? []) bytes += f.hex.length / 2;
    }
  }
  return { ms: performance.now() - t0, bytes, ok };
};
await cycle(); // warm-up: SND_NKE once per meter
const nat = await cycle();
await worker.close();
const wire = (b) => (b * 11 * 1000) / 2400;
console.log(`native driver : ${N} meters ok=${nat.ok}  cycle ${fmt(nat.ms)}  wire ${fmt(wire(nat.bytes))}  efficiency ${((100 * wire(nat.bytes)) / nat.ms).toFixed(1)} %`);

const master = libmbus(ep, 1000);
await call((cb) => master.connect(cb));
const t0 = performance.now();
let ok = 0;
for (const s of seg.slaves) {
  try {
    await call((cb) => master.getData(s.primaryAddress, { pingFirst: false }, cb));
    ok++;
  } catch (e) {
    console.log(`libmbus: meter ${s.primaryAddress}: ${e.message}`);
  }
}
const lib = performance.now() - t0;
await call((cb) => master.close(cb));
// node-mbus does not expose its bytes; the telegrams are the same, so the same wire time applies.
console.log(`node-mbus     : ${N} meters ok=${ok}  cycle ${fmt(lib)}  wire ${fmt(wire(nat.bytes))}  efficiency ${((100 * wire(nat.bytes)) / lib).toFixed(1)} %`);
await seg.close();
