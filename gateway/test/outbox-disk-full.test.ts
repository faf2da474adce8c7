// The outbox on a real 256 KiB tmpfs that a filler file fills: appends, acks and compactions the
// disk refuses throw nothing; refused readings wait in memory in arrival order up to the bound,
// then polls are refused; the file never keeps half a record; when the filler is deleted the held
// readings are journaled in order with the next seqs, the ack is written, and a restart agrees.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Outbox, scanRecords, segmentFiles, type StorageFault } from '../src/outbox/index.js';
import { fillDisk, mountTmpfs, type Tmpfs } from './helpers/tmpfs.js';
import { reading as twoMeterReading } from './helpers/outbox.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const reading = (i: number) => twoMeterReading(i, 2);

describe('outbox on a full disk (256 KiB tmpfs)', () => {
  // Mounted in beforeAll, not at load: hooks run only when a test of the file runs, so they pair up.
  let disk: Tmpfs = { ok: false, why: 'not mounted yet' };
  let root = '';
  beforeAll(() => {
    disk = mountTmpfs('outbox-full');
    if (disk.ok) {
      root = disk.path;
      mkdirSync(join(root, 'outbox'));
    } else console.warn(`outbox disk-full tests skipped: ${disk.why}`);
  });
  afterAll(() => {
    if (disk.ok) disk.unmount();
  });
  beforeEach((ctx) => {
    if (!disk.ok) ctx.skip();
  });

  it('holds refused readings in memory, refuses polls beyond the bound, and journals them in order when space returns', async () => {
    const dir = join(root, 'outbox');
    const filler = join(root, 'filler');
    const o = new Outbox({ dir, maxBytes: 1024 * 1024, nearFull: 0.8, memoryReadings: 20, retryMs: 50 });
    const changes: (StorageFault | null)[] = [];
    const errors: string[] = [];
    o.on('storage', (f) => changes.push(f));
    o.on('storageError', (op, code) => errors.push(`${op}:${code}`));
    o.open();
    const first = o.append([1, 2, 3].map(reading));
    expect(first.map((r) => r.seq)).toEqual([1, 2, 3]);
    o.ack(2); // ack.json exists from here on

    // The disk fills up (another program's file): appends go on while the segment's last page has room.
    expect(fillDisk(filler)).toBeGreaterThan(100_000);
    let n = 4;
    while (o.held === 0 && n < 100) o.append([reading(n++)]);
    expect(o.held).toBe(1); // the reading the disk refused
    const stored = o.nextSeq - 1;
    expect(stored).toBe(n - 2);
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ op: 'append', code: 'ENOSPC' });
    expect(o.problem).toMatch(/outbox storage failing: append .* failed with ENOSPC/);
    // the refused write left no half record behind: a crash now would find exactly seqs 1..stored
    const scan = scanRecords(readFileSync(segmentFiles(dir).at(-1)!));
    expect(scan.tailGarbage).toBe(0);
    expect(scan.records).toHaveLength(stored);

    // The broker acknowledges everything stored: ack.json cannot be replaced, the ack holds in memory.
    o.ack(stored);
    expect(errors).toContain('ack:ENOSPC');
    expect(o.ackedSeq).toBe(stored);
    expect(o.depth).toBe(0);
    expect(o.peek(10)).toEqual([]); // nothing is sent twice by this process
    expect(JSON.parse(readFileSync(join(dir, 'ack.json'), 'utf8'))).toEqual({ ackedSeq: 2 });
    expect(existsSync(join(dir, 'ack.json.tmp'))).toBe(false);
    // what a crash now would restart with: seqs 3..stored again (at-least-once; the head-end drops them)
    const crashed = new Outbox({ dir, maxBytes: 1024 * 1024, nearFull: 0.8 });
    expect(crashed.open()).toMatchObject({ pending: stored - 2, ackedSeq: 2, nextSeq: stored + 1 });
    expect(crashed.storageFault).toBeNull();
    crashed.close();

    // Polls go on into memory up to the bound (20), then are refused with a reason.
    while (o.accepts('normal')) o.append([reading(n++)]);
    expect(o.held).toBe(20);
    expect(o.refusal('normal')).toBe('outbox_memory_full');
    expect(o.refusal('low')).toBe('outbox_memory_full');
    expect(o.nextSeq - 1).toBe(stored); // no seq for a reading that is not on disk
    expect(changes).toHaveLength(1); // one alarm, not one per failure

    // Space returns: the retry timer journals the held readings, writes the ack, clears the fault.
    rmSync(filler);
    const until = Date.now() + 10_000;
    while (changes.length < 2 && Date.now() < until) await sleep(20);
    expect(changes).toEqual([expect.objectContaining({ code: 'ENOSPC' }), null]);
    expect(o.held).toBe(0);
    expect(o.problem).toBeNull();
    expect(o.accepts('normal')).toBe(true);
    const held = o.peek(100);
    expect(held.map((r) => r.seq)).toEqual(Array.from({ length: 20 }, (_, i) => stored + 1 + i));
    expect(held.map((r) => r.values[0].value)).toEqual(Array.from({ length: 20 }, (_, i) => 1000 + stored + 1 + i)); // arrival order
    expect(JSON.parse(readFileSync(join(dir, 'ack.json'), 'utf8'))).toEqual({ ackedSeq: stored });
    o.append([reading(n)]);
    expect(o.close()).toBe(0);

    const again = new Outbox({ dir, maxBytes: 1024 * 1024, nearFull: 0.8 });
    expect(again.open()).toMatchObject({ pending: 21, ackedSeq: stored, nextSeq: stored + 22, corruptRecords: 0, tornTailBytes: 0 });
    expect(again.peek(1)[0].seq).toBe(stored + 1);
    again.close();
  });

  it('starts on a read-only disk (EROFS) without throwing, holds readings, and opens the journal when it is writable again', async () => {
    const dir = join(root, 'never-created');
    execFileSync('mount', ['-o', 'remount,ro', root]);
    const o = new Outbox({ dir, maxBytes: 1024 * 1024, nearFull: 0.8, memoryReadings: 5, retryMs: 50 });
    const changes: (StorageFault | null)[] = [];
    o.on('storage', (f) => changes.push(f));
    try {
      expect(o.open()).toMatchObject({ pending: 0 });
      expect(o.storageFault).toMatchObject({ op: 'open', code: 'EROFS' });
      expect(o.append([reading(1), reading(2)])).toEqual([]);
      expect(o.peek(10)).toEqual([]);
      expect(o.held).toBe(2);
      o.append([1, 2, 3].map((i) => reading(i + 2)));
      expect(o.refusal('normal')).toBe('outbox_memory_full');
    } finally {
      execFileSync('mount', ['-o', 'remount,rw', root]);
    }
    const until = Date.now() + 10_000;
    while (changes.length < 2 && Date.now() < until) await sleep(20);
    expect(changes).toEqual([expect.objectContaining({ code: 'EROFS' }), null]);
    expect(o.peek(10).map((r) => [r.seq, r.values[0].value])).toEqual([[1, 1001], [2, 1002], [3, 1003], [4, 1004], [5, 1005]]);
    expect(o.close()).toBe(0);
  });
});
