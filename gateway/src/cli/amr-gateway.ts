/**
 * amr-gateway: commissioning and running the gateway.
 *   amr-gateway check  --config FILE [--offline]     validate config, devices, files and broker; exit 1 naming each problem
 *   amr-gateway run    --config FILE                 poll, buffer, publish (systemd service)
 *   amr-gateway scan   --bus DEV|tcp://h:p --protocol mbus|modbus [--mode primary|secondary] [--from N --to N]
 *   amr-gateway read   --bus … --protocol mbus|modbus|pulse --address A [--map ID] [--channels N --weight W --quantity Q]
 *   amr-gateway replay FILE                          feed a raw telegram log back through the decoders
 */
import { copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, checkConfigFile, resolveConfig } from '../config/index.js';
import { createDriver } from '../drivers/factory.js';
import { Gateway } from '../runtime/gateway.js';
import { createLogger } from '../ops/logger.js';
import { adhocBus, adhocMeter, type AdhocOptions } from './adhoc.js';
import { replayLog } from './replay.js';
import { healthRestarts, restartHoldMs, startWatchdog } from './watchdog.js';
import { scanWithProgress } from './scan-progress.js';

const USAGE = `usage:
  amr-gateway check  --config FILE [--offline]
      validates the config against what run uses (register maps, meter profiles, baud rates,
      addresses, ids), the serial devices and files it names, and connects to the broker with
      its credentials (--offline: not the broker). Exit 0 ok, 1 problems (each on stderr with its
      config path and the fix), 2 usage.
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
  offline: { type: 'boolean' },
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

async function cmdCheck(file: string, offline: boolean): Promise<void> {
  const { config } = await checkConfigFile(file, { broker: !offline });
  const r = resolveConfig(config);
  process.stdout.write(
    `${JSON.stringify(
      {
        ok: true,
        gatewayId: config.gateway.id,
        broker: offline ? 'not checked (--offline)' : 'accepted the connection',
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
    // The same checks as `check --offline`: a config naming a map, profile or device that does not
    // exist is refused here, before anything starts, not reported by the first failed poll.
    const { config } = await checkConfigFile(file, { broker: false });
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
  const wdFile = join(gw.cfg.raw.gateway.bufferDir, 'watchdog.json');
  const restarts = healthRestarts.read(wdFile);
  const stopWd = startWatchdog(
    () => {
      const h = gw.health();
      return gw.alive() ? h : { ok: false, problems: [...h.problems, 'a bus is wedged in one transaction'] };
    },
    {
      holdMs: restartHoldMs(restarts),
      onWithhold: (problems) => {
        healthRestarts.write(wdFile, restarts + 1);
        logger.error({ problems, restartsInARow: restarts + 1 }, 'unhealthy: watchdog pings withheld, systemd will restart the gateway');
      },
      onResume: () => {
        healthRestarts.write(wdFile, 0);
        logger.info('healthy again: watchdog pings resume');
      },
    },
  );
  // Healthy for a while after a restart for health: the restart helped, start the count again.
  if (restarts > 0)
    setTimeout(() => {
      if (gw.health().ok) healthRestarts.write(wdFile, 0);
    }, 10 * 60_000).unref();
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
  const mode = bus.protocol === 'modbus' ? 'ids' : ((o.mode ?? 'primary') as 'primary' | 'secondary');
  if (mode !== 'primary' && mode !== 'secondary' && mode !== 'ids') fail(`--mode: expected primary or secondary, got "${String(mode)}"`);
  const int = (v: string | undefined, name: string) => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) fail(`--${name}: expected an address number, got "${v}"`);
    return Number(v);
  };
  const from = int(o.from, 'from');
  const to = int(o.to, 'to');
  await driver.open();
  try {
    const hits = await scanWithProgress(driver, { mode, from, to }, (line) => process.stderr.write(`${line}\n`));
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
  let parsed;
  try {
    parsed = parseArgs({ args: argv.slice(1), options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    fail(`${(e as Error).message}\n${USAGE}`, 2);
  }
  const { values, positionals } = parsed;
  if (!cmd || values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  switch (cmd) {
    case 'check':
      return cmdCheck(need(values.config, 'config'), values.offline === true);
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
  // A config problem is the installer's to fix (exit 1); 2 is kept for a wrong command line.
  if (e instanceof ConfigError) fail(e.message, e.source === 'command line' ? 2 : 1);
  fail(`amr-gateway: ${e.message}`, 1);
});
