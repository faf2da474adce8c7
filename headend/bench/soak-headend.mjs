/**
 * The head-end of soak.bench.mjs, in a process of its own so that its RSS is the head-end's and not the
 * load generator's. Started by the bench with fork(); talks over IPC:
 *   → { type: 'ready', httpUrl, mqttPort, secret, building, meterOf, heatMeters, codes, adminToken }
 *   ← { type: 'codes', id } → { type: 'codes', id, codes }   new codes for every account (the letters' path)
 *   ← { type: 'sample', id } → { type: 'sample', id, memory }  process.memoryUsage() of this process
 *   ← { type: 'stop' }                                         closes the head-end and exits
 * Engine: SOAK_DATABASE_URL set = that TimescaleDB server, unset = the embedded engine in SOAK_DATA_DIR
 * (a folder on disk, as in production, or memory://).
 * The clock starts at the 25th evening and runs with the real one, so sessions, rate-limit windows and
 * caches keyed by time age as they would in production (a fixed clock would keep them forever).
 */
import { pino } from 'pino';
import { loadConfig, startHeadend, clockFrom } from '../dist/index.js';
import { createUser } from '../dist/auth/index.js';
import { PEAK_SECRETS_KEY, PEAK_EVENING, seedPeakBuilding, issuePeakCodes, apiCall } from './peak-setup.mjs';

const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 1000);
const METERS = Number(process.env.SOAK_GATEWAY_METERS ?? 10);
const dbUrl = process.env.SOAK_DATABASE_URL ?? '';

const config = loadConfig({
  ...process.env, SECRETS_KEY: PEAK_SECRETS_KEY, DATA_DIR: process.env.SOAK_DATA_DIR ?? 'memory://', DATABASE_URL: dbUrl, DB_PORT: '0', MQTT_URL: '', MQTT_PORT: '0', MQTT_HOST: '127.0.0.1',
  HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', INGEST_LINGER_MS: '5', LOG_LEVEL: process.env.SOAK_LOG_LEVEL ?? 'silent',
});
const he = await startHeadend({ config, logger: pino({ level: config.LOG_LEVEL }), jobs: false, clock: clockFrom(PEAK_EVENING) });
const { building, meterOf, heatMeters, secret } = await seedPeakBuilding(he.db, { accounts: ACCOUNTS, meters: METERS });
let round = 0;
const codes = await issuePeakCodes(he.db, building, `soak-codes-${round++}`);
await createUser(he.db, { username: 'soak', password: 'soak-password', role: 'admin' });
const login = await apiCall(he.httpUrl, 'POST', '/auth/login', { username: 'soak', password: 'soak-password' });
if (login.status !== 200) throw new Error(`admin login answered ${login.status}: ${JSON.stringify(login.body)}`);

process.on('message', async (m) => {
  if (m.type === 'sample') process.send({ type: 'sample', id: m.id, memory: process.memoryUsage() });
  else if (m.type === 'codes') process.send({ type: 'codes', id: m.id, codes: await issuePeakCodes(he.db, building, `soak-codes-${round++}`) });
  else if (m.type === 'stop') {
    await he.close();
    process.exit(0);
  }
});
process.send({ type: 'ready', httpUrl: he.httpUrl, mqttPort: he.mqttPort, secret, building, meterOf: [...meterOf], heatMeters, codes, adminToken: login.body.token });
