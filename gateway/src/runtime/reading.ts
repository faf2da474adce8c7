/** Builds the contract's MeterReading (without seq: the outbox assigns it) from a driver's read. Pure. */
import type { MeterRef } from '@amr/protocols';
import type { ResolvedBus, ResolvedMeter } from '../config/resolve.js';
import type { MeterRead } from '../drivers/types.js';
import type { PendingReading } from '../outbox/outbox.js';

export function meterRef(m: ResolvedMeter, bus: ResolvedBus, read?: Pick<MeterRead, 'serial' | 'manufacturer'>): MeterRef {
  const ref: MeterRef = { meterKey: m.id, bus: bus.name, protocol: bus.protocol, address: m.address };
  if (read?.serial) ref.serial = read.serial.slice(0, 32);
  if (read?.manufacturer) ref.manufacturer = read.manufacturer.slice(0, 8);
  return ref;
}

export function toPendingReading(m: ResolvedMeter, bus: ResolvedBus, read: MeterRead, gatewayTime: Date): PendingReading {
  const r: PendingReading = {
    meter: meterRef(m, bus, read),
    gatewayTime: gatewayTime.toISOString(),
    quality: [...new Set(read.quality)].slice(0, 16),
    values: read.values.slice(0, 500),
  };
  if (read.meterTime) r.meterTime = read.meterTime;
  return r;
}
