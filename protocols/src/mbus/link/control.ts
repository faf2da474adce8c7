/**
 * C field (control) and CI field (control information) of EN 13757-2/-3: constants,
 * a parser that names each bit, and CI names. Bit layout of C:
 * 7 reserved(0) | 6 PRM (1 = from master) | 5 FCB (master) / ACD (slave) | 4 FCV (master) / DFC (slave) | 3..0 function.
 */

export const C_PRM = 0x40;
export const C_FCB = 0x20;
export const C_FCV = 0x10;
export const C_ACD = 0x20;
export const C_DFC = 0x10;

/** Master → slave: initialise (reset FCB), answered by E5. */
export const C_SND_NKE = 0x40;
/** Master → slave: send user data, answered by E5; 0x73 with FCB set. */
export const C_SND_UD = 0x53;
/** Master → slave: request class 2 data, answered by RSP_UD; 0x7B with FCB set. */
export const C_REQ_UD2 = 0x5b;
/** Master → slave: request class 1 (alarm) data; 0x7A with FCB set. */
export const C_REQ_UD1 = 0x5a;
/** Slave → master: respond user data; ACD (0x20) and DFC (0x10) may be set. */
export const C_RSP_UD = 0x08;

export type CFunction = 'SND_NKE' | 'SND_UD' | 'REQ_UD2' | 'REQ_UD1' | 'RSP_UD' | 'unknown';

export type ControlField =
  | { direction: 'master-to-slave'; function: CFunction; code: number; fcb: boolean; fcv: boolean; raw: number }
  | { direction: 'slave-to-master'; function: CFunction; code: number; acd: boolean; dfc: boolean; raw: number };

export function parseControlField(c: number): ControlField {
  const code = c & 0x0f;
  if (c & C_PRM) {
    const fn: CFunction = code === 0x0 ? 'SND_NKE' : code === 0x3 ? 'SND_UD' : code === 0xb ? 'REQ_UD2' : code === 0xa ? 'REQ_UD1' : 'unknown';
    return { direction: 'master-to-slave', function: fn, code, fcb: (c & C_FCB) !== 0, fcv: (c & C_FCV) !== 0, raw: c };
  }
  return { direction: 'slave-to-master', function: code === 0x8 ? 'RSP_UD' : 'unknown', code, acd: (c & C_ACD) !== 0, dfc: (c & C_DFC) !== 0, raw: c };
}

/** One line for logs and traces, e.g. "REQ_UD2 FCB=1 FCV=1" or "RSP_UD ACD=0 DFC=0". */
export function describeControlField(c: number): string {
  const p = parseControlField(c);
  const name = p.function === 'unknown' ? `function 0x${p.code.toString(16)}` : p.function;
  return p.direction === 'master-to-slave'
    ? `${name} FCB=${+p.fcb} FCV=${+p.fcv}`
    : `${name} ACD=${+p.acd} DFC=${+p.dfc}`;
}

/** C field of SND_UD/REQ_UD2/REQ_UD1 with the frame count bit toggled per new request. */
export const controlWithFcb = (base: number, fcb: boolean): number => (fcb ? base | C_FCB : base & ~C_FCB);

// CI field values (EN 13757-3 table 2 and the M-Bus usergroup's documentation).
export const CI_APPLICATION_RESET = 0x50;
export const CI_DATA_SEND = 0x51;
export const CI_SELECTION = 0x52;
/** Usergroup code (libmbus MBUS_CONTROL_INFO_SYNC_ACTION). */
export const CI_SYNC_ACTION = 0x54;
export const CI_DATA_SEND_MSB = 0x55;
export const CI_SELECTION_MSB = 0x56;
export const CI_RESPONSE_ERROR = 0x70;
export const CI_RESPONSE_ALARM = 0x71;
export const CI_RESPONSE_VARIABLE = 0x72;
export const CI_RESPONSE_FIXED = 0x73;
export const CI_RESPONSE_VARIABLE_MSB = 0x76;
export const CI_RESPONSE_FIXED_MSB = 0x77;
export const CI_RESPONSE_VARIABLE_NO_HEADER = 0x78;
export const CI_RESPONSE_VARIABLE_SHORT_HEADER = 0x7a;
/** Baud rate switch: CI 0xB8..0xBF select 300..38400 baud. */
export const CI_BAUD_RATE: Readonly<Record<number, number>> = Object.freeze({
  0xb8: 300, 0xb9: 600, 0xba: 1200, 0xbb: 2400, 0xbc: 4800, 0xbd: 9600, 0xbe: 19200, 0xbf: 38400,
});

export function ciForBaudRate(baud: number): number {
  for (const [ci, b] of Object.entries(CI_BAUD_RATE)) if (b === baud) return Number(ci);
  throw new RangeError(`no M-Bus CI field for ${baud} baud (allowed: ${Object.values(CI_BAUD_RATE).join(', ')})`);
}

const CI_NAMES: Readonly<Record<number, string>> = {
  0x50: 'application reset',
  0x51: 'data send',
  0x52: 'selection of slave',
  0x54: 'synchronize action',
  0x55: 'data send (MSB first)',
  0x56: 'selection of slave (MSB first)',
  0x70: 'application error',
  0x71: 'alarm status',
  0x72: 'variable data response',
  0x73: 'fixed data response',
  0x76: 'variable data response (MSB first)',
  0x77: 'fixed data response (MSB first)',
  0x78: 'variable data response, no header',
  0x7a: 'variable data response, short header',
  0xb1: 'request RAM content',
  0xb2: 'write RAM content',
  0xb3: 'start calibration test mode',
  0xb4: 'read EEPROM',
  0xb6: 'start software test',
};

export function describeCi(ci: number): string {
  if (ci in CI_BAUD_RATE) return `set baud rate to ${CI_BAUD_RATE[ci]}`;
  if (ci >= 0x90 && ci <= 0x97) return `hash procedure ${ci - 0x90}`;
  return CI_NAMES[ci] ?? `CI 0x${ci.toString(16).padStart(2, '0')}`;
}

/** True for the CI values a slave answers with user data (variable or fixed structure). */
export const isResponseCi = (ci: number): boolean => ci >= 0x70 && ci <= 0x7f;

/**
 * Application reset subcodes (the byte after CI 0x50): the high nibble selects the
 * application, the low nibble a telegram number within it.
 */
export const APPLICATION_RESET_SUBCODE = Object.freeze({
  all: 0x00,
  userData: 0x10,
  simpleBilling: 0x20,
  enhancedBilling: 0x30,
  multiTariffBilling: 0x40,
  instantaneousValues: 0x50,
  loadManagement: 0x60,
  installationAndStartup: 0x80,
  testing: 0x90,
  calibration: 0xa0,
  manufacturing: 0xb0,
  development: 0xc0,
  selfTest: 0xd0,
} as const);

// Primary addresses (EN 13757-2 §5.4).
export const ADDRESS_UNCONFIGURED = 0;
export const ADDRESS_PRIMARY_MIN = 1;
export const ADDRESS_PRIMARY_MAX = 250;
/** The slave selected by secondary address answers at 253 (network layer). */
export const ADDRESS_NETWORK_LAYER = 253;
/** Broadcast, every slave replies (only sensible with one slave on the bus). */
export const ADDRESS_BROADCAST_REPLY = 254;
/** Broadcast, no slave replies. */
export const ADDRESS_BROADCAST_NO_REPLY = 255;

export const isPrimaryAddress = (a: number): boolean => Number.isInteger(a) && a >= 0 && a <= ADDRESS_PRIMARY_MAX;
