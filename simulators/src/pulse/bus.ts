// Serial pulse counters (protocol: protocols/src/pulse/README.md) on one RS-485 line.
// Counters hold raw pulses; `read()` gives them (the building model turns volume into pulses with
// the channel's weight). A counter wraps at `wrapAt` (2^32 on the wire; lower in tests).
import { PULSE_REQUEST_HEADER, PULSE_REQUEST_LENGTH, decodePulseRequest, encodePulseResponse } from '@amr/protocols';
import type { LineFaults } from '../faults.js';
import { serveLine, type Endpoint, type Pluggable, type Reply, type TransportOptions } from '../transport/line.js';
import type { LineTimingInput } from '../transport/timing.js';

export interface PulseDevice {
  deviceId: number;
  /** Raw pulse totals per channel (unwrapped); the bus applies the wrap. */
  read: () => readonly number[];
  wrapAt?: number;
  faults?: LineFaults & { tamper?: boolean; lowBattery?: boolean };
}

export interface PulseBusOptions {
  transport?: TransportOptions;
  timing?: LineTimingInput;
  devices: PulseDevice[];
}

export interface PulseBus extends Pluggable {
  endpoint: Endpoint;
  devices: PulseDevice[];
  close(): Promise<void>;
}

export async function startPulseBus(opts: PulseBusOptions): Promise<PulseBus> {
  const byId = new Map(opts.devices.map((d) => [d.deviceId, d]));
  const lastWrapCount = new Map<number, number[]>();
  const session = () => {
    let buf = Buffer.alloc(0);
    return {
      onData(chunk: Buffer, reply: Reply) {
        buf = Buffer.concat([buf, chunk]);
        for (;;) {
          const h = buf.indexOf(PULSE_REQUEST_HEADER);
          if (h < 0) { buf = Buffer.alloc(0); return; }
          buf = buf.subarray(h);
          if (buf.length < PULSE_REQUEST_LENGTH) return;
          let id: number;
          try {
            id = decodePulseRequest(buf.subarray(0, PULSE_REQUEST_LENGTH)).deviceId;
          } catch {
            buf = buf.subarray(1); // not a frame start after all: hunt for the next header
            continue;
          }
          buf = buf.subarray(PULSE_REQUEST_LENGTH);
          const d = byId.get(id);
          if (!d || d.faults?.silent) continue;
          const wrap = d.wrapAt ?? 2 ** 32;
          const raw = d.read();
          const wraps = raw.map((c) => Math.floor(c / wrap));
          const prev = lastWrapCount.get(id);
          lastWrapCount.set(id, wraps);
          const frame = encodePulseResponse({
            deviceId: id,
            counters: raw.map((c) => Math.floor(c) % wrap),
            status: {
              lowBattery: !!d.faults?.lowBattery,
              tamper: !!d.faults?.tamper,
              wrapped: !!prev && wraps.some((w, i) => w !== prev[i]),
              powerOn: !prev,
            },
          });
          if (d.faults?.badChecksum) frame[frame.length - 1] ^= 0x5a;
          void reply(frame);
        }
      },
    };
  };
  const line = await serveLine(opts.transport ?? { kind: 'pty' }, { baud: 9600, bitsPerChar: 10, ...opts.timing }, session);
  return { endpoint: line.endpoint, devices: opts.devices, close: () => line.close(), unplug: () => line.unplug(), replug: () => line.replug() };
}

/** Alias: one counter is a bus with one device. */
export const startPulseCounter = startPulseBus;
