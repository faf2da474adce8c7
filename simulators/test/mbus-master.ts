// A minimal M-Bus master over TCP for tests: sends one request, collects the reply bytes until a
// frame is complete or the reply timeout passes (then reports what arrived, garbled or not).
import net from 'node:net';
import { MbusStreamParser, decodeTelegram, encodeFrame, reqUd2, sndNke, type MbusFrame } from '@amr/protocols';

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

/** One readout over M-Bus/TCP (SND_NKE, then REQ_UD2) decoded; undefined when the meter does not answer within 0.5 s. */
export async function readMbus(port: number, address: number): Promise<ReturnType<typeof decodeTelegram> | undefined> {
  const sock = net.connect(port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  const parser = new MbusStreamParser();
  const frames: Uint8Array[] = [];
  sock.on('data', (d) => frames.push(...parser.push(d).frames.map((f) => f.raw)));
  const ask = async (f: MbusFrame) => {
    const n = frames.length;
    sock.write(encodeFrame(f));
    for (let i = 0; i < 100 && frames.length === n; i++) await new Promise((r) => setTimeout(r, 5));
    return frames[n] as Uint8Array | undefined;
  };
  try {
    if (!(await ask(sndNke(address)))) return undefined;
    const f = await ask(reqUd2(address, true));
    return f && decodeTelegram(f);
  } finally {
    sock.destroy();
  }
}
