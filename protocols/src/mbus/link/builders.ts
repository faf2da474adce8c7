/**
 * Master requests as frames (EN 13757-2 §5): what a master sends, built from the names a
 * person reading a bus trace uses. Each returns an MbusFrame; pass it to encodeFrame for bytes.
 */
import {
  ADDRESS_NETWORK_LAYER,
  CI_APPLICATION_RESET,
  CI_SELECTION,
  C_REQ_UD1,
  C_REQ_UD2,
  C_RSP_UD,
  C_ACD,
  C_DFC,
  C_SND_NKE,
  C_SND_UD,
  ciForBaudRate,
  controlWithFcb,
} from './control.js';
import type { MbusFrame } from './frame.js';
import { encodeSecondaryAddress, encodeSelection, type SecondaryAddress } from './secondary.js';

function checkAddress(address: number): void {
  if (!Number.isInteger(address) || address < 0 || address > 255) throw new RangeError(`M-Bus address must be 0..255, got ${address}`);
}

/** Link reset; the slave answers E5 and expects FCB=1 on the next request. */
export function sndNke(address: number): MbusFrame {
  checkAddress(address);
  return { kind: 'short', control: C_SND_NKE, address };
}

/** Request class 2 (user) data. Toggle `fcb` after every successful exchange. */
export function reqUd2(address: number, fcb: boolean): MbusFrame {
  checkAddress(address);
  return { kind: 'short', control: controlWithFcb(C_REQ_UD2, fcb), address };
}

/** Request class 1 (alarm/priority) data. */
export function reqUd1(address: number, fcb: boolean): MbusFrame {
  checkAddress(address);
  return { kind: 'short', control: controlWithFcb(C_REQ_UD1, fcb), address };
}

export function sndUd(address: number, ci: number, data: Uint8Array = new Uint8Array(0), fcb = false): MbusFrame {
  checkAddress(address);
  const control = controlWithFcb(C_SND_UD, fcb);
  return data.length === 0 ? { kind: 'control', control, address, ci } : { kind: 'long', control, address, ci, data };
}

/** CI 0x50, optionally with a subcode (APPLICATION_RESET_SUBCODE) naming which application/telegram. */
export function applicationReset(address: number, subcode?: number, fcb = false): MbusFrame {
  if (subcode !== undefined && (!Number.isInteger(subcode) || subcode < 0 || subcode > 255)) {
    throw new RangeError(`application reset subcode must be 0..255, got ${subcode}`);
  }
  return sndUd(address, CI_APPLICATION_RESET, subcode === undefined ? undefined : Uint8Array.of(subcode), fcb);
}

/**
 * Select the slave(s) matching `pattern` (wildcards allowed); the selected slave then answers at
 * address 253. FCB is set by default, as libmbus does (known to work with the meters in its corpus).
 */
export function selectSecondary(pattern: SecondaryAddress, fcb = true): MbusFrame {
  return sndUd(ADDRESS_NETWORK_LAYER, CI_SELECTION, encodeSecondaryAddress(pattern), fcb);
}

/** Enhanced selection: the secondary address plus the fabrication number (8 digits, F = wildcard). */
export function selectSecondaryEnhanced(pattern: SecondaryAddress, fabricationNumber: string, fcb = true): MbusFrame {
  return sndUd(ADDRESS_NETWORK_LAYER, CI_SELECTION, encodeSelection({ address: pattern, fabricationNumber }), fcb);
}

/** Deselect whichever slave is selected: SND_NKE to the network-layer address 253. */
export function deselect(): MbusFrame {
  return sndNke(ADDRESS_NETWORK_LAYER);
}

/** Ask the slave to switch baud rate (CI 0xB8..0xBF); it acknowledges at the old rate. */
export function switchBaudRate(address: number, baud: number): MbusFrame {
  return sndUd(address, ciForBaudRate(baud));
}

/** Slave's acknowledgement. */
export function ackFrame(): MbusFrame {
  return { kind: 'ack' };
}

/** Slave's RSP_UD long frame carrying `data` after `ci` (0x72 variable, 0x73 fixed, ...). */
export function rspUd(address: number, ci: number, data: Uint8Array, opts: { acd?: boolean; dfc?: boolean } = {}): MbusFrame {
  checkAddress(address);
  const control = C_RSP_UD | (opts.acd ? C_ACD : 0) | (opts.dfc ? C_DFC : 0);
  return data.length === 0 ? { kind: 'control', control, address, ci } : { kind: 'long', control, address, ci, data };
}
