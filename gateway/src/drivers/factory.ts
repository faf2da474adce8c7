/** Chooses the driver for a bus from its configuration. */
import type { GatewayConfig } from '../config/schema.js';
import type { ResolvedBus, ResolvedMeter } from '../config/resolve.js';
import { MbusLibmbusDriver } from './mbus-libmbus.js';
import { MbusNativeDriver } from './mbus-native.js';
import { ModbusDriver } from './modbus.js';
import { PulseDriver } from './pulse.js';
import type { BusDriver } from './types.js';

/** What a driver reports about its line besides reads (for metrics and logs). */
export interface DriverHooks {
  /** Late bytes discarded before a request (the rest of an earlier answer). */
  lineDrained?(bus: string, info: { bytes: number; waitedMs: number; stillTalking: boolean }): void;
}

/** `now`: the gateway's time source (default wall clock), against which meter clocks are judged. */
export function createDriver(bus: ResolvedBus, cfg: Pick<GatewayConfig, 'gateway'> | null, meters: ResolvedMeter[], now?: () => number, hooks: DriverHooks = {}): BusDriver {
  const clockToleranceMs = cfg?.gateway.clockTolerance ?? 5 * 60_000;
  switch (bus.driver) {
    case 'native':
      return new MbusNativeDriver(bus, { clockToleranceMs, now, onDrained: (info) => hooks.lineDrained?.(bus.name, info) });
    case 'libmbus':
      return new MbusLibmbusDriver(bus, { clockToleranceMs, now });
    case 'modbus-serial':
      return new ModbusDriver(bus);
    case 'pulse': {
      const channels = new Map<number, number>();
      for (const m of meters) if (m.bus === bus.name) channels.set(m.device ?? 1, Math.max(channels.get(m.device ?? 1) ?? 0, m.channels ?? 4));
      return new PulseDriver(bus, cfg?.gateway.bufferDir ?? null, (id) => channels.get(id) ?? 4);
    }
  }
}
