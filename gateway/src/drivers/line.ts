/**
 * A byte line to a bus: a serial port (serialport) or a transparent serial-over-TCP converter
 * (`tcp://host:port`). Drivers write a request and collect the answer through `receive`; bytes that
 * arrive while nobody receives (the rest of an answer the master already gave up on) are discarded
 * and counted, and `drain` waits for the line to be quiet before the next request, so a late answer
 * is never taken for the next meter's.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { ResolvedBus } from '../config/resolve.js';

export interface DrainResult {
  /** Bytes that arrived with no exchange waiting for them, since the previous drain. */
  discarded: number;
  /** How long the drain waited for the line to fall quiet. */
  waitedMs: number;
  /** The line still talked when `maxMs` ran out. */
  stillTalking: boolean;
}

export interface ByteLine {
  stream: Duplex;
  write(bytes: Buffer): Promise<void>;
  /** Routes received bytes to `fn` until the returned function is called. */
  receive(fn: (chunk: Buffer) => void): () => void;
  /**
   * Returns once no byte has arrived for `quietMs` (at once if the line has been quiet that long
   * already; with `fresh`, the quiet is counted from now: after a broken answer whose rest may
   * still come), at most after `maxMs`; everything that came meanwhile is discarded and counted.
   */
  drain(quietMs: number, maxMs: number, fresh?: boolean): Promise<DrainResult>;
  /** Drops bytes not yet delivered (kept for drivers that read the stream themselves). */
  flushInput(): Promise<void>;
  close(): Promise<void>;
}

/** The receive/drain half shared by both transports: one 'data' listener for the line's life. */
function dispatcher(stream: Duplex) {
  let receiver: ((chunk: Buffer) => void) | null = null;
  let lastRxAt = -Infinity;
  let discarded = 0;
  stream.on('data', (chunk: Buffer) => {
    lastRxAt = performance.now();
    if (receiver) receiver(chunk);
    else discarded += chunk.length;
  });
  return {
    receive(fn: (chunk: Buffer) => void): () => void {
      receiver = fn;
      return () => {
        if (receiver === fn) receiver = null;
      };
    },
    async drain(quietMs: number, maxMs: number, fresh = false): Promise<DrainResult> {
      const t0 = performance.now();
      for (;;) {
        const now = performance.now();
        const quietFor = now - (fresh ? Math.max(lastRxAt, t0) : lastRxAt);
        if (quietFor >= quietMs || now - t0 >= maxMs) {
          const r = { discarded, waitedMs: now - t0, stillTalking: quietFor < quietMs };
          discarded = 0;
          return r;
        }
        await sleep(Math.max(1, Math.min(quietMs - quietFor, maxMs - (now - t0))));
      }
    },
  };
}

export async function openLine(bus: ResolvedBus): Promise<ByteLine> {
  if (bus.tcp) {
    const { host, port } = bus.tcp;
    const sock = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host, port }, () => resolve(s));
      s.once('error', reject);
    });
    sock.setNoDelay(true);
    sock.on('error', () => undefined);
    const d = dispatcher(sock);
    return {
      stream: sock,
      write: (b) => new Promise((res, rej) => sock.write(b, (e) => (e ? rej(e) : res()))),
      receive: d.receive,
      drain: d.drain,
      flushInput: async () => {
        while (sock.read() !== null) {
          /* discard */
        }
      },
      close: () => new Promise((res) => { sock.end(() => res()); sock.destroy(); res(); }),
    };
  }
  // Loaded for a serial line only: a gateway on serial-over-TCP converters never needs it.
  const { SerialPort } = await import('serialport');
  const sp = new SerialPort({
    path: bus.port,
    baudRate: bus.line.baud,
    dataBits: bus.line.dataBits as 7 | 8,
    parity: bus.line.parity,
    stopBits: bus.line.stopBits as 1 | 2,
    autoOpen: false,
  });
  await new Promise<void>((res, rej) => sp.open((e) => (e ? rej(new Error(`cannot open ${bus.port}: ${e.message}`)) : res())));
  sp.on('error', () => undefined);
  const d = dispatcher(sp);
  return {
    stream: sp,
    write: (b) => new Promise((res, rej) => sp.write(b, (e) => (e ? rej(e) : sp.drain(() => res())))),
    receive: d.receive,
    drain: d.drain,
    flushInput: async () => {
      while (sp.read() !== null) {
        /* discard */
      }
      await new Promise<void>((res) => sp.flush(() => res()));
    },
    close: () => new Promise((res) => (sp.isOpen ? sp.close(() => res()) : res())),
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
