// Golden tests of the stored values (storage numbers) of real meters: each telegram from libmbus's
// test suite (/work/shared/testdata/mbus/libmbus/frames) through the profile the gateway picks for
// it. The expected values are written out by hand from libmbus's decode beside each telegram
// (NAME.norm.xml, its records with StorageNumber > 0), converted to the contract's units (Wh → kWh).
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { XMLParser } from 'fast-xml-parser';
import { decodeTelegram, parseHex, type MbusTelegram } from '@amr/protocols';
import { applyMbusProfile, archiveInstant, chooseProfile, libmbusToTelegram, mbusArchiveReadings, type MeterProfile } from '../src/index.js';

const dir = fileURLToPath(new URL('../../../shared/testdata/mbus/libmbus/frames/', import.meta.url));
if (!existsSync(dir)) throw new Error(`test data missing: ${dir} (expected ../shared/testdata from the repo root)`);

const telegram = (name: string): MbusTelegram => decodeTelegram(parseHex(readFileSync(`${dir}${name}.hex`, 'utf8')));
const profileOf = (t: MbusTelegram): MeterProfile => chooseProfile('auto', { manufacturer: t.header.manufacturer, version: t.header.version, medium: t.header.mediumCode });
const apply = (t: MbusTelegram) => applyMbusProfile([t], { profile: 'auto', gatewayNow: Date.parse('2020-01-01T00:00:00Z'), clockToleranceMs: 1e15 });

