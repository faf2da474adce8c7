// Compaction of acknowledged records: the journal's files hold what is pending plus a bounded
// margin (sizes worked out by hand from the record size), copying never costs more than it frees,
// and the built journal SIGKILLed at every step of a compaction reopens with exactly the pending
// records, once each, in order.
import { beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { reading, tempDirs } from './helpers/outbox.js';
import { Journal, Outbox, segmentFiles, type CompactionStep } from '../src/outbox/index.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const builtJournal = join(repo, 'gateway/dist/outbox/journal.js');

const tmp = tempDirs('amr-compact');

const filesBytes = (dir: string) => segmentFiles(dir).reduce((s, f) => s + statSync(f).size, 0);

describe('outbox compaction', () => {
  it('keeps the files at most the compaction bound of acknowledged records above what is pending', () => {
    // One record for seq = i in 1000..1999 is 12 (magic, length, CRC) + 8 (seq) + the JSON:
    //   {"meter":{"meterKey":"m0","bus":"b","protocol":"mbus","address":"0"},          69
    //   "gatewayTime":"2026-01-02T01:00:00.000Z",                                      41
    //   "quality":[],                                                                  13
    //   "values":[{"quantity":"energy_kwh","value":2500,"unit":"kWh","quality":[]}],   76
    //   "seq":1500}                                                                    11  → 210, a record 230 bytes.
    // With an 8 KiB bound (8 192 bytes; the default is 64 KiB) and nothing pending, compaction runs
    // when the acknowledged bytes reach it: after ⌈8 192 / 230⌉ = 36 records (36 × 230 = 8 280).
    // The files never hold more than 35 × 230 = 8 050 bytes, and after 100 readings acknowledged
    // one by one (compactions after 36 and 72) they hold 100 − 72 = 28 records = 6 440 bytes.
    expect(JSON.stringify({ ...reading(1500), seq: 1500 }).length).toBe(210);
    expect(new Journal(tmp()).compactBytes).toBe(64 * 1024);
    const dir = tmp();
    const o = new Outbox({ dir, maxBytes: 64 * 1024 * 1024, nearFull: 0.8, compactBytes: 8192 });
    o.open();
    // seqs 1..999 (shorter records) in one batch, acknowledged: one compaction leaves empty files
    o.append(Array.from({ length: 999 }, (_, i) => reading(i + 1)));
    o.ack(999);
    expect(filesBytes(dir)).toBe(0);
    let most = 0;
    for (let i = 1000; i < 1100; i++) {
      const [r] = o.append([reading(i)]);
      expect(r.seq).toBe(i);
      o.ack(i);
      most = Math.max(most, filesBytes(dir));
    }
    expect(most).toBe(8050);
    expect(filesBytes(dir)).toBe(6440);
    expect(o.diskBytes).toBe(6440);
    expect(segmentFiles(dir)).toHaveLength(1);
    o.close();
    // what is left on disk is acknowledged: a restart has nothing to send and continues the seqs
    const again = new Outbox({ dir, maxBytes: 64 * 1024 * 1024, nearFull: 0.8, compactBytes: 8192 });
    expect(again.open()).toMatchObject({ pending: 0, ackedSeq: 1099, nextSeq: 1100, corruptRecords: 0 });
    again.close();
  });

  it('drains a backlog copying at most as much as it frees, the margin never above what is pending', () => {
    const dir = tmp();
    let copied = 0;
    let compactions = 0;
    const o = new Outbox({
      dir,
      maxBytes: 64 * 1024 * 1024,
      nearFull: 0.8,
      compactBytes: 4096,
      onCompactionStep: (s) => {
        if (s === 'copy-synced') {
          copied += o.pendingBytes; // the copy is exactly the pending records
          compactions++;
        }
      },
    });
    o.open();
    o.append(Array.from({ length: 300 }, (_, i) => reading(1000 + i)));
    const appended = o.pendingBytes;
    // 230 bytes less one per seq digit short of 4: 9 × 227 + 90 × 228 + 201 × 229
    expect(appended).toBe(68_592);
    for (let seq = 10; seq <= 300; seq += 10) {
      o.ack(seq);
      const disk = filesBytes(dir);
      expect(disk).toBe(o.diskBytes);
      // acknowledged bytes left on disk stay below max(4096, pending)
      expect(disk - o.pendingBytes).toBeLessThan(Math.max(4096, o.pendingBytes));
    }
    expect(o.pendingBytes).toBe(0);
    expect(copied).toBeLessThanOrEqual(appended);
    expect(compactions).toBeGreaterThan(0);
    expect(compactions).toBeLessThan(12);
    o.close();
  });
});

describe('a compaction killed at each step', () => {
  beforeAll(() => {
    if (!existsSync(builtJournal)) throw new Error(`${builtJournal} missing: run \`npx tsc -b\` (npm run build) first`);
  });

  // 12 records of 220 bytes (8 seq + 200 body + 12 header) with 2 000-byte segments: seg 1 holds
  // seqs 1..10 (2 200 bytes, then it rolls), seg 2 holds 11..12. Ack 9: 1 980 bytes acknowledged
  // ≥ 1 000 and ≥ 660 pending → the compaction copies 10..12 into seg 3 and deletes segs 1 and 2.
  const body = (seq: number) => Buffer.from(`${String(seq).padStart(4, '0')}${'x'.repeat(196)}`);
  const opts = { segmentBytes: 2000, compactBytes: 1000 };
  const seg = (n: number) => `seg-${String(n).padStart(12, '0')}.log`;

  /** Runs the built journal in a child: open, ack 9, compact — SIGKILLed at `step`. */
  function runChild(dir: string, step: CompactionStep | 'none'): Promise<NodeJS.Signals | number | null> {
    const script = `
      import { Journal } from ${JSON.stringify(pathToFileURL(builtJournal).href)};
      const j = new Journal(process.env.J_DIR, { segmentBytes: 2000, compactBytes: 1000,
        onCompactionStep: (s) => { if (s === process.env.J_STEP) process.kill(process.pid, 'SIGKILL'); } });
      j.open();
      j.ack(9);
      j.compact();
      j.close();`;
    const c = spawn(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, J_DIR: dir, J_STEP: step }, stdio: ['ignore', 'ignore', 'inherit'] });
    return new Promise((r) => c.once('exit', (code, signal) => r(signal ?? code)));
  }

  const cases: { step: CompactionStep | 'none'; filesAtKill: string[] }[] = [
    { step: 'copy-partial', filesAtKill: [seg(1), seg(2), `${seg(3)}.tmp`] },
    { step: 'copy-synced', filesAtKill: [seg(1), seg(2), `${seg(3)}.tmp`] },
    { step: 'renamed', filesAtKill: [seg(1), seg(2), seg(3)] },
    { step: 'old-deleted', filesAtKill: [seg(2), seg(3)] },
    { step: 'none', filesAtKill: [seg(3)] },
  ];
  for (const c of cases) {
    it(`killed at ${c.step}: reopens with seqs 10..12 once each, then appends 13`, async () => {
      const dir = tmp();
      const j = new Journal(dir, opts);
      j.open();
      for (let s = 1; s <= 12; s++) j.append([s], (n) => body(n));
      j.close();
      expect(segmentFiles(dir).map((f) => basename(f))).toEqual([seg(1), seg(2)]);

      expect(await runChild(dir, c.step)).toBe(c.step === 'none' ? 0 : 'SIGKILL');
      expect(readdirSync(dir).filter((f) => f.startsWith('seg-')).sort()).toEqual(c.filesAtKill);

      const k = new Journal(dir, opts);
      const report = k.open();
      expect(report).toMatchObject({ pending: 3, ackedSeq: 9, nextSeq: 13, corruptRecords: 0, tornTailBytes: 0, leftovers: c.filesAtKill.some((f) => f.endsWith('.tmp')) ? 1 : 0 });
      expect(k.peek(10).map((e) => [e.seq, e.body.toString('utf8', 0, 4)])).toEqual([[10, '0010'], [11, '0011'], [12, '0012']]);
      expect(k.append([13], (n) => body(n))).toEqual([13]);
      k.close();

      const l = new Journal(dir, opts);
      expect(l.open()).toMatchObject({ pending: 4, nextSeq: 14, corruptRecords: 0 });
      expect(l.peek(10).map((e) => e.seq)).toEqual([10, 11, 12, 13]);
      l.ack(13);
      l.compact(); // 3 or 4 acknowledged records (660 or 880 bytes) are below the 1 000-byte bound: kept
      expect(l.peek(10)).toEqual([]);
      expect(l.diskBytes).toBeLessThan(1000);
      l.close();
      expect(readdirSync(dir).filter((f) => f.startsWith('seg-'))).toHaveLength(1);
    });
  }
});
