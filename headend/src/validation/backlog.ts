/**
 * The validator's backlog on /metrics: instants waiting for a verdict and the age of the oldest, read
 * from the queue at scrape time (the queue is the truth, whichever head-end filled or drains it). A
 * backlog that grows while ingestion runs means the validator does not keep up; an oldest age near the
 * poll interval means verdicts arrive a poll late.
 */
import { Gauge, type Registry } from 'prom-client';
import type { Queryable } from '../db/index.js';
import { wallClock, type Clock } from '../util/clock.js';
import { queueBacklog } from './load.js';

export function registerValidationBacklog(r: Registry, db: Queryable, clock: Clock = wallClock): void {
  if (r.getSingleMetric('amr_validation_queued')) return;
  // One query per scrape for both gauges (the registry collects them together).
  let reading: ReturnType<typeof queueBacklog> | null = null;
  const read = () => {
    reading ??= queueBacklog(db).finally(() => {
      reading = null;
    });
    return reading;
  };
  new Gauge({
    name: 'amr_validation_queued',
    help: 'Meter instants waiting for a validation verdict (vee_queue)',
    registers: [r],
    async collect() {
      this.set((await read()).queued);
    },
  });
  new Gauge({
    name: 'amr_validation_oldest_seconds',
    help: 'How long the oldest instant waiting for a verdict has waited, seconds (0 when none waits)',
    registers: [r],
    async collect() {
      const { oldest } = await read();
      this.set(oldest ? Math.max(0, (clock().getTime() - oldest.getTime()) / 1000) : 0);
    },
  });
}
