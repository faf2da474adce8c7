/**
 * A byte line to a bus: a serial port (serialport) or a transparent serial-over-TCP converter
 * (`tcp://host:port`). Drivers write a request and collect the answer through `receive`; bytes that
 * arrive while nobody receives (the rest of an answer the master already gave up on) are discarded
 * and counted, and `drain` waits for the line to be quiet before the next request, so a late answer
 * is never taken for the next meter's.
 */
import { constants, promises as fsp } from 'node:fs';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { ResolvedBus } from '../config/resolve.js';
import { LinkLostError, classifyIoError } from './types.js';

export interface DrainResult {
  /** Bytes that arrived with no exchange waiting for them, since the previous drain. */
  discarded: number;
  /** How long the drain waited for the line to fall quiet. */
  waitedMs: number;
  /** The line still talked when `maxMs` ran out. */
  stillTalking: boolean;
}

/**
 * `lost`: set once the line reported its own end (port closed, TCP peer ended or reset); every
 * write after that fails at once with it instead of timing out meter after meter.
 */
export interface ByteLine {
  stream: Duplex;
  readonly lost: LinkLostError | null;
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
    const where = `${bus.name} (${bus.port})`;
    const sock = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host, port }, () => resolve(s));
      s.once('error', (e) => reject(toOpenError(e, where)));
    });
    sock.setNoDelay(true);
    let lost: LinkLostError | null = null;
    let closing = false;
    const lose = (l: LinkLostError) => {
      if (!closing && !lost) lost = l;
    };
    sock.on('error', (e) => {
      const c = classifyIoError(e, where);
      lose(c instanceof LinkLostError ? c : new LinkLostError(`${where}: ${c.message}`, 'PEER_ENDED'));
    });
    // The converter (or the network) ended the connection: its FIN arrives as 'end', a reset as 'close'.
    sock.on('end', () => lose(new LinkLostError(`${where}: the converter ended the connection`, 'PEER_ENDED')));
    sock.on('close', () => lose(new LinkLostError(`${where}: connection closed`, 'PEER_ENDED')));
    const d = dispatcher(sock);
    return {
      stream: sock,
      receive: d.receive,
      drain: d.drain,
      get lost() {
        return lost;
      },
      write: (b) =>
        lost
          ? Promise.reject(lost)
          : new Promise((res, rej) => sock.write(b, (e) => (e ? rej(lost ?? classifyIoError(e, where)) : res()))),
      flushInput: async () => {
        while (sock.read() !== null) {
          /* discard */
        }
      },
      close: () => {
        closing = true;
        return new Promise((res) => { sock.end(() => res()); sock.destroy(); res(); });
      },
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
  const where = `${bus.name} (${bus.port})`;
  const opened = await new Promise<Error | null>((res) => sp.open((e) => res(e ?? null)));
  if (opened) throw toOpenError(await withOsCode(opened, bus.port), where);
  let lost: LinkLostError | null = null;
  let closing = false;
  sp.on('error', () => undefined);
  // serialport closes the port itself when the device goes (USB pulled, pty hung up: a read or
  // write fails with EIO and `disconnected`); a close we did not ask for is a lost device.
  sp.on('close', (e?: Error) => {
    if (closing || lost) return;
    const c = e ? classifyIoError(e, where) : null;
    lost = c instanceof LinkLostError ? c : new LinkLostError(`${where}: port closed${e ? ` (${e.message})` : ''}`, 'PORT_CLOSED');
  });
  const d = dispatcher(sp);
  return {
    stream: sp,
    receive: d.receive,
    drain: d.drain,
    get lost() {
      return lost;
    },
    write: (b) =>
      lost
        ? Promise.reject(lost)
        : new Promise((res, rej) =>
            sp.write(b, (e) => {
              if (!e) return sp.drain(() => res());
              const c = classifyIoError(e, where);
              if (c instanceof LinkLostError) lost ??= c;
              rej(c);
            }),
          ),
    flushInput: async () => {
      while (sp.read() !== null) {
        /* discard */
      }
      await new Promise<void>((res) => sp.flush(() => res()));
    },
    close: () => {
      closing = true;
      return new Promise((res) => (sp.isOpen ? sp.close(() => res()) : res()));
    },
  };
}

/**
 * serialport's open errors carry only a text ("No such file or directory, cannot open …"): ask the
 * OS once more, without serialport, for the code (ENOENT, EACCES, ENXIO, EIO…) of opening the path.
 */
async function withOsCode(e: Error, path: string): Promise<Error> {
  if (typeof (e as { code?: unknown }).code === 'string') return e;
  try {
    const fh = await fsp.open(path, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
    await fh.close();
    return e;
  } catch (os) {
    const code = (os as { code?: unknown }).code;
    return typeof code === 'string' ? Object.assign(new Error(e.message), { code }) : e;
  }
}

/** Any failure to open the device means the bus is unavailable: a LinkLostError, with the OS code when there is one. */
function toOpenError(e: Error, where: string): LinkLostError {
  const c = classifyIoError(e, `cannot open ${where}`);
  return c instanceof LinkLostError ? c : new LinkLostError(`cannot open ${where}: ${e.message}`, 'OPEN_FAILED');
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
