// Shared set-up of the gateway benchmarks: a paced, simulated M-Bus segment of N meters on TCP
// (so node-mbus can reach it too) and a node-mbus master. Needs `npm run build` first.
import { createRequire } from 'node:module';
import { heatMeterRecords, startMbusSegment, waterMeterRecords } from '../../simulators/dist/index.js';

const require = createRequire(import.meta.url);
export const MbusMaster = require('node-mbus');

export function meters(n) {
  const time = new Date('2026-03-15T10:30:00Z');
  return Array.from({ length: n }, (_, i) => {
    const heat = i % 2 === 0;
    return {
      primaryAddress: i + 1,
      id: String(10000001 + i * 7919).padStart(8, '0'),
      manufacturer: heat ? 'KAM' : 'ZRI',
      version: 1,
      medium: heat ? 0x04 : 0x16,
      records: heat
        ? () => heatMeterRecords({ time, energyKwh: 1000 + i, volumeM3: 10 + i, powerW: 1000, flowM3h: 0.5, flowTempC: 70, returnTempC: 40, operatingHours: 100, errorFlags: 0, history: [] })
        : () => waterMeterRecords({ time, volumeM3: 100 + i, flowM3h: 0.1, errorFlags: 0, history: [] }),
    };
  });
}

export async function segment(n, baud = 2400) {
  return startMbusSegment({ transport: { kind: 'tcp', port: 0 }, timing: { baud, bitsPerChar: 11, turnaroundMs: 20, pacing: true }, slaves: meters(n) });
}

export function libmbus(ep, timeout = 1000) {
  return new MbusMaster({ host: ep.host, port: ep.port, timeout, autoConnect: true });
}

export const call = (fn) => new Promise((res, rej) => fn((e, d) => (e ? rej(e) : res(d))));
export const fmt = (ms) => `${(ms / 1000).toFixed(2)} s`;
