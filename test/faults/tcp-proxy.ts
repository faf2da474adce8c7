// A database outage made on demand: the database stays up, the path to it is cut and restored.
import net from 'node:net';

/** A TCP proxy that can be cut (connections destroyed, new ones refused) and restored on the same port. */
export async function startProxy(upstreamPort: number) {
  const pairs = new Set<net.Socket>();
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
        client.pipe(up).pipe(client);
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
    async cut() {
      const s = server;
      server = null;
      for (const sock of pairs) sock.destroy();
      if (s) await new Promise<void>((r) => s.close(() => r()));
    },
    restore: listen,
  };
}
