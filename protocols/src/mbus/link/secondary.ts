/**
 * Secondary addressing (EN 13757-2 §5.6 / M-Bus usergroup "network layer"): the 8-byte
 * address ID(4, BCD LSB first) · manufacturer(2, LE) · version(1) · medium(1), with
 * wildcards (F nibbles in the ID, FFFF / FF elsewhere), its text forms, matching, and the
 * digit-by-digit wildcard search tree a master walks to find every slave on a bus.
 */

export interface SecondaryAddress {
  /** 8 characters, most significant digit first, as printed on the meter; 'F' in a digit = wildcard nibble. */
  id: string;
  /** Three-letter FLAG code; null = wildcard (FFFF). */
  manufacturer: string | null;
  /** Version/generation byte; null = wildcard (FF). */
  version: number | null;
  /** Medium (device type) byte; null = wildcard (FF). */
  medium: number | null;
}

/** A problem with a secondary address (text or bytes); `position` is the character or byte index. */
export class MbusAddressError extends Error {
  override readonly name = 'MbusAddressError';
  constructor(message: string, readonly position: number) {
    super(message);
  }
}

/** Matches every slave: the root of the search tree. */
export const SECONDARY_WILDCARD: Readonly<SecondaryAddress> = Object.freeze({ id: 'FFFFFFFF', manufacturer: null, version: null, medium: null });

const ID_RE = /^[0-9A-F]{8}$/;

function manufacturerToCode(m: string): number {
  if (!/^[A-Z@]{3}$/.test(m)) throw new MbusAddressError(`manufacturer must be three letters A-Z, got "${m}"`, 0);
  return ((m.charCodeAt(0) - 64) << 10) | ((m.charCodeAt(1) - 64) << 5) | (m.charCodeAt(2) - 64);
}

function codeToManufacturer(code: number): string {
  const l = (n: number) => String.fromCharCode(((code >> n) & 0x1f) + 64);
  return l(10) + l(5) + l(0);
}

function checkAddress(a: SecondaryAddress): void {
  if (!ID_RE.test(a.id)) throw new MbusAddressError(`id must be 8 hex digits (F = wildcard), got "${a.id}"`, 0);
  for (const k of ['version', 'medium'] as const) {
    const v = a[k];
    if (v !== null && (!Number.isInteger(v) || v < 0 || v > 0xfe)) {
      throw new MbusAddressError(`${k} must be 0..254 or null (wildcard), got ${v}`, k === 'version' ? 6 : 7);
    }
  }
}

/** The 8 bytes carried after CI 0x52 (selection) and in the fixed header of a 0x72 response. */
export function encodeSecondaryAddress(a: SecondaryAddress): Uint8Array {
  checkAddress(a);
  const out = new Uint8Array(8);
  for (let i = 0; i < 4; i++) out[3 - i] = parseInt(a.id.slice(2 * i, 2 * i + 2), 16);
  const m = a.manufacturer === null ? 0xffff : manufacturerToCode(a.manufacturer);
  out[4] = m & 0xff;
  out[5] = m >> 8;
  out[6] = a.version ?? 0xff;
  out[7] = a.medium ?? 0xff;
  return out;
}

export function decodeSecondaryAddress(bytes: Uint8Array, offset = 0): SecondaryAddress {
  if (bytes.length - offset < 8) throw new MbusAddressError(`secondary address needs 8 bytes, got ${Math.max(0, bytes.length - offset)}`, offset);
  let id = '';
  for (let i = 3; i >= 0; i--) id += bytes[offset + i].toString(16).padStart(2, '0').toUpperCase();
  const m = bytes[offset + 4] | (bytes[offset + 5] << 8);
  return {
    id,
    manufacturer: m === 0xffff ? null : codeToManufacturer(m),
    version: bytes[offset + 6] === 0xff ? null : bytes[offset + 6],
    medium: bytes[offset + 7] === 0xff ? null : bytes[offset + 7],
  };
}

const hex2 = (v: number | null) => (v === null ? 'FF' : v.toString(16).padStart(2, '0').toUpperCase());

/**
 * Accepts the dotted form "12345678.ACW.14.07" (version and medium in hex, "*" or "FF" as wildcard,
 * "*" or "FFFF" for any manufacturer) and libmbus's 16 hex digits "1234567877040714"
 * (ID, manufacturer bytes in wire order, version, medium; F digits are wildcards).
 */
export function parseSecondaryAddress(text: string): SecondaryAddress {
  const t = text.trim().toUpperCase();
  if (/^[0-9A-F]{16}$/.test(t)) {
    const bytes = new Uint8Array(8);
    for (let i = 0; i < 4; i++) bytes[3 - i] = parseInt(t.slice(2 * i, 2 * i + 2), 16);
    for (let i = 4; i < 8; i++) bytes[i] = parseInt(t.slice(2 * i, 2 * i + 2), 16);
    return decodeSecondaryAddress(bytes);
  }
  const parts = t.split('.');
  if (parts.length !== 4) {
    throw new MbusAddressError(`secondary address "${text}" is neither 16 hex digits nor ID.MAN.VV.MM`, 0);
  }
  const [id, man, ver, med] = parts;
  const idFull = id.replace(/\*/g, 'F');
  if (!ID_RE.test(idFull)) throw new MbusAddressError(`id "${id}" must be 8 digits (F or * = wildcard)`, 0);
  const pos = (k: number) => parts.slice(0, k).join('.').length + 1;
  let manufacturer: string | null;
  if (man === '*' || man === 'FFFF') manufacturer = null;
  else if (/^[A-Z@]{3}$/.test(man)) manufacturer = man;
  else throw new MbusAddressError(`manufacturer "${man}" must be three letters or * (wildcard)`, pos(1));
  const byte = (s: string, name: string, k: number): number | null => {
    if (s === '*' || s === 'FF') return null;
    if (!/^[0-9A-F]{1,2}$/.test(s)) throw new MbusAddressError(`${name} "${s}" must be a hex byte or * (wildcard)`, pos(k));
    return parseInt(s, 16);
  };
  return { id: idFull, manufacturer, version: byte(ver, 'version', 2), medium: byte(med, 'medium', 3) };
}

