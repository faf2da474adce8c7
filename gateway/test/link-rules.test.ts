// The pure rules behind self-recovery, with expected results worked out by hand: which errors mean
// a lost line (by code, not message), the reopen back-off, the health judgement, the per-meter
// state across restarts, the watchdog withholding its ping, and the broker's refusal named in the log.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ChecksumError, LinkLostError, ProtocolError, TimeoutError, classifyIoError } from '../src/drivers/types.js';
import { LinkSupervisor, type LinkStatus } from '../src/bus/link.js';
import { judgeHealth, type HealthInput } from '../src/ops/health.js';
import { MeterStateStore, afterFailure, afterSuccess } from '../src/runtime/meter-state.js';
import { healthRestarts, restartHoldMs, startWatchdog } from '../src/cli/watchdog.js';
import { connect } from '../src/mqtt/connection.js';
import { validateConfig } from '../src/index.js';
import { reopenCap } from '../src/runtime/gateway.js';
import type { ResolvedMeter } from '../src/config/resolve.js';
import { startBroker } from './helpers/broker.js';

const sysErr = (code: string, message = 'whatever the platform says') => Object.assign(new Error(message), { code });

describe('classifyIoError', () => {
  it('sorts by error code, whatever the message', () => {
    for (const code of ['ENOENT', 'EIO', 'ENXIO', 'EBADF', 'EPIPE', 'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT']) {
      const c = classifyIoError(sysErr(code), 'bus x');
      expect(c, code).toBeInstanceOf(LinkLostError);
      expect((c as LinkLostError).code).toBe(code);
    }
    // Node's text for a write after the peer's FIN: the code, not the wording, decides.
    expect(classifyIoError(sysErr('EPIPE', 'This socket has been ended by the other party'), 'b')).toBeInstanceOf(LinkLostError);
    // serialport's own disconnect flag (USB pulled) without a code.
    expect((classifyIoError(Object.assign(new Error('gone'), { disconnected: true }), 'b') as LinkLostError).code).toBe('PORT_CLOSED');
  });

  it('leaves typed errors and code-less errors alone, even when their text sounds like a lost line', () => {
    const t = new TimeoutError('no answer');
    expect(classifyIoError(t, 'b')).toBe(t);
    expect(classifyIoError(new Error('port closed, EPIPE, ECONNRESET'), 'b')).not.toBeInstanceOf(LinkLostError);
    expect(classifyIoError(sysErr('EINVAL'), 'b')).not.toBeInstanceOf(LinkLostError);
  });
});

describe('LinkSupervisor', () => {
  const lost = new LinkLostError('gone', 'EIO');
  it('backs off 500 ms doubling to 30 s, and starts again only when a meter answers', () => {
    let now = 1_000_000;
    const s = new LinkSupervisor(['a', 'b'], { retryMinMs: 500, retryMaxMs: 30_000 }, () => now);
    s.opened();
    expect(s.lost(lost).delayMs).toBe(500);
    expect(s.mayOpen()).toBe(false);
    now += 500;
    expect(s.mayOpen()).toBe(true);
    // 1 s, 2 s, 4 s, 8 s, 16 s, then capped at 30 s
    expect([1, 2, 3, 4, 5, 6, 7].map(() => s.openFailed(lost).delayMs)).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    expect(s.status()).toMatchObject({ state: 'reopening', reopenAttempts: 7, consecutiveFailures: 7, lastError: { code: 'EIO' } });
    // An open that succeeds onto a dead line does not reset the back-off…
    expect(s.opened()).toEqual({ reopened: true, attempts: 7 });
    expect(s.lost(lost).delayMs).toBe(30_000);
    s.opened();
    // …an answer does, and reports how long the line was down.
    now += 4_000;
    expect(s.answered()).toEqual({ recoveredAfterMs: 4_500 });
    expect(s.lost(lost).delayMs).toBe(500);
  });

  it('counts the line lost when every configured meter timed out twice since the last answer, not before', () => {
    const s = new LinkSupervisor(['a', 'b', 'c']);
    s.opened();
    const to = new TimeoutError('no answer');
    for (const m of ['a', 'b', 'c', 'a', 'b', 'a', 'a']) expect(s.failed(m, to), m).toBeNull(); // c only once so far
    expect(s.failed('c', to)?.code).toBe('ALL_METERS_TIMED_OUT');
    // A damaged answer proves the line: the count starts over.
    for (const m of ['a', 'b', 'c', 'a', 'b']) expect(s.failed(m, to)).toBeNull();
    expect(s.failed('b', new ChecksumError('crc'))).toBeNull();
    for (const m of ['c', 'a', 'b', 'c']) expect(s.failed(m, to)).toBeNull();
    expect(s.failed('a', new ProtocolError('odd'))).toBeNull();
    // A lost-link error is lost at once.
    expect(s.failed('a', lost)).toBe(lost);
  });

  it('one meter alone on its bus: one stalled poll does not close the line, two do', () => {
    const s = new LinkSupervisor(['only']);
    s.opened();
    expect(s.failed('only', new TimeoutError('t'))).toBeNull();
    expect(s.answered()).toBeNull();
    expect(s.failed('only', new TimeoutError('t'))).toBeNull();
    expect(s.failed('only', new TimeoutError('t'))?.code).toBe('ALL_METERS_TIMED_OUT');
  });

  it('without configured meters only lost-link errors count (a worker used for one-off reads)', () => {
    const s = new LinkSupervisor([]);
    s.opened();
    for (let i = 0; i < 5; i++) expect(s.failed('x', new TimeoutError('t'))).toBeNull();
  });
});

