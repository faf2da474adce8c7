/**
 * FramedSocket in front of pglite-socket: bytes of a connection are passed on only as whole request
 * cycles (startup messages at once; then up to a Sync, Query, Terminate, Flush, …), whatever the TCP
 * reads cut — a Bind split from its Execute/Sync once left the embedded database's only connection
 * waiting forever under load.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import { ENGINE_READ_BLOCK, FramedSocket, describeAnswer, firstPiece } from '../../src/db/framed-socket.js';
import { startEmbeddedDb } from '../../src/db/embedded.js';
import { TEST_ENGINE } from '../engine.js';

/** A typed frontend message: type byte, int32 length (self + body), body. */
const msg = (type: string, body = Buffer.alloc(0)) => {
  const m = Buffer.alloc(5 + body.length);
  m.write(type, 0);
  m.writeInt32BE(4 + body.length, 1);
  body.copy(m, 5);
  return m;
};
const startup = () => {
  const m = Buffer.alloc(8);
  m.writeInt32BE(8, 0);
  m.writeInt32BE(196608, 4); // protocol 3.0, no parameters
  return m;
};

/** A FramedSocket on a socket that takes every write, fed by hand, with what it reported unanswered. */
function watched() {
  const socket = new EventEmitter() as unknown as Socket;
  (socket as unknown as { write: () => boolean }).write = () => true;
  const framed = new FramedSocket(socket);
  const unanswered: string[] = [];
  framed.on('unanswered', (why: string) => unanswered.push(why));
  return { framed, unanswered, feed: (b: Buffer) => (socket as unknown as EventEmitter).emit('data', b) };
}

function harness() {
  const socket = new EventEmitter() as unknown as Socket;
  const framed = new FramedSocket(socket);
  const got: Buffer[] = [];
  framed.on('data', (b: Buffer) => got.push(Buffer.from(b)));
  return { feed: (b: Buffer) => (socket as unknown as EventEmitter).emit('data', b), got };
}

describe('FramedSocket', () => {
  it('passes the startup message at once, then holds Parse/Bind until their Sync arrives, cut anywhere', async () => {
    const { feed, got } = harness();
    feed(startup());
    await new Promise((r) => setImmediate(r));
    expect(got).toHaveLength(1);

    const big = Buffer.alloc(200_000, 7); // a batch insert's parameters
    const cycle = Buffer.concat([msg('P', Buffer.from('INSERT …\0\0\0')), msg('B', big), msg('D', Buffer.from('P\0')), msg('E', Buffer.alloc(5)), msg('S')]);
    // TCP reads cut the cycle: mid-header, mid-Bind, right after Bind, inside Execute.
    const cuts = [3, 1000, 17 + 5 + 200_000, cycle.length - 4];
    let from = 0;
    for (const to of cuts) {
      feed(cycle.subarray(from, to));
      expect(got, `after ${to} bytes`).toHaveLength(1);
      from = to;
    }
    feed(cycle.subarray(from));
    expect(got).toHaveLength(2);
    expect(got[1].equals(cycle)).toBe(true);
  });

  it('two cycles in one read go on together; a simple Query ends its cycle by itself', () => {
    const { feed, got } = harness();
    feed(startup());
    const q1 = msg('Q', Buffer.from('SELECT 1\0'));
    const q2 = msg('Q', Buffer.from('SELECT 2\0'));
    const half = msg('P', Buffer.from('SELECT 3\0\0\0'));
    feed(Buffer.concat([q1, q2, half]));
    return new Promise<void>((resolve) => setImmediate(() => {
      expect(got.map((b) => b.length)).toEqual([8, q1.length + q2.length]);
      feed(msg('S'));
      expect(got[2].equals(Buffer.concat([half, msg('S')]))).toBe(true);
      resolve();
    }));
  });
});

