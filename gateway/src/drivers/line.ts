/**
 * A byte line to a bus: a serial port (serialport) or a transparent serial-over-TCP converter
 * (`tcp://host:port`). Drivers write a request and collect the answer; `flushInput` drops stale
 * bytes (a late answer to a timed-out request must not be taken for the next meter's).
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { ResolvedBus } from '../config/resolve.js';

export interface ByteLine {
  stream: Duplex;
  write(bytes: Buffer): Promise<void>;
  flushInput(): Promise<void>;
  close(): Promise<void>;
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
    return {
      stream: sock,
      write: (b) => new Promise((res, rej) => sock.write(b, (e) => (e ? rej(e) : res()))),
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
  return {
    stream: sp,
    write: (b) => new Promise((res, rej) => sp.write(b, (e) => (e ? rej(e) : sp.drain(() => res())))),
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