describe('reopenCap', () => {
  const m = (interval: number) => ({ interval }) as ResolvedMeter;
  it('keeps the back-off under half the shortest poll interval of the bus, never under reopenMin', () => {
    expect(reopenCap(500, 30_000, [m(900_000), m(3_600_000)])).toBe(30_000); // 15 min polls: the configured 30 s
    expect(reopenCap(500, 30_000, [m(900_000), m(10_000)])).toBe(5_000); // a 10 s meter: 5 s
    expect(reopenCap(500, 30_000, [m(600)])).toBe(500); // half of 600 ms is below reopenMin
    expect(reopenCap(500, 30_000, [])).toBe(30_000); // a bus without meters
  });
});

describe('judgeHealth', () => {
  const link = (over: Partial<LinkStatus> = {}): LinkStatus => ({ state: 'open', since: 0, lastError: null, consecutiveFailures: 0, reopenAttempts: 0, nextAttemptAt: null, ...over });
  const base = (over: Partial<HealthInput> = {}): HealthInput => ({
    now: 1_000_000,
    graceMs: 120_000,
    broker: { connected: true, since: 0, lastError: null, losses: 0, refusals: 0 },
    buses: [{ name: 'm1', link: link(), meters: ['a', 'b'], silent: [] }],
    outboxProblem: null,
    ...over,
  });

  it('is ok when all is well, and within the grace', () => {
    expect(judgeHealth(base())).toEqual({ ok: true, problems: [] });
    // broker away 120 s = the grace exactly; a bus reopening 119 s; one of two meters silent
    const h = base({
      broker: { connected: false, since: 1_000_000 - 120_000, lastError: null, losses: 1, refusals: 0 },
      buses: [{ name: 'm1', link: link({ state: 'reopening', since: 1_000_000 - 119_000 }), meters: ['a', 'b'], silent: ['a'] }],
    });
    expect(judgeHealth(h).ok).toBe(true);
  });

  it('names each reason it cannot deliver or poll', () => {
    const h = base({
      broker: { connected: false, since: 1_000_000 - 121_000, lastError: { message: 'Connection refused: Not authorized', code: 5, at: 0 }, losses: 0, refusals: 3 },
      buses: [
        { name: 'm1', link: link({ state: 'reopening', since: 1_000_000 - 130_000, lastError: { message: 'cannot open m1 (/dev/ttyUSB0): ENOENT', code: 'ENOENT', at: 0 } }), meters: ['a'], silent: [] },
        { name: 'p1', link: link(), meters: ['x', 'y'], silent: ['y', 'x'] },
        { name: 'empty', link: link(), meters: [], silent: [] },
      ],
      outboxProblem: 'outbox full: 4000 bytes of unacknowledged readings (limit 4000); polls refused until the broker takes readings',
    });
    expect(judgeHealth(h)).toEqual({
      ok: false,
      problems: [
        'outbox full: 4000 bytes of unacknowledged readings (limit 4000); polls refused until the broker takes readings',
        'broker disconnected for 121 s (Connection refused: Not authorized)',
        'bus m1 unavailable for 130 s (cannot open m1 (/dev/ttyUSB0): ENOENT)',
        'bus p1: all 2 meters silent',
      ],
    });
  });
});

