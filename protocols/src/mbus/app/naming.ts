/**
 * The contract's generic quantity name for an M-Bus record that no meter profile maps:
 * `mbus.<function>.<quantity>[.s<storage>][.t<tariff>][.u<subunit>]` (see contract/quantities.ts),
 * so the gateway can publish unknown meters without inventing names per site.
 */
import type { MbusRecord } from './types.js';

export function genericQuantityName(r: Pick<MbusRecord, 'function' | 'quantity' | 'storage' | 'tariff' | 'subunit'>): string {
  const q = r.quantity.toLowerCase().replace(/[^a-z0-9_]+/g, '_');
  let name = `mbus.${r.function}.${q}`;
  if (r.storage) name += `.s${r.storage}`;
  if (r.tariff) name += `.t${r.tariff}`;
  if (r.subunit) name += `.u${r.subunit}`;
  return name;
}
