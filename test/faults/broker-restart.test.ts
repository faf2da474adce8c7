// The broker restarts with a gateway connected. The embedded broker lives in the head-end
// process, so the head-end CLI is stopped (SIGTERM) and started again on the same MQTT port and
// DATA_DIR while a real gateway (in process) polls three Modbus meters on a simulator every second.
// The broker's in-memory sessions are gone after the restart; the gateway reconnects by itself and
// its outbox re-sends what was not acknowledged: every reading lands once, in the order of its seqs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { pino } from 'pino';
import type { ModbusBus } from '@amr/simulators';
import { Gateway, validateConfig } from '@amr/gateway';
import { build, countsOf, dropRedisPrefix, everySecond, freePort, killAll, meterBus, headendStore, prepareDataDir, range, spawnHeadend, startEnergyMeters, tempDir, until, withDataDir, type HeadendStore } from './harness.js';

describe('broker restarted under a connected gateway', () => {
  const dir = tempDir('brk');
  const children: ChildProcess[] = [];
  let store: HeadendStore | undefined;
  const prefix = `amr-fault-brk-${process.pid}`;
  let sim: ModbusBus;
  let gw: Gateway | undefined;
  const outcome: { sigtermExit: { code: number | null; signal: NodeJS.Signals | null } | null } = { sigtermExit: null };
  beforeAll(async () => {
    build();
    sim = await startEnergyMeters(3, 10, 0.25);
  }, 120_000);
  afterAll(async () => {
    await gw?.stop().catch(() => undefined);
    await killAll(children);
    await sim?.close();
    await dropRedisPrefix(prefix);
    await store?.drop();
    dir.remove();
  });

  it('the gateway reconnects by itself and delivers everything, once', async () => {
    const gatewayId = `gw-brk-${process.pid}`;
    store = await headendStore(join(dir.path, 'data'));
    const [fx] = await prepareDataDir(store, [{ id: gatewayId, meters: 3 }]);
    const mqttPort = await freePort();
    const env = { ...store.env, MQTT_PORT: String(mqttPort), REDIS_PREFIX: prefix };
    const he1 = await spawnHeadend(env, children);

    gw = new Gateway({
      config: validateConfig({
        gateway: { id: gatewayId, bufferDir: join(dir.path, 'gw') },
        mqtt: { url: `mqtt://127.0.0.1:${mqttPort}`, username: gatewayId, password: fx.password, batchSize: 5, reconnectMin: '200ms', reconnectMax: '2s' },
        buses: [meterBus(sim)],
        meters: everySecond(3),
      }),
      logger: pino({ level: 'silent' }),
    });
    await gw.start();
    await until(() => gw!.outbox.ackedSeq >= 6, 'readings delivered before the restart');

    // Graceful stop first; if it does not end in a bounded time, SIGKILL, as systemd would after
    // TimeoutStopSec (the test below asserts it exits by itself).
    try {
      outcome.sigtermExit = await he1.stop('SIGTERM', 10_000);
    } catch {
      outcome.sigtermExit = null;
      await he1.stop('SIGKILL');
    }
    await until(() => !gw!.health().mqttConnected, 'the gateway noticing the broker is gone');
    const seqAtStop = gw.outbox.nextSeq - 1;
    await until(() => gw!.outbox.nextSeq - 1 >= seqAtStop + 6, 'polls buffered while the broker is down');
    expect(gw.outbox.depth).toBeGreaterThanOrEqual(6);

    const he2 = await spawnHeadend(env, children);
    expect(he2.mqttPort).toBe(mqttPort);
    await until(() => gw!.health().mqttConnected === true, 'the same gateway session reconnecting by itself');
    const lastBuffered = gw.outbox.nextSeq - 1;
    await until(() => gw!.outbox.ackedSeq >= lastBuffered, 'the backlog acknowledged after the restart');
    await gw.stop();
    const lastSeq = gw.outbox.nextSeq - 1;
    expect(gw.outbox.depth).toBe(0);
    gw = undefined;
    expect((await he2.stop('SIGTERM')).code).toBe(0);

    await withDataDir(store, async (db) => {
      const c = await countsOf(db, gatewayId);
      expect(c.duplicates).toBe(0);
      expect(c.logged).toEqual(range(1, lastSeq));
      expect(c.seqs).toEqual(range(1, lastSeq));
      expect(c.deadLetters + c.quarantined).toBe(0);
      // every reading carries the same register set: rows are a whole multiple of the readings
      expect(c.rows % lastSeq).toBe(0);
      const st = await db.query<{ online: boolean; last_status: { reason: string } }>('SELECT online, last_status FROM gateways WHERE id = $1', [gatewayId]);
      expect(st.rows[0]).toMatchObject({ online: false, last_status: { reason: 'shutdown' } });
    });
  }, 120_000);

  // Found by this test: EmbeddedBroker.close() used to await net.Server.close() — which waits for every
  // open connection — before aedes.close(), the call that disconnects the clients, so SIGTERM hung.
  it('the head-end exits 0 on SIGTERM while a gateway is connected', () => {
    expect(outcome.sigtermExit).toEqual({ code: 0, signal: null });
  });
});
