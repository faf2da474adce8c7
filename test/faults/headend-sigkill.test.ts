// The head-end process (built CLI, embedded aedes; this run's database engine: PGlite-TimescaleDB on
// disk in DATA_DIR, or a database of its own on the tests' server) is
// killed with SIGKILL while a gateway drains a backlog of QoS 1 batches with known seqs, then
// restarted on the same DATA_DIR and MQTT port. The gateway (real outbox + publisher, persistent
// session, re-sends what was not acknowledged) finishes; the readings table then holds exactly the
// readings sent: none lost, none twice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Gateway } from '@amr/gateway';
import { build, countsOf, dropRedisPrefix, drainingGateway, freePort, killAll, headendStore, prepareDataDir, range, seedOutbox, spawnHeadend, tempDir, until, untilAdvancing, withDataDir, type HeadendStore } from './harness.js';

const N = 6000; // readings in the gateway's outbox
const BATCH = 50; // readings per MQTT message → 120 QoS 1 messages

describe('head-end killed with SIGKILL mid-batch', () => {
  const dir = tempDir('sigkill');
  const children: ChildProcess[] = [];
  let store: HeadendStore | undefined;
  const prefix = `amr-fault-sigkill-${process.pid}`;
  let gw: Gateway | undefined;
  beforeAll(() => build(), 120_000);
  afterAll(async () => {
    await gw?.stop().catch(() => undefined);
    await killAll(children);
    await dropRedisPrefix(prefix);
    await store?.drop();
    dir.remove();
  });

  it('loses no reading and stores none twice after a restart on the same DATA_DIR', async () => {
    const gatewayId = `gw-kill-${process.pid}`;
    store = await headendStore(join(dir.path, 'data'));
    const [fx] = await prepareDataDir(store, [{ id: gatewayId, meters: 4 }]);
    const bufferDir = join(dir.path, 'gw');
    const seqs = seedOutbox(bufferDir, N, 4);
    expect(seqs).toEqual(range(1, N));

    const mqttPort = await freePort();
    const env = { ...store.env, MQTT_PORT: String(mqttPort), REDIS_PREFIX: prefix };
    const he1 = await spawnHeadend(env, children);
    expect(he1.mqttPort).toBe(mqttPort);
    gw = await drainingGateway({ id: gatewayId, password: fx.password, bufferDir, mqttPort, batchSize: BATCH, deadBusPort: await freePort() });

    // Kill once a good part (but not all) of the backlog is acknowledged: batches are in flight then.
    await untilAdvancing(() => gw!.outbox.ackedSeq, (acked) => acked >= N / 4, 'a quarter of the backlog acknowledged');
    const ackedAtKill = gw.outbox.ackedSeq;
    expect(ackedAtKill).toBeLessThan(N);
    const killed = await he1.stop('SIGKILL');
    expect(killed.signal).toBe('SIGKILL');

    // While the head-end is away nothing is acknowledged; the outbox keeps the rest.
    await until(() => !gw!.health().mqttConnected, 'gateway noticing the loss');
    expect(gw.outbox.depth).toBe(N - gw.outbox.ackedSeq);

    const he2 = await spawnHeadend(env, children);
    await untilAdvancing(() => gw!.outbox.depth, (depth) => depth === 0, 'the whole backlog acknowledged after the restart', { stallMs: 60_000 });
    expect(gw.outbox.ackedSeq).toBe(N);
    await gw.stop();
    gw = undefined;
    const stopped = await he2.stop('SIGTERM');
    expect(stopped.code).toBe(0);

    const c = await withDataDir(store, (db) => countsOf(db, gatewayId));
    expect(c.duplicates).toBe(0);
    expect(c.rows).toBe(N); // one value per reading
    expect(c.seqs).toEqual(seqs);
    expect(c.logged).toEqual(seqs);
    expect(c.deadLetters).toBe(0);
    expect(c.quarantined).toBe(0);
  }, 600_000);
});
