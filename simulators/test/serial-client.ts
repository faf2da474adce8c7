// Test-side master on the client end of a pty: collects every byte with its arrival time.
import { SerialPort } from 'serialport';

export class SerialClient {
  readonly arrivals: { t: number; n: number }[] = [];
  buf = Buffer.alloc(0);
  private constructor(readonly port: SerialPort) {}
  static async open(path: string, baudRate = 2400): Promise<SerialClient> {
    const port = new SerialPort({ path, baudRate, autoOpen: false });
    await new Promise<void>((res, rej) => port.open((e) => (e ? rej(e) : res())));
    const c = new SerialClient(port);
    port.on('data', (d: Buffer) => {
      c.arrivals.push({ t: performance.now(), n: d.length });
      c.buf = Buffer.concat([c.buf, d]);
    });
    return c;
  }
  reset(): void { this.buf = Buffer.alloc(0); this.arrivals.length = 0; }
  write(b: Uint8Array): void { this.port.write(Buffer.from(b)); }
  async waitFor(n: number, timeoutMs = 3000): Promise<Buffer> {
    const t0 = Date.now();
    while (this.buf.length < n && Date.now() - t0 < timeoutMs) await new Promise((r) => setTimeout(r, 5));
    return this.buf;
  }
  close(): Promise<void> {
    return Promise.race([new Promise<void>((r) => this.port.close(() => r())), new Promise<void>((r) => setTimeout(r, 300))]);
  }
}
