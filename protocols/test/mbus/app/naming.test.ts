// Generic names for every record of the corpus must pass the MQTT contract's QuantityName schema.
import { describe, expect, it } from 'vitest';
import { QuantityName } from '../../../src/contract/quantities.js';
import { decodeTelegram, genericQuantityName, parseHex } from '../../../src/mbus/app/index.js';
import { listHex, readHexFile } from '../corpus-helpers.js';

describe('genericQuantityName', () => {
  it('names storage, tariff and subunit only when set', () => {
    const base = { function: 'instantaneous' as const, quantity: 'energy', storage: 0, tariff: 0, subunit: 0 };
    expect(genericQuantityName(base)).toBe('mbus.instantaneous.energy');
    expect(genericQuantityName({ ...base, function: 'maximum', storage: 3, tariff: 1, subunit: 2 })).toBe('mbus.maximum.energy.s3.t1.u2');
  });

  it('gives contract-valid names for every record in the libmbus corpus', () => {
    const names = listHex('frames').flatMap((f) => decodeTelegram(parseHex(readHexFile('frames', f))).records.map(genericQuantityName));
    expect(names.length).toBeGreaterThan(400);
    for (const n of names) expect(QuantityName.safeParse(n).success, n).toBe(true);
  });
});
