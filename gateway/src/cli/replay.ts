/**
 * `amr-gateway replay`: decodes every received frame of a raw telegram log again, with the current
 * decoders and profiles — to reproduce on a desk what a gateway saw in the field.
 */
import { decodeFrame, decodePulseResponse, decodeTelegram } from '@amr/protocols';
import { applyMbusProfile } from '../profiles/apply.js';
import type { RawLogLine } from '../ops/rawlog.js';

export interface ReplayResult {
  line: number;
  ts?: string;
  meter?: string;
  ok: boolean;
  decoded?: unknown;
  error?: string;
}

export function replayLog(text: string, profile = 'auto'): ReplayResult[] {
  const out: ReplayResult[] = [];
  text.split('\n').forEach((l, i) => {
    if (!l.trim()) return;
    let rec: RawLogLine;
    try {
      rec = JSON.parse(l) as RawLogLine;
    } catch (e) {
      out.push({ line: i + 1, ok: false, error: `not JSON: ${(e as Error).message}` });
      return;
    }
    try {
      const rx = rec.frames.filter((f) => f.dir === 'rx').map((f) => Buffer.from(f.hex, 'hex'));
      if (rec.protocol === 'mbus') {
        const tgs = rx
          .map((b) => decodeFrame(b))
          .filter((f) => f.kind === 'long')
          .map((f) => (f.kind === 'long' ? decodeTelegram({ ci: f.ci, data: f.data }) : null!));
        out.push({ line: i + 1, ts: rec.ts, meter: rec.meter, ok: true, decoded: applyMbusProfile(tgs, { profile, gatewayNow: Date.parse(rec.ts), clockToleranceMs: 5 * 60_000 }) });
      } else if (rec.protocol === 'pulse') {
        out.push({ line: i + 1, ts: rec.ts, meter: rec.meter, ok: true, decoded: rx.map((b) => decodePulseResponse(b)) });
      } else {
        out.push({ line: i + 1, ts: rec.ts, meter: rec.meter, ok: false, error: 'modbus frames are not logged (modbus-serial owns the framing)' });
      }
    } catch (e) {
      out.push({ line: i + 1, ts: rec.ts, meter: rec.meter, ok: false, error: (e as Error).message });
    }
  });
  return out;
}
