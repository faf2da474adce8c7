/**
 * Migration aid: maps a decoded telegram onto the shape, names, units and scaled values of
 * libmbus's normalised XML (`mbus_data_variable_xml_normalized`), so people moving from
 * libmbus / node-mbus can compare outputs. Canonical output stays `MbusTelegram`; the
 * departures are listed in protocols/README.md.
 */
import { lookupVif, type VifInfo } from './vif.js';
import { mediumLibmbusName } from './medium.js';
import { readBcd, readIntLE, parseHex } from './primitives.js';
import type { MbusRecord, MbusTelegram } from './types.js';

export interface LibmbusSlaveInformation {
  Id: string;
  Manufacturer: string;
  Version: number;
  ProductName: string;
  Medium: string;
  AccessNumber: number;
  Status: string;
  Signature: string;
}

export interface LibmbusDataRecord {
  id: number;
  Function: string;
  StorageNumber: number;
  Tariff?: number;
  Device?: number;
  Unit: string;
  Quantity: string;
  Value: number | string;
}

export interface LibmbusFormat {
  SlaveInformation: LibmbusSlaveInformation | { Error: string };
  DataRecord: LibmbusDataRecord[];
}

/** libmbus's product names (mbus_data_product_name), keyed by manufacturer and version. */
const PRODUCTS: Array<[man: string, versions: number[], name: string, medium?: number]> = [
  ['ABB', [0x02], 'ABB Delta-Meter'],
  ['ACW', [0x09], 'Itron CF Echo 2'],
  ['ACW', [0x0a], 'Itron CF 51'],
  ['ACW', [0x0b], 'Itron CF 55'],
  ['ACW', [0x0e], 'Itron BM +m'],
  ['ACW', [0x0f], 'Itron CF 800'],
  ['ACW', [0x14], 'Itron CYBLE M-Bus 1.4'],
  ['AMT', [0x34], 'Aquametro AMTRON'],
  ['EFE', [0x00], 'Engelmann / Elster SensoStar 2', 0x04],
  ['EFE', [0x00], 'Engelmann WaterStar'],
  ['ELS', [0x0a], 'Elster Falcon'],
  ['ELS', [0x02], 'Elster TMP-A'],
  ['ELV', [0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d], 'Elvaco CMa10'],
  ['ELV', [0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39], 'Elvaco CMa11'],
  ['EMH', [0x00], 'EMH DIZ'],
  ['EMU', [0x10], 'EMU Professional 3/75 M-Bus'],
  ['GAV', [0x2d, 0x2e, 0x2f, 0x30], 'Carlo Gavazzi EM24'],
  ['GMC', [0xe6], 'GMC-I A230 EMMOD 206'],
  ['HYD', [0x28], 'ABB F95 Typ US770'],
  ['JAN', [0x09], 'Janitza UMG 96S'],
  ['KAM', [0x01], 'Kamstrup 382 (6850-005)'],
  ['KAM', [0x08], 'Kamstrup Multical 601'],
  ['LSE', [0x99], 'Siemens WFH21'],
  ['LUG', [0x02], 'Landis & Gyr Ultraheat 2WR5'],
  ['LUG', [0x03], 'Landis & Gyr Ultraheat 2WR6'],
  ['LUG', [0x04], 'Landis & Gyr Ultraheat UH50'],
  ['LUG', [0x07], 'Landis & Gyr Ultraheat T230'],
  ['NZR', [0x01], 'NZR DHZ 5/63'],
  ['REL', [0x08], 'Relay PadPuls M1'],
  ['REL', [0x12], 'Relay PadPuls M4'],
  ['REL', [0x20], 'Relay Padin 4'],
  ['REL', [0x30], 'Relay AnDi 4'],
  ['REL', [0x40], 'Relay PadPuls M2'],
  ['RKE', [0x69], 'Ista sensonic II mbus'],
  ['SBC', [0x10, 0x13, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c], 'Saia-Burgess ALE3'],
  ['SEN', [0x08, 0x19], 'Sensus PolluCom E'],
  ['SEN', [0x0b], 'Sensus PolluTherm'],
  ['SEN', [0x0e], 'Sensus PolluStat E'],
  ['SLB', [0x02], 'Allmess Megacontrol CF-50'],
  ['SPX', [0x31, 0x34], 'Sensus PolluTherm'],
  ['SVM', [0x08], 'Elster F2 / Deltamess F2'],
  ['SVM', [0x09], 'Elster F4 / Kamstrup SVM F22'],
  ['TCH', [0x26], 'Techem m-bus S'],
  ['TCH', [0x40], 'Techem ultra S3'],
  ['ZRM', [0x81], 'Minol Minocal C2'],
  ['ZRM', [0x82], 'Minol Minocal WR3'],
];

export function productName(manufacturer: string | undefined, version: number | undefined, medium?: number): string {
  if (manufacturer === undefined || version === undefined) return '';
  const hit =
    PRODUCTS.find(([m, v, , med]) => m === manufacturer && v.includes(version) && med !== undefined && med === medium) ??
    PRODUCTS.find(([m, v, , med]) => m === manufacturer && v.includes(version) && med === undefined);
  return hit?.[2] ?? '';
}

