/**
 * The built-in M-Bus meter profiles (data). Selection: the most specific match wins
 * (manufacturer+version > manufacturer > medium); `generic` matches everything.
 * Medium codes (EN 13757-3 table 3): 0x02 electricity, 0x04/0x0C heat, 0x0D heat/cooling,
 * 0x06 warm water, 0x07 water, 0x15 hot water, 0x16 cold water.
 */
import type { MeterProfile, ProfileField } from './types.js';

const cur = (name: string, quantity: string, extra: Partial<ProfileField['from']> = {}): ProfileField => ({
  name,
  from: { quantity, function: 'instantaneous', storage: 0, tariff: 0, subunit: 0, ...extra },
});

const HEAT_FIELDS: ProfileField[] = [
  cur('energy_kwh', 'energy'),
  cur('volume_m3', 'volume'),
  cur('power_w', 'power'),
  cur('volume_flow_m3h', 'volume_flow'),
  cur('flow_temp_c', 'flow_temperature'),
  cur('return_temp_c', 'return_temperature'),
  cur('temp_diff_k', 'temperature_difference'),
  cur('operating_time_s', 'operating_time'),
  cur('error_flags', 'error_flags'),
];

const WATER_FIELDS: ProfileField[] = [cur('volume_m3', 'volume'), cur('volume_flow_m3h', 'volume_flow'), cur('operating_time_s', 'operating_time'), cur('error_flags', 'error_flags')];

const ELECTRICITY_FIELDS: ProfileField[] = [
  cur('energy_kwh', 'energy'),
  cur('energy_t1_kwh', 'energy', { tariff: 1 }),
  cur('energy_t2_kwh', 'energy', { tariff: 2 }),
  cur('energy_t3_kwh', 'energy', { tariff: 3 }),
  cur('power_w', 'power'),
  cur('error_flags', 'error_flags'),
];