describe('per-meter state', () => {
  it('silent after the n-th failure in a row, back on the next answer', () => {
    let s = afterFailure(undefined, 'T1', 3);
    expect(s).toEqual({ next: { lastSuccessAt: null, lastFailedAt: 'T1', consecutiveFailures: 1, silentSince: null }, silentNow: false });
    s = afterFailure(s.next, 'T2', 3);
    s = afterFailure(s.next, 'T3', 3);
    expect(s.silentNow).toBe(true);
    expect(s.next.silentSince).toBe('T3');
    s = afterFailure(s.next, 'T4', 3);
    expect(s.silentNow).toBe(false); // reported once
    expect(s.next).toMatchObject({ consecutiveFailures: 4, silentSince: 'T3' });
    const b = afterSuccess(s.next, 'T5');
    expect(b).toEqual({ next: { lastSuccessAt: 'T5', lastFailedAt: 'T4', consecutiveFailures: 0, silentSince: null }, back: { silentSince: 'T3', failures: 4 } });
    expect(afterSuccess(b.next, 'T6').back).toBeNull();
  });

  it('survives a restart through the file, drops meters no longer configured, and starts afresh on a damaged file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'amr-mstate-'));
    try {
      const file = join(dir, 'meter-state.json');
      const a = new MeterStateStore(file, ['m1', 'm2']);
      a.set('m1', { lastSuccessAt: null, lastFailedAt: 'T', consecutiveFailures: 3, silentSince: 'T' }, true);
      a.set('m2', { lastSuccessAt: 'T', lastFailedAt: null, consecutiveFailures: 0, silentSince: null }, false);
      a.flush();
      const b = new MeterStateStore(file, ['m1']);
      expect(b.silent()).toEqual(['m1']);
      expect(b.get('m2')).toBeUndefined();
      writeFileSync(file, '{"v":1,"meters":{"m1":{"consecutiveFailures":"three"}}}');
      const c = new MeterStateStore(file, ['m1']);
      expect(c.loadProblem).toMatch(/meter-state\.json/);
      expect(c.silent()).toEqual([]);
      c.set('m1', { lastSuccessAt: 'U', lastFailedAt: null, consecutiveFailures: 0, silentSince: null }, true);
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ v: 1, meters: { m1: { lastSuccessAt: 'U', lastFailedAt: null, consecutiveFailures: 0, silentSince: null } } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('systemd watchdog', () => {
  const until = async (cond: () => boolean, what: string) => {
    for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
    if (!cond()) throw new Error(`timed out waiting for ${what}`);
  };
  const env = { NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '60000000' };

  it('pings while healthy, withholds the ping while /health would be 503, and says why once', async () => {
    const sent: string[] = [];
    const said: string[][] = [];
    let resumed = 0;
    let h = { ok: true, problems: [] as string[] };
    const stop = startWatchdog(() => h, { env, notify: (m) => sent.push(m), onWithhold: (p) => said.push(p), onResume: () => resumed++, periodMs: 10 });
    try {
      await until(() => sent.filter((m) => m === 'WATCHDOG=1').length >= 2, 'two pings while healthy');
      expect(sent[0]).toBe('READY=1');
      h = { ok: false, problems: ['bus m1 unavailable for 130 s'] };
      await until(() => said.length === 1, 'the pings withheld');
      const pings = sent.length;
      await new Promise((r) => setTimeout(r, 60)); // several periods
      expect(sent.length).toBe(pings);
      expect(said).toEqual([['bus m1 unavailable for 130 s']]);
      h = { ok: true, problems: [] };
      await until(() => sent.length > pings, 'pings resuming');
      expect(resumed).toBe(1);
    } finally {
      stop();
    }
  });

  it('after restarts for health in a row, keeps pinging through the hold (a dead meter must not restart the gateway every minute)', async () => {
    let now = 0;
    const sent: string[] = [];
    const said: string[][] = [];
    const stop = startWatchdog(() => ({ ok: false, problems: ['bus p1: all 1 meters silent'] }), { env, notify: (m) => sent.push(m), onWithhold: (p) => said.push(p), periodMs: 10, holdMs: restartHoldMs(2), now: () => now });
    try {
      await until(() => sent.filter((m) => m === 'WATCHDOG=1').length >= 3, 'pings during the hold');
      expect(said).toEqual([]);
      now = 120_000; // the hold after two restarts: 2 min
      await until(() => said.length === 1, 'the pings withheld after the hold');
    } finally {
      stop();
    }
    expect([0, 1, 2, 3, 7, 8, 50].map(restartHoldMs)).toEqual([0, 60_000, 120_000, 240_000, 3_600_000, 3_600_000, 3_600_000]);
  });

  it('counts restarts for health in a file, and a damaged file counts as none', () => {
    const dir = mkdtempSync(join(tmpdir(), 'amr-wd-'));
    try {
      const f = join(dir, 'watchdog.json');
      expect(healthRestarts.read(f)).toBe(0);
      healthRestarts.write(f, 3);
      expect(healthRestarts.read(f)).toBe(3);
      writeFileSync(f, '{"restarts":-4}');
      expect(healthRestarts.read(f)).toBe(0);
      writeFileSync(f, 'not json');
      expect(healthRestarts.read(f)).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('does nothing outside systemd', () => {
    const sent: string[] = [];
    startWatchdog(() => ({ ok: true, problems: [] }), { env: {}, notify: (m) => sent.push(m) })();
    expect(sent).toEqual([]);
  });
});

describe('broker refusal in the log', () => {
  it('names the CONNACK code at error level, and keeps retrying', async () => {
    // A "broker" that refuses every CONNECT with return code 5 (not authorized).
    let connects = 0;
    const server = net.createServer((s) => {
      s.on('data', () => {
        connects++;
        s.write(Buffer.from([0x20, 0x02, 0x00, 0x05]));
      });
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    const logs: { level: number; msg: string; connack?: number }[] = [];
    const cfg = validateConfig({
      gateway: { id: 'gw-refused', bufferDir: '/nonexistent' },
      mqtt: { url: `mqtt://127.0.0.1:${port}`, reconnectMin: '50ms', reconnectMax: '100ms' },
      buses: [{ name: 'b', protocol: 'pulse', port: '/dev/null' }],
    });
    const conn = connect(cfg, new Date(0).toISOString(), () => 0, () => undefined, pino({ level: 'info' }, { write: (s: string) => void logs.push(JSON.parse(s) as (typeof logs)[number]) }));
    try {
      for (let i = 0; i < 200 && connects < 2; i++) await new Promise((r) => setTimeout(r, 20));
      expect(connects, 'retried after the refusal').toBeGreaterThanOrEqual(2);
      const refusal = logs.find((l) => l.connack === 5);
      expect(refusal?.level).toBe(50);
      expect(refusal?.msg).toMatch(/CONNACK 5 \(not authorized\)/);
      expect(logs.some((l) => l.level === 40 && /reconnecting/.test(l.msg))).toBe(true);
      expect(conn.status()).toMatchObject({ connected: false, lastError: { code: 5 } });
      expect(conn.status().refusals).toBeGreaterThanOrEqual(1);
    } finally {
      await conn.close();
      server.close();
    }
  });
});

describe('broker loss and return in the log', () => {
  it('logs the loss at warn, the reconnect attempts at warn, the return at info; status follows', async () => {
    const broker = await startBroker();
    const logs: { level: number; msg: string }[] = [];
    const cfg = validateConfig({
      gateway: { id: 'gw-loss', bufferDir: '/nonexistent' },
      mqtt: { url: broker.url, reconnectMin: '50ms', reconnectMax: '100ms' },
      buses: [{ name: 'b', protocol: 'pulse', port: '/dev/null' }],
    });
    let connects = 0;
    const conn = connect(cfg, new Date(0).toISOString(), () => 0, () => void connects++, pino({ level: 'info' }, { write: (s: string) => void logs.push(JSON.parse(s) as (typeof logs)[number]) }));
    const until = async (cond: () => boolean, what: string) => {
      for (let i = 0; i < 300 && !cond(); i++) await new Promise((r) => setTimeout(r, 20));
      if (!cond()) throw new Error(`timed out waiting for ${what}`);
    };
    try {
      await until(() => connects === 1, 'the first connection');
      expect(conn.status()).toMatchObject({ connected: true, losses: 0 });
      await broker.down();
      await until(() => logs.some((l) => l.level === 40 && /connection lost/.test(l.msg)), 'the loss logged at warn');
      expect(conn.status()).toMatchObject({ connected: false, losses: 1 });
      await until(() => logs.some((l) => l.level === 40 && /reconnecting/.test(l.msg)), 'a reconnect attempt logged at warn');
      await broker.up();
      await until(() => connects === 2, 'the reconnection');
      expect(logs.some((l) => l.level === 30 && /broker: reconnected/.test(l.msg))).toBe(true);
      expect(conn.status().connected).toBe(true);
    } finally {
      await conn.close();
      await broker.close();
    }
  });
});
