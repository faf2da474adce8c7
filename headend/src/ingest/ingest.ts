/**
 * Ingestion: one `handle(topic, payload)` for every gateway message, whichever broker delivered it.
 * The returned promise settles only when what the message carries is durable (readings committed,
 * dead letter or quarantine row written); the broker adapters acknowledge (PUBACK) only then, so a
 * message is never acknowledged and lost. A rejection means "not stored, do not ack": the gateway
 * keeps it in its outbox and sends it again.
 */
import type { Logger } from 'pino';
import { GatewayEvent, GatewayStatus, ReadingsMessage, parsePayload, parseTopic } from '@amr/protocols';
import type { Db } from '../db/index.js';
import type { CoreMetrics } from '../metrics/index.js';
import { Batcher } from './batcher.js';
import { writeReadings } from './writer.js';
import type { Clock } from '../util/clock.js';

export interface IngestOptions {
  db: Db;
  metrics: CoreMetrics;
  logger: Logger;
  batchSize: number;
  lingerMs: number;
  maxPending: number;
  /**
   * Batches committing at once, each on its own connection: 1 on the embedded engine (one
   * connection), a few on a server's pool (writer.ts takes its locks in key order for this).
   */
  concurrency?: number;
  /** The head-end's clock (util/clock.ts) and allowed gateway clock lead: later readings go to quarantine. */
  clock?: Clock;
  maxFutureSkewMs?: number;
  /** Called after each commit with the messages it made durable (demo progress, benchmarks). */
  onCommitted?: (messages: ReadingsMessage[]) => void;
}

export interface Ingest {
  handle(topic: string, payload: Buffer | Uint8Array): Promise<void>;
  /** Writes what is queued and waits for it (graceful shutdown). */
  drain(): Promise<void>;
  readonly pending: number;
}

/** Data errors (class 22) and integrity violations (class 23) are the message's fault, not the DB's. */
function isDataError(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}

/** Bytes of a dead-lettered payload kept verbatim (readings messages are capped at 256 KiB anyway). */
export const DEAD_LETTER_KEEP_BYTES = 64 * 1024;