/** The types of the whole messages in `b`, in order (e.g. "12TDCZ"). */
const typesOf = (b: Uint8Array) => {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  let out = '';
  for (let o = 0; o + 5 <= buf.length; o += 1 + buf.readInt32BE(o + 1)) out += String.fromCharCode(buf[o]);
  return out;
};
/** An extended-protocol query cycle (Parse, Bind, Describe, Execute, Sync) whose Parse+Bind take `parseBind` bytes. */
const queryCycle = (parseBind: number) => {
  const bind = msg('B', Buffer.from('\0\0\0\0\0\0\0\0'));
  const head = 'SELECT 1 AS x -- ';
  const parseFixed = 5 + 1 + head.length + 1 + 2; // type, length, '' name, text\0, no parameter types
  const text = head + 'y'.repeat(parseBind - bind.length - parseFixed);
  const parse = msg('P', Buffer.concat([Buffer.from(`\0${text}\0`), Buffer.alloc(2)]));
  return { parse, bind, cycle: Buffer.concat([parse, bind, msg('D', Buffer.from('P\0')), msg('E', Buffer.alloc(5)), msg('S')]) };
};

describe("the engine's own flaw this works around: a message ending on its 8 192-byte read block", () => {
  // PGlite takes "its receive buffer is empty" for "the request is over": the messages after one that
  // ends exactly on a multiple of 8 192 bytes are dropped, with no error and no ReadyForQuery. If a
  // PGlite upgrade fixes this, this test fails: the pieces in FramedSocket may then go.
  it.skipIf(TEST_ENGINE === 'server')('answers ParseComplete and BindComplete only when Parse+Bind end on 8 192 or 16 384 bytes; the whole answer one byte either side', async () => {
    const db = await PGlite.create();
    try {
      const answers: Record<number, string> = {};
      for (const at of [8191, 8192, 8193, 16383, 16384, 16385]) {
        const { parse, bind, cycle } = queryCycle(at);
        expect(parse.length + bind.length).toBe(at);
        answers[at] = typesOf(await db.execProtocolRaw(new Uint8Array(cycle))).replace(/N/g, '');
      }
      expect(answers).toEqual({ 8191: '12TDCZ', 8192: '12', 8193: '12TDCZ', 16383: '12TDCZ', 16384: '12', 16385: '12TDCZ' });
    } finally {
      await db.close();
    }
  }, 60_000);
});

describe('firstPiece: where a batch is cut so that no message but the last ends on a read block', () => {
  it('cuts right after a message ending on 8 192 or 16 384 bytes, not after the last one, and walks typed messages only after the startup bytes', () => {
    expect(ENGINE_READ_BLOCK).toBe(8192);
    const at8k = queryCycle(8192);
    expect(firstPiece(at8k.cycle)).toEqual({ length: 8192, lastType: 'B'.charCodeAt(0) });
    const rest = at8k.cycle.subarray(8192);
    expect(firstPiece(rest)).toEqual({ length: rest.length, lastType: 'S'.charCodeAt(0) });
    expect(firstPiece(queryCycle(8193).cycle)).toEqual({ length: queryCycle(8193).cycle.length, lastType: 'S'.charCodeAt(0) });
    // A batch whose LAST message ends on the block is whole as it is.
    const pad = msg('Q', Buffer.alloc(8192 - 5, 0x20));
    expect(pad.length).toBe(8192);
    expect(firstPiece(pad)).toEqual({ length: 8192, lastType: 'Q'.charCodeAt(0) });
    // Two cycles: the first ends on the block, so the second goes on as a piece of its own.
    const two = Buffer.concat([pad, msg('Q', Buffer.from('SELECT 1\0'))]);
    expect(firstPiece(two).length).toBe(8192);
    // Startup bytes ahead are skipped, and count towards the block (the engine reads them in the same call).
    const withStartup = Buffer.concat([startup(), msg('Q', Buffer.alloc(8192 - 8 - 5, 0x20)), msg('S')]);
    expect(firstPiece(withStartup, 8)).toEqual({ length: 8192, lastType: 'Q'.charCodeAt(0) });
  });

  it('FramedSocket passes such a batch on in two pieces, the second after the turn of the event loop, bytes and order kept', async () => {
    const { feed, got } = harness();
    feed(startup());
    await new Promise((r) => setImmediate(r));
    const { cycle } = queryCycle(16384);
    feed(cycle);
    expect(got.map((b) => b.length)).toEqual([8, 16384]);
    await new Promise((r) => setImmediate(r));
    expect(got.map((b) => b.length)).toEqual([8, 16384, cycle.length - 16384]);
    expect(Buffer.concat(got.slice(1)).equals(cycle)).toBe(true);
    expect(typesOf(got[2])).toBe('DES');
  });

  it('an answer to a Sync cut short (no ReadyForQuery at its end) is reported at once, not after a watchdog\'s minute', async () => {
    const { framed, feed, unanswered } = watched();
    const parseBindDone = Buffer.concat([msg('1'), msg('2')]);
    let answer = Buffer.concat([parseBindDone, msg('T', Buffer.alloc(6)), msg('C', Buffer.from('SELECT 0\0')), msg('Z', Buffer.from('I'))]);
    framed.on('data', () => void Promise.resolve().then(() => framed.write(answer)));
    feed(startup());
    feed(queryCycle(100).cycle);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(unanswered).toEqual([]);
    answer = parseBindDone;
    feed(queryCycle(100).cycle);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(unanswered).toEqual([`the database answered a request cycle ending in 'S' (${queryCycle(100).cycle.length} bytes) only in part (ends with '2': 10 B (1×1 2×1))`]);
    // A COPY … FROM STDIN is answered with CopyInResponse and waits for its data: not cut short.
    answer = msg('G', Buffer.from([0, 0, 1, 0, 0]));
    feed(msg('Q', Buffer.from('COPY t FROM STDIN\0')));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(unanswered).toHaveLength(1);
  });
});

