// Pieces the outbox tests share: a reading whose JSON size depends only on `i`'s digits (record
// sizes in the tests are worked out from it), and temporary folders removed after each test.
import { afterEach } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PendingReading } from '../../src/outbox/index.js';

/** Reading `i` of one of `meters` meters, a minute apart from 2026-01-01 00:00 UTC. */
export function reading(i: number, meters = 3): PendingReading {
  return {
    meter: { meterKey: `m${i % meters}`, bus: 'b', protocol: 'mbus', address: String(i % meters) },
    gatewayTime: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
    quality: [],
    values: [{ quantity: 'energy_kwh', value: 1000 + i, unit: 'kWh', quality: [] }],
  };
}

/** `tmp()` makes a folder under the OS's temp dir; every one made in a test is removed after it. */
export function tempDirs(prefix: string): () => string {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = mkdtempSync(join(tmpdir(), `${prefix}-`));
    dirs.push(d);
    return d;
  };
}
