// A minimal M-Bus master over TCP for tests: sends one request, collects the reply bytes until a
// frame is complete or the reply timeout passes (then reports what arrived, garbled or not).
import net from 'node:net';
import { MbusStreamParser, encodeFrame, type MbusFrame } from '@amr/protocols';

export class TestMaster {
  private sock!: net.Socket;
  private buf = Buffer.alloc(0);
  static async connect(port: number): Promise<TestMaster> {
    const m = new TestMaster();
    m.sock = net.connect(port, '127.0.0.1');
    await new Promise<void>((res, rej) => { m.sock.once('connect', res); m.sock.once('error', rej); });
    m.sock.on('data', (d) => { m.buf = Buffer.concat([m.buf, d]); });
    return m;
  }
  /** Raw reply bytes after `quietMs` without a complete frame, or as soon as one frame parses. */
  async request(f: MbusFrame, timeoutMs = 300): Promise<{ raw: Buffer; frames: Uint8Array[] }> {
    this.buf = Buffer.alloc(0);
    this.sock.write(encodeFrame(f));
    const t0 = Date.now();
    for (;;) {
      await new Promise((r) => setTimeout(r, 10));
      const p = new MbusStreamParser().push(this.buf);
      if ((p.frames.length > 0 && p.skipped.length === 0) || Date.now() - t0 > timeoutMs) {
        return { raw: this.buf, frames: p.frames.map((x) => x.raw) };
      }
    }
  }
  close(): void { this.sock.destroy(); }
}
