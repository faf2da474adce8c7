import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync, statSync, readdirSync } from 'node:fs';
import { reading, tempDirs } from './helpers/outbox.js';
import { Outbox, appendRawForTest, segmentFiles, encodeRecord } from '../src/outbox/index.js';

const tmp = tempDirs('amr-outbox');

const open = (dir: string, extra: Partial<ConstructorParameters<typeof Outbox>[0]> = {}) => {
  const o = new Outbox({ dir, maxBytes: 1024 * 1024, nearFull: 0.8, ...extra });
  const report = o.open();
  return { o, report };
};

describe('outbox journal', () => {
  it('assigns increasing seqs, replays unacked in order after restart, continues seq', () => {
    const dir = tmp();
    const { o } = open(dir);
    const a = o.append([reading(1), reading(2), reading(3)]);
    expect(a.map((r) => r.seq)).toEqual([1, 2, 3]);
    o.ack(1);
    o.close();
    const { o: o2, report } = open(dir);
    expect(report.pending).toBe(2);
    expect(o2.peek(10).map((r) => [r.seq, r.values[0].value])).toEqual([[2, 1002], [3, 1003]]);
    expect(o2.append([reading(4)])[0].seq).toBe(4);
    o2.close();
  });

  it('keeps the sequence strictly increasing after everything was acked and compacted', () => {
    const dir = tmp();
    const { o } = open(dir, { segmentBytes: 300 });
    for (let i = 0; i < 10; i++) o.append([reading(i)]);
    o.ack(10);
    o.close();
    expect(segmentFiles(dir).length).toBeLessThanOrEqual(1);
    const { o: o2, report } = open(dir, { segmentBytes: 300 });
    expect(report.pending).toBe(0);
    expect(o2.append([reading(11)])[0].seq).toBe(11);
    o2.close();
  });

  it('compacts fully acknowledged segments', () => {
    const dir = tmp();
    const { o } = open(dir, { segmentBytes: 400 });
    for (let i = 0; i < 20; i++) o.append([reading(i)]);
    const before = segmentFiles(dir).length;
    expect(before).toBeGreaterThan(3);
    o.ack(15);
    expect(segmentFiles(dir).length).toBeLessThan(before);
    expect(o.peek(100).map((r) => r.seq)).toEqual([16, 17, 18, 19, 20]);
    o.close();
  });

  it('detects a torn last record, truncates it, loses nothing else', () => {
    const dir = tmp();
    const { o } = open(dir);
    o.append([reading(1), reading(2)]);
    o.close();
    // power cut mid-write: header and half a payload of record 3
    const whole = encodeRecord(Buffer.concat([Buffer.alloc(8), Buffer.from(JSON.stringify(reading(3)))]));
    appendRawForTest(dir, whole.subarray(0, 30));
    const seg = segmentFiles(dir)[0];
    const tornSize = statSync(seg).size;
    const { o: o2, report } = open(dir);
    expect(report.tornTailBytes).toBe(30);
    expect(statSync(seg).size).toBe(tornSize - 30);
    expect(o2.peek(10).map((r) => r.seq)).toEqual([1, 2]);
    expect(o2.append([reading(3)])[0].seq).toBe(3);
    o2.close();
    const { o: o3 } = open(dir);
    expect(o3.peek(10).map((r) => r.seq)).toEqual([1, 2, 3]);
    o3.close();
  });

  it('skips a corrupted record in the middle and keeps the ones after it', () => {
    const dir = tmp();
    const { o } = open(dir);
    o.append([reading(1)]);
    o.append([reading(2)]);
    o.append([reading(3)]);
    o.close();
    const seg = segmentFiles(dir)[0];
    const buf = readFileSync(seg);
    const recLen = buf.length / 3;
    buf[Math.floor(recLen + recLen / 2)] ^= 0xff; // flip a byte inside record 2's payload
    writeFileSync(seg, buf);
    const { o: o2, report } = open(dir);
    expect(report.corruptRecords).toBe(1);
    expect(report.tornTailBytes).toBe(0);
    expect(o2.peek(10).map((r) => r.seq)).toEqual([1, 3]);
    o2.close();
  });

  it('resynchronises after a corrupted length field', () => {
    const dir = tmp();
    const { o } = open(dir);
    o.append([reading(1)]);
    o.append([reading(2)]);
    o.append([reading(3)]);
    o.close();
    const seg = segmentFiles(dir)[0];
    const buf = readFileSync(seg);
    const recLen = buf.length / 3;
    buf.writeUInt32LE(0x7fff, recLen + 4); // record 2 claims a huge length
    writeFileSync(seg, buf);
    const { o: o2 } = open(dir);
    expect(o2.peek(10).map((r) => r.seq)).toEqual([1, 3]);
    o2.close();
  });

  it('applies the size policy: low priority refused near full, everything refused when full, nothing dropped', () => {
    const dir = tmp();
    const levels: string[] = [];
    const o = new Outbox({ dir, maxBytes: 2000, nearFull: 0.5 });
    o.on('level', (l) => levels.push(l));
    o.open();
    let n = 0;
    while (o.accepts('low')) o.append([reading(n++)]);
    expect(o.level).toBe('near_full');
    expect(o.accepts('normal')).toBe(true);
    while (o.accepts('normal')) o.append([reading(n++)]);
    expect(o.level).toBe('full');
    expect(levels).toEqual(['near_full', 'full']);
    expect(o.depth).toBe(n);
    o.ack(n);
    expect(o.level).toBe('ok');
    expect(levels.at(-1)).toBe('ok');
    o.close();
    expect(readdirSync(dir)).toContain('ack.json');
  });
});
