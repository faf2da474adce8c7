// The gateway as its own process for the SIGKILL back-fill test: the built package (`npx tsc -b`),
// its scheduler polling, on a clock that runs at real speed from the simulated instant the test gives
// (argv: config file, simulated start in ms). A child that is SIGKILLed and started again with the
// test's clock reading lives in the same simulated time as the ТВ7 simulator.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { Gateway, validateConfig } from '../gateway/dist/index.js';
import { createLogger } from '../gateway/dist/ops/logger.js';

const [file, simStart] = process.argv.slice(2);
const offset = Number(simStart) - Date.now();
const gw = new Gateway({ config: validateConfig(parse(readFileSync(file, 'utf8'))), logger: createLogger(), now: () => Date.now() + offset });
await gw.start();
process.on('SIGTERM', () => void gw.stop().then(() => process.exit(0)));