describe('stored values of real meters (libmbus test telegrams)', () => {
  it('Kamstrup MULTICAL 601: the due date 2010-12-31 with energy 33 361 kWh and volume 500.98 m³, dated at the end of that day', () => {
    const t = telegram('kamstrup_multical_601');
    expect(profileOf(t).name).toBe('kamstrup-multical-v8');
    // norm.xml, StorageNumber 1: Energy 33361000 Wh, Volume 500.98 m^3, Energy tariff 2 0 Wh,
    // Time point (date) 2010-12-31. Tariff 1, devices 1–3 and the maxima are not registers the profile names.
    const { archives } = mbusArchiveReadings([t], profileOf(t));
    expect(archives).toEqual([
      {
        kind: 'due_date',
        storage: 1,
        date: '2010-12-31',
        record: '2011-01-01T00:00:00',
        values: [
          { quantity: 'energy_kwh', value: 33361, unit: 'kWh', storage: 1, quality: [] },
          { quantity: 'volume_m3', value: 500.98, unit: 'm3', storage: 1, quality: [] },
          { quantity: 'cooling_energy_kwh', value: 0, unit: 'kWh', storage: 1, tariff: 2, quality: [] },
        ],
      },
    ]);
    const read = apply(t);
    expect(read.archives).toEqual(archives);
    // Published once: the due-date records are no longer generic values; the rest of storage 1 still is.
    const generic = read.values.map((v) => v.quantity);
    expect(generic).not.toContain('mbus.instantaneous.energy.s1');
    expect(generic).not.toContain('mbus.instantaneous.date.s1');
    expect(generic).toContain('mbus.instantaneous.energy.s1.t1');
    expect(generic).toContain('mbus.maximum.power.s1');
    // The live register is untouched: 37 351 kWh (norm.xml, storage 0).
    expect(read.values.find((v) => v.quantity === 'energy_kwh')?.value).toBe(37351);
  });

  it('Minol Minocal C2: eight month values, storages 32…39, dated the 1st at 00:00; the next due date (storage 8, 2015) is no archive', () => {
    const t = telegram('ZRM_Minol-Minocal-C2');
    expect(profileOf(t).name).toBe('minol-minocal-c2');
    const { archives } = mbusArchiveReadings([t], profileOf(t));
    // norm.xml: StorageNumber 32 … 39, Time point (date) 2014-03-01, 2014-02-01, … 2013-08-01, each Energy 3000 Wh.
    const months = ['2014-03-01', '2014-02-01', '2014-01-01', '2013-12-01', '2013-11-01', '2013-10-01', '2013-09-01', '2013-08-01'];
    expect(archives).toEqual(
      months.map((date, i) => ({
        kind: 'month_end',
        storage: 32 + i,
        date,
        record: `${date}T00:00:00`,
        values: [{ quantity: 'energy_kwh', value: 3, unit: 'kWh', storage: 32 + i, quality: [] }],
      })),
    );
    const generic = apply(t).values.map((v) => v.quantity);
    // Storage 8 (date 2015-01-01 after the meter's clock 2014-03-13) and storage 10 (no date) stay generic.
    expect(generic).toEqual(expect.arrayContaining(['mbus.instantaneous.energy.s8', 'mbus.instantaneous.energy.s10']));
    // The month registers and dates are published once, as archives; the month maxima stay generic.
    expect(generic.filter((q) => /\.s3[2-9]$/.test(q))).toEqual(['mbus.maximum.volume_flow.s32', 'mbus.maximum.power.s32']);
  });

  it('Engelmann WaterStar: due date 2013-12-31 with 0.331 m³; storage 2 has no date and stays generic (0.332 m³)', () => {
    const t = telegram('EFE_Engelmann-WaterStar');
    expect(profileOf(t).name).toBe('engelmann-waterstar');
    const read = apply(t);
    expect(read.archives).toEqual([
      { kind: 'due_date', storage: 1, date: '2013-12-31', record: '2014-01-01T00:00:00', values: [{ quantity: 'volume_m3', value: 0.331, unit: 'm3', storage: 1, quality: [] }] },
    ]);
    expect(read.values.find((v) => v.quantity === 'mbus.instantaneous.volume.s2')).toMatchObject({ value: 0.332, unit: 'm3', storage: 2 });
  });

  it('Engelmann SensoStar: due date 2013-12-31 with energy and volume 0; storage 2 without a date stays generic', () => {
    const t = telegram('EFE_Engelmann-Elster-SensoStar-2');
    expect(profileOf(t).name).toBe('engelmann-sensostar');
    const read = apply(t);
    expect(read.archives).toEqual([
      {
        kind: 'due_date',
        storage: 1,
        date: '2013-12-31',
        record: '2014-01-01T00:00:00',
        values: [
          { quantity: 'energy_kwh', value: 0, unit: 'kWh', storage: 1, quality: [] },
          { quantity: 'volume_m3', value: 0, unit: 'm3', storage: 1, quality: [] },
        ],
      },
    ]);
    expect(read.values.map((v) => v.quantity)).toEqual(expect.arrayContaining(['mbus.instantaneous.energy.s2', 'mbus.instantaneous.volume.s2', 'mbus.instantaneous.energy.s1.t1']));
  });

  it('Diehl Hydrometer (OMS example): due date 2007-12-31 with 1 445.419 m³', () => {
    const t = telegram('oms_frame2');
    expect(profileOf(t).name).toBe('diehl-hydrometer-water');
    expect(apply(t).archives).toEqual([
      { kind: 'due_date', storage: 1, date: '2007-12-31', record: '2008-01-01T00:00:00', values: [{ quantity: 'volume_m3', value: 1445.419, unit: 'm3', storage: 1, quality: [] }] },
    ]);
  });

  it('Siemens WFH21: due date 2010-12-31 with 0 m³; its error-function date 2000-00-00 is not storage 1', () => {
    const t = telegram('siemens_wfh21');
    expect(profileOf(t).name).toBe('siemens-wfh21');
    expect(apply(t).archives).toEqual([
      { kind: 'due_date', storage: 1, date: '2010-12-31', record: '2011-01-01T00:00:00', values: [{ quantity: 'volume_m3', value: 0, unit: 'm3', storage: 1, quality: [] }] },
    ]);
  });

  it('a meter whose due date was never reached (2000-01-01) or never set (2000-00-00) gives no archive reading', () => {
    // metrona_ultraheat_xs (LUG): storage 1 dated 2000-01-01; ACW Itron BM+m: storage 1 dated 2000-00-00.
    const due: MeterProfile['storage'] = [{ storage: 1, kind: 'due_date', day: 'end' }];
    for (const name of ['metrona_ultraheat_xs', 'ACW_Itron-BM-plus-m']) {
      const t = telegram(name);
      const p = { ...profileOf(t), storage: due };
      expect(mbusArchiveReadings([t], p).archives, name).toEqual([]);
    }
  });

  it('a storage dated twice with different dates (ELS Falcon: 2007-01-01 and 2008-01-01) gives no archive reading', () => {
    const t = telegram('els_falcon');
    const p: MeterProfile = { ...profileOf(t), storage: [{ storage: 1, kind: 'due_date', day: 'end' }] };
    expect(mbusArchiveReadings([t], p).archives).toEqual([]);
  });

  it('a meter without stored values named in its profile publishes storage numbers generically, as before', () => {
    const t = telegram('kamstrup_multical_601');
    const read = applyMbusProfile([t], { profile: 'kamstrup-multical', gatewayNow: 0, clockToleranceMs: 1e15 });
    expect(read.archives).toBeUndefined();
    expect(read.values.find((v) => v.quantity === 'mbus.instantaneous.energy.s1')).toMatchObject({ value: 33361000, unit: 'Wh', storage: 1 });
  });

  it('the libmbus driver gives the same stored values from libmbus’s own decode of the same telegrams', () => {
    const xml = new XMLParser({ ignoreAttributes: true, parseTagValue: true, isArray: (n) => n === 'DataRecord' });
    for (const name of ['kamstrup_multical_601', 'ZRM_Minol-Minocal-C2', 'EFE_Engelmann-WaterStar', 'oms_frame2']) {
      const lib = libmbusToTelegram(xml.parse(readFileSync(`${dir}${name}.xml`, 'latin1')).MBusData);
      expect(apply(lib).archives, name).toEqual(apply(telegram(name)).archives);
    }
  });

  it('dates a day by its end or start, and keeps a date with time as it is', () => {
    expect(archiveInstant('2024-02-28', 'end')).toBe('2024-02-29T00:00:00');
    expect(archiveInstant('2024-12-31', 'end')).toBe('2025-01-01T00:00:00');
    expect(archiveInstant('2024-03-01', 'start')).toBe('2024-03-01T00:00:00');
    expect(archiveInstant('2015-01-01T00:00:00', 'end')).toBe('2015-01-01T00:00:00');
    expect(archiveInstant('not a date', 'end')).toBeNull();
  });
});