/** "12345678.ACW.14.07", or libmbus's 16-digit form with `{ style: 'libmbus' }`. */
export function formatSecondaryAddress(a: SecondaryAddress, opts: { style?: 'dotted' | 'libmbus' } = {}): string {
  if (opts.style === 'libmbus') {
    const b = encodeSecondaryAddress(a);
    return a.id + Array.from(b.subarray(4), (x) => x.toString(16).padStart(2, '0').toUpperCase()).join('');
  }
  checkAddress(a);
  return `${a.id}.${a.manufacturer ?? '*'}.${a.version === null ? '*' : hex2(a.version)}.${a.medium === null ? '*' : hex2(a.medium)}`;
}

/** True when `actual` (a slave's address, no wildcards) is selected by `pattern`. */
export function matchesSecondary(pattern: SecondaryAddress, actual: SecondaryAddress): boolean {
  const p = encodeSecondaryAddress(pattern);
  const a = encodeSecondaryAddress(actual);
  for (let i = 0; i < 4; i++) {
    if ((p[i] & 0xf0) !== 0xf0 && (p[i] & 0xf0) !== (a[i] & 0xf0)) return false;
    if ((p[i] & 0x0f) !== 0x0f && (p[i] & 0x0f) !== (a[i] & 0x0f)) return false;
  }
  if (pattern.manufacturer !== null && pattern.manufacturer !== actual.manufacturer) return false;
  if (pattern.version !== null && pattern.version !== actual.version) return false;
  if (pattern.medium !== null && pattern.medium !== actual.medium) return false;
  return true;
}

/** Index (0 = most significant) of the leftmost wildcard digit of the ID, or -1 when the ID is complete. */
export function firstWildcardDigit(pattern: SecondaryAddress): number {
  return pattern.id.indexOf('F');
}

/**
 * One step of the libmbus-style search: when a selection with `pattern` drew a collision,
 * the master tries the ten patterns with ID digit `position` (default: the leftmost wildcard)
 * fixed to 0..9. Returns [] when the ID has no wildcard left (a collision there means two
 * slaves share an ID and differ only in manufacturer/version/medium).
 */
export function nextSearchPatterns(pattern: SecondaryAddress, position: number = firstWildcardDigit(pattern)): SecondaryAddress[] {
  checkAddress(pattern);
  if (position < 0) return [];
  if (!Number.isInteger(position) || position > 7) throw new MbusAddressError(`search position must be 0..7, got ${position}`, position);
  if (pattern.id[position] !== 'F') throw new MbusAddressError(`ID digit ${position} of "${pattern.id}" is not a wildcard`, position);
  return Array.from({ length: 10 }, (_, d) => ({
    ...pattern,
    id: pattern.id.slice(0, position) + String(d) + pattern.id.slice(position + 1),
  }));
}

/** A selection (CI 0x52 user data): the secondary address, optionally the fabrication number. */
export interface SecondarySelection {
  address: SecondaryAddress;
  /** Enhanced selection: 8 digits (F = wildcard) sent as DIF 0x0C VIF 0x78 after the address. */
  fabricationNumber?: string;
}

/**
 * Enhanced secondary addressing (EN 13757-3, "enhanced selection"): meters that share an ID
 * (e.g. one per channel) are told apart by fabrication number.
 */
export function encodeSelection(sel: SecondarySelection): Uint8Array {
  const address = encodeSecondaryAddress(sel.address);
  if (sel.fabricationNumber === undefined) return address;
  if (!ID_RE.test(sel.fabricationNumber)) {
    throw new MbusAddressError(`fabrication number must be 8 digits (F = wildcard), got "${sel.fabricationNumber}"`, 8);
  }
  const out = new Uint8Array(14);
  out.set(address, 0);
  out[8] = 0x0c;
  out[9] = 0x78;
  for (let i = 0; i < 4; i++) out[13 - i] = parseInt(sel.fabricationNumber.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** What a slave reads out of a CI 0x52 telegram; throws MbusAddressError naming the bad byte. */
export function decodeSelection(data: Uint8Array): SecondarySelection {
  const address = decodeSecondaryAddress(data);
  if (data.length === 8) return { address };
  if (data.length === 14 && data[8] === 0x0c && data[9] === 0x78) {
    let fabricationNumber = '';
    for (let i = 13; i >= 10; i--) fabricationNumber += data[i].toString(16).padStart(2, '0').toUpperCase();
    return { address, fabricationNumber };
  }
  throw new MbusAddressError(
    data.length === 14 ? `enhanced selection expects DIF 0x0C VIF 0x78 at byte 8, got ${data[8].toString(16)} ${data[9].toString(16)}` : `selection data must be 8 or 14 bytes, got ${data.length}`,
    8,
  );
}

/** True when a slave with `actual` address and fabrication number is selected by `sel`. */
export function matchesSelection(sel: SecondarySelection, actual: SecondaryAddress, fabricationNumber?: string): boolean {
  if (!matchesSecondary(sel.address, actual)) return false;
  if (sel.fabricationNumber === undefined) return true;
  if (fabricationNumber === undefined) return false;
  for (let i = 0; i < 8; i++) {
    const p = sel.fabricationNumber[i];
    if (p !== 'F' && p !== fabricationNumber[i]) return false;
  }
  return true;
}
