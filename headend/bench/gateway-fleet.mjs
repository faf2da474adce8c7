/**
 * The benches' gateways, in a process of their own (forked; a worker thread would share the
 * process's CPU count): real gateways are other machines, so their
 * JSON and MQTT work must not be charged to the head-end's event loop (in the bench's own thread they
 * took about a fifth of it under full ingest). The fleet connects `gateways` MQTT clients to the
 * head-end's broker and publishes ReadingsMessages at QoS 1 for `seconds`: flat out (`inflight`
 * messages in flight per gateway), or paced so that all together send `rate` readings/s. It posts
 * back the PUBACK latencies (ms, sorted), readings acknowledged, elapsed seconds, its own CPU time and
 * the next sequence number of each gateway.
 */
import mqtt from 'mqtt';

const workerData = await new Promise((resolve) => process.once('message', resolve));
const { port, gateways, meters, perMsg, inflight, seconds, rate, seq, base, secret } = workerData;

const cpu0 = process.cpuUsage();
const latencies = [];
let acked = 0;
// Connected one after another before the clock starts: the broker limits unverified CONNECTs from one address.
const clients = [];
for (let g = 0; g < gateways; g++) {
  const gw = `bench-gw-${g}`;
  clients.push(await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { username: gw, password: secret, clientId: gw, reconnectPeriod: 0 }));
}
const t0 = Date.now();
const deadline = t0 + seconds * 1000;
const msgsPerSecondPerGateway = rate ? rate / perMsg / gateways : 0;
await Promise.all(Array.from({ length: gateways }, async (_, g) => {
  const gw = `bench-gw-${g}`;
  const client = clients[g];
  const next = () => {
    const readings = [];
    for (let i = 0; i < perMsg; i++) {
      const s = seq[g]++;
      const meter = (s % meters) + 1;
      const tick = Math.floor(s / meters);
      readings.push({
        seq: s,
        meter: { meterKey: `m${meter}`, bus: 'm1', protocol: 'mbus', address: String(meter) },
        gatewayTime: new Date(base + tick * 60_000).toISOString(),
        quality: [],
        values: [{ quantity: 'energy_kwh', value: tick * 0.1, unit: 'kWh', quality: [] }],
      });
    }
    return JSON.stringify({ v: 1, gatewayId: gw, sentAt: new Date().toISOString(), readings });
  };
  const send = async () => {
    const msg = next();
    const start = performance.now();
    await client.publishAsync(`amr/v1/${gw}/readings`, msg, { qos: 1 });
    latencies.push(performance.now() - start);
    acked += perMsg;
  };
  if (!rate) {
    await Promise.all(Array.from({ length: inflight }, async () => { while (Date.now() < deadline) await send(); }));
  } else {
    // Paced: message k of this gateway is due at t0 + k / rate; each is sent on time, not after the previous ack.
    const pending = [];
    for (let k = 0; ; k++) {
      const due = t0 + (k / msgsPerSecondPerGateway) * 1000;
      if (due >= deadline) break;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      pending.push(send());
    }
    await Promise.all(pending);
  }
  await client.endAsync();
}));
latencies.sort((a, b) => a - b);
const cpu = process.cpuUsage(cpu0);
process.send({ acked, elapsed: (Date.now() - t0) / 1000, latencies, seq, cpuMs: (cpu.user + cpu.system) / 1000 }, () => process.exit(0));
