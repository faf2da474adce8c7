// Bounded shutdown and readiness as pure pieces: a step that never settles is cut at its bound and
// named; one that would outlast the overall deadline stops the sequence and is named as stuck;
// readiness names each failing part with its reason, and a part that does not answer is one of them;
// liveness fails only when the event loop's heartbeat is overdue.
import { describe, expect, it } from 'vitest';
import { runShutdown } from '../../src/server/shutdown.js';
import { checkReadiness, databaseCheck, startLiveness } from '../../src/health/index.js';

const never = () => new Promise<void>(() => undefined);
const done = async () => undefined;

describe('runShutdown', () => {
  it('runs the steps in order; a failing step is reported and the next still runs', async () => {
    const ran: string[] = [];
    const r = await runShutdown([
      { name: 'broker', boundMs: 1000, run: async () => { ran.push('broker'); } },
      { name: 'jobs', boundMs: 1000, run: async () => { ran.push('jobs'); throw new Error('Redis gone'); } },
      { name: 'database', boundMs: 1000, run: async () => { ran.push('database'); } },
    ], { deadlineMs: 5000 });
    expect(ran).toEqual(['broker', 'jobs', 'database']);
    expect(r.steps.map((s) => [s.name, s.outcome, s.error])).toEqual([['broker', 'done', undefined], ['jobs', 'failed', 'Redis gone'], ['database', 'done', undefined]]);
    expect(r).toMatchObject({ clean: true, stuck: null });
  });

  it('cuts a step at its own bound and goes on with the next', async () => {
    const r = await runShutdown([
      { name: 'validator', boundMs: 50, run: never },
      { name: 'database', boundMs: 1000, run: done },
    ], { deadlineMs: 5000 });
    expect(r.steps.map((s) => [s.name, s.outcome])).toEqual([['validator', 'timed_out'], ['database', 'done']]);
    expect(r).toMatchObject({ clean: false, stuck: null });
  });

  it('names the step that used up the overall deadline and skips the rest', async () => {
    const steps: string[] = [];
    const r = await runShutdown([
      { name: 'broker', boundMs: 1000, run: done },
      { name: 'jobs', boundMs: 60_000, run: never },
      { name: 'database', boundMs: 1000, run: done },
    ], { deadlineMs: 150, onStep: (n) => steps.push(n) });
    expect(r.stuck).toBe('jobs');
    expect(r.steps.map((s) => [s.name, s.outcome])).toEqual([['broker', 'done'], ['jobs', 'timed_out'], ['database', 'skipped']]);
    expect(steps).toEqual(['broker', 'jobs']);
  });

  it('a step that throws synchronously is a failed step, not a crash', async () => {
    const r = await runShutdown([{ name: 'http', boundMs: 100, run: () => { throw new Error('not listening'); } }], { deadlineMs: 1000 });
    expect(r.steps[0]).toMatchObject({ name: 'http', outcome: 'failed', error: 'not listening' });
  });
});

describe('checkReadiness', () => {
  it('is ready when every part is, and names each failing part with its reason otherwise', async () => {
    expect(await checkReadiness([{ name: 'database', check: done }, { name: 'broker', check: () => undefined }], 100))
      .toEqual({ ok: true, failing: [], parts: { database: { ok: true }, broker: { ok: true } } });
    const r = await checkReadiness([
      { name: 'database', check: never },
      { name: 'broker', check: done },
      { name: 'jobs', check: () => { throw new Error('Redis at redis://r:6379 unreachable'); } },
    ], 50);
    expect(r.ok).toBe(false);
    expect(r.failing).toEqual(['database', 'jobs']);
    expect(r.parts).toEqual({
      database: { ok: false, error: 'database: no answer within 50 ms' },
      broker: { ok: true },
      jobs: { ok: false, error: 'Redis at redis://r:6379 unreachable' },
    });
  });

  it('asks a database that does not answer only once, however often it is probed', async () => {
    let queries = 0;
    const check = databaseCheck({ query: () => { queries++; return new Promise(() => undefined); } });
    for (let i = 0; i < 3; i++) expect((await checkReadiness([check], 20)).failing).toEqual(['database']);
    expect(queries).toBe(1);
  });

  it('says the database is unreachable and why', async () => {
    const check = databaseCheck({ query: () => Promise.reject(new Error('connect ECONNREFUSED 10.0.0.5:5432')) });
    expect((await checkReadiness([check], 100)).parts.database).toEqual({ ok: false, error: 'database unreachable: connect ECONNREFUSED 10.0.0.5:5432' });
  });
});

describe('startLiveness', () => {
  it('is alive while the heartbeat runs, and not when it is overdue by the limit', async () => {
    let t = 1_000_000;
    const live = startLiveness({ beatMs: 10, wedgedAfterMs: 5000, now: () => t });
    try {
      expect(live.state()).toMatchObject({ ok: true, heartbeatAgeMs: 0 });
      t += 5000; // as if the loop had not turned for 5 s: the heartbeat did not run
      expect(live.state()).toMatchObject({ ok: false, heartbeatAgeMs: 5000 });
      await new Promise((r) => setTimeout(r, 50)); // the loop turns: the heartbeat catches up
      expect(live.state()).toMatchObject({ ok: true, heartbeatAgeMs: 0 });
    } finally {
      live.stop();
    }
  });
});
