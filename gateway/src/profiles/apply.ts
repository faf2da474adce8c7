/**
 * Applies a profile to decoded M-Bus telegrams: named quantities converted to the contract's
 * units, generic `mbus.*` values for the rest, the meter's clock (storage-0 date/time record),
 * and quality flags from the status byte and record errors. Pure.
 */
import { QUANTITIES, type MbusRecord, type MbusTelegram, type QualityFlag, type ReadingValue } from '@amr/protocols';
import type { MeterRead } from '../drivers/types.js';
import { chooseProfile } from './mbus-profiles.js';
import { CONVERT, matches, recordQuality } from './select.js';
import { mbusArchiveReadings } from './archives.js';

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9_]+/g, '_');

export function genericName(r: MbusRecord): string {
  let n = `mbus.${r.function}.${slug(r.quantity)}`;
  if (r.storage) n += `.s${r.storage}`;
  if (r.tariff) n += `.t${r.tariff}`;
  if (r.subunit) n += `.u${r.subunit}`;
  return n;
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

  // Stored values (due date, month ends) the model is known to keep: dated archive readings, taken
  // out of the generic values so that one record is published once.
  const stored = mbusArchiveReadings(telegrams, profile, used);
  for (const r of stored.used) used.add(r);

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

  const keep = (vs: ReadingValue[]) => (opts.quantities ? vs.filter((v) => opts.quantities!.includes(v.quantity)) : vs);
  const filtered = keep(values);
  const archives = stored.archives.map((a) => ({ ...a, values: keep(a.values).slice(0, 500) })).filter((a) => a.values.length > 0);
  return {
    ...(archives.length ? { archives } : {}),
    values: filtered.slice(0, 500),
    meterTime,
    quality: [...quality],
    serial: h.id,
    manufacturer: h.manufacturer,
    profile: profile.name,
  };
}
