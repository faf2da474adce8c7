// fast-check generators for link-layer frames, shared by the frame, stream and fuzz tests.
import fc from 'fast-check';
import type { MbusFrame } from '../../../src/mbus/link/index.js';

const byte = fc.integer({ min: 0, max: 255 });

export const arbFrame: fc.Arbitrary<MbusFrame> = fc.oneof(
  fc.constant<MbusFrame>({ kind: 'ack' }),
  fc.record({ kind: fc.constant('short' as const), control: byte, address: byte }),
  fc.record({ kind: fc.constant('control' as const), control: byte, address: byte, ci: byte }),
  fc.record({
    kind: fc.constant('long' as const),
    control: byte,
    address: byte,
    ci: byte,
    data: fc.uint8Array({ minLength: 1, maxLength: 252 }),
  }),
);

/** Cut `bytes` into consecutive chunks at the given (unsorted, possibly repeated) points. */
export function splitAt(bytes: Uint8Array, points: number[]): Uint8Array[] {
  const cuts = [...new Set(points.map((p) => Math.min(Math.max(p, 0), bytes.length)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of [...cuts, bytes.length]) {
    out.push(bytes.subarray(prev, c));
    prev = c;
  }
  return out;
}