export function createIngest(opts: IngestOptions): Ingest {
  const { db, metrics, logger } = opts;

  async function deadLetter(topic: string, gatewayId: string | null, payload: Buffer | Uint8Array, reason: string, kind: string) {
    const whole = Buffer.from(payload);
    // A client with valid credentials must not fill the database through dead letters: keep the head
    // of an oversized payload (enough to see what it was) and say so in the reason.
    const buf = whole.length > DEAD_LETTER_KEEP_BYTES ? whole.subarray(0, DEAD_LETTER_KEEP_BYTES) : whole;
    const why = buf === whole ? reason : `${reason} (payload ${whole.length} bytes; first ${DEAD_LETTER_KEEP_BYTES} kept)`;
    await db.query(
      'INSERT INTO dead_letters (topic, gateway_id, payload, payload_b64, reason) VALUES ($1, $2, $3, $4, $5)',
      [topic, gatewayId, buf.toString('utf8').replaceAll('\u0000', '\uFFFD') /* text columns refuse NUL */, buf.toString('base64'), why],
    );
    metrics.deadLetters.inc({ kind });
    metrics.messages.inc({ kind, outcome: 'dead_letter' });
    logger.warn({ topic, reason }, 'dead letter');
  }

  async function commit(batch: { msg: ReadingsMessage; raw: Buffer | Uint8Array; topic: string }[]) {
    const end = metrics.batchSeconds.startTimer();
    try {
      const res = await writeReadings(db, batch.map((b) => b.msg), { clock: opts.clock, maxFutureSkewMs: opts.maxFutureSkewMs });
      end();
      account(batch.map((b) => b.msg), res);
    } catch (e) {
      if (batch.length > 1 && isDataError(e)) {
        // One bad message must not block everyone: retry one by one, dead-lettering the culprit.
        for (const b of batch) await commit([b]);
        return;
      }
      if (batch.length === 1 && isDataError(e)) {
        await deadLetter(batch[0].topic, batch[0].msg.gatewayId, batch[0].raw, `database refused the readings: ${(e as Error).message}`, 'readings');
        return;
      }
      metrics.batchFailures.inc();
      logger.error({ err: e, messages: batch.length }, 'readings batch not committed; messages stay unacknowledged');
      throw e;
    }
  }

  function account(msgs: ReadingsMessage[], res: Awaited<ReturnType<typeof writeReadings>>) {
    const now = Date.now();
    metrics.batchSize.observe(msgs.length);
    metrics.readingsStored.inc(res.stored);
    metrics.duplicates.inc(res.duplicates);
    for (const [reason, n] of Object.entries(res.quarantined)) metrics.quarantined.inc({ reason }, n);
    for (const m of msgs) metrics.lagSeconds.observe(Math.max(0, (now - Date.parse(m.sentAt)) / 1000));
    metrics.messages.inc({ kind: 'readings', outcome: 'committed' }, msgs.length);
    opts.onCommitted?.(msgs);
  }

  const batcher = new Batcher<{ msg: ReadingsMessage; raw: Buffer | Uint8Array; topic: string }>({
    size: opts.batchSize,
    lingerMs: opts.lingerMs,
    maxPending: opts.maxPending,
    concurrency: opts.concurrency,
    flush: commit,
    onPending: (n) => metrics.pending.set(n),
  });

  async function status(gatewayId: string, s: GatewayStatus) {
    await db.query(
      `UPDATE gateways SET online = $2, last_status = $3, last_seen_at = CASE WHEN $2 THEN now() ELSE last_seen_at END,
              updated_at = now() WHERE id = $1`,
      [gatewayId, s.state === 'online', JSON.stringify(s)],
    );
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM gateways WHERE online');
    metrics.gatewaysOnline.set(rows[0].n);
    metrics.messages.inc({ kind: 'status', outcome: 'committed' });
    logger.info({ gatewayId, state: s.state, reason: s.reason }, 'gateway status');
  }

  async function event(e: GatewayEvent) {
    await db.query(
      `INSERT INTO gateway_events (gateway_id, ts, kind, severity, meter_key, bus, message, data)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [e.gatewayId, e.ts, e.kind, e.severity, e.meterKey ?? null, e.bus ?? null, e.message, e.data ? JSON.stringify(e.data) : null],
    );
    metrics.messages.inc({ kind: 'events', outcome: 'committed' });
  }

  return {
    get pending() {
      return batcher.pendingCount;
    },
    drain: () => batcher.drain(),
    async handle(topic, payload) {
      const t = parseTopic(topic);
      if (!t) return deadLetter(topic, null, payload, `topic ${topic} is not part of contract v1`, 'unknown');
      if (t.kind === 'cmd' || t.kind === 'reply') return; // command round-trips are not ingested here
      const schema = t.kind === 'readings' ? ReadingsMessage : t.kind === 'status' ? GatewayStatus : GatewayEvent;
      const parsed = parsePayload(schema as typeof ReadingsMessage, payload);
      if (!parsed.ok) return deadLetter(topic, t.gatewayId, payload, parsed.reason, t.kind);
      const msg = parsed.data as ReadingsMessage | GatewayStatus | GatewayEvent;
      if (msg.gatewayId !== t.gatewayId)
        return deadLetter(topic, t.gatewayId, payload, `gatewayId ${msg.gatewayId} in payload differs from topic's ${t.gatewayId}`, t.kind);
      if (t.kind === 'readings') return batcher.add({ msg: msg as ReadingsMessage, raw: payload, topic });
      if (t.kind === 'status') return status(t.gatewayId, msg as GatewayStatus);
      return event(msg as GatewayEvent);
    },
  };
}
