// Serving a bus on a transport: a pty (one master, as on a serial adapter) or a TCP port (one port
// per bus segment, as M-Bus/Ethernet and Modbus/TCP converters present it). Each master connection
// gets its own session — the protocol's request parser and the reply path with line pacing.
import net from 'node:net';
import { SerialPort } from 'serialport';
import { createPtyPair } from './pty.js';
import { LineTiming, pausedWrite, sleep, type LineTimingInput } from './timing.js';

export type TransportOptions = { kind: 'pty' } | { kind: 'tcp'; port?: number; host?: string };

export type Endpoint = { kind: 'pty'; path: string } | { kind: 'tcp'; host: string; port: number };

/** Sends an answer on the line the request came from, paced at the line's speed (optionally pausing mid-answer). */
export type Reply = (bytes: Buffer, pause?: { afterBytes: number; ms: number }) => Promise<void>;

/** A protocol session: fed raw bytes from the line, answers through `reply`. */
export interface Session {
  onData(chunk: Buffer, reply: Reply): void;
}

export interface ServedLine {
  endpoint: Endpoint;
  timing: LineTiming;
  close(): Promise<void>;
}

export async function serveLine(
  transport: TransportOptions,
  timingInput: LineTimingInput,
  newSession: () => Session,
): Promise<ServedLine> {
  const timing = LineTiming.parse(timingInput);
  if (transport.kind === 'pty') {
    const pair = await createPtyPair();
    const port = new SerialPort({ path: pair.devicePath, baudRate: timing.baud, autoOpen: false });
    await new Promise<void>((res, rej) => port.open((e) => (e ? rej(e) : res())));
    const session = newSession();
    // One line, one talker: answers are serialised like a half-duplex bus driver.
    let queue = Promise.resolve();
    const reply: Reply = (bytes, pause) => (queue = queue.then(() => pausedWrite((b) => void port.write(b), bytes, timing, pause)));
    port.on('data', (chunk: Buffer) => session.onData(chunk, reply));
    port.on('error', () => undefined);
    return {
      endpoint: { kind: 'pty', path: pair.clientPath },
      timing,
      close: async () => {
        await queue.catch(() => undefined);
        // Closing the serialport first can block in tcdrain on a pty nobody reads; ending socat
        // first hangs the line up, after which the close returns at once. Bounded either way.
        await pair.close();
        if (port.isOpen) await Promise.race([new Promise<void>((res) => port.close(() => res())), sleep(500)]);
      },
    };
  }
  const host = transport.host ?? '127.0.0.1';
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.setNoDelay(true); // paced bytes must leave when written, not when Nagle allows
    const session = newSession();
    let queue = Promise.resolve();
    const reply: Reply = (bytes, pause) =>
      (queue = queue.then(() => pausedWrite((b) => { if (!sock.destroyed) sock.write(b); }, bytes, timing, pause)));
    sock.on('data', (chunk) => session.onData(chunk, reply));
    sock.on('error', () => undefined);
    sock.on('close', () => sockets.delete(sock));
  });
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(transport.port ?? 0, host, () => res());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    endpoint: { kind: 'tcp', host, port },
    timing,
    close: () =>
      new Promise<void>((res) => {
        for (const s of sockets) s.destroy();
        server.close(() => res());
      }),
  };
}
