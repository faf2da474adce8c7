// Serving a bus on a transport: a pty (one master, as on a serial adapter) or a TCP port (one port
// per bus segment, as M-Bus/Ethernet and Modbus/TCP converters present it). Each master connection
// gets its own session — the protocol's request parser and the reply path with line pacing.
import net from 'node:net';
import { SerialPort } from 'serialport';
import { createPtyPair } from './pty.js';
import { LineTiming, pausedWrite, sleep, type LineTimingInput } from './timing.js';

/** `link` (pty): a fixed client path that stays the same across `unplug()`/`replug()`. */
export type TransportOptions = { kind: 'pty'; link?: string } | { kind: 'tcp'; port?: number; host?: string };

export type Endpoint = { kind: 'pty'; path: string } | { kind: 'tcp'; host: string; port: number };

/** Sends an answer on the line the request came from, paced at the line's speed (optionally pausing mid-answer). */
export type Reply = (bytes: Buffer, pause?: { afterBytes: number; ms: number }) => Promise<void>;

/** A protocol session: fed raw bytes from the line, answers through `reply`. */
export interface Session {
  onData(chunk: Buffer, reply: Reply): void;
}

/**
 * A device that can vanish and come back on the same path or port, as a USB adapter pulled and
 * plugged back, or a serial-over-TCP converter restarted: `unplug()` ends the pty (its link goes)
 * or stops listening and drops every connection; `replug()` serves a fresh line at the same place.
 */
export interface Pluggable {
  unplug(): Promise<void>;
  replug(): Promise<void>;
}

export interface ServedLine extends Pluggable {
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
    const link = transport.link;
    /** Makes the pty pair and serves it; returns its client path and how to end it. */
    const plugIn = async (): Promise<{ path: string; end: () => Promise<void> }> => {
      const pair = await createPtyPair({ link });
      const port = new SerialPort({ path: pair.devicePath, baudRate: timing.baud, autoOpen: false });
      await new Promise<void>((res, rej) => port.open((e) => (e ? rej(e) : res())));
      const session = newSession();
      // One line, one talker: answers are serialised like a half-duplex bus driver.
      let queue = Promise.resolve();
      const reply: Reply = (bytes, pause) => (queue = queue.then(() => pausedWrite((b) => void port.write(b), bytes, timing, pause)));
      port.on('data', (chunk: Buffer) => session.onData(chunk, reply));
      port.on('error', () => undefined);
      const end = async () => {
        await queue.catch(() => undefined);
        // Closing the serialport first can block in tcdrain on a pty nobody reads; ending socat
        // first hangs the line up, after which the close returns at once. Bounded either way.
        await pair.close();
        if (port.isOpen) await Promise.race([new Promise<void>((res) => port.close(() => res())), sleep(500)]);
      };
      return { path: pair.clientPath, end };
    };
    let current: { path: string; end: () => Promise<void> } | null = await plugIn();
    const unplug = async () => {
      const c = current;
      current = null;
      await c?.end();
    };
    return {
      endpoint: { kind: 'pty', path: current.path },
      timing,
      close: unplug,
      unplug,
      replug: async () => {
        if (current) return;
        if (!link) throw new Error('replug of a pty needs transport.link (a fixed path); without it the device would come back on another /dev/pts/N');
        current = await plugIn();
      },
    };
  }
  const host = transport.host ?? '127.0.0.1';
  const sockets = new Set<net.Socket>();
  let server: net.Server | null = null;
  const listen = (port: number) =>
    new Promise<number>((res, rej) => {
      const srv = net.createServer((sock) => {
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
      srv.once('error', rej);
      srv.listen(port, host, () => {
        server = srv;
        res((srv.address() as net.AddressInfo).port);
      });
    });
  const port = await listen(transport.port ?? 0);
  const unplug = () =>
    new Promise<void>((res) => {
      const srv = server;
      server = null;
      for (const s of sockets) s.destroy();
      if (srv) srv.close(() => res());
      else res();
    });
  return {
    endpoint: { kind: 'tcp', host, port },
    timing,
    close: unplug,
    unplug,
    replug: async () => {
      if (!server) await listen(port);
    },
  };
}
