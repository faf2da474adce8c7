/**
 * amr-gateway: commissioning and running the gateway.
 *   amr-gateway check  --config FILE                 validate; exit 2 naming the key on error
 *   amr-gateway run    --config FILE                 poll, buffer, publish (systemd service)
 *   amr-gateway scan   --bus DEV|tcp://h:p --protocol mbus|modbus [--mode primary|secondary] [--from N --to N]
 *   amr-gateway read   --bus … --protocol mbus|modbus|pulse --address A [--map ID] [--channels N --weight W --quantity Q]
 *   amr-gateway replay FILE                          feed a raw telegram log back through the decoders
 */
import { copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfigFile, resolveConfig } from '../config/index.js';
import { createDriver } from '../drivers/factory.js';
import { Gateway } from '../runtime/gateway.js';
import { createLogger } from '../ops/logger.js';
import { adhocBus, adhocMeter, type AdhocOptions } from './adhoc.js';
import { replayLog } from './replay.js';
import { startWatchdog } from './watchdog.js';

const USAGE = `usage:
  amr-gateway check  --config FILE
  amr-gateway run    --config FILE
  amr-gateway scan   --bus DEV|tcp://HOST:PORT --protocol mbus|modbus [--mode primary|secondary] [--from N] [--to N] [--baud N] [--driver native|libmbus]
  amr-gateway read   --bus DEV|tcp://HOST:PORT --protocol mbus|modbus|pulse --address A [--map ID] [--channels N] [--weight W] [--quantity Q] [--baud N]
  amr-gateway replay FILE`;

const OPTIONS = {
  config: { type: 'string' },
  bus: { type: 'string' },
  protocol: { type: 'string' },
  address: { type: 'string' },
  mode: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  baud: { type: 'string' },
  parity: { type: 'string' },
  driver: { type: 'string' },
  timeout: { type: 'string' },
  retries: { type: 'string' },
  echo: { type: 'boolean' },
  map: { type: 'string' },
  channels: { type: 'string' },
  weight: { type: 'string' },
  quantity: { type: 'string' },
  profile: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function fail(msg: string, code = 2): never {
  process.stderr.write(`${msg}\n`);
  process.exit(code);
}

function need(v: string | undefined, name: string): string {
  if (!v) fail(`missing --${name}\n${USAGE}`);
  return v;
}

async function cmdCheck(file: string): Promise<void> {
  const { config } = loadConfigFile(file);
  const r = resolveConfig(config);
  process.stdout.write(
    `${JSON.stringify(
      {
        ok: true,
        gatewayId: config.gateway.id,
        buses: r.buses.map((b) => ({ name: b.name, protocol: b.protocol, port: b.port, baud: b.line.baud, parity: b.line.parity, timeoutMs: b.timeoutMs, interFrameMs: b.interFrameMs, ...(b.protocol === 'mbus' ? { interByteMs: b.interByteMs } : {}), retries: b.retries, driver: b.driver })),
        meters: r.meters.map((m) => ({ id: m.id, bus: m.bus, address: m.address, intervalMs: m.interval, timeoutMs: m.timeoutMs })),
      },
      null,
      2,
    )}\n`,
  );
}

async function cmdRun(file: string): Promise<void> {
  const logger = createLogger();
  const pending = `${file}.pending`;
  const prev = `${file}.prev`;
  let rolledBack: string | null = null;
  let gw: Gateway;
  const startWith = async (): Promise<Gateway> => {
    const { config } = loadConfigFile(file);
    const g = new Gateway({
      config,
      configFile: file,
      logger,
      onRestartRequested: (reason) => {
        logger.info({ reason }, 'restart requested');
        void g.stop().finally(() => process.exit(0));
      },
    });
    await g.start();
    return g;
  };
  try {
    gw = await startWith();
  } catch (e) {
    if (existsSync(pending) && existsSync(prev)) {
      // A remotely set config failed to start: roll back to the previous one.
      rolledBack = (e as Error).message;
      logger.error({ err: rolledBack }, 'new config failed to start; rolling back');
      copyFileSync(prev, file);
      rmSync(pending, { force: true });
      gw = await startWith();
    } else throw e;
  }
  if (rolledBack) gw.raise('config_rolled_back', 'error', `new config failed to start, previous restored: ${rolledBack}`);
  else if (existsSync(pending)) rmSync(pending, { force: true });
  const stopWd = startWatchdog(() => gw.alive());
  let stopping = false;
  const shutdown = (sig: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ sig }, 'stopping');
    stopWd();
    void gw.stop().finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

async function cmdScan(o: AdhocOptions & { mode?: string; from?: string; to?: string }): Promise<void> {
  const bus = adhocBus(o);
  const driver = createDriver(bus, null, []);
  if (!driver.scan) fail(`protocol ${bus.protocol} has no scan`);
  await driver.open();
  try {
    const mode = bus.protocol === 'modbus' ? 'ids' : ((o.mode ?? 'primary') as 'primary' | 'secondary');
    const hits = await driver.scan({ mode, from: o.from ? Number(o.from) : undefined, to: o.to ? Number(o.to) : undefined }, (msg) => process.stderr.write(`${msg}\n`));
    process.stdout.write(`${JSON.stringify(hits, null, 2)}\n`);
  } finally {
    await driver.close();
  }
}

async function cmdRead(o: AdhocOptions): Promise<void> {
  const bus = adhocBus(o);
  const meter = adhocMeter(o, bus);
  const driver = createDriver(bus, null, [meter]);
  await driver.open();
  try {
    let lastErr: Error | null = null;
    for (let attempt = 0; attempt <= meter.retriesEff; attempt++) {
      try {
        const r = await driver.read(meter, attempt);
        process.stdout.write(`${JSON.stringify({ meter: { bus: bus.port, protocol: bus.protocol, address: meter.address }, gatewayTime: new Date().toISOString(), ...r, frames: undefined }, null, 2)}\n`);
        return;
      } catch (e) {
        lastErr = e as Error;
      }
    }
    fail(`read failed: ${lastErr?.message}`, 1);
  } finally {
    await driver.close();
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const cmd = argv[0];
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const { values, positionals } = parseArgs({ args: argv.slice(1), options: OPTIONS, allowPositionals: true, strict: true });
  if (!cmd || values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  switch (cmd) {
    case 'check':
      return cmdCheck(need(values.config, 'config'));
    case 'run':
      return cmdRun(need(values.config, 'config'));
    case 'scan':
      return cmdScan({ ...values, bus: need(values.bus, 'bus'), protocol: need(values.protocol, 'protocol') });
    case 'read':
      return cmdRead({ ...values, bus: need(values.bus, 'bus'), protocol: need(values.protocol, 'protocol'), address: need(values.address, 'address') });
    case 'replay': {
      const file = positionals[0] ?? fail(`replay needs a FILE\n${USAGE}`);
      for (const line of replayLog(readFileSync(file, 'utf8'))) process.stdout.write(`${JSON.stringify(line)}\n`);
      return;
    }
    default:
      fail(`unknown command "${cmd}"\n${USAGE}`);
  }
}

main().catch((e: Error) => {
  if (e instanceof ConfigError) fail(e.message, 2);
  fail(`amr-gateway: ${e.message}`, 1);
});
