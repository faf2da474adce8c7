// Line timing of a simulated bus: what a byte costs on the wire and how long a slave waits before
// answering. Pacing makes poll timing on the simulator what it would be on a real RS-485/M-Bus wire.
import { z } from 'zod';

export const LineTiming = z.object({
  baud: z.number().int().positive().default(2400),
  /** start + data + parity + stop bits: M-Bus 8E1 = 11, Modbus 8N1 = 10, 8E1 = 11. */
  bitsPerChar: z.number().int().min(7).max(12).default(11),
  /** Delay between the end of a request and the first answer byte (EN 13757-2: 11 bit times … 50 ms). */
  turnaroundMs: z.number().min(0).default(5),
  /** false = write answers at once (fast tests). */
  pacing: z.boolean().default(true),
});
export type LineTiming = z.infer<typeof LineTiming>;
export type LineTimingInput = z.input<typeof LineTiming>;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Writes `bytes` through `write` so that byte i leaves no earlier than i character-times after the
 * first. Timing is computed against the start instant (not per chunk), so timer jitter never
 * accumulates into a slower rate; bytes due together are written together.
 */
export async function pacedWrite(write: (b: Buffer) => void, bytes: Buffer, t: LineTiming): Promise<void> {
  if (t.turnaroundMs > 0 && t.pacing) await sleep(t.turnaroundMs);
  if (!t.pacing) {
    write(bytes);
    return;
  }
  const msPerByte = (t.bitsPerChar * 1000) / t.baud;
  const start = performance.now();
  let sent = 0;
  while (sent < bytes.length) {
    const due = Math.min(bytes.length, Math.floor((performance.now() - start) / msPerByte) + 1);
    if (due > sent) {
      write(bytes.subarray(sent, due));
      sent = due;
    }
    if (sent < bytes.length) {
      const next = start + sent * msPerByte;
      await sleep(Math.max(1, next - performance.now()));
    }
  }
}

/**
 * `pacedWrite` with the line falling silent for `pause.ms` after `pause.afterBytes` bytes (a device
 * that stalls mid-answer); without a pause it is `pacedWrite`.
 */
export async function pausedWrite(write: (b: Buffer) => void, bytes: Buffer, t: LineTiming, pause?: { afterBytes: number; ms: number }): Promise<void> {
  if (!pause || pause.ms <= 0 || pause.afterBytes <= 0 || pause.afterBytes >= bytes.length) return pacedWrite(write, bytes, t);
  await pacedWrite(write, bytes.subarray(0, pause.afterBytes), t);
  await sleep(pause.ms);
  await pacedWrite(write, bytes.subarray(pause.afterBytes), { ...t, turnaroundMs: 0 });
}
