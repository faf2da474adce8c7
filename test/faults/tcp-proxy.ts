// A database outage made on demand: the database stays up, the path to it is cut and restored, or
// frozen (a black hole: connections stay open, nothing goes through — a server that stops answering).
import net from 'node:net';

/**
 * A TCP proxy that can be cut (connections destroyed, new ones refused) and restored on the same port,
 * or frozen (bytes dropped both ways, connections kept and accepted: only cut() ends that).
 */
export async function startProxy(upstreamPort: number) {
  const pairs = new Set<net.Socket>();
  let frozen = false;
  let server: net.Server | null = null;
  let port = 0;
  let connections = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = net.createServer((client) => {
        connections++;
        const up = net.connect(upstreamPort, '127.0.0.1');
        for (const sock of [client, up]) {
          pairs.add(sock);
          sock.on('close', () => pairs.delete(sock));
          sock.on('error', () => undefined);
        }
        // By hand rather than pipe(): a frozen proxy drops what it gets (tests move little data).
        client.on('data', (d: Buffer) => { if (!frozen) up.write(d); });
        up.on('data', (d: Buffer) => { if (!frozen) client.write(d); });
        client.on('close', () => up.destroy());
        up.on('close', () => client.destroy());
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        port = (s.address() as net.AddressInfo).port;
        server = s;
        resolve();
      });
    });
  await listen();
  return {
    get port() {
      return port;
    },
    get connections() {
      return connections;
    },
    freeze() {
      frozen = true;
    },
    async cut() {
      const s = server;
      server = null;
      frozen = false;
      for (const sock of pairs) sock.destroy();
      if (s) await new Promise<void>((r) => s.close(() => r()));
    },
    restore: listen,
  };
}