const FUNCTION_NAMES: Record<MbusRecord['function'], string> = {
  instantaneous: 'Instantaneous value',
  maximum: 'Maximum value',
  minimum: 'Minimum value',
  error: 'Value during error state',
};

function vifInfoOf(r: MbusRecord): VifInfo | undefined {
  const code = r.raw.vif & 0x7f;
  if (code === 0x7b) return lookupVif('fb', r.raw.vife[0] & 0x7f);
  if (code === 0x7d) return lookupVif('fd', r.raw.vife[0] & 0x7f);
  if (code === 0x7c) return undefined;
  return lookupVif('primary', code);
}

function libValue(r: MbusRecord, info: VifInfo | undefined): number | string {
  if (r.value === null) {
    if (r.raw.data === '') return '';
    return r.raw.data; // libmbus prints undecodable data as hex
  }
  if (typeof r.value === 'string') {
    if (info?.kind === 'datetime' && /T\d\d:\d\d:\d\d$/.test(r.value)) {
      // libmbus zeroes a time whose IV (invalid) bit is set; we keep the fields and flag it.
      if (r.timeInvalid) return '1900-01-00T00:00:00Z';
      return `${r.value}Z`;
    }
    return r.value;
  }
  if (!info || info.scale === 0) return r.value;
  // libmbus scales by its own table; canonical and libmbus scales differ only by a constant.
  return r.value * (info.libmbus.scale / info.scale);
}

export function toLibmbusRecord(r: MbusRecord, id: number): LibmbusDataRecord {
  const info = vifInfoOf(r);
  if (!info && r.plainTextUnit === undefined && r.quantity.startsWith('reserved_')) {
    // libmbus prints an empty record for VIFs it cannot place.
    return { id, Function: '', StorageNumber: r.storage, Unit: '', Quantity: '', Value: '' };
  }
  const rec: LibmbusDataRecord = {
    id,
    Function: FUNCTION_NAMES[r.function],
    StorageNumber: r.storage,
    Unit: info ? info.libmbus.unit : r.plainTextUnit !== undefined ? '-' : '',
    Quantity: info ? info.libmbus.quantity : (r.plainTextUnit ?? ''),
    Value: libValue(r, info),
  };
  if (r.tariff !== 0) rec.Tariff = r.tariff;
  if (r.subunit !== 0) rec.Device = r.subunit;
  return rec;
}

/**
 * libmbus prints the fixed structure's counters unscaled with the unit as a label
 * ("l", "kWh", "reserved but historic") and no quantity or storage number.
 */
function fixedToLibmbus(t: MbusTelegram & { fixed: NonNullable<MbusTelegram['fixed']> }): LibmbusFormat {
  const h = t.fixed.header;
  const units = [h.counter1Unit, h.counter2Unit];
  return {
    SlaveInformation: {
      Id: h.id.replace(/^0+(?=.)/, ''),
      Manufacturer: '',
      Version: 0,
      ProductName: '',
      Medium: h.mediumLibmbus,
      AccessNumber: h.accessNumber,
      Status: h.status.raw.toString(16).toUpperCase().padStart(2, '0'),
      Signature: '',
    },
    DataRecord: t.records.map((r, i) => {
      const bytes = parseHex(r.raw.data);
      if (t.header.ci === 0x77) bytes.reverse();
      const raw = h.status.countersBinary ? Number(readIntLE(bytes, 0, 4)) : readBcd(bytes, 0, 4).value;
      const u = units[i];
      return {
        id: i,
        Function: h.status.storedAtFixedDate ? 'Stored value' : 'Actual value',
        StorageNumber: r.storage,
        Unit: u.code === 0x3e ? 'reserved but historic' : u.name,
        Quantity: '',
        Value: raw,
      };
    }),
  };
}

export function toLibmbusFormat(t: MbusTelegram): LibmbusFormat {
  if (t.applicationError) return { SlaveInformation: { Error: t.applicationError.text }, DataRecord: [] };
  if (t.fixed) return fixedToLibmbus(t as MbusTelegram & { fixed: NonNullable<MbusTelegram['fixed']> });
  const h = t.header;
  const records = t.records.map((r, i) => toLibmbusRecord(r, i));
  if (t.manufacturerData !== undefined || t.moreRecordsFollow) {
    records.push({
      id: records.length,
      Function: t.moreRecordsFollow ? 'More records follow' : 'Manufacturer specific',
      StorageNumber: 0,
      Unit: '',
      Quantity: '',
      Value: t.manufacturerData ?? '',
    });
  }
  return {
    SlaveInformation: {
      Id: (h.id ?? '0').replace(/^0+(?=.)/, ''),
      Manufacturer: h.manufacturer ?? '',
      Version: h.version ?? 0,
      ProductName: productName(h.manufacturer, h.version, h.mediumCode),
      Medium: h.mediumCode !== undefined ? mediumLibmbusName(h.mediumCode) : '',
      AccessNumber: h.accessNumber ?? 0,
      Status: (h.status?.raw ?? 0).toString(16).toUpperCase().padStart(2, '0'),
      Signature: (h.signature ?? 0).toString(16).toUpperCase().padStart(4, '0'),
    },
    DataRecord: records,
  };
}
