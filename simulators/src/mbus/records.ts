// Readouts of typical M-Bus meters as codec RecordSpecs: what a heat meter, a water meter, an
// electricity meter and a pulse adapter put in their RSP_UD, in the codings such meters use
// (BCD registers, integer instantaneous values, type F/G time points, storage-number history).
import type { RecordSpec } from '@amr/protocols';

/** A due-date (billing-date) value kept by the meter: storage number 1 = most recent. */
export interface DueDateValue {
  date: string; // YYYY-MM-DD
  value: number; // kWh or m³, by meter kind
  value2?: number; // heat meters: volume at the due date
}

export interface HeatReadout {
  time: Date;
  energyKwh: number;
  volumeM3: number;
  powerW: number;
  flowM3h: number;
  flowTempC: number;
  returnTempC: number;
  operatingHours: number;
  errorFlags: number;
  history: DueDateValue[];
}

const iso = (d: Date) => d.toISOString().slice(0, 16);
const q = (x: number, step: number) => Math.round(x / step) * step;
const fix = (x: number) => Number(x.toPrecision(12));

export function heatMeterRecords(r: HeatReadout): RecordSpec[] {
  const recs: RecordSpec[] = [
    { quantity: 'energy', unit: 'Wh', exponent: 3, value: fix(Math.floor(r.energyKwh) * 1000), coding: 'bcd8' },
    { quantity: 'volume', unit: 'm3', exponent: -2, value: fix(q(Math.floor(r.volumeM3 * 100) / 100, 0.01)), coding: 'bcd8' },
    { quantity: 'power', unit: 'W', exponent: 0, value: Math.round(r.powerW), coding: 'int32' },
    { quantity: 'volume_flow', unit: 'm3/h', exponent: -3, value: fix(Math.round(r.flowM3h * 1000) / 1000), coding: 'int32' },
    { quantity: 'flow_temperature', exponent: -1, value: fix(Math.round(r.flowTempC * 10) / 10), coding: 'int16' },
    { quantity: 'return_temperature', exponent: -1, value: fix(Math.round(r.returnTempC * 10) / 10), coding: 'int16' },
    { quantity: 'temperature_difference', exponent: -2, value: fix(Math.round((r.flowTempC - r.returnTempC) * 100) / 100), coding: 'int16' },
    { quantity: 'operating_time', value: Math.floor(r.operatingHours) * 3600, coding: 'int32' },
    { quantity: 'error_flags', value: r.errorFlags, coding: 'int8' },
    { quantity: 'datetime', value: iso(r.time), coding: 'typeF' },
  ];
  r.history.forEach((h, i) => recs.push(...storedHeatRegisters(h, i + 1)));
  return recs;
}

export interface WaterReadout {
  time: Date;
  volumeM3: number;
  flowM3h: number;
  errorFlags: number;
  history: DueDateValue[];
}

export function waterMeterRecords(r: WaterReadout): RecordSpec[] {
  const recs: RecordSpec[] = [
    { quantity: 'volume', unit: 'm3', exponent: -3, value: fix(Math.floor(r.volumeM3 * 1000) / 1000), coding: 'bcd8' },
    { quantity: 'volume_flow', unit: 'm3/h', exponent: -3, value: fix(Math.round(r.flowM3h * 1000) / 1000), coding: 'int16' },
    { quantity: 'error_flags', value: r.errorFlags, coding: 'int8' },
    { quantity: 'datetime', value: iso(r.time), coding: 'typeF' },
  ];
  r.history.forEach((h, i) => {
    recs.push(
      { quantity: 'date', value: h.date, coding: 'typeG', storage: i + 1 },
      { quantity: 'volume', unit: 'm3', exponent: -3, value: fix(Math.floor(h.value * 1000) / 1000), coding: 'bcd8', storage: i + 1 },
    );
  });
  return recs;
}

export interface ElectricityReadout {
  time: Date;
  energyKwh: number;
  energyT1Kwh: number;
  energyT2Kwh: number;
  powerW: number;
  errorFlags: number;
  history: DueDateValue[];
}

export function electricityMeterRecords(r: ElectricityReadout): RecordSpec[] {
  const e = (v: number, extra: Partial<RecordSpec> = {}): RecordSpec =>
    ({ quantity: 'energy', unit: 'Wh', exponent: 2, value: fix(Math.floor(v * 10) * 100), coding: 'bcd8', ...extra });
  const recs: RecordSpec[] = [
    e(r.energyKwh),
    e(r.energyT1Kwh, { tariff: 1 }),
    e(r.energyT2Kwh, { tariff: 2 }),
    { quantity: 'power', unit: 'W', exponent: 0, value: Math.round(r.powerW), coding: 'int32' },
    { quantity: 'error_flags', value: r.errorFlags, coding: 'int8' },
    { quantity: 'datetime', value: iso(r.time), coding: 'typeF' },
  ];
  r.history.forEach((h, i) => recs.push({ quantity: 'date', value: h.date, coding: 'typeG', storage: i + 1 }, e(h.value, { storage: i + 1 })));
  return recs;
}

/** A pulse adapter (two inputs) reporting each input as a volume register on its own subunit. */
export function pulseAdapterRecords(r: { time: Date; volumesM3: number[] }): RecordSpec[] {
  return [
    ...r.volumesM3.map((v, i): RecordSpec => ({ quantity: 'volume', unit: 'm3', exponent: -3, value: fix(Math.floor(v * 1000) / 1000), coding: 'bcd8', subunit: i })),
    { quantity: 'datetime', value: iso(r.time), coding: 'typeF' },
  ];
}

/** A heat-cost allocator: dimensionless HCA units (VIF 0x6E), current and at the due dates. */
export function hcaRecords(r: { time: Date; units: number; history: DueDateValue[] }): RecordSpec[] {
  const recs: RecordSpec[] = [
    { quantity: 'hca_units', value: Math.floor(r.units), coding: 'int32' },
    { quantity: 'datetime', value: iso(r.time), coding: 'typeF' },
  ];
  r.history.forEach((h, i) => recs.push(
    { quantity: 'date', value: h.date, coding: 'typeG', storage: i + 1 },
    { quantity: 'hca_units', value: Math.floor(h.value), coding: 'int32', storage: i + 1 },
  ));
  return recs;
}

/**
 * A heat meter's month-end history telegram, the one an application select (CI 0x50 + the model's
 * subcode) asks for: the meter's clock, then per storage number 1…N (1 = the last month end) the
 * month's closing date — the 1st of the next month, the value at its 00:00 — with the energy and
 * volume registers as they stood then, each as a heat meter's live telegram codes them.
 */
export function heatMonthEndRecords(r: { time: Date; months: DueDateValue[] }): RecordSpec[] {
  const recs: RecordSpec[] = [{ quantity: 'datetime', value: iso(r.time), coding: 'typeF' }];
  r.months.forEach((h, i) => recs.push(...storedHeatRegisters(h, i + 1)));
  return recs;
}

/** One storage number's date and heat meter registers (energy in kWh steps, volume in 0.01 m³), as a live telegram codes them. */
function storedHeatRegisters(h: DueDateValue, storage: number): RecordSpec[] {
  return [
    { quantity: 'date', value: h.date, coding: 'typeG', storage },
    { quantity: 'energy', unit: 'Wh', exponent: 3, value: fix(Math.floor(h.value) * 1000), coding: 'bcd8', storage },
    { quantity: 'volume', unit: 'm3', exponent: -2, value: fix(Math.floor((h.value2 ?? 0) * 100) / 100), coding: 'bcd8', storage },
  ];
}