describe('FramedSocket: a cycle nobody answered', () => {
  it('says so after the turn of the event loop when a Sync or Query cycle got no write; not when it was answered', async () => {
    const { framed, feed, unanswered } = watched();
    let answer = true;
    // A handler like pglite-socket's: answers after a promise step, unless its result was empty. The
    // emitter does not wait for it, so the step is started and left (`void`); nothing in it rejects.
    framed.on('data', () => {
      void Promise.resolve().then(() => {
        if (answer) framed.write(msg('Z', Buffer.from('I')));
      });
    });
    feed(startup());
    feed(msg('Q', Buffer.from('SELECT 1\0')));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(unanswered).toEqual([]);
    answer = false;
    feed(Buffer.concat([msg('P', Buffer.from('INSERT …\0\0\0')), msg('B', Buffer.alloc(10)), msg('E', Buffer.alloc(5)), msg('S')]));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(unanswered).toHaveLength(1);
    expect(unanswered[0]).toMatch(/no answer to a request cycle ending in 'S'/);
    // A Flush may have nothing to answer: not reported.
    feed(msg('H'));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(unanswered).toHaveLength(1);
  });
});

describe('describeAnswer: what the engine last sent back', () => {
  it('tells an answer ending with a whole ReadyForQuery from one cut inside a message or ending elsewhere', () => {
    const z = msg('Z', Buffer.from('I'));
    const row = msg('D', Buffer.alloc(10));
    const done = msg('C', Buffer.from('SELECT 2\0'));
    expect(describeAnswer(Buffer.concat([row, row, done, z]))).toBe(`whole: ${2 * row.length + done.length + z.length} B (D×2 C×1 Z×1)`);
    // Cut in the middle of the second row: the client would wait for the rest for ever.
    const cut = Buffer.concat([row, row]).subarray(0, row.length + 7);
    expect(describeAnswer(cut)).toBe(`cut: ${row.length + 7} B, a 'D' message of ${row.length} B starts at ${row.length} (D×1)`);
    expect(describeAnswer(Buffer.concat([row, done]))).toBe(`ends with 'C': ${row.length + done.length} B (D×1 C×1)`);
    expect(describeAnswer(Buffer.concat([z, Buffer.from([0x5a, 0, 0])]))).toBe(`cut: ${z.length + 3} B, 3 B after the last whole message (Z×1)`);
  });
});

