/** Builds the contract's MeterReading (without seq: the outbox assigns it) from a driver's read. Pure. */
import type { MeterRef } from '@amr/protocols';
import type { ResolvedBus, ResolvedMeter } from '../config/resolve.js';
import type { MeterRead, StoredValues } from '../drivers/types.js';
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

/**
 * One stored value of a meter (a due date, a month end) as its own reading: the registers as they
 * stood at the record's instant, with no `time` of their own — the meter's clock is local and the
 * head-end dates `archive.record` in the building's zone.
 */
export function toArchiveReading(m: ResolvedMeter, bus: ResolvedBus, read: Pick<MeterRead, 'serial' | 'manufacturer'>, a: StoredValues, gatewayTime: Date): PendingReading {
  return {
    meter: meterRef(m, bus, read),
    gatewayTime: gatewayTime.toISOString(),
    quality: ['archive'],
    values: a.values.slice(0, 500),
    archive: { kind: a.kind, record: a.record, date: a.date, storage: a.storage, nsCodes: [] },
  };
}
