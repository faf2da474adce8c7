/**
 * Meter profiles are data: which decoded M-Bus records become which named contract quantities,
 * chosen by manufacturer / version / medium. A profile never computes; it selects and converts
 * units. Records a profile does not name are published generically (`mbus.<function>.<quantity>…`)
 * when `generic: true`, so an unknown meter still delivers everything it says.
 */
export interface RecordSelector {
  /** Decoder quantity (protocols/src/mbus/app/vif.ts): energy, volume, power, flow_temperature, … */
  quantity: string;
  function?: 'instantaneous' | 'maximum' | 'minimum' | 'error';
  storage?: number;
  tariff?: number;
  subunit?: number;
  /** When several records match, take the n-th (0-based) in telegram order. */
  nth?: number;
}

export interface ProfileField {
  /** Contract quantity name (QUANTITIES) — its unit is fixed by the contract. */
  name: string;
  from: RecordSelector;
}

export interface MeterProfile {
  name: string;
  doc: string;
  match: { manufacturer?: string; versions?: number[]; media?: number[] };
  fields: ProfileField[];
  /** Also publish every record not taken by a field, as `mbus.*`. */
  generic: boolean;
}