describe('FramedSocket: how long a connection has been owed an answer', () => {
  it('counts from a Query or a partial message with no answer, not from a Flush, nor while it waits for the session; an answer clears it', async () => {
    const socket = new EventEmitter() as unknown as Socket;
    (socket as unknown as { write: () => boolean }).write = () => true;
    const framed = new FramedSocket(socket);
    framed.on('unanswered', () => undefined);
    const feed = (b: Buffer) => (socket as unknown as EventEmitter).emit('data', b);
    feed(startup());
    feed(msg('Q', Buffer.from('SELECT 1\0')));
    // Nobody holds the session yet (no 'data' listener): owed nothing, whatever the clock says.
    expect(framed.owedFor(Date.now() + 60_000)).toBe(0);
    const handler = () => undefined; // a handler that never answers
    framed.on('data', handler);
    const t0 = Date.now();
    expect(framed.owedFor(t0 + 30_000)).toBeGreaterThanOrEqual(29_000);
    framed.write(Buffer.from('Z'));
    expect(framed.owedFor(t0 + 30_000)).toBe(0);
    // A Flush alone need not be answered.
    feed(msg('H'));
    expect(framed.owedFor(t0 + 30_000)).toBe(0);
    // Half a message: the rest is owed by the client, the answer after it by the server — still lost if it lasts.
    const q = msg('Q', Buffer.from('SELECT 2\0'));
    feed(q.subarray(0, 6));
    expect(framed.owedFor(Date.now() + 30_000)).toBeGreaterThanOrEqual(29_000);
    expect(framed.state()).toMatch(/holds the session; .* held back: 0 B of whole cycles, 6 B of a partial one/);
    framed.off('data', handler);
  });
});

/** An embedded engine with two clients a and b (not connected), the problems it reported, all closed after `fn`. */
async function withTwoClients(opts: { lostRequestMs?: number }, fn: (t: { server: Awaited<ReturnType<typeof startEmbeddedDb>>; a: pg.Client; b: pg.Client; problems: string[] }) => Promise<void>): Promise<void> {
  const problems: string[] = [];
  const server = await startEmbeddedDb({ dataDir: 'memory://', port: 0, onProblem: (m) => problems.push(m), ...opts });
  const a = new pg.Client({ connectionString: server.url });
  const b = new pg.Client({ connectionString: server.url });
  try {
    await fn({ server, a, b, problems });
  } finally {
    await b.end().catch(() => undefined);
    await a.end().catch(() => undefined);
    await server.stop();
  }
}

