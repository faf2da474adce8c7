/**
 * Applies a profile to decoded M-Bus telegrams: named quantities converted to the contract's
 * units, generic `mbus.*` values for the rest, the meter's clock (storage-0 date/time record),
 * and quality flags from the status byte and record errors. Pure.
 */
import { QUANTITIES, type MbusRecord, type MbusTelegram, type QualityFlag, type ReadingValue } from '@amr/protocols';
import type { MeterRead } from '../drivers/types.js';
import { chooseProfile } from './mbus-profiles.js';
import type { RecordSelector } from './types.js';

/** Factor from the decoder's canonical unit to the contract unit of a named quantity. */
const CONVERT: Record<string, Record<string, number>> = {
  kWh: { Wh: 1e-3, J: 1 / 3.6e6, cal: 4.1868 / 3.6e6 },
  m3: { m3: 1, ft3: 0.0283168 },
  W: { W: 1, 'J/h': 1 / 3600 },
  'm3/h': { 'm3/h': 1, 'm3/min': 60, 'm3/s': 3600 },
  '°C': { '°C': 1 },
  K: { K: 1 },
  bar: { bar: 1 },
  s: { s: 1 },
  flags: { '': 1 },
};

function matches(sel: RecordSelector, r: MbusRecord): boolean {
  return (
    r.quantity === sel.quantity &&
    (sel.function === undefined || r.function === sel.function) &&
    (sel.storage === undefined || r.storage === sel.storage) &&
    (sel.tariff === undefined || r.tariff === sel.tariff) &&
    (sel.subunit === undefined || r.subunit === sel.subunit)
  );
}

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9_]+/g, '_');

export function genericName(r: MbusRecord): string {
  let n = `mbus.${r.function}.${slug(r.quantity)}`;
  if (r.storage) n += `.s${r.storage}`;
  if (r.tariff) n += `.t${r.tariff}`;
  if (r.subunit) n += `.u${r.subunit}`;
  return n;
}

function recordQuality(r: MbusRecord): QualityFlag[] {
  const q: QualityFlag[] = [];
  if (r.error) q.push('meter_error');
  if (r.overflow) q.push('value_overflow');
  return q;
}

export interface ApplyOptions {
  profile: string;
  gatewayNow: number;
  clockToleranceMs: number;
  quantities?: string[];
}

/** Turns M-Bus telegrams (one read, possibly several telegrams) into a MeterRead. */
export function applyMbusProfile(telegrams: MbusTelegram[], opts: ApplyOptions): MeterRead & { profile: string } {
  const h = telegrams[0]?.header ?? { ci: 0, kind: 'none' as const };
  const profile = chooseProfile(opts.profile, { manufacturer: h.manufacturer, version: h.version, medium: h.mediumCode });
  const records = telegrams.flatMap((t) => t.records);
  const used = new Set<MbusRecord>();
  const values: ReadingValue[] = [];
  const quality = new Set<QualityFlag>();

  for (const f of profile.fields) {
    const hits = records.filter((r) => !used.has(r) && matches(f.from, r));
    const r = hits[f.from.nth ?? 0];
    if (!r || (typeof r.value !== 'number' && r.value !== null)) continue;
    const unit = (QUANTITIES as Record<string, { unit: string }>)[f.name]?.unit;
    const factor = unit ? CONVERT[unit]?.[r.unit] : undefined;
    if (factor === undefined) continue; // unit we cannot convert: leave it to the generic form
    used.add(r);
    const v = typeof r.value === 'number' ? Number((r.value * factor).toPrecision(15)) : null;
    values.push({ quantity: f.name, value: v, unit, quality: recordQuality(r) });
  }

  let meterTime: string | undefined;
  const clock = records.find((r) => r.quantity === 'datetime' && r.storage === 0 && r.function === 'instantaneous' && typeof r.value === 'string');
  if (clock) {
    used.add(clock);
    if (clock.timeInvalid) quality.add('clock_unset');
    else {
      // M-Bus type F carries local time without zone; the gateway assumes the meter is set to UTC
      // unless told otherwise (documented in README).
      const iso = /Z|[+-]\d\d:\d\d$/.test(clock.value as string) ? (clock.value as string) : `${clock.value as string}Z`;
      const t = Date.parse(iso);
      if (Number.isFinite(t)) {
        meterTime = new Date(t).toISOString();
        if (new Date(t).getUTCFullYear() <= 2000) quality.add('clock_unset');
        else if (Math.abs(t - opts.gatewayNow) > opts.clockToleranceMs) quality.add('clock_far_off');
      }
    }
  }

  if (profile.generic) {
    for (const r of records) {
      if (used.has(r) || typeof r.value !== 'number') continue;
      values.push({
        quantity: genericName(r),
        value: r.value,
        unit: r.unit || (r.plainTextUnit ?? '-'),
        storage: r.storage || undefined,
        tariff: r.tariff || undefined,
        subunit: r.subunit || undefined,
        quality: recordQuality(r),
      });
    }
  }

  const st = h.status;
  if (st) {
    if (st.applicationError || st.permanentError || st.temporaryError) quality.add('meter_error');
    if (st.powerLow) quality.add('power_failure');
  }
  if (telegrams.some((t) => t.partial)) quality.add('partial');
  if (telegrams.some((t) => t.applicationError)) quality.add('meter_error');

  const filtered = opts.quantities ? values.filter((v) => opts.quantities!.includes(v.quantity)) : values;
  return {
    values: filtered.slice(0, 500),
    meterTime,
    quality: [...quality],
    serial: h.id,
    manufacturer: h.manufacturer,
    profile: profile.name,
  };
}