export const MBUS_PROFILES: MeterProfile[] = [
  {
    name: 'heat-meter',
    doc: 'Heat / heat-cooling meters (EN 1434): energy, volume, power, flow, temperatures',
    match: { media: [0x04, 0x0c, 0x0d] },
    fields: HEAT_FIELDS,
    generic: true,
  },
  {
    name: 'kamstrup-multical',
    doc: 'Kamstrup MULTICAL heat meters: second energy register is cooling energy (subunit 0, tariff 2 on some firmwares)',
    match: { manufacturer: 'KAM', media: [0x04, 0x0c, 0x0d] },
    fields: [...HEAT_FIELDS, cur('cooling_energy_kwh', 'energy', { tariff: 2 })],
    generic: true,
  },
  // Meter models whose stored values (storage numbers) are known, each from a real telegram
  // (../shared/testdata/mbus/libmbus/frames, named in `source`; golden tests in
  // gateway/test/profiles-archives.test.ts). Matched by manufacturer and M-Bus version: another
  // version of the same maker may number its storages differently, so it gets the plain profile.
  {
    name: 'kamstrup-multical-v8',
    doc: 'Kamstrup MULTICAL, M-Bus version 0x08 (MULTICAL 601): storage 1 is the target date (due date) with its energy and volume registers',
    match: { manufacturer: 'KAM', versions: [0x08], media: [0x04, 0x0c] },
    fields: [...HEAT_FIELDS, cur('cooling_energy_kwh', 'energy', { tariff: 2 })],
    generic: true,
    storage: [{ storage: 1, kind: 'due_date', date: 'date', day: 'end' }],
    source: 'kamstrup_multical_601.hex (KAM 06855817, due date 2010-12-31)',
  },
  {
    name: 'engelmann-sensostar',
    doc: 'Engelmann SensoStar heat meter (EFE, version 0): storage 1 is the due date; storage 2 carries no date (left generic), the storage-0 date is the next due date',
    match: { manufacturer: 'EFE', versions: [0x00], media: [0x04] },
    fields: HEAT_FIELDS,
    generic: true,
    storage: [{ storage: 1, kind: 'due_date', date: 'date', day: 'end' }],
    source: 'EFE_Engelmann-Elster-SensoStar-2.hex (EFE 24083345, due date 2013-12-31)',
  },
  {
    name: 'engelmann-waterstar',
    doc: 'Engelmann WaterStar warm-water meter (EFE, version 0): storage 1 is the due date; storage 2 carries no date (left generic)',
    match: { manufacturer: 'EFE', versions: [0x00], media: [0x06] },
    fields: WATER_FIELDS,
    generic: true,
    storage: [{ storage: 1, kind: 'due_date', date: 'date', day: 'end' }],
    source: 'EFE_Engelmann-WaterStar.hex (EFE 04990254, due date 2013-12-31)',
  },
  {
    name: 'minol-minocal-c2',
    doc: 'Minol Minocal C2 heat meter (ZRM, version 0x81): storages 32…39 are month values dated the 1st of the next month (the value at its 00:00); storage 8 is the next due date (in the future) and stays generic',
    match: { manufacturer: 'ZRM', versions: [0x81], media: [0x04] },
    fields: HEAT_FIELDS,
    generic: true,
    storage: [{ storage: [32, 39], kind: 'month_end', date: 'date', day: 'start' }],
    source: 'ZRM_Minol-Minocal-C2.hex (ZRM 31425084, month values 2013-08-01 … 2014-03-01)',
  },
  {
    name: 'diehl-hydrometer-water',
    doc: 'Diehl Metering (Hydrometer) water meter, M-Bus version 0x29: storage 1 is the due date with its volume',
    match: { manufacturer: 'HYD', versions: [0x29], media: [0x07] },
    fields: WATER_FIELDS,
    generic: true,
    storage: [{ storage: 1, kind: 'due_date', date: 'date', day: 'end' }],
    source: 'oms_frame2.hex (HYD 92752244, the OMS specification\'s example telegram, due date 2007-12-31)',
  },
  {
    name: 'siemens-wfh21',
    doc: 'Siemens WFH21 warm-water meter (LSE, version 0x99): storage 1 is the due date with its volume',
    match: { manufacturer: 'LSE', versions: [0x99], media: [0x06] },
    fields: WATER_FIELDS,
    generic: true,
    storage: [{ storage: 1, kind: 'due_date', date: 'date', day: 'end' }],
    source: 'siemens_wfh21.hex (LSE 08006491, due date 2010-12-31)',
  },
  // A model known only from this project's simulator (simulators/src/mbus: heatMonthEndRecords), not a
  // real meter: it keeps 12 month ends that come only in a history telegram selected by application
  // reset subcode 0x30 ("enhanced billing"). It shows, and tests, how a real model's history telegram
  // is described once its documentation names the subcode and the storages. Never chosen by `auto`
  // (a real meter sending AMS/0x01 must not be sent an application select it was never documented for).
  {
    name: 'sim-heat-history',
    doc: 'Simulated heat meter (not a real model; only by name, profile: sim-heat-history): month ends 1…12 only in the history telegram selected by CI 0x50 subcode 0x30, dated the 1st of the next month (its 00:00)',
    match: { media: [0x04] },
    auto: false,
    fields: HEAT_FIELDS,
    generic: true,
    history: { subcode: 0x30, storage: [{ storage: [1, 12], kind: 'month_end', date: 'date', day: 'start' }] },
    source: 'simulators/src/mbus/records.ts heatMonthEndRecords (gateway/test/mbus-history.test.ts)',
  },
  {
    name: 'water-meter',
    doc: 'Water meters (cold, warm, hot): volume register and flow',
    match: { media: [0x06, 0x07, 0x15, 0x16, 0x17] },
    fields: WATER_FIELDS,
    generic: true,
  },
  {
    name: 'electricity-meter',
    doc: 'Electricity meters with M-Bus: total and tariff energy registers, power',
    match: { media: [0x02] },
    fields: ELECTRICITY_FIELDS,
    generic: true,
  },
  {
    name: 'generic',
    doc: 'Unknown meters: every record published as mbus.<function>.<quantity>[.s<storage>][.t<tariff>][.u<subunit>]',
    match: {},
    fields: [],
    generic: true,
  },
];

function specificity(p: MeterProfile): number {
  return (p.match.manufacturer ? 4 : 0) + (p.match.versions ? 2 : 0) + (p.match.media ? 1 : 0);
}

/** Picks a profile by name, or by what the meter says about itself when `name` is 'auto'. */
export function chooseProfile(name: string, meter: { manufacturer?: string; version?: number; medium?: number }, profiles = MBUS_PROFILES): MeterProfile {
  if (name !== 'auto') {
    const p = profiles.find((x) => x.name === name);
    if (!p) throw new Error(`unknown meter profile "${name}" (known: auto, ${profiles.map((x) => x.name).join(', ')})`);
    return p;
  }
  const fits = profiles.filter(
    (p) =>
      p.auto !== false &&
      (!p.match.manufacturer || p.match.manufacturer === meter.manufacturer) &&
      (!p.match.versions || (meter.version !== undefined && p.match.versions.includes(meter.version))) &&
      (!p.match.media || (meter.medium !== undefined && p.match.media.includes(meter.medium))),
  );
  fits.sort((a, b) => specificity(b) - specificity(a));
  return fits[0] ?? profiles.find((p) => p.name === 'generic')!;
}