// The framing sits in front of pglite-socket only; a server speaks to `pg` directly.
describe.skipIf(TEST_ENGINE === 'server')('FramedSocket in front of the real embedded database: slow is not unanswered', () => {
  it('a long statement and a connection waiting for the lock are answered, and nothing is closed', () => withTwoClients({}, async ({ a, b, problems }) => {
        await a.connect();
        // A statement far longer than a turn of the event loop: PGlite runs it inside the same turn, so
        // the answer is written before the guard looks.
        const slow = await a.query('SELECT pg_sleep(0.6) AS slept, 1 AS one');
        expect(slow.rows).toEqual([{ slept: '', one: 1 }]);
        // b waits for PGlite's lock while a holds an open transaction: its cycles are held back, not
        // judged unanswered.
        await a.query('BEGIN');
        await a.query('CREATE TABLE slow_t (x int)');
        const bConnected = b.connect().then(() => b.query('SELECT count(*)::int AS n FROM slow_t'));
        await new Promise((r) => setTimeout(r, 300));
        await a.query('INSERT INTO slow_t SELECT generate_series(1, 3)');
        await a.query('SELECT pg_sleep(0.3)');
        await a.query('COMMIT');
        await a.end();
        // b saw the 3 rows a committed before it got the lock.
        expect((await bConnected).rows).toEqual([{ n: 3 }]);
        expect(problems).toEqual([]);
  }), 30_000);

  it('a query whose Parse and Bind end exactly on the engine\'s 8 192-byte read block is answered whole, and so are its neighbours', () => withTwoClients({}, async ({ a, problems }) => {
    await a.connect();
    // What pg writes for one query, measured: Parse+Bind as they leave the client.
    const stream = (a as unknown as { connection: { stream: Socket } }).connection.stream;
    const sent: Buffer[] = [];
    const write = stream.write.bind(stream);
    (stream as unknown as { write: (b: Buffer, ...rest: unknown[]) => boolean }).write = (b: Buffer, ...rest: unknown[]) => {
      sent.push(Buffer.from(b));
      return (write as (b: Buffer, ...rest: unknown[]) => boolean)(b, ...rest);
    };
    const parseBindOf = (bytes: Buffer) => {
      let o = 0;
      let end = 0;
      while (o + 5 <= bytes.length) {
        const t = String.fromCharCode(bytes[o]);
        o += 1 + bytes.readInt32BE(o + 1);
        if (t === 'P' || t === 'B') end = o;
      }
      return end;
    };
    const run = async (pad: number) => {
      sent.length = 0;
      const r = await a.query({ text: `SELECT $1::text AS x -- ${'y'.repeat(pad)}`, values: ['v'], query_timeout: 10_000 } as pg.QueryConfig);
      return { rows: r.rows as unknown[], parseBind: parseBindOf(Buffer.concat(sent)) };
    };
    const base = (await run(0)).parseBind;
    for (const block of [8192, 16384]) {
      for (const off of [-1, 0, 1]) {
        const got = await run(block - base + off);
        expect(got.parseBind).toBe(block + off);
        expect(got.rows, `Parse+Bind ending at ${block + off}`).toEqual([{ x: 'v' }]);
      }
    }
    expect(problems).toEqual([]);
  }), 60_000);

  it('a request lost on its way (owed an answer with the engine idle) closes that connection and rolls its transaction back; a slow statement or an idle transaction is not lost', () => withTwoClients({ lostRequestMs: 1_500 }, async ({ a, b, problems }) => {
        await a.connect();
        await a.query('CREATE TABLE lost_t (x int)');
        // Longer than the limit but running (the event loop is held, the tick is late): not lost.
        await a.query('SELECT pg_sleep(2.5)');
        // A transaction idle between statements for longer than the limit owes nothing: not lost.
        await a.query('BEGIN');
        await a.query('INSERT INTO lost_t VALUES (1)');
        await new Promise((r) => setTimeout(r, 2_500));
        await a.query('INSERT INTO lost_t VALUES (2)');
        await a.query('COMMIT');
        expect(problems).toEqual([]);

        // Now a request that never arrives whole: BEGIN, a row, then half a Query written under pg's feet.
        await a.query('BEGIN');
        await a.query('INSERT INTO lost_t VALUES (3)');
        const ended = new Promise<string>((resolve) => {
          a.on('error', (e) => resolve(e.message));
          a.on('end', () => resolve('end'));
        });
        const half = msg('Q', Buffer.from('INSERT INTO lost_t VALUES (4)\0')).subarray(0, 12);
        (a as unknown as { connection: { stream: Socket } }).connection.stream.write(half);
        const t0 = Date.now();
        await ended;
        const waited = Date.now() - t0;
        expect(waited).toBeGreaterThanOrEqual(1_400);
        expect(problems).toHaveLength(1);
        expect(problems[0]).toMatch(/connection #1 was owed an answer for \d+ s with the engine idle \(holds the session; .*12 B of a partial one/);

        // The next connection gets the session; the lost connection's open transaction was rolled back.
        // (b waits for the session until the lost one is closed.)
        await b.connect();
        expect((await b.query('SELECT array_agg(x ORDER BY x) AS xs FROM lost_t')).rows).toEqual([{ xs: [1, 2] }]);
  }), 30_000);

  it('a connection holding the session with nothing moving either way is closed when asked (an answer lost on its way back); a lively one is not', () => withTwoClients({}, async ({ server, a, b, problems }) => {
        await a.connect();
        await a.query('CREATE TABLE silent_t (x int)');
        await a.query('BEGIN');
        await a.query('INSERT INTO silent_t VALUES (1)');
        expect(server.closeSilentHolder(5_000)).toBe(false); // bytes moved just now
        expect(problems).toEqual([]);
        await new Promise((r) => setTimeout(r, 700));
        const ended = new Promise<void>((resolve) => { a.on('error', () => resolve()); a.on('end', () => resolve()); });
        expect(server.closeSilentHolder(500)).toBe(true);
        await ended;
        expect(problems).toHaveLength(1);
        expect(problems[0]).toMatch(/connection #1 holds the session with a statement unanswered and nothing moved for \d+ s \(holds the session;/);
        await b.connect();
        expect((await b.query('SELECT count(*)::int AS n FROM silent_t')).rows).toEqual([{ n: 0 }]); // its transaction rolled back
        expect(server.describe()).toMatch(/^embedded engine: 1 connection\(s\); connection #2: holds the session; /);
  }), 30_000);
});
