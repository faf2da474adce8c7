// An embedded aedes broker on a free port that can be taken down and brought back on the same
// port (the same aedes instance keeps persistent sessions, like a restarted Mosquitto with persistence).
import net from 'node:net';
import { Aedes, type AedesPublishPacket } from 'aedes';

export interface TestBroker {
  port: number;
  url: string;
  /** Every PUBLISH the broker received from clients, in arrival order. */
  published: { topic: string; payload: Buffer; retain: boolean }[];
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startBroker(): Promise<TestBroker> {
  const aedes = await Aedes.createBroker();
  const published: TestBroker['published'] = [];
  aedes.on('publish', (p: AedesPublishPacket, client) => {
    if (client) published.push({ topic: p.topic, payload: Buffer.from(p.payload as Buffer), retain: p.retain });
  });
  let server: net.Server | null = null;
  const sockets = new Set<net.Socket>();
  let port = 0;
  const listen = () =>
    new Promise<void>((res, rej) => {
      server = net.createServer((s) => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        aedes.handle(s);
      });
      server.once('error', rej);
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as net.AddressInfo).port;
        res();
      });
    });
  await listen();
  const down = async () => {
    const s = server;
    server = null;
    for (const sock of sockets) sock.destroy();
    if (s) await new Promise<void>((r) => s.close(() => r()));
  };
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    published,
    down,
    up: listen,
    close: async () => {
      await down();
      await new Promise<void>((r) => aedes.close(() => r()));
    },
  };
}
